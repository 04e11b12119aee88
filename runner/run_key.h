/* runner/run_key.h — a run's key: the digest of everything that decides its result (issue 12).
 *
 * The key document (JSON, keys sorted, reals with 17 digits) holds:
 *   numerics  CLIPGRID_NUMERICS_VERSION (raised whenever a code change changes results)
 *   method, options     the method and its resolved options (defaults, the sweep's method entry,
 *                       the variant, overrides; precision included; ranks excluded)
 *   setting, dataset
 *   weights, vocab      SHA-256 of the files' content (cached per OUT, runner/digest.h)
 *   eval_items          digest of every evaluation set: label, dataset, mode, class names and
 *                       the test items (file name relative to the dataset's folder and label)
 *   seed, shots, run_seed, train_items   only for methods that train: the training items after
 *                       the few-shot sample and the class subset, with the class names
 * Not in it: ranks, backend, threads, host, data.root's absolute path (the item lists are), the
 * run id or the sweep name. Zero-shot CLIP trains nothing, so its cells of one setting and
 * dataset share one key across seeds and shots (one run).
 * The key is the first RUN_KEY_LEN hex digits of the SHA-256 of the document; run files,
 * checkpoints and logs are named by it (OUT/runs/<key>.h5, OUT/ckpt/<key>.h5, OUT/logs/<key>.log). */
#ifndef CLIPGRID_RUNNER_RUN_KEY_H
#define CLIPGRID_RUNNER_RUN_KEY_H

#include "runner/sweep.h"

#define CLIPGRID_NUMERICS_VERSION 2
#define RUN_KEY_LEN 20

/* weights and vocab digests (through OUT/cache when out_dir != NULL), the item lists of every
 * distinct (setting, dataset, shots, seed) and every cell's key, n_train and first-of-key.
 * 0, or −1 with cg_error naming the file */
int run_keys_compute(Sweep *s, const char *out_dir, int no_data);
/* no_data: the item digests are digests of "setting dataset shots seed" (plan --no-data: the
 * sharing of work is the same, the keys are not those of a run) */
/* the key document of a cell (after run_keys_compute); caller frees. The training key (tkey)
 * digests the same document without setting, dataset name and evaluation items (the training
 * items name the training data): one training serves every cell with that tkey. */
char *run_key_document(const Sweep *s, const SweepCell *c);
/* 1 when the method trains (its key holds seed, shots and the training items) */
int run_key_trains(const SweepCell *c);

#endif
