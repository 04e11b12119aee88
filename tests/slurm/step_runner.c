/* tests/slurm/step_runner.c — a small MPI program with clipgrid run's command line and signal
 * contract, to test the Slurm harness and the batch scripts on their own:
 *
 *   step_runner run PLAN -o OUT      PLAN is a text file "RUNS MS [STOP_MS]": RUNS runs of MS
 *                                    milliseconds; a stop takes STOP_MS (a checkpoint being written)
 *
 * Rank r does runs r, r+size, r+2·size, …; a run is done when OUT/runs/run_NNN exists (written under
 * a temporary name and renamed), so a rerun on the same OUT skips it. Every finished run appends
 * "done RUN rank R size S" to OUT/log (O_APPEND), so a test can count how often each run was done.
 * SIGUSR1 or SIGTERM: the rank abandons its current run, spends STOP_MS (default 0), appends
 * "stop rank R", and exits 0 after MPI_Finalize. At start the ranks check they see each other (an
 * allreduce of the ranks) and rank 0 prints "step_runner: SIZE ranks, sum of ranks SUM" — with a
 * broken PMI each rank would be alone; every rank prints the CUDA_VISIBLE_DEVICES and
 * CLIPGRID_THREADS it was given.
 * Built by tests/cli_slurm.sh with mpicc in its temporary folder; not part of the product. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) { (void)sig; stop_requested = 1; }

static void append_line(const char *out, const char *line) {
  char path[4096];
  snprintf(path, sizeof path, "%s/log", out);
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0) { perror(path); return; }
  if (write(fd, line, strlen(line)) < 0) perror(path);
  close(fd);
}

/* sleeps ms milliseconds in 10 ms slices; returns 0 when a stop was requested meanwhile */
static int work(int ms) {
  struct timespec slice = {0, 10 * 1000 * 1000};
  for (int t = 0; t < ms; t += 10) {
    if (stop_requested) return 0;
    nanosleep(&slice, NULL);
  }
  return !stop_requested;
}

static int mark_done(const char *out, int run) {
  char tmp[4096], final[4096];
  snprintf(tmp, sizeof tmp, "%s/runs/.run_%03d.tmp", out, run);
  snprintf(final, sizeof final, "%s/runs/run_%03d", out, run);
  FILE *f = fopen(tmp, "w");
  if (!f) { perror(tmp); return -1; }
  fprintf(f, "%d\n", run);
  if (fclose(f) != 0 || rename(tmp, final) != 0) { perror(final); return -1; }
  return 0;
}

static int is_done(const char *out, int run) {
  char path[4096];
  snprintf(path, sizeof path, "%s/runs/run_%03d", out, run);
  return access(path, F_OK) == 0;
}

int main(int argc, char **argv) {
  if (argc != 5 || strcmp(argv[1], "run") != 0 || strcmp(argv[3], "-o") != 0) {
    fprintf(stderr, "usage: %s run PLAN -o OUT\n", argv[0]);
    return 2;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGUSR1, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);

  MPI_Init(&argc, &argv);
  int rank, size, sum = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0) printf("step_runner: %d ranks, sum of ranks %d\n", size, sum);
  const char *gpus = getenv("CUDA_VISIBLE_DEVICES"), *threads = getenv("CLIPGRID_THREADS");
  printf("step_runner: rank %d CUDA_VISIBLE_DEVICES=%s CLIPGRID_THREADS=%s\n", rank,
         gpus ? gpus : "(unset)", threads ? threads : "(unset)");
  const char *backend = getenv("CLIPGRID_BACKEND");
  printf("step_runner: rank %d CLIPGRID_BACKEND=%s\n", rank, backend ? backend : "(unset)");

  int runs = 0, ms = 0, stop_ms = 0;
  FILE *plan = fopen(argv[2], "r");
  if (!plan || fscanf(plan, "%d %d %d", &runs, &ms, &stop_ms) < 2) {
    fprintf(stderr, "step_runner: %s: expected \"RUNS MS [STOP_MS]\"\n", argv[2]);
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  fclose(plan);
  const char *out = argv[4];
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/runs", out);
  mkdir(out, 0755);
  if (mkdir(dir, 0755) != 0 && errno != EEXIST) { perror(dir); MPI_Abort(MPI_COMM_WORLD, 2); }

  char line[256];
  int done_here = 0;
  for (int run = rank; run < runs && !stop_requested; run += size) {
    if (is_done(out, run)) continue;
    if (!work(ms)) break;
    if (mark_done(out, run) != 0) MPI_Abort(MPI_COMM_WORLD, 1);
    snprintf(line, sizeof line, "done %d rank %d size %d\n", run, rank, size);
    append_line(out, line);
    done_here++;
  }
  if (stop_requested) {
    struct timespec pause = {stop_ms / 1000, (long)(stop_ms % 1000) * 1000 * 1000};
    while (nanosleep(&pause, &pause) != 0 && errno == EINTR) continue;
    snprintf(line, sizeof line, "stop rank %d\n", rank);
    append_line(out, line);
    printf("step_runner: rank %d stopped by a signal after %d runs\n", rank, done_here);
  }
  fflush(stdout);
  MPI_Finalize();
  return 0;
}
