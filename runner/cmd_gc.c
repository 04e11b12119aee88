/* runner/cmd_gc.c — `clipgrid gc OUT [--dry-run]`: the run files, checkpoints, logs, saved
 * parameters (params/) and checkpoint segments of OUT whose key (or training key) no sweep's
 * grid (OUT/sweeps/<name>/grid.json, and OUT/grid.json) refers to any more: stale results of earlier grids. Lists them, then removes
 * them (not with --dry-run). Refused while a job runs in OUT (a live claim in OUT/claims or
 * OUT/params, results/claim.h) and while another gc holds OUT's lock. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "results/select.h"
#include "results/claim.h"
#include "runner/cli.h"
#include "runner/env.h"
#include "runner/runner.h"

/* a live claim of a run or a training in OUT: 1 (its path and holder in *why), else 0 */
static int live_claim_(const char *out, char *why, size_t cap) {
    static const char *SUB[] = {"claims", "params"};
    int live = 0;
    for (int i = 0; i < 2 && !live; i++) {
        char *dir = cg_path_join(out, SUB[i]);
        DIR *d = opendir(dir);
        for (struct dirent *e; d && !live && (e = readdir(d));) {
            size_t l = strlen(e->d_name);
            if (l < 7 || strcmp(e->d_name + l - 6, ".claim")) continue;
            char *p = cg_path_join(dir, e->d_name), h[200];
            ClaimInfo ci;
            if (claim_read(p, &ci) == 0 && !ci.stale) {
                claim_describe(&ci, h, sizeof h);
                snprintf(why, cap, "%s (%s)", p, h);
                live = 1;
            }
            free(p);
        }
        if (d) closedir(d);
        free(dir);
    }
    return live;
}

static void gc_usage(FILE *f) {
    fprintf(f, "usage: clipgrid gc OUT [--dry-run]\n\n"
               "Lists the results in OUT that no sweep of OUT refers to any more (their key\n"
               "changed: an edited option, weights or split file), with their checkpoints and\n"
               "logs, and removes them; --dry-run only lists them.\n");
}

static int referenced_(const GridFile *g, int n, const char *key) {
    for (int i = 0; i < n; i++)
        for (int k = 0; k < g[i].n; k++)
            if (!strcmp(g[i].cells[k].key, key) || !strcmp(g[i].cells[k].tkey, key)) return 1;
    return 0;
}

/* the stem of a key-named file: 20 hex digits before the extension */
static int key_stem_(const char *name, char *key) {
    int n = 0;
    while (n < 20 && ((name[n] >= '0' && name[n] <= '9') || (name[n] >= 'a' && name[n] <= 'f'))) n++;
    if (n != 20 || name[20] != '.') return 0;
    memcpy(key, name, 20);
    key[20] = 0;
    return 1;
}

static int sweep_dir_(const char *out, const char *sub, const GridFile *g, int n, int dry) {
    char *dir = cg_path_join(out, sub);
    DIR *d = opendir(dir);
    int count = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        char key[24];
        if (!key_stem_(e->d_name, key) || referenced_(g, n, key)) continue;
        char *p = cg_path_join(dir, e->d_name);
        struct stat st;
        stat(p, &st);
        printf("%s%s (%.1f KiB)\n", dry ? "stale " : "removed ", p, st.st_size / 1024.0);
        if (!dry) unlink(p);
        free(p);
        count++;
    }
    if (d) closedir(d);
    free(dir);
    return count;
}

int cmd_gc(int argc, char **argv) {
    const char *out = NULL;
    int dry = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return gc_usage(stdout), 0;
        if (!strcmp(argv[i], "--dry-run")) dry = 1;
        else if (argv[i][0] == '-' || out) return gc_usage(stderr), 2;
        else out = argv[i];
    }
    if (!out) return gc_usage(stderr), 2;
    char *gj = cg_path_join(out, "grid.json");
    int is_out = access(gj, F_OK) == 0;
    free(gj);
    if (!is_out) {
        fprintf(stderr, "clipgrid gc: %s: not an output folder of clipgrid run (no grid.json)\n", out);
        return 2;
    }
    run_env_configure_claims();
    char why[1400];
    if (!dry && live_claim_(out, why, sizeof why)) {
        fprintf(stderr, "clipgrid gc: %s: a job is running in this output folder (live claim %s); "
                "run gc when it has ended\n", out, why);
        return 1;
    }
    int fd = -1;
    if (!dry && out_lock(out, &fd)) {
        fprintf(stderr, "clipgrid gc: %s\n", cg_error());
        return 1;
    }
    GridFile *g = NULL, last;
    int n = 0;
    if (results_sweep_grids(out, NULL, 1, &g, &n)) {
        fprintf(stderr, "clipgrid gc: %s\n", cg_error());
        out_unlock(fd);
        return 1;
    }
    if (grid_file_read(out, &last) == 0) {  /* OUT/grid.json too */
        g = cg_realloc(g, (size_t)(n + 1) * sizeof *g);
        g[n++] = last;
    }
    static const char *SUB[] = {"runs", "ckpt", "logs", "params"};
    int count = 0;
    for (int i = 0; i < 4; i++) count += sweep_dir_(out, SUB[i], g, n, dry);
    printf("%d stale file%s %s\n", count, count == 1 ? "" : "s", dry ? "(kept: --dry-run)" : "removed");
    results_sweep_grids_free(g, n);
    if (!dry && count && results_aggregate(out))
        fprintf(stderr, "clipgrid gc: results.h5 not rebuilt: %s\n", cg_error());
    out_unlock(fd);
    return 0;
}
