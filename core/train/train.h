/* core/train/train.h — one run of the grid, start to end (design.md §2): the datasets a setting needs
 * (few-shot sample, base/new split, evaluation targets), the Dassl training loop (epochs,
 * iterations, warm-up + cosine, the optimiser over the learnable block, the all-reduce of the
 * gradient block over the run's rank group), checkpoints through callbacks, and evaluation.
 * core/ knows no HDF5 or MPI: the runner passes the comm and the checkpoint writer.
 *
 * Settings (protocol.md §5, methods.md):
 *   base2new        train on the base classes of `dataset` (few-shot); evaluate "base" (base
 *                   test images, base classes) and "new" (new test images, new classes,
 *                   EVAL_NOVEL);
 *   fewshot         train and test on all classes of `dataset`;
 *   cross_dataset   train on imagenet (all classes); evaluate imagenet and the 10 others;
 *   domain_generalization  train on imagenet; evaluate imagenet, imagenetv2, imagenet_sketch,
 *                   imagenet_a, imagenet_r (their class subsets).
 * Zero-shot CLIP trains nothing and only evaluates. */
#ifndef CLIPGRID_CORE_TRAIN_H
#define CLIPGRID_CORE_TRAIN_H

#include <signal.h>
#include <stdint.h>

#include "core/data/dataset.h"
#include "core/methods/method.h"
#include "core/data/fewshot_cache.h"

#define CG_MAX_EVALS 16

typedef struct {
    char label[32];      /* "base", "new", "test", or the target dataset's name */
    char dataset[32];    /* clipgrid dataset name (templates) */
    Dataset ds;          /* its test split and classnames are used */
    EvalMode mode;
} EvalSet;

/* everything a run reads, prepared by run_prepare */
typedef struct {
    char setting[32];
    char dataset[32];    /* training dataset */
    Dataset train;       /* after few-shot sampling and the class subset */
    FewshotSource fewshot; /* where the few-shot items came from (a Dassl cache or sampling) */
    int n_evals;
    EvalSet evals[CG_MAX_EVALS];
} RunData;

/* data_root holds the datasets' folders (dataset_dirname); 0, or −1 with cg_error */
int run_prepare(RunData *rd, const char *setting, const char *dataset, const char *data_root,
                int shots, int seed);
/* the same; the few-shot items come from a Dassl cache when one is found (fewshot_root: the
 * sweep's data.fewshot_dir or NULL; core/data/fewshot_cache.h), else from clipgrid's sampling;
 * cross_dataset and domain_generalization also evaluate on extra_targets (NULL-terminated, may
 * be NULL: users' folder datasets listed in the sweep), after the protocol's own targets */
int run_prepare_with(RunData *rd, const char *setting, const char *dataset,
                     const char *data_root, int shots, int seed, const char *fewshot_root,
                     const char *const *extra_targets);
/* the protocol's evaluation targets of a transfer setting (cross_dataset: the 10 datasets,
 * domain_generalization: the 4 ImageNet variants; protocol.md §8), NULL-terminated; NULL for
 * the other settings */
const char *const *protocol_targets(const char *setting);
void run_data_free(RunData *rd);

/* what a checkpoint holds (host memory); resuming from it is exact */
typedef struct {
    int epoch;            /* epoch in progress (0-based) */
    int step;             /* batches of that epoch already done */
    long opt_steps;       /* optimiser steps so far */
    double epoch_loss_sum;/* running sums of the epoch in progress */
    long epoch_correct, epoch_seen;
    size_t n_params;
    float *params;
    size_t n_opt;         /* optimiser state floats (momentum; AdamW m and v) */
    float *opt;
    int n_epochs_done;    /* curves of the finished epochs */
    double *loss_curve, *acc_curve, *lr_curve, *time_curve;
} TrainState;
void train_state_free(TrainState *s);

typedef struct {
    const ClipModel *clip;
    const struct Tokenizer *tok;
    MethodConfig mc;
    const RunData *data;
    uint64_t seed;            /* the run's seed */
    int loader_threads;
    CgComm *comm;             /* the run's rank group */
    void *cb_ctx;
    /* called on every rank of the group after each epoch and when stopping; 0 or −1 */
    int (*ckpt_save)(void *ctx, const TrainState *st);
    /* 1 loaded into *st, 0 no checkpoint, −1 error */
    int (*ckpt_load)(void *ctx, TrainState *st);
    /* progress (rank 0 of the group prints or logs) */
    void (*on_epoch)(void *ctx, int epoch, int epochs, double loss, double acc, double lr,
                     double seconds);
    /* set asynchronously (SIGTERM/SIGUSR1): checkpoint after the current step and return */
    volatile sig_atomic_t *stop;
    /* optional, every rank of the group: once training is complete (before the evaluation),
     * the learned parameters: the block's layout (names, shapes, offsets) and the values in
     * host memory (valid during the call) */
    void (*on_trained)(void *ctx, const ParamBlock *layout, const float *values);
    /* optional frozen test features (the runner's cache), used for evaluation set `set` of a
     * single-rank zero-shot, CoOp or CoCoOp run (their image tower is the frozen CLIP's):
     * features_get returns a host buffer of n·E floats (malloc'd; the evaluation frees it), with
     * *have = 1 when it holds the set's features in test order (then the tower is not run), 0
     * when they are to be recorded; NULL: no cache. features_put follows every get with
     * *have = 0: the recorded rows, or NULL when the evaluation did not complete. */
    float *(*features_get)(void *ctx, int set, size_t n, int E, int *have);
    void (*features_put)(void *ctx, int set, const float *rows, size_t n, int E);
} TrainJob;

typedef struct {
    char label[32], dataset[32];
    double accuracy;      /* % */
    long correct, total;
    double macro_f1;      /* % over the labels present */
    int n_classes;
    double *per_class;    /* [n_classes] accuracy %, NAN for classes without test images */
    char **class_names;   /* [n_classes] the set's class names in label order (owned), or NULL */
} EvalResult;

typedef enum { TRAIN_DONE = 0, TRAIN_STOPPED = 1, TRAIN_FAILED = -1 } TrainStatus;

typedef struct {
    TrainStatus status;
    char error[512];      /* TRAIN_FAILED: the reason (bad image file, NaN loss, …) */
    int epochs;
    double *loss_curve, *acc_curve, *lr_curve, *time_curve; /* [epochs] */
    int n_evals;
    EvalResult evals[CG_MAX_EVALS];
    size_t n_params;
    double train_seconds, eval_seconds;
    long steps;
} TrainResult;

int train_run(const TrainJob *job, TrainResult *res); /* returns res->status */
void train_result_free(TrainResult *r);

#endif
