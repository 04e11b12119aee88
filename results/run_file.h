/* results/run_file.h — the HDF5 record of one run and the aggregate of all runs
 * (design.md §6; the contract, with every object, type and unit, is results/SCHEMA.md):
 *   OUT/runs/<name>.h5    one run, written to OUT/runs/.<name>.h5.tmp and renamed when complete:
 *                         a run is finished exactly when this file exists (status done or
 *                         failed; a failed run holds its error text)
 *   OUT/results.h5        every run file's content in one group per run (/runs/<stem>) plus the
 *                         /index table (one row per run) and the /evals table (one row per run
 *                         and evaluation set), rebuilt from OUT/runs/ by results_aggregate
 *   OUT/grid.json         the sweep's cells as `run`/`plan` resolved them (results/run_state.h)
 *   OUT/state/<name>.running one marker per running run (results/run_state.h)
 *
 * Who calls what: the rank that is rank 0 of a run's group calls run_file_write once the run has
 * ended (TRAIN_DONE or TRAIN_FAILED; a stopped run writes nothing — its checkpoint is its state).
 * results_aggregate may be called by any process at any time (it takes OUT/.aggregate.lock and
 * replaces results.h5 by rename); the runner calls it on rank 0 after the sweep, and after runs
 * that rank 0 sees finish while it is cheap (see SCHEMA.md "Writers"). */
#ifndef CLIPGRID_RESULTS_RUN_FILE_H
#define CLIPGRID_RESULTS_RUN_FILE_H

#include <stdint.h>

#include "core/train/train.h"

#define RESULTS_SCHEMA_VERSION 1

typedef struct {
    char id[160];         /* e.g. "base2new/coop/oxford_pets/shots16/seed1"; file name: run_file_name */
    char sweep[64];       /* sweep name */
    char setting[32], dataset[32], method[16];
    int seed, shots;
    char host[64];
    int ranks;            /* ranks of the run's group */
    char device[64];      /* "cpu (8 threads)", "NVIDIA H100 …" */
    char *config_json;    /* the resolved MethodConfig and run options as JSON text (may be NULL) */
    double start_time, end_time; /* seconds since the epoch (UTC) */
    double cost_estimate; /* the planner's estimate (seconds) */
    char variant[48];     /* "" for one config per method; else a label that tells two configs of
                             the same method apart in tables (e.g. "ctx16"); tables group by it */
    /* provenance (issue 12; NULL / "" / 0 when unknown) */
    char key[24];         /* the run key: the file is runs/<key>.h5 */
    char *key_document;   /* the JSON the key digests */
    char weights_sha256[65], vocab_sha256[65], train_items[65], eval_items[65];
    char version[64];     /* the program's git describe */
    int numerics;         /* CLIPGRID_NUMERICS_VERSION */
    long n_train;         /* training images actually used */
    int short_classes;    /* classes that had fewer than `shots` training images */
    double prior_wall;    /* wall seconds of earlier segments (a resumed run) */
    double prior_train;   /* train seconds of earlier segments */
    char tkey[24];        /* the training key ("" for zero-shot) */
    char params[64];      /* "params/<tkey>.safetensors": the learned parameters in OUT */
    int from_saved;       /* 1: evaluated from the trained state of another run (no training) */
    char fewshot_source[1100]; /* "sampled", "none" or "cache FILE" (a Dassl shot_K-seed_S.pkl) */
    char fewshot_sha256[65];   /* SHA-256 of that cache file, else "" */
} RunMeta;

/* the on-disk file name of a run id (no directory): characters other than [A-Za-z0-9._+=-]
 * become '_' ('/' included), a leading '.' too, and ".h5" is appended; caller frees */
char *run_file_name(const char *id);
/* write OUT/runs/<name>.h5 atomically (temporary name, fsync, rename; OUT/runs is created);
 * res->status must be TRAIN_DONE or TRAIN_FAILED; 0, or −1 with cg_error */
int run_file_write(const char *out_dir, const RunMeta *meta, const TrainResult *res);
/* 1 when OUT/runs/<name>.h5 exists (done or failed), 0 otherwise; *failed (may be NULL) set to 1
 * for failed runs. An unreadable file under the final name counts as absent (0) and is renamed
 * to <name>.h5.bad so the run is redone; −1 only when OUT/runs cannot be inspected. */
int run_file_exists(const char *out_dir, const char *id, int *failed);
/* rebuild OUT/results.h5 from OUT/runs/ *.h5 (temporary name, rename); 0, or −1 with cg_error */
int results_aggregate(const char *out_dir);

/* ---- reading: one row of /index and of /evals (the in-memory form of the compound types) ---- */

typedef struct {
    char id[160];
    char key[24];         /* the run key ("" in files of older versions) */
    char group[192];      /* the run's group in results.h5: "/runs/<stem>" */
    char sweep[64], setting[32], dataset[32], method[16], variant[48];
    int32_t seed, shots;
    char status[8];       /* "done" | "failed" */
    char error[512];      /* "" unless failed */
    char host[64];
    int32_t ranks;
    char device[64];
    double start_time, end_time;   /* seconds since the epoch */
    double wall_seconds;           /* end_time − start_time */
    double train_seconds, eval_seconds, cost_estimate;
    int64_t n_params, steps;
    int32_t epochs, n_evals;
    double base, new_acc, hm;      /* % (base2new; NaN otherwise); hm of this run's base and new */
    double accuracy;               /* % of the "test" set (fewshot) or of the training dataset
                                      (cross_dataset / domain_generalization source); NaN otherwise */
} RunIndexRow;

typedef struct {
    int32_t run;          /* row of the run in /index */
    char id[160];
    char setting[32], dataset[32], method[16], variant[48];
    int32_t seed, shots;
    char label[32];       /* "base", "new", "test", or the target dataset's name */
    char eval_dataset[32];
    double accuracy, macro_f1;     /* % */
    int64_t correct, total;
    int32_t n_classes;
} RunEvalRow;

typedef struct {
    int n_runs, n_evals;
    RunIndexRow *runs;
    RunEvalRow *evals;
} ResultsIndex;

/* one run file's row and evaluation rows (row->group set from the file name; evals[i].run = 0);
 * 0, or −1 with cg_error naming the file */
int run_file_read(const char *path, RunIndexRow *row, RunEvalRow **evals, int *n_evals);
/* /index and /evals of results.h5; 0, or −1 with cg_error */
int results_index_read(const char *results_h5, ResultsIndex *ix);
void results_index_free(ResultsIndex *ix);

#endif
