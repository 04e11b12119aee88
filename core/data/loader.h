/* core/data/loader.h — the threaded data loader: worker threads decode and transform images ahead
 * of the compute. The batch order and every augmentation draw depend only on (seed, epoch,
 * item index), through counter-based streams (core/base/rng.h): never on the number of threads or
 * on which rank asks. Training: a fresh permutation per epoch, drop_last as Dassl (drop when
 * the split has at least `batch` items, else one partial batch). Evaluation: list order, no
 * drop. A batch can be sharded: shard s of S gets a contiguous slice of the batch's images
 * (the slices of all shards, concatenated, are the whole batch).
 *
 * Streams: the epoch permutation is a Fisher–Yates shuffle drawing cg_rng_below(key, i, i + 1)
 * with key = cg_rng_key(seed, epoch, "loader permutation"); item i's augmentation draws are the
 * counters 0, 1, … of key' = cg_rng_u64(cg_rng_key(seed, epoch, "loader augmentation"), i)
 * (RandomResizedCrop's, then the flip's, see core/data/image.h). */
#ifndef CLIPGRID_CORE_LOADER_H
#define CLIPGRID_CORE_LOADER_H

#include <stdint.h>

#include "core/data/dataset.h"

typedef struct {
    const DataItem *items;
    int n;
    int res;           /* output side, e.g. 224 */
    int batch;         /* global batch size */
    int train;         /* 1: shuffle, drop_last, RandomResizedCrop + flip; 0: test transform */
    uint64_t seed;     /* stream key material: the run's seed */
    int threads;       /* worker threads (>= 1) */
    int shard, shards; /* this rank's slice of every batch; 0 and 1 when alone */
    double scale_min;  /* RandomResizedCrop's lower scale bound; 0 = 0.08 (Dassl's default) */
    int prefetch;      /* batches decoded ahead; 0 = max(2, enough for 2 items per thread) */
} LoaderSpec;

typedef struct Loader Loader;

Loader *loader_open(const LoaderSpec *spec);
/* start an epoch (decoding of its first batches begins at once); returns its batch count */
int loader_start_epoch(Loader *l, int epoch);
/* Next batch of this shard: images [b, 3, res, res] host float32, labels [b]. *b is this
 * shard's count, *b_global the whole batch's. Returns 1 with a batch, 0 at epoch end, −1 on a
 * bad image (cg_error names the file). */
int loader_next(Loader *l, float *images, int *labels, int *b, int *b_global);
void loader_close(Loader *l);

#endif
