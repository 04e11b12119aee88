/* runner/grid.c — cost estimates of grid cells (the FLOP model of runner/grid.h), dataset sizes,
 * the largest-first order and the simulated placement on ranks that `plan` prints and `run`
 * follows for multi-rank cells. */
#include "runner/grid.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/model/clip_weights.h"
#include "core/data/dataset.h"
#include "base/util.h"
#include "core/train/train.h"
#include "core/model/torch_checkpoint.h"

/* published split sizes (protocol.md §7): classes, train, test */
static const GridDataset PUBLISHED[] = {
    {"imagenet", 1000, 1281167, 50000, 0},  {"caltech101", 100, 4128, 2465, 0},
    {"oxford_pets", 37, 2944, 3669, 0},     {"stanford_cars", 196, 6509, 8041, 0},
    {"oxford_flowers", 102, 4093, 2463, 0}, {"food101", 101, 50500, 30300, 0},
    {"fgvc_aircraft", 100, 3334, 3333, 0},  {"sun397", 397, 15880, 19850, 0},
    {"dtd", 47, 2820, 1692, 0},             {"eurosat", 10, 13500, 8100, 0},
    {"ucf101", 101, 7639, 3783, 0},         {"imagenetv2", 1000, 0, 10000, 0},
    {"imagenet_sketch", 1000, 0, 50889, 0}, {"imagenet_a", 200, 0, 7500, 0},
    {"imagenet_r", 200, 0, 30000, 0},
};
#define N_PUBLISHED ((int)(sizeof PUBLISHED / sizeof *PUBLISHED))

static GridDataset cache_[N_PUBLISHED];
static int cached_[N_PUBLISHED];

const GridDataset *grid_dataset(const char *name, const char *data_root) {
    int i = 0;
    while (i < N_PUBLISHED && strcmp(PUBLISHED[i].name, name)) i++;
    if (i == N_PUBLISHED) return NULL;
    if (cached_[i]) return &cache_[i];
    cache_[i] = PUBLISHED[i];
    const char *dirname = dataset_dirname(name);
    if (data_root && dirname) {
        char *dir = cg_path_join(data_root, dirname);
        Dataset d;
        if (dataset_load(&d, name, dir) == 0) {
            cache_[i].n_classes = d.n_classes;
            cache_[i].n_train = d.train.n;
            cache_[i].n_test = d.test.n;
            cache_[i].from_disk = 1;
            dataset_free(&d);
        }
        free(dir);
    }
    cached_[i] = 1;
    return &cache_[i];
}

static double tower_(const TowerDims *t, double T) {
    double d = t->width, m = t->mlp;
    return t->layers * (2.0 * T * (4.0 * d * d + 2.0 * d * m) + 4.0 * T * T * d);
}

/* the method's cost model (core/methods/method.h MethodCost) */
static MethodCost cost_of_(const SweepCell *c) {
    return method_at(c->method)->cost(&c->mc);
}

static double image_flops_(const ClipConfig *cfg, const SweepCell *c) {
    double g2 = (double)cfg->grid * cfg->grid;
    return tower_(&cfg->vis, g2 + 1 + cost_of_(c).extra_image_tokens) +
           2.0 * g2 * 3.0 * cfg->patch * cfg->patch * cfg->vis.width;
}

static double text_flops_(const ClipConfig *cfg, const SweepCell *c) {
    double T = 12 + cost_of_(c).extra_text_tokens;
    if (T > cfg->context) T = cfg->context;
    return tower_(&cfg->txt, T);
}

static double eval_flops_(const ClipConfig *cfg, const SweepCell *c, double n_test, double C) {
    double f = n_test * image_flops_(cfg, c) + C * text_flops_(cfg, c);
    if (cost_of_(c).text_per_image) f += n_test * C * text_flops_(cfg, c);
    return f;
}

static double train_flops_(const ClipConfig *cfg, const SweepCell *c, const GridDataset *d,
                           double C) {
    if (!method_at(c->method)->trains || c->mc.train.epochs <= 0) return 0;
    double B = c->mc.train.batch > 0 ? c->mc.train.batch : 1;
    double n = c->shots > 0 ? (double)c->shots * C : d->n_train;
    double steps = n >= B ? floor(n / B) : 1, b = n >= B ? B : n;
    double img = image_flops_(cfg, c), txt = text_flops_(cfg, c);
    MethodCost k = cost_of_(c);
    /* forward (+ backward, about as dear) of the images; the text prompts forward and backward */
    double step = (k.image_backward ? 2 : 1) * b * img + 2 * (k.text_per_image ? b : 1) * C * txt;
    return c->mc.train.epochs * steps * step;
}

static double targets_flops_(const ClipConfig *cfg, const SweepCell *c, const char *const *t,
                             const char *root) {
    double f = 0;
    for (int i = 0; t[i]; i++) {
        const GridDataset *d = grid_dataset(t[i], root);
        if (d) f += eval_flops_(cfg, c, d->n_test, d->n_classes);
    }
    return f;
}

double grid_cell_flops(const ClipConfig *cfg, const SweepCell *c, const char *data_root) {
    const GridDataset *d = grid_dataset(c->dataset, data_root);
    if (!d) return 0;
    double C = d->n_classes, f;
    if (!strcmp(c->setting, "base2new")) {
        double Cb = ceil(C / 2);
        f = train_flops_(cfg, c, d, Cb) + eval_flops_(cfg, c, d->n_test / 2.0, Cb) +
            eval_flops_(cfg, c, d->n_test / 2.0, C - Cb);
    } else {
        f = train_flops_(cfg, c, d, C) + eval_flops_(cfg, c, d->n_test, C);
        if (protocol_targets(c->setting))
            f += targets_flops_(cfg, c, protocol_targets(c->setting), data_root);
    }
    return f;
}

/* Each method's cost factor (MethodDesc.cost_factor): measured seconds per estimated second,
 * relative to CoOp. Calibrated on the demo sweep (sweeps/demo.yaml: tiny model, 1 CPU thread, 8
 * shots, base2new on eurosat, dtd and oxford_pets, 3 seeds; 2026-11-22, mean of the 9 runs per
 * method, two sweeps). The factors only change the order of runs and the ETA, never FLOPs. */
/* the training FLOPs of a cell (what a cell sharing another's training does not pay) */
static double cell_train_flops_(const ClipConfig *cfg, const SweepCell *c, const char *root) {
    const GridDataset *d = grid_dataset(!strcmp(c->setting, "cross_dataset") ||
                                        !strcmp(c->setting, "domain_generalization")
                                            ? "imagenet" : c->dataset, root);
    if (!d) return 0;
    double C = !strcmp(c->setting, "base2new") ? ceil(d->n_classes / 2.0) : d->n_classes;
    return train_flops_(cfg, c, d, C);
}

void grid_estimate(Sweep *s, const ClipConfig *cfg, const char *data_root) {
    for (int i = 0; i < s->n_cells; i++) {
        SweepCell *c = &s->cells[i];
        c->flops = grid_cell_flops(cfg, c, data_root);
        c->cost = c->cost_alone = c->flops / GRID_FLOPS_PER_SECOND * method_at(c->method)->cost_factor;
        c->train_cost = cell_train_flops_(cfg, c, data_root) / GRID_FLOPS_PER_SECOND *
                        method_at(c->method)->cost_factor;
        /* the training of an earlier run with the same training key is done once */
        for (int j = 0; c->tkey[0] && j < i; j++)
            if (s->cells[j].first == j && strcmp(s->cells[j].key, c->key) &&
                !strcmp(s->cells[j].tkey, c->tkey)) {
                c->flops -= cell_train_flops_(cfg, c, data_root);
                c->cost = c->flops / GRID_FLOPS_PER_SECOND * method_at(c->method)->cost_factor;
                break;
            }
    }
}

static const Sweep *sort_sweep_;
static int by_cost_(const void *a, const void *b) {
    int i = *(const int *)a, j = *(const int *)b;
    double ci = sort_sweep_->cells[i].cost, cj = sort_sweep_->cells[j].cost;
    if (ci != cj) return ci > cj ? -1 : 1;
    return i - j;
}

int grid_order(const Sweep *s, const unsigned char *todo, int *order) {
    int n = 0;
    for (int i = 0; i < s->n_cells; i++)
        if (!todo || todo[i]) order[n++] = i;
    sort_sweep_ = s;
    qsort(order, (size_t)n, sizeof *order, by_cost_);
    return n;
}

static int clamp_(int r, int n) { return r < n ? r : n; }

/* the distinct rank counts > 1 of the ordered cells, largest first */
static void classes_(const Sweep *s, const int *order, int n, GridPlan *p) {
    for (int k = 0; k < n; k++) {
        int r = clamp_(s->cells[order[k]].ranks, p->n_ranks), j = 0;
        if (r < 2) continue;
        while (j < p->n_classes && p->class_ranks[j] != r) j++;
        if (j < p->n_classes || p->n_classes == 32) continue;
        p->class_ranks[p->n_classes++] = r;
        for (j = p->n_classes - 1; j > 0 && p->class_ranks[j] > p->class_ranks[j - 1]; j--) {
            int t = p->class_ranks[j];
            p->class_ranks[j] = p->class_ranks[j - 1], p->class_ranks[j - 1] = t;
        }
    }
}

int grid_class_of(const GridPlan *p, int ranks) {
    int r = clamp_(ranks, p->n_ranks);
    for (int c = 0; r > 1 && c < p->n_classes; c++)
        if (p->class_ranks[c] == r) return c;
    return -1;
}

/* place cell i on the first free window [a, a + r) among `slots` (a = slot·r) */
static void place_(const Sweep *s, GridPlan *p, double *load, int i, int r, int slots) {
    int best = 0;
    double best_t = INFINITY;
    for (int k = 0; k < slots; k++) {
        double t = 0;
        for (int q = k * r; q < (k + 1) * r; q++) t = load[q] > t ? load[q] : t;
        if (t < best_t) best_t = t, best = k;
    }
    p->first_rank[i] = p->predicted_rank[i] = best * r;
    p->n_members[i] = r;
    p->start[i] = best_t;
    p->end[i] = best_t + s->cells[i].cost / r;
    for (int q = best * r; q < (best + 1) * r; q++) load[q] = p->end[i];
}

void grid_plan(const Sweep *s, const int *order, int n, int n_ranks, GridPlan *p) {
    memset(p, 0, sizeof *p);
    p->n_ranks = n_ranks;
    size_t nc = (size_t)s->n_cells;
    p->first_rank = cg_malloc(nc * sizeof(int));
    p->n_members = cg_malloc(nc * sizeof(int));
    p->predicted_rank = cg_malloc(nc * sizeof(int));
    p->cls = cg_malloc(nc * sizeof(int));
    p->start = cg_calloc(nc, sizeof(double));
    p->end = cg_calloc(nc, sizeof(double));
    for (size_t i = 0; i < nc; i++)
        p->first_rank[i] = p->predicted_rank[i] = p->cls[i] = -1, p->n_members[i] = 1;
    classes_(s, order, n, p);
    double *load = cg_calloc((size_t)n_ranks, sizeof(double));
    for (int c = 0; c < p->n_classes; c++)  /* the classes' slots, largest class first */
        for (int k = 0; k < n; k++) {
            int i = order[k];
            if (grid_class_of(p, s->cells[i].ranks) != c) continue;
            p->cls[i] = c;
            place_(s, p, load, i, p->class_ranks[c], n_ranks / p->class_ranks[c]);
        }
    for (int k = 0; k < n; k++) {  /* single-rank cells: to the first free rank */
        int i = order[k];
        if (p->cls[i] >= 0) continue;
        place_(s, p, load, i, 1, n_ranks);
        p->first_rank[i] = -1;
    }
    for (int q = 0; q < n_ranks; q++) p->makespan = load[q] > p->makespan ? load[q] : p->makespan;
    free(load);
}

void grid_plan_free(GridPlan *p) {
    free(p->first_rank);
    free(p->n_members);
    free(p->predicted_rank);
    free(p->cls);
    free(p->start);
    free(p->end);
    memset(p, 0, sizeof *p);
}

int grid_model_config(const char *weights, ClipConfig *cfg) {
    SafeTensors *st = weights_open(weights);  /* safetensors or a PyTorch checkpoint */
    if (!st) return -1;
    ClipNaming nm;
    int rc = clip_weights_check(st, cfg, &nm);
    st_close(st);
    return rc;
}
