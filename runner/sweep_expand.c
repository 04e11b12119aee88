/* runner/sweep_expand.c — the grid of a sweep: one cell per (setting, dataset, method, shots,
 * seed), each with its resolved MethodConfig (published defaults, then the method's keys, then
 * the matching overrides in file order), its rank count and its run id. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "core/data/dataset.h"
#include "core/train/train.h"
#include "runner/sweep.h"

static int has_str_(char (*list)[32], int n, const char *s) {
    for (int i = 0; i < n; i++)
        if (!strcmp(list[i], s)) return 1;
    return 0;
}

static int has_int_(const int *list, int n, int v) {
    for (int i = 0; i < n; i++)
        if (list[i] == v) return 1;
    return 0;
}

static int matches_(SweepOverride *o, const SweepCell *c) {
    int method_ok = !o->n_methods;
    for (int i = 0; i < o->n_methods; i++) method_ok |= o->methods[i] == c->method;
    return method_ok && (!o->n_settings || has_str_(o->settings, o->n_settings, c->setting)) &&
           (!o->n_datasets || has_str_(o->datasets, o->n_datasets, c->dataset)) &&
           (!o->n_seeds || has_int_(o->seeds, o->n_seeds, c->seed)) &&
           (!o->n_shots || has_int_(o->shots, o->n_shots, c->shots));
}

static void make_cell_(Sweep *s, SweepCell *c, const char *setting, const char *dataset,
                       const SweepMethod *m, int shots, int seed) {
    memset(c, 0, sizeof *c);
    snprintf(c->setting, sizeof c->setting, "%s", setting);
    snprintf(c->dataset, sizeof c->dataset, "%s", dataset);
    c->method = m->kind;
    snprintf(c->variant, sizeof c->variant, "%s", m->variant);
    c->shots = shots;
    c->seed = seed;
    c->ranks = s->ranks;
    c->run_seed = sweep_run_seed(s->sweep_seed, seed);
    method_config_defaults(&c->mc, m->kind, setting, dataset);
    c->mc.kind = m->kind;
    if (s->precision[0]) snprintf(c->mc.train.precision, sizeof c->mc.train.precision, "%s", s->precision);
    /* a variant starts from the sweep's own entry of its method, when there is one */
    for (int i = 0; m->variant[0] && i < s->n_methods; i++)
        if (s->methods[i].kind == m->kind && !s->methods[i].variant[0])
            sweep_keys_apply(&s->methods[i].keys, m->kind, &c->mc, &c->ranks);
    sweep_keys_apply(&m->keys, m->kind, &c->mc, &c->ranks);
    for (int i = 0; i < s->n_overrides; i++)
        if (matches_(&s->overrides[i], c))
            sweep_keys_apply(&s->overrides[i].set, m->kind, &c->mc, &c->ranks);
    snprintf(c->id, sizeof c->id, "%s/%s%s%s/%s/shots%d/seed%d", setting, method_name(m->kind),
             m->variant[0] ? "@" : "", m->variant, dataset, shots, seed);
}

static int empty_(const Sweep *s, SweepPos p, const char *what) {
    cg_error_set("%s:%d:%d: empty grid: %s", s->path, p.line, p.col, what);
    return -1;
}

int sweep_expand(Sweep *s) {
    if (!s->n_datasets) return empty_(s, s->datasets_pos, "'datasets' lists no dataset");
    if (!s->n_methods) return empty_(s, s->methods_pos, "'methods' names no method");
    if (!s->n_seeds) return empty_(s, s->seeds_pos, "'seeds' lists no seed");
    if (!s->n_shots) return empty_(s, s->shots_pos, "'shots' lists no value");
    size_t n = (size_t)s->n_settings * s->n_datasets * s->n_methods * s->n_shots * s->n_seeds;
    if (n > SWEEP_MAX_CELLS) {
        cg_error_set("%s:%d:%d: the grid has %zu runs (%d settings x %d datasets x %d methods x "
                     "%d shots x %d seeds), more than %d: split the sweep", s->path,
                     s->datasets_pos.line, s->datasets_pos.col, n, s->n_settings, s->n_datasets,
                     s->n_methods, s->n_shots, s->n_seeds, SWEEP_MAX_CELLS);
        return -1;
    }
    s->cells = cg_calloc(n, sizeof *s->cells);
    s->n_cells = 0;
    int nx = 0;
    for (int b = 0; b < s->n_datasets; b++)
        if (dataset_folder_template(s->datasets[b])) s->extra_targets[nx++] = s->datasets[b];
    s->extra_targets[nx] = NULL;
    for (int a = 0; a < s->n_settings; a++)
        for (int b = 0; b < s->n_datasets; b++) {
            /* a folder dataset of a transfer setting is one of its targets, not a cell */
            if (protocol_targets(s->settings[a]) && dataset_folder_template(s->datasets[b]))
                continue;
            for (int m = 0; m < s->n_methods; m++)
                for (int k = 0; k < s->n_shots; k++)
                    for (int e = 0; e < s->n_seeds; e++)
                        make_cell_(s, &s->cells[s->n_cells++], s->settings[a], s->datasets[b],
                                   &s->methods[m], s->shots[k], s->seeds[e]);
        }
    return 0;
}
