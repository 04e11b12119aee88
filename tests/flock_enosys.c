/* tests/flock_enosys.c — an LD_PRELOAD shim for tests/cli_jobs.sh: flock() always fails with
 * ENOSYS, as on a scratch file system mounted without flock support (Lustre without -o flock,
 * some NFS set-ups); nothing else is changed. When $FLOCK_ENOSYS_LOG names a file, each refused
 * call appends one line "pid P fd N op O" to it, so the test can tell who asked.
 *   cc -shared -fPIC -O1 -o flock_enosys.so tests/flock_enosys.c */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

int flock(int fd, int operation) {
    const char *log = getenv("FLOCK_ENOSYS_LOG");
    if (log && *log) {
        int f = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (f >= 0) {
            char line[96];
            int n = snprintf(line, sizeof line, "pid %ld fd %d op %d\n", (long)getpid(), fd, operation);
            if (n > 0 && write(f, line, (size_t)n) < 0) { /* nothing to do: only a note */ }
            close(f);
        }
    }
    errno = ENOSYS;
    return -1;
}
