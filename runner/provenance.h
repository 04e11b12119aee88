/* runner/provenance.h — what OUT keeps about how its results were made (issue 12 §4): the
 * program's version (git describe, compiled in), every version of a sweep file that was run
 * (OUT/sweeps/<name>/sweep-<sha12>.yaml, with OUT/sweeps/<name>/history.tsv: one line per `run`
 * with the time, the program version and the file's digest) and the console output of each
 * `run` (OUT/console/<UTC time>-<pid>.log, rank 0's stdout and stderr, also shown as usual). */
#ifndef CLIPGRID_RUNNER_PROVENANCE_H
#define CLIPGRID_RUNNER_PROVENANCE_H

#include "runner/sweep.h"

/* "v0.3-12-gabc1234-dirty", or "unknown" when built outside git */
const char *clipgrid_version(void);
/* copy the sweep file into sweep_dir (once per content) and append a line to its history;
 * 0, or −1 with cg_error */
int provenance_sweep_file(const Sweep *s, const char *sweep_dir);
/* rank 0: from now on stdout and stderr also go to OUT/console/<time>-<pid>.log (a thread
 * copies them); 0, or −1 with cg_error (then nothing is redirected) */
int provenance_console_start(const char *out_dir);
/* flush and stop copying (restores stdout and stderr) */
void provenance_console_stop(void);

#endif
