/* core/data/fewshot_cache.h — Dassl's few-shot caches split_fewshot/shot_K-seed_S.pkl (written by
 * CoOp's dataset classes: {"train": [Datum…], "val": [Datum…]}, ImageNet's train only), read with
 * the allow-list pickle reader (core/base/torch_pickle.h; Datum objects are plain records of _impath,
 * _label, _domain, _classname). The items are used instead of clipgrid's own sampling when the
 * cache exists, so a colleague's subsets (and ImageNet's, which Dassl drew in the file system's
 * listing order) are reproduced exactly.
 *
 * Paths inside a cache are absolute paths of the machine that wrote it; each is mapped to the
 * dataset folder by its longest trailing part that is an item of the dataset ("/datasets/
 * oxford_pets/images/x.jpg" -> images/x.jpg of the loaded list), and its label must be the
 * dataset's label of that item. Where to look, first found wins:
 *   FEWSHOT_ROOT/<dataset folder>/split_fewshot/shot_K-seed_S.pkl,
 *   FEWSHOT_ROOT/<dataset folder>/shot_K-seed_S.pkl       (FEWSHOT_ROOT: sweep data.fewshot_dir)
 *   DATASET_DIR/split_fewshot/shot_K-seed_S.pkl           (Dassl's own place) */
#ifndef CLIPGRID_CORE_FEWSHOT_CACHE_H
#define CLIPGRID_CORE_FEWSHOT_CACHE_H

#include <stddef.h>

#include "core/data/dataset.h"

typedef struct {
    int from_cache;     /* 1: the items came from `file`; 0: clipgrid's own sampling */
    char file[1024];
    char sha256[65];    /* hex digest of the cache file */
    int n_train, n_val; /* items the cache held */
} FewshotSource;

/* the cache file for (dataset folder `dir`, folder name `dirname`, shots, seed) into path;
 * 1 found, 0 not. fewshot_root may be NULL. */
int fewshot_cache_find(const char *fewshot_root, const char *dirname, const char *dir, int shots,
                       int seed, char *path, size_t cap);

/* reads `file` against the loaded (unsampled) dataset d: train/val items mapped into d's folder.
 * has_val is 0 when the cache holds no "val" (ImageNet). 0, or -1 with cg_error naming the file
 * and the item. */
int fewshot_cache_read(const char *file, const Dataset *d, DataSplit *train, DataSplit *val,
                       int *has_val, FewshotSource *src);

/* the few-shot step of a run: the cache if one is found, else dataset_fewshot. shots <= 0: no-op
 * (src->from_cache 0). 0 or -1. */
int dataset_fewshot_select(Dataset *d, const char *fewshot_root, int shots, int seed,
                           FewshotSource *src);

#endif
