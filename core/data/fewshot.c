/* core/data/fewshot.c — Dassl's few-shot sampler (generate_fewshot_dataset, repeat = False) driven by
 * an exact copy of Python's `random`, and CoOp's base/new class subsampling with relabelling
 * (protocol.md §8). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/data/dataset.h"
#include "core/base/pyrandom.h"
#include "base/util.h"

/* the ImageNet variants are test-only: Dassl builds them with train = test and never samples */
static int is_test_only(const char *name) {
    return !strcmp(name, "imagenetv2") || !strcmp(name, "imagenet_sketch") ||
           !strcmp(name, "imagenet_a") || !strcmp(name, "imagenet_r");
}

/* Group item indices by label in order of first appearance (a Python defaultdict of lists):
 * order[0..n_groups) are the labels, members[start[g] .. start[g+1]) their item indices. */
typedef struct {
    int n_groups, *order, *start, *members;
} LabelGroups;

static void group_by_label(const DataSplit *s, LabelGroups *g) {
    int max_label = -1;
    for (int i = 0; i < s->n; i++)
        if (s->items[i].label > max_label) max_label = s->items[i].label;
    int nl = max_label + 1;
    int *count = cg_calloc((size_t)nl + 1, sizeof(int)), *slot = cg_calloc((size_t)nl + 1, sizeof(int));
    g->order = cg_malloc(sizeof(int) * (size_t)(nl + 1));
    g->n_groups = 0;
    for (int i = 0; i < s->n; i++) {
        int y = s->items[i].label;
        if (count[y]++ == 0) g->order[g->n_groups++] = y;
    }
    g->start = cg_malloc(sizeof(int) * (size_t)(g->n_groups + 1));
    g->start[0] = 0;
    for (int k = 0; k < g->n_groups; k++) {
        slot[g->order[k]] = g->start[k];
        g->start[k + 1] = g->start[k] + count[g->order[k]];
    }
    g->members = cg_malloc(sizeof(int) * (size_t)(s->n + 1));
    for (int i = 0; i < s->n; i++) g->members[slot[s->items[i].label]++] = i;
    free(count);
    free(slot);
}

static void groups_free(LabelGroups *g) {
    free(g->order);
    free(g->start);
    free(g->members);
}

/* generate_fewshot_dataset on one list: per label (first-appearance order), random.sample of K
 * items when the label has at least K, else all of them; the list is replaced by the selection */
static void fewshot_split(DataSplit *s, int shots, PyRandom *r) {
    LabelGroups g;
    group_by_label(s, &g);
    DataItem *out = cg_malloc(sizeof(DataItem) * (size_t)(s->n + 1));
    char *taken = cg_calloc((size_t)s->n + 1, 1);
    int *pick = cg_malloc(sizeof(int) * (size_t)(shots + 1));
    int n_out = 0;
    for (int k = 0; k < g.n_groups; k++) {
        const int *mem = g.members + g.start[k];
        int n = g.start[k + 1] - g.start[k];
        if (n >= shots) {
            pyrandom_sample(r, n, shots, pick);
            for (int i = 0; i < shots; i++) out[n_out++] = s->items[mem[pick[i]]], taken[mem[pick[i]]] = 1;
        } else {
            for (int i = 0; i < n; i++) out[n_out++] = s->items[mem[i]], taken[mem[i]] = 1;
        }
    }
    for (int i = 0; i < s->n; i++)
        if (!taken[i]) free(s->items[i].path);
    free(s->items);
    s->items = out;
    s->n = n_out;
    free(taken);
    free(pick);
    groups_free(&g);
}

int dataset_fewshot(Dataset *d, int shots, int seed) {
    if (shots <= 0 || is_test_only(d->name)) return 0;
    PyRandom r;
    pyrandom_seed(&r, seed);
    fewshot_split(&d->train, shots, &r);
    if (strcmp(d->name, "imagenet") != 0) fewshot_split(&d->val, shots < 4 ? shots : 4, &r);
    return 0;
}

/* keep the items whose label has a new index (relabel[y] >= 0), relabelled */
static void filter_split(DataSplit *s, const int *relabel, int n_labels) {
    int n_out = 0;
    for (int i = 0; i < s->n; i++) {
        int y = s->items[i].label;
        int ny = (y >= 0 && y < n_labels) ? relabel[y] : -1;
        if (ny < 0) {
            free(s->items[i].path);
            continue;
        }
        s->items[n_out] = s->items[i];
        s->items[n_out++].label = ny;
    }
    s->n = n_out;
}

int dataset_subsample(Dataset *d, ClassSubset which) {
    if (which == SUBSET_ALL) return 0;
    if (d->train.n == 0) {
        cg_error_set("%s: cannot split base/new classes: the training list is empty", d->dir);
        return -1;
    }
    int n_labels = d->n_classes;
    for (int i = 0; i < d->train.n; i++)
        if (d->train.items[i].label < 0 || d->train.items[i].label >= n_labels) {
            cg_error_set("%s: training label %d outside 0..%d", d->dir, d->train.items[i].label,
                         n_labels - 1);
            return -1;
        }
    char *present = cg_calloc((size_t)n_labels, 1);
    for (int i = 0; i < d->train.n; i++) present[d->train.items[i].label] = 1;
    int n = 0;
    for (int y = 0; y < n_labels; y++) n += present[y];
    int m = (n + 1) / 2; /* ceil(n / 2) */
    int *relabel = cg_malloc(sizeof(int) * (size_t)n_labels);
    int rank = 0, kept = 0;
    for (int y = 0; y < n_labels; y++) {
        relabel[y] = -1;
        if (!present[y]) continue;
        int in_base = rank++ < m;
        if (in_base == (which == SUBSET_BASE)) relabel[y] = kept++;
    }
    filter_split(&d->train, relabel, n_labels);
    filter_split(&d->val, relabel, n_labels);
    filter_split(&d->test, relabel, n_labels);
    char **names = cg_malloc(sizeof(char *) * (size_t)(kept + 1));
    for (int y = 0; y < n_labels; y++) {
        if (relabel[y] >= 0) names[relabel[y]] = d->classnames[y];
        else free(d->classnames[y]);
    }
    free(d->classnames);
    d->classnames = names;
    d->n_classes = kept;
    free(present);
    free(relabel);
    return 0;
}
