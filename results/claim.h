/* results/claim.h — claims on files of an output folder, shared by independent jobs (separate
 * `clipgrid run` processes, Slurm array tasks, jobs on other nodes) without flock:
 *   - a claim is a file made atomically: a complete temporary file hard-linked into place (link
 *     fails when the name exists; open(O_EXCL) where the file system has no hard links);
 *   - it holds one line "host H pid P job J start T" (J the Slurm job, "<array job>_<task>" for
 *     an array task, "-" outside Slurm; T seconds since the epoch);
 *   - its mtime is the heartbeat: a thread of the holder touches every claim it holds every
 *     min(30, stale/4) seconds; ages are measured against the file system's own clock (the mtime
 *     of a probe file touched in the same folder), so hosts with skewed clocks agree;
 *   - a claim whose holder is provably gone (this host, pid dead) is taken over at once, one whose
 *     heartbeat is older than the stale bound (CLIPGRID_CLAIM_STALE, default 600 s) after it.
 *     Taking over renames the old claim to a private name first, so of two jobs that judge the
 *     same claim stale only one removes it, and never a fresh claim made meanwhile.
 * Used for runs (OUT/claims/<run key>.claim), shared trainings and frozen features (their own
 * folders) and the rebuild of results.h5 (OUT/.aggregate.claim). */
#ifndef CLIPGRID_RESULTS_CLAIM_H
#define CLIPGRID_RESULTS_CLAIM_H

#include <stddef.h>

typedef struct {
    char host[64];
    long pid;
    char job[48];
    double start;        /* when it was claimed (seconds since the epoch) */
    double age;          /* seconds since the last heartbeat, by the file system's clock */
    int dead;            /* the holder is a dead process of this host */
    int stale;           /* dead, or the heartbeat is older than the bound */
} ClaimInfo;

typedef enum { CLAIM_TAKEN = 0, CLAIM_BUSY = 1, CLAIM_ERROR = -1 } ClaimResult;

/* this process's Slurm job ("" or NULL: "-") and the stale bound in seconds (≤ 0: 600); read by
 * runner/env.c from SLURM_* and CLIPGRID_CLAIM_STALE */
void claim_configure(const char *job, double stale_seconds);
double claim_stale_seconds(void);

/* claim `path` (its folder must exist). CLAIM_TAKEN: held by this process, with a heartbeat, until
 * claim_release; when an old claim was taken over, *took (may be NULL) gets a sentence naming its
 * holder and why, else "". CLAIM_BUSY: a live holder (*holder, may be NULL). CLAIM_ERROR: cg_error */
ClaimResult claim_try(const char *path, ClaimInfo *holder, char *took, size_t took_cap);
/* remove a claim this process holds (one taken over by another job meanwhile is left alone) */
void claim_release(const char *path);
/* whether this process still holds `path` (no other job took it over) */
int claim_held(const char *path);
/* read a claim: 0, 1 when absent, −1 unreadable (a claim being written: treat as live) */
int claim_read(const char *path, ClaimInfo *ci);
/* "host H pid P job J" with the heartbeat's age and, when stale, why */
void claim_describe(const ClaimInfo *ci, char *buf, size_t cap);

#endif
