/* tests/test_fewshot.c — dataset_fewshot and dataset_subsample against Dassl's algorithm run
 * with Python's own `random` (tests/reference/fewshot_ref.py → tests/data/fewshot_ref.txt):
 * four list shapes (sorted, interleaved with class sizes around random.sample's regime switch
 * and around K, labels first seen out of order, ImageNet-like with val untouched), seeds
 * 1, 2, 3, 7, 2^31−1, shots 1, 2, 4, 8, 16, subsets all / base / new. Items are compared as
 * (position in the original list, label after relabelling), in order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/data/dataset.h"
#include "base/util.h"
#include "tests/testlib.h"

#define MAXN 20000

typedef struct {
    int n, labels[MAXN];
} Labels;

static Labels shape_train, shape_val, shape_test;
static char shape_name[64], shape_dataset[32];

static void parse_labels(char *rest, Labels *l) {
    l->n = 0;
    char *save;
    for (char *t = strtok_r(rest, " \n", &save); t; t = strtok_r(NULL, " \n", &save))
        l->labels[l->n++] = atoi(t);
}

static void fill_split(DataSplit *s, const Labels *l) {
    s->n = l->n;
    s->items = malloc(sizeof(DataItem) * (size_t)(l->n + 1));
    for (int i = 0; i < l->n; i++) {
        char buf[16];
        snprintf(buf, sizeof buf, "%d", i);
        s->items[i].path = cg_strdup(buf);
        s->items[i].label = l->labels[i];
    }
}

static void build(Dataset *d) {
    memset(d, 0, sizeof *d);
    snprintf(d->name, sizeof d->name, "%s", shape_dataset);
    d->dir = cg_strdup("/fixture");
    fill_split(&d->train, &shape_train);
    fill_split(&d->val, &shape_val);
    fill_split(&d->test, &shape_test);
    int n = 0;
    for (int i = 0; i < shape_train.n; i++)
        if (shape_train.labels[i] + 1 > n) n = shape_train.labels[i] + 1;
    d->n_classes = n;
    d->classnames = malloc(sizeof(char *) * (size_t)n);
    for (int y = 0; y < n; y++) {
        char buf[16];
        snprintf(buf, sizeof buf, "c%d", y);
        d->classnames[y] = cg_strdup(buf);
    }
}

/* "pos:label pos:label …" against the split */
static int same_items(const DataSplit *s, char *want) {
    char *save;
    int i = 0;
    for (char *t = strtok_r(want, " \n", &save); t; t = strtok_r(NULL, " \n", &save), i++) {
        int pos, label;
        if (sscanf(t, "%d:%d", &pos, &label) != 2 || i >= s->n) return 0;
        if (atoi(s->items[i].path) != pos || s->items[i].label != label) return 0;
    }
    return i == s->n;
}

int main(void) {
    const char *dir = getenv("CLIPGRID_TEST_DATA");
    char path[512];
    snprintf(path, sizeof path, "%s/fewshot_ref.txt", dir ? dir : "tests/data");
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return 1;
    }
    static char line[1 << 20];
    Dataset d = {0};
    int have = 0, cases = 0, seed = 0, shots = 0;
    char which[8] = "";
    while (fgets(line, sizeof line, f)) {
        char *sp = strchr(line, ' ');
        if (!sp) continue;
        *sp = 0;
        char *rest = sp + 1;
        if (!strcmp(line, "shape")) sscanf(rest, "%63s %31s", shape_name, shape_dataset);
        else if (!have && !strcmp(line, "train")) parse_labels(rest, &shape_train);
        else if (!have && !strcmp(line, "val")) parse_labels(rest, &shape_val);
        else if (!have && !strcmp(line, "test")) parse_labels(rest, &shape_test);
        else if (!strcmp(line, "case")) {
            if (have) dataset_free(&d);
            sscanf(rest, "%d %d %7s", &seed, &shots, which);
            build(&d);
            have = 1;
            cases++;
            CHECK(dataset_fewshot(&d, shots, seed) == 0, "dataset_fewshot failed");
            ClassSubset sub = !strcmp(which, "base") ? SUBSET_BASE
                              : !strcmp(which, "new") ? SUBSET_NEW : SUBSET_ALL;
            int n_before = d.n_classes;
            CHECK(dataset_subsample(&d, sub) == 0, "dataset_subsample failed: %s", cg_error());
            if (sub == SUBSET_BASE)
                CHECK(d.n_classes == (n_before + 1) / 2, "%s base: %d classes", shape_name, d.n_classes);
            if (sub != SUBSET_ALL && d.n_classes > 0) {
                /* class names follow the kept labels */
                int first = sub == SUBSET_BASE ? 0 : (n_before + 1) / 2;
                char want[16];
                snprintf(want, sizeof want, "c%d", first);
                CHECK(!strcmp(d.classnames[0], want), "%s %s: first class %s, want %s",
                      shape_name, which, d.classnames[0], want);
            }
        } else if (have) {
            const DataSplit *s = !strcmp(line, "train") ? &d.train
                                 : !strcmp(line, "val") ? &d.val : &d.test;
            CHECK(same_items(s, rest), "%s seed %d shots %d %s: %s list differs from Python's",
                  shape_name, seed, shots, which, line);
        }
        if (!strcmp(line, "shape") && have) {
            dataset_free(&d);
            have = 0;
        }
    }
    if (have) dataset_free(&d);
    fclose(f);
    printf("  %d cases (shape × seed × shots × subset) compared\n", cases);
    CHECK(cases == 4 * 5 * 5 * 3, "expected 300 cases, read %d", cases);
    return test_finish("test_fewshot");
}
