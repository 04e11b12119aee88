/* runner/signals.c — the stop flag: SIGTERM and SIGUSR1 (Slurm preemption, `--signal`) ask every
 * run to checkpoint after its current step and the rank to take no more work, then exit 0. A
 * second SIGTERM, or SIGINT, while already stopping ends the process at once. A rank that cannot
 * write a checkpoint or result (a full or failing disk) stops itself the same way
 * (signals_stop_rank), without counting as a first signal. */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "runner/runner.h"

static volatile sig_atomic_t stop_flag;

static void on_stop_(int sig) {
    if (stop_flag > 0 && sig != SIGUSR1) {
        static const char msg[] = "clipgrid: second signal while stopping: exiting now\n";
        (void)!write(2, msg, sizeof msg - 1);
        _exit(128 + sig);
    }
    stop_flag = sig;
}

void signals_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
}

volatile sig_atomic_t *signals_stop_flag(void) { return &stop_flag; }

void signals_stop_rank(void) {
    if (!stop_flag) stop_flag = -1;
}
