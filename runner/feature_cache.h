/* runner/feature_cache.h — frozen test features per OUT (issue 12 §3): the image features of a
 * (weights, precision, test batch, input resolution, evaluation set's images) are computed once
 * and reused by every single-rank zero-shot, CoOp and CoCoOp run (their image tower is the
 * frozen CLIP's; CoCoOp's meta-net input too), through TrainJob.features_get/put.
 *   OUT/features/<key>.f32     "CGFEAT01", n (u64), E (u32), 4 zero bytes, then n·E float32;
 *                              written to a temporary name and renamed: never read half-written
 *   OUT/features/<key>.claim   the claim of the process computing it (results/claim.h): another
 *                              process waits for the file instead of computing it again
 * `run --no-feature-cache` turns it off (to measure it). */
#ifndef CLIPGRID_RUNNER_FEATURE_CACHE_H
#define CLIPGRID_RUNNER_FEATURE_CACHE_H

#include <signal.h>
#include <stddef.h>

#include "core/train/train.h"

typedef struct {
    const char *out;
    const char *weights_digest;
    const char *precision;
    int test_batch, image_res;
    const RunData *data;
    volatile sig_atomic_t *stop;
    char claimed[CG_MAX_EVALS][24];  /* keys this run claimed (released by put) */
    int hits, misses;
} FeatureCache;

float *feature_cache_get(FeatureCache *fc, int set, size_t n, int E, int *have);
void feature_cache_put(FeatureCache *fc, int set, const float *rows, size_t n, int E);
/* release the claims of sets this run claimed and never put (it failed or stopped) */
void feature_cache_release(FeatureCache *fc);

#endif
