/* runner/lock.c — OUT/.lock: one `clipgrid gc` at a time cleans an output folder (`run` takes
 * no lock: its jobs cooperate through claims, results/claim.h). flock() on the file
 * (released by the kernel when the process ends, even by kill -9) with "host pid" written into
 * it so the refusal names the holder. A file system without flock (Lustre mounted without
 * -o flock, some NFS set-ups: flock fails with ENOLCK, ENOSYS, EOPNOTSUPP or EINVAL) is told
 * apart from a real concurrent writer (EWOULDBLOCK) and gets a fallback instead of a refusal:
 * the directory OUT/.lock.d, made atomically by mkdir, with "host H pid P" in OUT/.lock.d/owner;
 * it is removed at the end, and one left by a dead process of this host is taken over.
 * CLIPGRID_NO_FLOCK=1 makes flock count as unsupported (to test the fallback anywhere). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "runner/env.h"
#include "runner/runner.h"

static struct {
    int fd;              /* the .lock file's fd while the fallback is held */
    char dir[4096];      /* OUT/.lock.d */
} fallback_ = {-1, ""};

static int no_flock_(int err) {
    return err == ENOLCK || err == ENOSYS || err == EOPNOTSUPP || err == EINVAL;
}

static void self_line_(char *line, size_t cap) {
    char host[64] = "?";
    gethostname(host, sizeof host);
    host[sizeof host - 1] = 0;
    snprintf(line, cap, "host %s pid %ld\n", host, (long)getpid());
}

/* the holder of a lock directory, and whether it is a dead process of this host */
static int dead_holder_(const char *owner, char *holder, size_t cap) {
    FILE *f = fopen(owner, "r");
    holder[0] = 0;
    if (!f) return 0;
    char h[64] = "", me[64] = "";
    long pid = 0;
    int n = fscanf(f, "host %63s pid %ld", h, &pid);
    fclose(f);
    if (n != 2) return 0;
    snprintf(holder, cap, "host %s pid %ld", h, pid);
    gethostname(me, sizeof me - 1);
    return !strcmp(h, me) && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

static int fallback_lock_(const char *out_dir, int f, const char *path) {
    char *dir = cg_path_join(out_dir, ".lock.d"), *owner = cg_path_join(dir, "owner");
    char holder[160];
    int rc = -1;
    for (int tries = 0; tries < 2 && rc; tries++) {
        if (mkdir(dir, 0755) == 0) {
            char line[160];
            self_line_(line, sizeof line);
            FILE *o = fopen(owner, "w");
            if (o) fputs(line, o), fclose(o);
            rc = 0;
        } else if (errno == EEXIST && dead_holder_(owner, holder, sizeof holder)) {
            unlink(owner);  /* left by a dead process of this host: take it over */
            rmdir(dir);
        } else break;
    }
    if (rc) {
        dead_holder_(owner, holder, sizeof holder);
        cg_error_set("%s: another `clipgrid gc` is cleaning this output folder (held by %s; this file "
                     "system has no flock, so the lock is the folder %s: remove it if no gc "
                     "runs); wait for it", path,
                     holder[0] ? holder : "an unknown process", dir);
    } else {
        fprintf(stderr, "clipgrid: note: %s: the file system does not support flock; OUT is "
                "locked by the folder %s instead\n", out_dir, dir);
        fallback_.fd = f;
        snprintf(fallback_.dir, sizeof fallback_.dir, "%s", dir);
    }
    free(owner);
    free(dir);
    return rc;
}

int out_lock(const char *out_dir, int *fd) {
    char *path = cg_path_join(out_dir, ".lock");
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (f < 0) {
        cg_error_set("%s: cannot open the lock file: %s", path, strerror(errno));
        free(path);
        return -1;
    }
    int err = 0;
    if (run_env()->no_flock) err = ENOLCK;
    else if (flock(f, LOCK_EX | LOCK_NB)) err = errno;
    if (err && no_flock_(err)) {
        if (fallback_lock_(out_dir, f, path)) return close(f), free(path), -1;
    } else if (err) {
        char holder[160] = "";
        ssize_t n = pread(f, holder, sizeof holder - 1, 0);
        holder[n > 0 ? n : 0] = 0;
        holder[strcspn(holder, "\n")] = 0;
        cg_error_set("%s: another `clipgrid gc` is cleaning this output folder (held by %s); wait for it",
                     path, holder[0] ? holder : "an unknown process");
        close(f);
        free(path);
        return -1;
    }
    char line[160];
    self_line_(line, sizeof line);
    int len = (int)strlen(line);
    if (ftruncate(f, 0) || pwrite(f, line, (size_t)len, 0) != len) {
        cg_error_set("%s: cannot write the lock file: %s", path, strerror(errno));
        out_unlock(f);
        free(path);
        return -1;
    }
    free(path);
    *fd = f;
    return 0;
}

void out_unlock(int fd) {
    if (fd < 0) return;
    if (fd == fallback_.fd) {
        char *owner = cg_path_join(fallback_.dir, "owner");
        unlink(owner);
        rmdir(fallback_.dir);
        free(owner);
        fallback_.fd = -1;
    } else flock(fd, LOCK_UN);
    close(fd);
}
