/* results/select.c — the results of one sweep (or of all) of an OUT, by run key (select.h). */
#include "results/select.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/util.h"

void results_sweep_names(const char *out_dir, char *buf, size_t cap) {
    char *dir = cg_path_join(out_dir, "sweeps");
    DIR *d = opendir(dir);
    free(dir);
    buf[0] = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        size_t l = strlen(buf);
        snprintf(buf + l, cap - l, "%s%s", l ? ", " : "", e->d_name);
    }
    if (d) closedir(d);
    GridFile g;  /* an OUT with only grid.json: its sweep */
    if (!buf[0] && grid_file_read(out_dir, &g) == 0) {
        if (g.sweep[0]) snprintf(buf, cap, "%s", g.sweep);
        grid_file_free(&g);
    }
    if (!buf[0]) snprintf(buf, cap, "none");
}

static int read_sweep_(const char *out_dir, const char *name, GridFile *g) {
    char *sweeps = cg_path_join(out_dir, "sweeps"), *dir = cg_path_join(sweeps, name);
    int rc = grid_file_read(dir, g);
    free(sweeps);
    free(dir);
    return rc;
}

int results_sweep_grids(const char *out_dir, const char *sweep, int all, GridFile **grids,
                        int *n) {
    *grids = NULL, *n = 0;
    if (all) {
        char *dir = cg_path_join(out_dir, "sweeps");
        DIR *d = opendir(dir);
        free(dir);
        for (struct dirent *e; d && (e = readdir(d));) {
            if (e->d_name[0] == '.') continue;
            GridFile g;
            int rc = read_sweep_(out_dir, e->d_name, &g);
            if (rc < 0) return closedir(d), results_sweep_grids_free(*grids, *n), -1;
            if (rc) continue;
            *grids = cg_realloc(*grids, (size_t)(*n + 1) * sizeof **grids);
            (*grids)[(*n)++] = g;
        }
        if (d) closedir(d);
        if (*n) return 0;  /* else: an OUT of an older version, only grid.json */
    }
    GridFile g;
    int rc;
    if (sweep && sweep[0]) {
        rc = read_sweep_(out_dir, sweep, &g);
        if (rc == 1 && grid_file_read(out_dir, &g) == 0) {  /* an OUT with only grid.json */
            if (!strcmp(g.sweep, sweep)) rc = 0;
            else grid_file_free(&g);
        }
        if (rc == 1) {
            char names[512];
            results_sweep_names(out_dir, names, sizeof names);
            cg_error_set("%s: no sweep '%s' has run in this output folder (its sweeps: %s)",
                         out_dir, sweep, names);
            return -1;
        }
    } else {
        rc = grid_file_read(out_dir, &g);  /* the sweep of the last `run` */
        if (rc == 0 && g.sweep[0]) {
            GridFile own;
            if (read_sweep_(out_dir, g.sweep, &own) == 0) grid_file_free(&g), g = own;
        }
    }
    if (rc < 0) return -1;
    if (rc == 1) return 0;
    *grids = cg_malloc(sizeof **grids);
    (*grids)[0] = g;
    *n = 1;
    return 0;
}

void results_sweep_grids_free(GridFile *grids, int n) {
    for (int i = 0; i < n; i++) grid_file_free(&grids[i]);
    free(grids);
}

/* the row of a cell's run: by key, or by id in grids of older versions */
static int find_run_(const ResultsIndex *ix, const GridCell *c) {
    for (int i = 0; i < ix->n_runs; i++)
        if (c->key[0] ? !strcmp(ix->runs[i].key, c->key) : !strcmp(ix->runs[i].id, c->id))
            return i;
    return -1;
}

/* the cell's own fields over a copied row */
#define CELL_FIELDS(dst, c, variant)                                                        \
    do {                                                                                    \
        snprintf((dst)->id, sizeof (dst)->id, "%s", (c)->id);                               \
        snprintf((dst)->setting, sizeof (dst)->setting, "%s", (c)->setting);                \
        snprintf((dst)->dataset, sizeof (dst)->dataset, "%s", (c)->dataset);                \
        snprintf((dst)->method, sizeof (dst)->method, "%s", (c)->method);                   \
        snprintf((dst)->variant, sizeof (dst)->variant, "%.47s", variant);                    \
        (dst)->seed = (c)->seed, (dst)->shots = (c)->shots;                                 \
    } while (0)

int results_select(ResultsIndex *ix, const GridFile *grids, int n) {
    if (n == 0) return 0;
    ResultsIndex out = {0};
    size_t cells = 0;
    for (int g = 0; g < n; g++) cells += (size_t)grids[g].n;
    out.runs = cg_calloc(cells + 1, sizeof *out.runs);
    out.evals = cg_calloc(cells * CG_MAX_EVALS + 1, sizeof *out.evals);
    for (int g = 0; g < n; g++)
        for (int k = 0; k < grids[g].n; k++) {
            const GridCell *c = &grids[g].cells[k];
            int r = find_run_(ix, c);
            if (r < 0) continue;
            char variant[112];
            if (n > 1)
                snprintf(variant, sizeof variant, "%s%s%s", c->variant, c->variant[0] ? "," : "",
                         grids[g].sweep);
            else snprintf(variant, sizeof variant, "%s", c->variant);
            RunIndexRow *row = &out.runs[out.n_runs];
            *row = ix->runs[r];
            CELL_FIELDS(row, c, variant);
            snprintf(row->sweep, sizeof row->sweep, "%s", grids[g].sweep);
            for (int e = 0; e < ix->n_evals; e++) {
                if (ix->evals[e].run != r || out.n_evals >= (int)(cells * CG_MAX_EVALS)) continue;
                RunEvalRow *ev = &out.evals[out.n_evals++];
                *ev = ix->evals[e];
                ev->run = out.n_runs;
                CELL_FIELDS(ev, c, variant);
            }
            out.n_runs++;
        }
    results_index_free(ix);
    *ix = out;
    return 0;
}

int results_index_read_sweep(const char *results_h5, const char *sweep, int all, ResultsIndex *ix) {
    if (results_index_read(results_h5, ix) != 0) return -1;
    char *out_dir = cg_dirname(results_h5);
    GridFile *grids;
    int ng, rc = results_sweep_grids(out_dir, sweep, all, &grids, &ng);
    free(out_dir);
    if (!rc) rc = results_select(ix, grids, ng);
    if (!rc) results_sweep_grids_free(grids, ng);
    if (rc) results_index_free(ix);
    return rc ? -1 : 0;
}
