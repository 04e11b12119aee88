/* results/run_state.c — OUT/grid.json and the OUT/state/<stem>.running markers (see
 * run_state.h; formats in SCHEMA.md), read and written with jansson, atomically. */
#include "results/run_state.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "base/util.h"
#include "results/claim.h"
#include "results/run_file.h"

static double wall_now(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + 1e-6 * (double)tv.tv_usec;
}

static void copy_str(char *dst, size_t cap, const char *src) {
    snprintf(dst, cap, "%s", src ? src : "");
}

/* dump JSON to path through path.tmp.<pid> + rename; 0 or −1 with cg_error */
static int write_json_atomic(const char *path, json_t *root) {
    size_t n = strlen(path) + 32;
    char *tmp = cg_malloc(n);
    snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
    int rc = json_dump_file(root, tmp, JSON_INDENT(1) | JSON_REAL_PRECISION(17));
    if (rc != 0) cg_error_set("%s: cannot write", tmp);
    else if (rename(tmp, path) != 0) {
        cg_error_set("cannot rename %s to %s (%s)", tmp, path, strerror(errno));
        rc = -1;
    }
    if (rc) unlink(tmp);
    free(tmp);
    return rc ? -1 : 0;
}

/* ---- grid.json ---------------------------------------------------------------------------- */

int grid_file_write(const char *out_dir, const char *sweep, const GridCell *cells, int n) {
    if (mkdir(out_dir, 0777) != 0 && errno != EEXIST) {
        cg_error_set("%s: cannot create directory (%s)", out_dir, strerror(errno));
        return -1;
    }
    json_t *arr = json_array();
    for (int i = 0; i < n; i++) {
        const GridCell *c = &cells[i];
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:f}",
            "id", c->id, "key", c->key, "training_key", c->tkey, "setting", c->setting,
            "dataset", c->dataset, "method", c->method,
            "variant", c->variant, "seed", c->seed, "shots", c->shots, "ranks", c->ranks,
            "cost_estimate", c->cost_estimate));
    }
    json_t *root = json_pack("{s:i, s:s, s:o}", "schema_version", 1, "sweep", sweep ? sweep : "",
                             "cells", arr);
    char *path = cg_path_join(out_dir, "grid.json");
    int rc = write_json_atomic(path, root);
    json_decref(root);
    free(path);
    return rc;
}

/* member `key` of o as a string into dst (required: −1 when absent or not a string) */
static int get_str(json_t *o, const char *key, char *dst, size_t cap, int required) {
    json_t *v = json_object_get(o, key);
    if (!v) { dst[0] = 0; return required ? -1 : 0; }
    if (!json_is_string(v)) return -1;
    copy_str(dst, cap, json_string_value(v));
    return 0;
}

static int get_num(json_t *o, const char *key, double *dst, int required) {
    json_t *v = json_object_get(o, key);
    if (!v) { *dst = 0; return required ? -1 : 0; }
    if (!json_is_number(v)) return -1;
    *dst = json_number_value(v);
    return 0;
}

static int parse_cell(json_t *o, GridCell *c) {
    double seed = 0, shots = 0, ranks = 1;
    int rc = !json_is_object(o);
    if (!rc) {
        rc |= get_str(o, "id", c->id, sizeof c->id, 1);
        rc |= get_str(o, "setting", c->setting, sizeof c->setting, 1);
        rc |= get_str(o, "dataset", c->dataset, sizeof c->dataset, 1);
        rc |= get_str(o, "method", c->method, sizeof c->method, 1);
        rc |= get_str(o, "variant", c->variant, sizeof c->variant, 0);
        rc |= get_str(o, "key", c->key, sizeof c->key, 0);
        rc |= get_str(o, "training_key", c->tkey, sizeof c->tkey, 0);
        rc |= get_num(o, "seed", &seed, 1);
        rc |= get_num(o, "shots", &shots, 0);
        rc |= get_num(o, "ranks", &ranks, 0);
        rc |= get_num(o, "cost_estimate", &c->cost_estimate, 0);
    }
    c->seed = (int)seed, c->shots = (int)shots, c->ranks = ranks > 0 ? (int)ranks : 1;
    return rc ? -1 : 0;
}

int grid_file_read(const char *out_dir, GridFile *g) {
    memset(g, 0, sizeof *g);
    char *path = cg_path_join(out_dir, "grid.json");
    if (access(path, F_OK) != 0) { free(path); return 1; }
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    int rc = 0;
    json_t *cells = root ? json_object_get(root, "cells") : NULL;
    if (!root) {
        cg_error_set("%s:%d:%d: %s", path, err.line, err.column, err.text);
        rc = -1;
    } else if (!json_is_array(cells)) {
        cg_error_set("%s: no \"cells\" array", path);
        rc = -1;
    } else {
        get_str(root, "sweep", g->sweep, sizeof g->sweep, 0);
        g->n = (int)json_array_size(cells);
        g->cells = cg_calloc((size_t)(g->n ? g->n : 1), sizeof(GridCell));
        for (int i = 0; i < g->n && !rc; i++)
            if (parse_cell(json_array_get(cells, (size_t)i), &g->cells[i]) != 0) {
                cg_error_set("%s: cell %d: expected an object with string id, setting, dataset, "
                             "method and numeric seed, shots, ranks, cost_estimate", path, i);
                rc = -1;
            }
    }
    if (root) json_decref(root);
    free(path);
    if (rc) grid_file_free(g);
    return rc;
}

void grid_file_free(GridFile *g) {
    free(g->cells);
    memset(g, 0, sizeof *g);
}

/* ---- running markers -------------------------------------------------------------------------- */

/* OUT/state/<stem>.running; caller frees */
static char *marker_path(const char *out_dir, const char *id) {
    char *name = run_file_name(id);
    size_t len = strlen(name);
    name[len - 3] = 0; /* drop ".h5" */
    size_t n = strlen(out_dir) + len + 32;
    char *p = cg_malloc(n);
    snprintf(p, n, "%s/state/%s.running", out_dir, name);
    free(name);
    return p;
}

int run_state_write(const char *out_dir, RunningMarker *m) {
    char *dir = cg_path_join(out_dir, "state");
    int rc = 0;
    const char *bad = mkdir(out_dir, 0777) != 0 && errno != EEXIST ? out_dir
                    : mkdir(dir, 0777) != 0 && errno != EEXIST ? dir : NULL;
    if (bad) {
        cg_error_set("%s: cannot create directory (%s)", bad, strerror(errno));
        rc = -1;
    }
    free(dir);
    if (rc) return -1;
    if (!m->host[0]) gethostname(m->host, sizeof m->host - 1);
    if (!m->pid) m->pid = (long)getpid();
    m->update_time = wall_now();
    if (m->start_time <= 0) m->start_time = m->update_time;
    json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:i, s:i, s:s, s:f, s:f, s:i, s:i, s:f}",
        "id", m->id, "key", m->key, "host", m->host, "pid", (json_int_t)m->pid, "rank", m->rank,
        "ranks", m->ranks, "device", m->device, "start_time", m->start_time,
        "update_time", m->update_time, "epoch", m->epoch, "epochs", m->epochs,
        "cost_estimate", m->cost_estimate);
    char *path = marker_path(out_dir, m->id);
    rc = write_json_atomic(path, o);
    json_decref(o);
    free(path);
    return rc;
}

int run_state_clear(const char *out_dir, const char *id) {
    char *path = marker_path(out_dir, id);
    int rc = unlink(path) == 0 || errno == ENOENT ? 0 : -1;
    if (rc) cg_error_set("%s: cannot remove (%s)", path, strerror(errno));
    free(path);
    return rc;
}

static int is_marker(const char *name) {
    size_t n = strlen(name);
    return name[0] != '.' && n > 8 && !strcmp(name + n - 8, ".running");
}

char *run_claim_path(const char *out_dir, const char *key) {
    size_t n = strlen(out_dir) + strlen(key) + 32;
    char *p = cg_malloc(n);
    snprintf(p, n, "%s/claims/%s.claim", out_dir, key);
    return p;
}

/* a marker's liveness from its run's claim (markers of older versions, without a key: from
 * the pid, on this host only) */
static void judge_(const char *out_dir, RunningMarker *m, const char *host) {
    if (!m->key[0]) {
        m->stale = !strcmp(m->host, host) && m->pid > 0 && kill((pid_t)m->pid, 0) != 0 &&
                   errno == ESRCH;
        return;
    }
    char *p = run_claim_path(out_dir, m->key);
    ClaimInfo ci;
    int rc = claim_read(p, &ci);
    free(p);
    snprintf(m->job, sizeof m->job, "%s", rc == 0 ? ci.job : "-");
    m->heartbeat_age = rc == 0 ? ci.age : -1;
    m->dead = rc == 0 && ci.dead;
    m->stale = rc == 1 || (rc == 0 && ci.stale);
}

static int parse_marker(const char *path, RunningMarker *m);

int run_state_prune(const char *out_dir) {
    char *dir = cg_path_join(out_dir, "state");
    DIR *d = opendir(dir);
    int rc = 0;
    char host[64] = "";
    gethostname(host, sizeof host - 1);
    double now = wall_now();
    for (struct dirent *e; d && (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char *p = cg_path_join(dir, e->d_name);
        RunningMarker m;
        struct stat st;
        int drop = 0;
        if (is_marker(e->d_name)) {
            if (parse_marker(p, &m) == 0) judge_(out_dir, &m, host), drop = m.stale;
        } else if (strstr(e->d_name, ".tmp.") && stat(p, &st) == 0) {
            drop = now - (double)st.st_mtime > 3600;  /* an interrupted marker write */
        }
        if (drop && unlink(p) != 0 && errno != ENOENT) {
            cg_error_set("%s: cannot remove (%s)", p, strerror(errno));
            rc = -1;
        }
        free(p);
    }
    if (d) closedir(d);
    free(dir);
    return rc;
}

static int parse_marker(const char *path, RunningMarker *m) {
    memset(m, 0, sizeof *m);
    json_error_t err;
    json_t *o = json_load_file(path, 0, &err);
    if (!o) {
        cg_error_set("%s:%d:%d: %s", path, err.line, err.column, err.text);
        return -1;
    }
    double pid = 0, rank = 0, ranks = 1, epoch = 0, epochs = 0;
    int rc = !json_is_object(o);
    if (!rc) {
        rc |= get_str(o, "id", m->id, sizeof m->id, 1);
        rc |= get_str(o, "key", m->key, sizeof m->key, 0);
        rc |= get_str(o, "host", m->host, sizeof m->host, 1);
        rc |= get_num(o, "pid", &pid, 1);
        rc |= get_num(o, "rank", &rank, 0);
        rc |= get_num(o, "ranks", &ranks, 0);
        rc |= get_str(o, "device", m->device, sizeof m->device, 0);
        rc |= get_num(o, "start_time", &m->start_time, 0);
        rc |= get_num(o, "update_time", &m->update_time, 0);
        rc |= get_num(o, "epoch", &epoch, 0);
        rc |= get_num(o, "epochs", &epochs, 0);
        rc |= get_num(o, "cost_estimate", &m->cost_estimate, 0);
    }
    json_decref(o);
    if (rc) {
        cg_error_set("%s: expected a running marker (string id and host, numeric pid, …)", path);
        return -1;
    }
    m->pid = (long)pid, m->rank = (int)rank, m->ranks = ranks > 0 ? (int)ranks : 1;
    m->epoch = (int)epoch, m->epochs = (int)epochs;
    return 0;
}

static int cmp_marker(const void *a, const void *b) {
    return strcmp(((const RunningMarker *)a)->id, ((const RunningMarker *)b)->id);
}

/* the claims of runs with no marker (a job between its claim and its marker, or a marker
 * pruned by a later `run` while the claim stays until a job reaches that run): listed as
 * markers with the key as id, so that status shows what blocks the run */
static void bare_claims_(const char *out_dir, RunningMarker **out, int *n) {
    char *dir = cg_path_join(out_dir, "claims");
    DIR *d = opendir(dir);
    int have = *n;
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t l = strlen(e->d_name);
        if (e->d_name[0] == '.' || l < 7 || l - 6 >= sizeof (*out)->key ||
            strcmp(e->d_name + l - 6, ".claim"))
            continue;
        RunningMarker m;
        memset(&m, 0, sizeof m);
        memcpy(m.key, e->d_name, l - 6);
        int known = 0;
        for (int i = 0; i < have && !known; i++) known = !strcmp((*out)[i].key, m.key);
        char *p = cg_path_join(dir, e->d_name);
        ClaimInfo ci;
        if (!known && claim_read(p, &ci) == 0) {
            snprintf(m.id, sizeof m.id, "%s", m.key);
            snprintf(m.host, sizeof m.host, "%s", ci.host);
            snprintf(m.job, sizeof m.job, "%s", ci.job);
            m.pid = ci.pid, m.ranks = 1, m.start_time = ci.start, m.update_time = ci.start;
            m.heartbeat_age = ci.age, m.dead = ci.dead, m.stale = ci.stale;
            *out = cg_realloc(*out, (size_t)(*n + 1) * sizeof m);
            (*out)[(*n)++] = m;
        }
        free(p);
    }
    if (d) closedir(d);
    free(dir);
}

int run_state_list(const char *out_dir, RunningMarker **out, int *n) {
    *out = NULL, *n = 0;
    char *dir = cg_path_join(out_dir, "state");
    DIR *d = opendir(dir);
    if (!d) {
        int rc = errno == ENOENT ? 0 : -1;
        if (rc) cg_error_set("%s: cannot list (%s)", dir, strerror(errno));
        free(dir);
        return rc;
    }
    char host[64] = "";
    gethostname(host, sizeof host - 1);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!is_marker(e->d_name)) continue;
        char *p = cg_path_join(dir, e->d_name);
        RunningMarker m;
        if (parse_marker(p, &m) == 0) {
            judge_(out_dir, &m, host);
            *out = cg_realloc(*out, (size_t)(*n + 1) * sizeof m);
            (*out)[(*n)++] = m;
        } else if (access(p, F_OK) == 0) { /* else it ended while we listed */
            fprintf(stderr, "clipgrid: skipping %s\n", cg_error());
        }
        free(p);
    }
    closedir(d);
    free(dir);
    bare_claims_(out_dir, out, n);
    if (*n) qsort(*out, (size_t)*n, sizeof **out, cmp_marker);
    return 0;
}
