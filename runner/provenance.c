/* runner/provenance.c — the sweep file's versions and the console log of each `run` in OUT
 * (runner/provenance.h). */
#include "runner/provenance.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "runner/digest.h"

int provenance_sweep_file(const Sweep *s, const char *sweep_dir) {
    size_t len;
    char *text = cg_read_file(s->path, &len);
    if (!text) return -1;
    char hex[DIGEST_HEX], name[64];
    digest_bytes(text, len, hex);
    snprintf(name, sizeof name, "sweep-%.12s.yaml", hex);
    if (mkdir(sweep_dir, 0755) && errno != EEXIST)
        return free(text), cg_error_set("%s: cannot create: %s", sweep_dir, strerror(errno)), -1;
    char *copy = cg_path_join(sweep_dir, name);
    int rc = 0;
    if (access(copy, F_OK)) {
        FILE *f = fopen(copy, "wb");
        if (!f || fwrite(text, 1, len, f) != len || fclose(f))
            rc = -1, cg_error_set("%s: cannot write: %s", copy, strerror(errno));
    }
    char *hist = cg_path_join(sweep_dir, "history.tsv");
    FILE *h = rc ? NULL : fopen(hist, "a");
    if (h) {
        time_t now = time(NULL);
        char when[32];
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
        fprintf(h, "%s\t%s\t%s\t%s\t%s\n", when, clipgrid_version(), hex, name, s->path);
        fclose(h);
    }
    free(hist);
    free(copy);
    free(text);
    return rc;
}

/* ---- console copy: stdout through a pipe to the terminal and the log -------------------------- */

static struct {
    int active, saved, pipe_r;
    FILE *log;
    pthread_t thread;
} con_;

static void *copy_loop_(void *arg) {
    (void)arg;
    char buf[4096];
    ssize_t n;
    while ((n = read(con_.pipe_r, buf, sizeof buf)) > 0) {
        for (ssize_t off = 0, w; off < n; off += w > 0 ? w : n)
            w = write(con_.saved, buf + off, (size_t)(n - off));
        fwrite(buf, 1, (size_t)n, con_.log);
        fflush(con_.log);
    }
    return NULL;
}

int provenance_console_start(const char *out_dir) {
    char *dir = cg_path_join(out_dir, "console"), name[96];
    mkdir(dir, 0755);
    time_t now = time(NULL);
    char when[32];
    strftime(when, sizeof when, "%Y%m%dT%H%M%SZ", gmtime(&now));
    snprintf(name, sizeof name, "%s-%ld.log", when, (long)getpid());
    char *path = cg_path_join(dir, name);
    free(dir);
    int p[2];
    con_.log = fopen(path, "w");
    if (!con_.log || pipe(p)) {
        cg_error_set("%s: cannot write the console log: %s", path, strerror(errno));
        if (con_.log) fclose(con_.log);
        free(path);
        return -1;
    }
    free(path);
    fflush(stdout);
    con_.saved = dup(STDOUT_FILENO);
    con_.pipe_r = p[0];
    dup2(p[1], STDOUT_FILENO);
    close(p[1]);
    con_.active = 1;
    pthread_create(&con_.thread, NULL, copy_loop_, NULL);
    return 0;
}

void provenance_console_stop(void) {
    if (!con_.active) return;
    fflush(stdout);
    dup2(con_.saved, STDOUT_FILENO);  /* closes the pipe's last write end: the thread sees EOF */
    pthread_join(con_.thread, NULL);
    close(con_.saved);
    close(con_.pipe_r);
    fclose(con_.log);
    con_.active = 0;
}
