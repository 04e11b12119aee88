/* results/claim.c — atomic claims with a heartbeat thread and safe takeover (results/claim.h). */
#include "results/claim.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"

static char g_job[48] = "-";
static double g_stale = 600;
static int g_restart;

void claim_configure(const char *job, int restart, double stale_seconds) {
    snprintf(g_job, sizeof g_job, "%s", job && job[0] ? job : "-");
    g_restart = restart > 0 ? restart : 0;
    g_stale = stale_seconds > 0 ? stale_seconds : 600;
}

double claim_stale_seconds(void) { return g_stale; }

static void my_host_(char *h, size_t cap) {
    snprintf(h, cap, "?");
    gethostname(h, cap - 1);
    h[cap - 1] = 0;
}

static double wall_now_(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + 1e-6 * (double)tv.tv_usec;
}

static double mtime_(const struct stat *st) {
    return (double)st->st_mtim.tv_sec + 1e-9 * (double)st->st_mtim.tv_nsec;
}

/* ---- the holder's registry and heartbeat thread ------------------------------------------- */

typedef struct {
    char *path;
    int fd;
    dev_t dev;
    ino_t ino;
} Held;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static Held *g_held;
static int g_n_held, g_thread_started;

static void *heartbeat_(void *arg) {
    (void)arg;
    for (;;) {
        double iv = g_stale / 4 < 30 ? g_stale / 4 : 30;
        if (iv < 0.05) iv = 0.05;
        struct timespec ts = {(time_t)iv, (long)((iv - (double)(time_t)iv) * 1e9)};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&g_mu);
        for (int i = 0; i < g_n_held; i++) futimens(g_held[i].fd, NULL);
        pthread_mutex_unlock(&g_mu);
    }
    return NULL;
}

static void hold_(const char *path, int fd, const struct stat *st) {
    pthread_mutex_lock(&g_mu);
    g_held = cg_realloc(g_held, (size_t)(g_n_held + 1) * sizeof *g_held);
    g_held[g_n_held++] = (Held){cg_strdup(path), fd, st->st_dev, st->st_ino};
    if (!g_thread_started) {
        pthread_t t;
        /* signals go to the main thread: the heartbeat never runs a handler */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        if (pthread_create(&t, NULL, heartbeat_, NULL) == 0) pthread_detach(t), g_thread_started = 1;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    pthread_mutex_unlock(&g_mu);
}

/* index of path among the held claims, or −1 (caller holds g_mu) */
static int find_(const char *path) {
    for (int i = 0; i < g_n_held; i++)
        if (!strcmp(g_held[i].path, path)) return i;
    return -1;
}

static int same_file_(const char *path, dev_t dev, ino_t ino) {
    struct stat st;
    return stat(path, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

int claim_held(const char *path) {
    pthread_mutex_lock(&g_mu);
    int i = find_(path), held = i >= 0 && same_file_(path, g_held[i].dev, g_held[i].ino);
    pthread_mutex_unlock(&g_mu);
    return held;
}

void claim_release(const char *path) {
    pthread_mutex_lock(&g_mu);
    int i = find_(path);
    if (i >= 0) {
        if (same_file_(path, g_held[i].dev, g_held[i].ino)) unlink(path);
        close(g_held[i].fd);
        free(g_held[i].path);
        g_held[i] = g_held[--g_n_held];
    }
    pthread_mutex_unlock(&g_mu);
}

/* ---- reading ------------------------------------------------------------------------------ */

/* the file system's clock: the mtime of a probe file touched next to `path` (local time where
 * the folder cannot be written, e.g. `status` on a read-only mount), as an offset from the local
 * clock kept for 5 s per folder: a listing of many claims probes once, not once per claim */
static double fs_now_(const char *path) {
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    static char dir[4096];
    static double offset, stamp = -1e300;
    const char *slash = strrchr(path, '/');
    size_t dl = slash ? (size_t)(slash - path) : 0;
    double now = wall_now_();
    pthread_mutex_lock(&mu);
    if (dl >= sizeof dir || now - stamp > 5 || strncmp(dir, path, dl) || dir[dl]) {
        char host[64], probe[4200];
        my_host_(host, sizeof host);
        snprintf(probe, sizeof probe, "%s.clock.%s.%ld", path, host, (long)getpid());
        int fd = open(probe, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        struct stat st;
        offset = 0;
        if (fd >= 0) {
            if (futimens(fd, NULL) == 0 && fstat(fd, &st) == 0) offset = mtime_(&st) - wall_now_();
            close(fd);
            unlink(probe);
        }
        if (dl < sizeof dir) memcpy(dir, path, dl), dir[dl] = 0, stamp = now;
    }
    double fs = now + offset;
    pthread_mutex_unlock(&mu);
    return fs;
}

static int read_st_(const char *path, ClaimInfo *ci, struct stat *st) {
    memset(ci, 0, sizeof *ci);
    snprintf(ci->host, sizeof ci->host, "?");
    snprintf(ci->job, sizeof ci->job, "-");
    if (stat(path, st) != 0) {
        if (errno == ENOENT) return 1;
        cg_error_set("%s: cannot read the claim (%s)", path, strerror(errno));
        return -1;
    }
    FILE *f = fopen(path, "r");
    if (f) {  /* a claim written without links may still be empty: then only its age counts */
        if (fscanf(f, "host %63s pid %ld job %47s start %lf restart %d", ci->host, &ci->pid,
                   ci->job, &ci->start, &ci->restart) < 2)
            ci->pid = 0;
        fclose(f);
    }
    ci->age = fs_now_(path) - mtime_(st);
    if (ci->age < 0) ci->age = 0;
    char me[64];
    my_host_(me, sizeof me);
    ci->dead = ci->pid > 0 && !strcmp(ci->host, me) && kill((pid_t)ci->pid, 0) != 0 &&
               errno == ESRCH;
    ci->requeued = strcmp(g_job, "-") && !strcmp(ci->job, g_job) && ci->restart < g_restart;
    ci->stale = ci->dead || ci->requeued || ci->age > g_stale;
    return 0;
}

int claim_read(const char *path, ClaimInfo *ci) {
    struct stat st;
    return read_st_(path, ci, &st);
}

void claim_describe(const ClaimInfo *ci, char *buf, size_t cap) {
    int n = snprintf(buf, cap, "host %s pid %ld job %s, heartbeat %.0f s ago", ci->host, ci->pid,
                     ci->job, ci->age);
    if (n < 0 || (size_t)n >= cap) return;
    if (ci->dead) snprintf(buf + n, cap - (size_t)n, " (dead process on this host)");
    else if (ci->requeued)
        snprintf(buf + n, cap - (size_t)n, " (an earlier start of this Slurm job, restart %d of %d)",
                 ci->restart, g_restart);
    else if (ci->stale)
        snprintf(buf + n, cap - (size_t)n, " (stale: heartbeat %.0f s old, bound %.0f s)", ci->age,
                 g_stale);
}

/* ---- claiming ----------------------------------------------------------------------------- */

static int links_unsupported_(int e) {
    return e == EPERM || e == ENOTSUP || e == EOPNOTSUPP || e == ENOSYS || e == EMLINK ||
           e == EXDEV;
}

/* make the claim: 0 made (fd open on it, *st its identity), 1 it exists, −1 error */
static int create_(const char *path, int *fd, struct stat *st) {
    static int seq;
    char host[64], line[256], tmp[4200];
    my_host_(host, sizeof host);
    int len = snprintf(line, sizeof line, "host %s pid %ld job %s start %.3f restart %d\n", host,
                       (long)getpid(), g_job, wall_now_(), g_restart);
    snprintf(tmp, sizeof tmp, "%s.tmp.%s.%ld.%d", path, host, (long)getpid(), seq++);
    int t = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (t < 0) return cg_error_set("%s: cannot write a claim (%s)", tmp, strerror(errno)), -1;
    int wrote = write(t, line, (size_t)len) == len;
    close(t);
    if (!wrote) return unlink(tmp), cg_error_set("%s: cannot write a claim", tmp), -1;
    int rc = link(tmp, path) == 0 ? 0 : errno == EEXIST ? 1 : -2;
    struct stat ts;
    if (rc == -2 && stat(tmp, &ts) == 0 && ts.st_nlink == 2) rc = 0;  /* NFS: a lost reply */
    int e = errno;
    unlink(tmp);
    if (rc == -2 && links_unsupported_(e)) {  /* no hard links here: O_EXCL, then the line */
        int x = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (x < 0 && errno == EEXIST) return 1;
        if (x < 0) return cg_error_set("%s: cannot create the claim (%s)", path, strerror(errno)), -1;
        if (write(x, line, (size_t)len) != len) { /* an empty claim still claims */ }
        close(x);
        rc = 0;
    } else if (rc == -2) {
        return cg_error_set("%s: cannot create the claim (%s)", path, strerror(e)), -1;
    }
    if (rc == 1) return 1;
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0 || fstat(*fd, st) != 0)
        return cg_error_set("%s: cannot open the claim just made (%s)", path, strerror(errno)), -1;
    return 0;
}

/* move a stale claim out of the way, if it is still the file judged stale: 1 done, 0 not */
static int take_away_(const char *path, const struct stat *judged) {
    char host[64], priv[4200];
    my_host_(host, sizeof host);
    snprintf(priv, sizeof priv, "%s.takeover.%s.%ld", path, host, (long)getpid());
    if (rename(path, priv) != 0) return 0;  /* gone, or another job moved it first */
    int same = same_file_(priv, judged->st_dev, judged->st_ino);
    if (!same && link(priv, path) != 0) { /* a fresh claim was moved: put it back */ }
    unlink(priv);
    return same;
}

ClaimResult claim_try(const char *path, ClaimInfo *holder, char *took, size_t took_cap) {
    if (took && took_cap) took[0] = 0;
    ClaimInfo ci;
    memset(&ci, 0, sizeof ci);
    for (int tries = 0; tries < 16; tries++) {
        int fd = -1;
        struct stat st;
        int rc = create_(path, &fd, &st);
        if (rc < 0) return CLAIM_ERROR;
        if (rc == 0) {
            hold_(path, fd, &st);
            return CLAIM_TAKEN;
        }
        int r = read_st_(path, &ci, &st);
        if (r == 1) continue;  /* released meanwhile */
        if (r < 0) return CLAIM_ERROR;
        if (!ci.stale) break;
        if (take_away_(path, &st) && took && took_cap) {
            char d[200];
            claim_describe(&ci, d, sizeof d);
            snprintf(took, took_cap, "took over %s from %s", path, d);
        }
    }
    if (holder) *holder = ci;
    return CLAIM_BUSY;
}
