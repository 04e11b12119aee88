/* core/data/dataset_internal.h — what the dataset readers share: the table of the 15 datasets, the
 * growable item lists, path building and checks, class-name tables. Private to core/dataset*.c. */
#ifndef CLIPGRID_CORE_DATASET_INTERNAL_H
#define CLIPGRID_CORE_DATASET_INTERNAL_H

#include "core/data/dataset.h"

typedef enum {
    LAYOUT_SPLIT_JSON,  /* split_zhou_<Name>.json, paths relative to image_dir */
    LAYOUT_FGVC,        /* variants.txt + images_variant_{train,val,test}.txt */
    LAYOUT_IMAGENET,    /* images/{train,val}/<wnid>/ + classnames.txt */
    LAYOUT_IMAGENETV2,  /* <image_dir>/<0…N−1>/ + classnames.txt (folder i = line i) */
    LAYOUT_WNID_FOLDERS, /* <image_dir>/<wnid>/ sorted + classnames.txt (Sketch, A, R) */
    LAYOUT_FOLDER       /* a user's dataset: train/<class>/, test/<class>/, val/ (dataset_folder.c) */
} DatasetLayout;

typedef struct {
    const char *name, *dirname, *dassl_name;
    DatasetLayout layout;
    const char *image_dir;  /* relative to the dataset folder; "" = the folder itself */
    const char *split_file; /* LAYOUT_SPLIT_JSON only */
} DatasetInfo;

const DatasetInfo *dataset_info(const char *name);

void ds_split_push(DataSplit *s, int *cap, char *path, int label);
void ds_split_free(DataSplit *s);
void ds_split_copy(DataSplit *dst, const DataSplit *src);

/* "%s/%s" or "%s/%s/%s", skipping empty parts; caller frees */
char *ds_path_join2(const char *a, const char *b);
char *ds_path_join3(const char *a, const char *b, const char *c);
/* A path from a split file must stay inside the dataset: relative, no ".." component, not
 * empty. Returns NULL when acceptable, else the reason. */
const char *ds_relpath_problem(const char *rel);
int ds_file_exists(const char *path);
/* ds_file_exists, or 1 while dataset_set_image_checks(0) */
int ds_image_exists(const char *path);
int ds_dir_exists(const char *path);

/* the non-hidden entries of a directory, sorted bytewise; dirs_only keeps sub-directories.
 * Returns the count (names in *out, caller frees each and the array) or −1 with cg_error set. */
int ds_list_dir_sorted(const char *dir, int dirs_only, char ***out);
void ds_free_names(char **names, int n);

/* classnames.txt of ImageNet and its variants: lines "<wnid> <name…>" (Python strip(), then
 * everything after the first space). Returns the count or −1 with cg_error set. */
int ds_read_wnid_classnames(const char *path, char ***wnids, char ***names);
/* index of `key` in names[0..n), or −1 */
int ds_find_name(char **names, int n, const char *key);

/* class name in its final form: "_" → " " */
char *ds_classname_final(const char *raw);

int ds_read_split_json(Dataset *d, const DatasetInfo *info);
int ds_read_fgvc(Dataset *d, const DatasetInfo *info);
int ds_read_imagenet(Dataset *d, const DatasetInfo *info);
int ds_read_imagenet_variant(Dataset *d, const DatasetInfo *info);
int ds_read_folder(Dataset *d, const DatasetInfo *info);
/* the registered folder dataset of that name (dirname = its folder), or NULL */
const DatasetInfo *ds_folder_info(const char *name);

#endif
