/* runner/progress.c — what rank 0 prints while a sweep runs: one line per finished run (seen
 * as its file appearing in OUT/runs, with the "result:" line its rank wrote last in the run's
 * log OUT/logs/<key>.log) and, at a steady interval, a progress line with the ETA. A thread
 * that only reads the file system (no MPI, no HDF5), so it sees every rank's runs. The ETA is
 * `status`'s: the cost model calibrated by the runs finished so far (Σ wall / Σ estimate, the
 * wall time from each log's result line), the pending runs' estimates and, for running runs,
 * the epochs they have left (status_running_rest), over the busy ranks. */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "results/run_state.h"
#include "results/status.h"
#include "runner/runner.h"
#include <time.h>

struct Progress {
    const char *out;
    const Sweep *s;
    unsigned char *pending;      /* todo cells not reported yet */
    int total, finished, failed, ranks;
    double cost_left, cost_done, wall_done, t0, interval, last_line;
    pthread_t thread;
    pthread_mutex_t mu;
    int quit;
};

/* the last "result: …" line of the run's log, without the prefix */
static void result_line_(const char *out, const char *id, char *buf, size_t len) {
    char *path = run_path(out, "logs", id, ".log");
    FILE *f = fopen(path, "r");
    free(path);
    snprintf(buf, len, "(no log)");
    if (!f) return;
    char line[1024];
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "result: ", 8)) {
            line[strcspn(line, "\n")] = 0;
            snprintf(buf, len, "%.*s", (int)(len - 1), line + 8);
        }
    fclose(f);
}

/* the wall seconds at the end of a result line "… (12.3s)" (0 when absent) */
static double result_seconds_(const char *res) {
    const char *p = strrchr(res, '(');
    double s = 0;
    return p && sscanf(p, "(%lfs)", &s) == 1 ? s : 0;
}

static void scan_(Progress *p) {
    for (int i = 0; i < p->s->n_cells; i++) {
        if (!p->pending[i]) continue;
        const SweepCell *c = &p->s->cells[i];
        char *path = run_path(p->out, "runs", c->key, ".h5");
        struct stat st;
        int there = stat(path, &st) == 0;
        free(path);
        if (!there) continue;
        char res[600];
        result_line_(p->out, c->key, res, sizeof res);
        p->pending[i] = 0;
        p->finished++;
        p->failed += !strncmp(res, "failed", 6);
        p->cost_left -= c->cost;
        double sec = result_seconds_(res);
        if (sec > 0 && c->cost > 0) p->cost_done += c->cost, p->wall_done += sec;
        printf("[%d/%d] %s: %s\n", p->finished, p->total, c->id, res);
        fflush(stdout);
    }
}

static void progress_line_(Progress *p) {
    char a[32], b[32];
    double el = cg_now() - p->t0, scale = p->cost_done > 0 ? p->wall_done / p->cost_done : 1;
    RunningMarker *m = NULL;
    int n = 0, busy = 0;
    double left = 0, now = (double)time(NULL);
    if (run_state_list(p->out, &m, &n)) n = 0;
    for (int k = 0; k < n; k++) {  /* running runs: what their epochs leave */
        for (int i = 0; i < p->s->n_cells; i++)
            if (p->pending[i] && !strcmp(p->s->cells[i].key, m[k].key)) {
                left -= p->s->cells[i].cost * scale;  /* counted below as pending */
                break;
            }
        left += status_running_rest(&m[k], scale, now);
        busy += m[k].ranks > 0 ? m[k].ranks : 1;
    }
    free(m);
    left += (p->cost_left > 0 ? p->cost_left : 0) * scale;
    if (left < 0) left = 0;
    double eta = left / (busy > 0 ? busy : p->ranks);
    printf("progress: %d/%d runs finished (%d failed), %d running, elapsed %s, ETA %s%s\n",
           p->finished, p->total, p->failed, n, cli_duration(el, a, sizeof a),
           cli_duration(eta, b, sizeof b), p->cost_done > 0 ? "" : " (planner's estimate)");
    fflush(stdout);
    p->last_line = cg_now();
}

static void *loop_(void *arg) {
    Progress *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        int quit = p->quit;
        pthread_mutex_unlock(&p->mu);
        if (quit) break;
        scan_(p);
        if (cg_now() - p->last_line >= p->interval) progress_line_(p);
        usleep(200000);
    }
    return NULL;
}

Progress *progress_start(const char *out_dir, const Sweep *s, const unsigned char *todo,
                         double interval) {
    Progress *p = cg_calloc(1, sizeof *p);
    p->out = out_dir;
    p->s = s;
    p->pending = cg_calloc((size_t)s->n_cells + 1, 1);
    int size;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    p->ranks = size;
    for (int i = 0; i < s->n_cells; i++)
        if (todo[i]) p->pending[i] = 1, p->total++, p->cost_left += s->cells[i].cost;
    p->t0 = p->last_line = cg_now();
    p->interval = interval > 0 ? interval : 10;
    pthread_mutex_init(&p->mu, NULL);
    pthread_create(&p->thread, NULL, loop_, p);
    return p;
}

void progress_stop(Progress *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    scan_(p);
    progress_line_(p);
    pthread_mutex_destroy(&p->mu);
    free(p->pending);
    free(p);
}
