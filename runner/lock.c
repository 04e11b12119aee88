/* runner/lock.c — OUT/.lock: one sweep at a time writes an output folder. flock() on the file
 * (released by the kernel when the process ends, even by kill -9) with "host pid" written into
 * it so the refusal names the holder. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "base/util.h"
#include "runner/runner.h"

int out_lock(const char *out_dir, int *fd) {
    char *path = cg_path_join(out_dir, ".lock");
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (f < 0) {
        cg_error_set("%s: cannot open the lock file: %s", path, strerror(errno));
        free(path);
        return -1;
    }
    if (flock(f, LOCK_EX | LOCK_NB)) {
        char holder[160] = "";
        ssize_t n = pread(f, holder, sizeof holder - 1, 0);
        holder[n > 0 ? n : 0] = 0;
        holder[strcspn(holder, "\n")] = 0;
        cg_error_set("%s: another sweep is writing this output folder (held by %s); wait for it "
                     "or choose another output with -o", path, holder[0] ? holder : "an unknown process");
        close(f);
        free(path);
        return -1;
    }
    char host[64] = "?", line[160];
    gethostname(host, sizeof host);
    host[sizeof host - 1] = 0;
    int len = snprintf(line, sizeof line, "host %s pid %ld\n", host, (long)getpid());
    if (ftruncate(f, 0) || pwrite(f, line, (size_t)len, 0) != len) {
        cg_error_set("%s: cannot write the lock file: %s", path, strerror(errno));
        close(f);
        free(path);
        return -1;
    }
    free(path);
    *fd = f;
    return 0;
}

void out_unlock(int fd) {
    if (fd < 0) return;
    flock(fd, LOCK_UN);
    close(fd);
}
