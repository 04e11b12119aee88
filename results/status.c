/* results/status.c — collecting and printing where a sweep stands (see status.h). */
#include "results/status.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "base/util.h"
#include "results/select.h"

static double wall_now(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + 1e-6 * (double)tv.tv_usec;
}

static int is_dir(const char *p) {
    struct stat s;
    return stat(p, &s) == 0 && S_ISDIR(s.st_mode);
}

/* every readable run file of OUT (runs/, or results.h5's /index when there is no runs/) */
static int read_runs(const char *out_dir, RunIndexRow **rows, int *n) {
    char *runs = cg_path_join(out_dir, "runs");
    int rc = 0;
    *rows = NULL, *n = 0;
    if (is_dir(runs)) {
        DIR *d = opendir(runs);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            size_t len = strlen(e->d_name);
            if (e->d_name[0] == '.' || len < 4 || strcmp(e->d_name + len - 3, ".h5")) continue;
            char *p = cg_path_join(runs, e->d_name);
            RunIndexRow row;
            RunEvalRow *ev = NULL;
            int ne;
            if (run_file_read(p, &row, &ev, &ne) == 0) {
                *rows = cg_realloc(*rows, (size_t)(*n + 1) * sizeof row);
                (*rows)[(*n)++] = row;
            } else fprintf(stderr, "clipgrid status: skipping %s\n", cg_error());
            free(ev);
            free(p);
        }
        if (d) closedir(d);
    } else {
        char *h5 = cg_path_join(out_dir, "results.h5");
        if (access(h5, F_OK) == 0) {
            ResultsIndex ix;
            rc = results_index_read(h5, &ix);
            if (!rc) *rows = ix.runs, *n = ix.n_runs, free(ix.evals);
        }
        free(h5);
    }
    free(runs);
    return rc;
}

/* a grid cell's run among rows: by key, or by id for grids of older versions */
static int row_of(const RunIndexRow *rows, int n, const GridCell *c) {
    for (int i = 0; i < n; i++)
        if (c->key[0] ? !strcmp(rows[i].key, c->key) : !strcmp(rows[i].id, c->id)) return i;
    return -1;
}

static int finished_index(const SweepStatus *st, const GridCell *c) {
    return row_of(st->finished, st->n_finished, c);
}

/* whether live markers a and b have one holder: the same Slurm job, else the same host and pid */
static int same_job(const RunningMarker *a, const RunningMarker *b) {
    int slurm = a->job[0] && strcmp(a->job, "-");
    return slurm ? !strcmp(a->job, b->job) : !strcmp(a->host, b->host) && a->pid == b->pid;
}

/* the job of st->running[k] in st->jobs, unless a live marker before it has the same */
static void add_job(SweepStatus *st, int k) {
    const RunningMarker *m = &st->running[k];
    for (int i = 0; i < k; i++)
        if (!st->running[i].stale && same_job(&st->running[i], m)) return;
    char one[160];
    if (m->job[0] && strcmp(m->job, "-")) snprintf(one, sizeof one, " %s (job %s)", m->host, m->job);
    else snprintf(one, sizeof one, " %s pid %ld", m->host, m->pid);
    size_t l = strlen(st->jobs);
    if (l + strlen(one) + 1 < sizeof st->jobs) snprintf(st->jobs + l, sizeof st->jobs - l, "%s", one);
    st->n_jobs++;
}

static void collect_running(SweepStatus *st) {
    RunningMarker *m = NULL;
    int n = 0;
    if (run_state_list(st->out_dir, &m, &n) != 0) {
        fprintf(stderr, "clipgrid status: %s\n", cg_error());
        return;
    }
    st->running = cg_calloc((size_t)(n ? n : 1), sizeof *m);
    int k = 0;
    for (int i = 0; i < n; i++) {
        GridCell probe = {0};
        snprintf(probe.id, sizeof probe.id, "%s", m[i].id);
        snprintf(probe.key, sizeof probe.key, "%s", m[i].key);
        if (finished_index(st, &probe) >= 0) continue; /* ended between its file and unlink */
        st->running[k] = m[i];
        if (!m[i].stale) st->busy_ranks += m[i].ranks > 0 ? m[i].ranks : 1, add_job(st, k);
        k++;
    }
    st->n_markers = k;
    free(m);
}

static const RunningMarker *live_marker(const SweepStatus *st, const GridCell *c) {
    for (int i = 0; i < st->n_markers; i++) {
        const RunningMarker *m = &st->running[i];
        if (m->stale) continue;
        if (c->key[0] && m->key[0] ? !strcmp(m->key, c->key) : !strcmp(m->id, c->id)) return m;
    }
    return NULL;
}

static void estimate(SweepStatus *st) {
    for (int i = 0; i < st->n_finished; i++) {
        const RunIndexRow *r = &st->finished[i];
        if (r->cost_estimate > 0 && r->wall_seconds > 0 && !strcmp(r->status, "done"))
            st->measured += r->wall_seconds, st->estimated += r->cost_estimate;
    }
    st->scale = st->estimated > 0 ? st->measured / st->estimated : 1;
    double left = 0, now = wall_now();
    for (int i = 0; i < st->n_pending; i++) left += st->pending[i]->cost_estimate * st->scale;
    for (int i = 0; i < st->n_markers; i++)
        if (!st->running[i].stale) left += status_running_rest(&st->running[i], st->scale, now);
    st->left_rank_seconds = left;
}

double status_running_rest(const RunningMarker *m, double scale, double now) {
    double full = m->cost_estimate * scale, el = now - m->start_time;
    int ranks = m->ranks > 0 ? m->ranks : 1;
    double f = m->epochs > 0 ? (double)m->epoch / m->epochs : 0, rest;
    if (el < 0) el = 0;
    if (f > 0) {
        rest = full * (1 - f);
        double pace = el * ranks * (1 - f) / f;  /* rank seconds at its own pace */
        if (pace > rest) rest = pace;
    } else {
        rest = full - el * ranks;
        if (rest < 0.1 * full) rest = 0.1 * full;
    }
    return rest;
}

/* OUT itself, or OUT/results.h5; anything else (a typo, a parent folder) is an error */
static int find_out(const char *out, SweepStatus *st) {
    if (is_dir(out)) snprintf(st->out_dir, sizeof st->out_dir, "%s", out);
    else {
        if (access(out, F_OK) != 0) {
            cg_error_set("%s: no such results file or output folder", out);
            return -1;
        }
        char *d = cg_dirname(out);
        snprintf(st->out_dir, sizeof st->out_dir, "%s", d);
        free(d);
    }
    const char *marks[] = {"grid.json", "runs", "results.h5", NULL};
    for (int i = 0; marks[i]; i++) {
        char *p = cg_path_join(st->out_dir, marks[i]);
        int there = access(p, F_OK) == 0;
        free(p);
        if (there) return 0;
    }
    cg_error_set("%s: not an output folder of clipgrid run (no grid.json, runs/ or results.h5 "
                 "in it)", out);
    return -1;
}

/* the selected grids as one list of cells */
static int merge_grids(SweepStatus *st, const char *sweep, int all) {
    GridFile *gs;
    int n;
    if (results_sweep_grids(st->out_dir, sweep, all, &gs, &n)) return -1;
    st->n_sweeps = n;
    st->have_grid = n > 0;
    for (int g = 0; g < n; g++) st->grid.n += gs[g].n;
    st->grid.cells = cg_calloc((size_t)(st->grid.n ? st->grid.n : 1), sizeof(GridCell));
    int k = 0;
    for (int g = 0; g < n; g++) {
        memcpy(st->grid.cells + k, gs[g].cells, (size_t)gs[g].n * sizeof(GridCell));
        k += gs[g].n;
        size_t l = strlen(st->sweep);
        snprintf(st->sweep + l, sizeof st->sweep - l, "%s%s", l ? ", " : "", gs[g].sweep);
    }
    snprintf(st->grid.sweep, sizeof st->grid.sweep, "%s", st->sweep);
    results_sweep_grids_free(gs, n);
    return 0;
}

int sweep_status_collect(const char *out, const char *sweep, int all, SweepStatus *st) {
    memset(st, 0, sizeof *st);
    if (find_out(out, st) || merge_grids(st, sweep, all)) return -1;
    st->n_grid = st->grid.n;
    RunIndexRow *rows;
    int n_rows;
    if (read_runs(st->out_dir, &rows, &n_rows) != 0) return -1;
    /* the grid's runs (each once); without a grid every run file counts */
    unsigned char *used = cg_calloc((size_t)n_rows + 1, 1);
    for (int i = 0; i < st->grid.n; i++) {
        int r = row_of(rows, n_rows, &st->grid.cells[i]);
        if (r >= 0) used[r] = 1;
    }
    st->finished = cg_calloc((size_t)n_rows + 1, sizeof *rows);
    for (int i = 0; i < n_rows; i++)
        if (used[i] || !st->have_grid) st->finished[st->n_finished++] = rows[i];
        else st->n_other++;
    free(used);
    free(rows);
    collect_running(st);
    st->pending = cg_calloc((size_t)(st->grid.n ? st->grid.n : 1), sizeof(GridCell *));
    for (int i = 0; i < st->grid.n; i++) {
        GridCell *c = &st->grid.cells[i];
        int dup = 0;
        for (int j = 0; j < i && !dup && c->key[0]; j++) dup = !strcmp(st->grid.cells[j].key, c->key);
        st->n_keys += !dup;
        int f = finished_index(st, c);
        if (f >= 0) {
            if (!strcmp(st->finished[f].status, "done")) st->n_done++;
            else st->n_failed++;
        } else if (live_marker(st, c)) st->n_running++;
        else if (!dup) st->pending[st->n_pending++] = c;
        else st->n_pending_shared++;
    }
    if (!st->have_grid)
        for (int i = 0; i < st->n_finished; i++) {
            if (!strcmp(st->finished[i].status, "done")) st->n_done++;
            else st->n_failed++;
        }
    for (int i = 0; i < st->n_markers; i++) st->n_stale += st->running[i].stale;
    /* markers carry no estimate of their own when the runner left it 0: take the grid's; a
     * claim without a marker is named by its key: take the cell's id */
    for (int i = 0; i < st->n_markers; i++) {
        RunningMarker *m = &st->running[i];
        for (int k = 0; k < st->grid.n; k++) {
            const GridCell *c = &st->grid.cells[k];
            if (m->key[0] && !strcmp(m->id, m->key) && !strcmp(c->key, m->key))
                snprintf(m->id, sizeof m->id, "%s", c->id);
            if (m->cost_estimate <= 0 && !strcmp(c->id, m->id)) m->cost_estimate = c->cost_estimate;
        }
    }
    estimate(st);
    return 0;
}

void sweep_status_free(SweepStatus *st) {
    free(st->finished), free(st->running), free(st->pending);
    grid_file_free(&st->grid);
    memset(st, 0, sizeof *st);
}

/* ---- printing ------------------------------------------------------------------------------------ */

static const char *dur(double s, char *buf, size_t cap) {
    if (!(s >= 0) || !isfinite(s)) snprintf(buf, cap, "?");
    else if (s < 1) snprintf(buf, cap, "%.2fs", s);
    else if (s < 10) snprintf(buf, cap, "%.1fs", s);
    else if (s < 60) snprintf(buf, cap, "%.0fs", s);
    else if (s < 3600) snprintf(buf, cap, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
    else if (s < 86400 * 3) snprintf(buf, cap, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
    else snprintf(buf, cap, "%.1fd", s / 86400);
    return buf;
}

static void print_running(FILE *f, const SweepStatus *st) {
    double now = wall_now();
    char a[32], b[32];
    for (int i = 0; i < st->n_markers; i++) {
        const RunningMarker *m = &st->running[i];
        fprintf(f, "  %-48s %s rank %d", m->id, m->host, m->rank);
        if (m->ranks > 1) fprintf(f, " (+%d ranks)", m->ranks - 1);
        if (m->epochs > 0) fprintf(f, "  epoch %d/%d", m->epoch, m->epochs);
        fprintf(f, "  for %s, updated %s ago", dur(now - m->start_time, a, sizeof a),
                dur(now - m->update_time, b, sizeof b));
        fprintf(f, "  pid %ld job %s", m->pid, m->job[0] ? m->job : "-");
        if (m->heartbeat_age >= 0 && m->key[0])
            fprintf(f, ", heartbeat %s ago", dur(m->heartbeat_age, a, sizeof a));
        if (m->stale)
            fprintf(f, "  STALE (%s: taken over by the next job that reaches it)",
                    m->dead ? "dead process on this host"
                    : !m->key[0] ? "pid gone"
                    : m->heartbeat_age < 0 ? "no claim" : "heartbeat stopped");
        fputc('\n', f);
    }
}

void sweep_status_print(FILE *f, const SweepStatus *st, int verbose) {
    char a[32], b[32];
    fprintf(f, "output  %s", st->out_dir);
    if (st->sweep[0]) fprintf(f, "   sweep %s", st->sweep);
    if (st->have_grid)
        fprintf(f, "   %d cells, %d runs (cells with one key share a run)\n", st->n_grid,
                st->n_keys);
    else fprintf(f, "   (no grid.json: pending runs unknown)\n");
    if (st->n_other)
        fprintf(f, "other   %d run file%s of this folder belong to no selected sweep (stale results "
                "or other sweeps: `--all`, `clipgrid gc`)\n", st->n_other,
                st->n_other == 1 ? "" : "s");
    if (st->n_jobs)
        fprintf(f, "jobs    %d job%s running here (live claims):%s\n", st->n_jobs,
                st->n_jobs == 1 ? "" : "s", st->jobs);
    int pending = st->n_pending + st->n_pending_shared;
    int total = st->n_done + st->n_failed + st->n_running + pending;
    fprintf(f, "\n  cells: done %d   running %d   failed %d   pending %d   total %d\n", st->n_done,
            st->n_running, st->n_failed, pending, total);
    if (st->n_stale)
        fprintf(f, "  (%d of the pending were running when their rank died: stale markers)\n", st->n_stale);
    fputc('\n', f);
    if (st->estimated > 0)
        fprintf(f, "time    finished runs took %s for %s estimated (x %.2f)\n",
                dur(st->measured, a, sizeof a), dur(st->estimated, b, sizeof b), st->scale);
    if (st->n_pending + st->n_running) {
        fprintf(f, "left    about %s of rank time%s", dur(st->left_rank_seconds, a, sizeof a),
                st->estimated > 0 ? "" : " (planner's nominal estimates: nothing finished yet)");
        if (st->busy_ranks > 0)
            fprintf(f, "; about %s on the %d busy rank%s", dur(st->left_rank_seconds / st->busy_ranks, b, sizeof b),
                    st->busy_ranks, st->busy_ranks == 1 ? "" : "s");
        fputc('\n', f);
    } else if (st->have_grid) {
        fprintf(f, "left    nothing: every cell of the grid is finished\n");
    }
    if (st->n_markers) {
        fprintf(f, "\n%s:\n", !st->n_stale ? "running" : !st->n_running ? "stale markers" : "running and stale markers");
        print_running(f, st);
    }
    if (st->n_failed) {
        fprintf(f, "\nfailed (`clipgrid run --retry-failed` runs them again):\n");
        for (int i = 0; i < st->n_finished; i++)
            if (strcmp(st->finished[i].status, "done"))
                fprintf(f, "  %s: %s\n", st->finished[i].id, st->finished[i].error);
    }
    if (st->n_pending) {
        int show = verbose ? st->n_pending : (st->n_pending < 10 ? st->n_pending : 10);
        fprintf(f, "\npending%s:\n", show < st->n_pending ? " (largest first; --pending lists every one)" : "");
        /* largest estimate first, as the scheduler takes them */
        GridCell **p = cg_malloc((size_t)st->n_pending * sizeof *p);
        memcpy(p, st->pending, (size_t)st->n_pending * sizeof *p);
        for (int i = 0; i < show; i++) {
            int best = i;
            for (int k = i + 1; k < st->n_pending; k++)
                if (p[k]->cost_estimate > p[best]->cost_estimate) best = k;
            GridCell *t = p[i];
            p[i] = p[best], p[best] = t;
            fprintf(f, "  %-48s est. %s%s\n", p[i]->id, dur(p[i]->cost_estimate * st->scale, a, sizeof a),
                    p[i]->ranks > 1 ? " (multi-rank)" : "");
        }
        if (show < st->n_pending) fprintf(f, "  … %d more\n", st->n_pending - show);
        free(p);
    }
}
