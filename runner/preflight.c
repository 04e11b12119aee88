/* runner/preflight.c — the set-up checks before a sweep is planned or run (preflight.h). */
#include "runner/preflight.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/data/dataset.h"
#include "base/util.h"
#include "core/train/train.h"
#include "runner/grid.h"

#define MAX_MISSING_SHOWN 10

static int is_dir_(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int has_setting_(const Sweep *s, const char *name) {
    for (int i = 0; i < s->n_settings; i++)
        if (!strcmp(s->settings[i], name)) return 1;
    return 0;
}

/* every listed image of a loaded dataset present (stat in parallel); returns the problems */
static int images_(const Dataset *d, FILE *err) {
    const DataSplit *sp[3] = {&d->train, &d->val, &d->test};
    int bad = 0;
    for (int k = 0; k < 3; k++) {
        int n = sp[k]->n;
        unsigned char *miss = cg_calloc((size_t)n + 1, 1);
#pragma omp parallel for schedule(dynamic, 256)
        for (int i = 0; i < n; i++) {
            struct stat st;
            miss[i] = stat(sp[k]->items[i].path, &st) != 0 || !S_ISREG(st.st_mode);
        }
        for (int i = 0; i < n; i++) {
            if (!miss[i]) continue;
            if (bad < MAX_MISSING_SHOWN)
                fprintf(err, "%s: image listed by dataset %s is missing\n", sp[k]->items[i].path,
                        d->name);
            bad++;
        }
        free(miss);
    }
    if (bad > MAX_MISSING_SHOWN)
        fprintf(err, "%s: … %d more missing images of dataset %s\n", d->dir,
                bad - MAX_MISSING_SHOWN, d->name);
    return bad;
}

/* a dataset's folder, split files and images; pos: where the sweep names it */
static int dataset_(const Sweep *s, const char *name, SweepPos pos, const char *why, int quick,
                    FILE *err) {
    char *dir = cg_path_join(s->data_root, dataset_dirname(name));
    int bad = 0;
    if (!is_dir_(dir)) {
        fprintf(err, "%s:%d:%d: %s: no folder '%s' for dataset %s under data.root\n", s->path,
                pos.line, pos.col, why, dir, name);
        bad = 1;
    } else {
        Dataset d;
        if (dataset_load(&d, name, dir) != 0) {
            fprintf(err, "%s\n", cg_error());
            bad = 1;
        } else {
            if (!quick) bad += images_(&d, err);
            dataset_free(&d);
        }
    }
    free(dir);
    return bad;
}

static int data_(const Sweep *s, int quick, FILE *err) {
    if (!is_dir_(s->data_root)) {
        fprintf(err, "%s:%d:%d: data.root: no folder '%s'\n", s->path, s->data_pos.line,
                s->data_pos.col, s->data_root);
        return 1;
    }
    int bad = 0, xd = has_setting_(s, "cross_dataset"), dg = has_setting_(s, "domain_generalization");
    dataset_set_image_checks(0);  /* images_ stats them all, in parallel (not with --quick) */
    int has_imagenet = 0;
    for (int i = 0; i < s->n_datasets; i++) {
        has_imagenet |= !strcmp(s->datasets[i], "imagenet");
        if ((xd || dg) && strcmp(s->datasets[i], "imagenet") &&
            !dataset_folder_template(s->datasets[i])) {
            fprintf(err, "%s:%d:%d: datasets: %s trains on imagenet, not on %s (list imagenet, "
                    "and your own folder datasets as extra targets: the protocol's targets are "
                    "evaluated by the setting)\n", s->path,
                    s->dataset_pos[i].line, s->dataset_pos[i].col,
                    xd ? "cross_dataset" : "domain_generalization", s->datasets[i]);
            bad++;
            continue;
        }
        bad += dataset_(s, s->datasets[i], s->dataset_pos[i], "datasets", quick, err);
    }
    if ((xd || dg) && !has_imagenet)
        bad += dataset_(s, "imagenet", s->datasets_pos, "the source of cross_dataset and "
                        "domain_generalization", quick, err);
    const char *const *lists[2] = {xd ? protocol_targets("cross_dataset") : NULL,
                                   dg ? protocol_targets("domain_generalization") : NULL};
    for (int l = 0; l < 2; l++)
        for (int i = 0; lists[l] && lists[l][i]; i++) {
            int listed = 0;
            for (int k = 0; k < s->n_datasets; k++) listed |= !strcmp(s->datasets[k], lists[l][i]);
            if (listed) continue;
            char why[96];
            snprintf(why, sizeof why, "setting %s evaluates on %s",
                     l == 0 ? "cross_dataset" : "domain_generalization", lists[l][i]);
            bad += dataset_(s, lists[l][i], s->datasets_pos, why, quick, err);
        }
    dataset_set_image_checks(1);
    return bad;
}

/* where a method key of a cell was set: the variant's entry, the method's entry, an override,
 * else the method's own position */
static SweepPos key_pos_(const Sweep *s, const SweepCell *c, const char *key, int *given) {
    int idx = sweep_method_key(key);
    SweepPos p = {0, 0};
    *given = 0;
    for (int i = 0; i < s->n_methods; i++) {
        const SweepMethod *m = &s->methods[i];
        if (m->kind != c->method || (m->variant[0] && strcmp(m->variant, c->variant))) continue;
        if (!p.line) p = m->pos;
        if (idx >= 0 && m->keys.given[idx]) p = m->keys.pos[idx], *given = 1;
        if (!strcmp(m->variant, c->variant) && *given) break;
    }
    for (int i = 0; idx >= 0 && i < s->n_overrides; i++)
        if (s->overrides[i].set.given[idx]) p = s->overrides[i].set.pos[idx], *given = 1;
    return p;
}

static int words_(const char *t) {
    int n = 0, in = 0;
    for (; *t; t++) {
        if (*t == ' ') in = 0;
        else if (!in) in = 1, n++;
    }
    return n;
}

/* one line per (method entry, problem): the first cell that shows it */
static int options_(const Sweep *s, const ClipConfig *cfg, FILE *err) {
    int bad = 0;
    char seen[SWEEP_MAX_METHODS * 4][64];
    int n_seen = 0;
    for (int i = 0; i < s->n_cells; i++) {
        const SweepCell *c = &s->cells[i];
        char line[512] = "", tag[64];
        int given, g2;
        SweepPos p = {0, 0};
        MethodKind k = c->method;
        const MethodDesc *d = method_at(k);
        const char *key = NULL;
        char why[400];
        if (d->check && d->check(&c->mc, cfg, why, sizeof why, &key) != 0) {
            p = key_pos_(s, c, key, &given);
            if (!given && !strcmp(key, "depth")) p = key_pos_(s, c, "prompt_depth", &given);
            snprintf(line, sizeof line, "%s, %s", why, s->weights);
        }
        /* CoOp and CoCoOp take the context length from ctx_init's words (MaPLe and MuDPT
         * take the first n_ctx tokens of it, so there both keys count) */
        if (!line[0] && c->mc.ctx_init[0] && (k == method_kind_from_name("coop") || k == method_kind_from_name("cocoop") ||
                                     k == method_kind_from_name("kgcoop"))) {
            SweepPos pn = key_pos_(s, c, "n_ctx", &given), pc = key_pos_(s, c, "ctx_init", &g2);
            if (given && c->mc.n_ctx != words_(c->mc.ctx_init)) {
                p = pn;
                snprintf(line, sizeof line, "n_ctx: %d has no effect beside ctx_init \"%s\" (%d "
                         "words, set at line %d:%d): the context is ctx_init's words; give one "
                         "of the two", c->mc.n_ctx, c->mc.ctx_init, words_(c->mc.ctx_init),
                         pc.line, pc.col);
            }
        }
        if (!line[0]) continue;
        snprintf(tag, sizeof tag, "%d:%d:%.40s", p.line, p.col, line);
        int dup = 0;
        for (int j = 0; j < n_seen && !dup; j++) dup = !strcmp(seen[j], tag);
        if (dup) continue;
        if (n_seen < (int)(sizeof seen / sizeof *seen)) snprintf(seen[n_seen++], 64, "%s", tag);
        fprintf(err, "%s:%d:%d: %s%s%s: %s\n", s->path, p.line, p.col, method_name(k),
                c->variant[0] ? "@" : "", c->variant, line);
        bad++;
    }
    return bad;
}

int preflight(const Sweep *s, int quick, ClipConfig *cfg, FILE *err) {
    int bad = 0;
    if (sweep_check_files(s)) fprintf(err, "%s\n", cg_error()), bad++;
    else if (grid_model_config(s->weights, cfg)) {
        fprintf(err, "%s:%d:%d: model.weights: %s\n", s->path, s->weights_pos.line,
                s->weights_pos.col, cg_error());
        bad++;
    } else bad += options_(s, cfg, err);
    if (bad) return bad;  /* the model and the options first: the data is checked once they hold */
    return data_(s, quick, err);
}
