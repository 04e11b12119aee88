/* core/data/dataset.h — the 15 datasets of the CoOp protocol in their published on-disk layouts
 * (protocol.md §7), Dassl's few-shot sampler and the base/new class split (§8).
 *
 * Names are clipgrid's sweep names: imagenet, caltech101, oxford_pets, stanford_cars,
 * oxford_flowers, food101, fgvc_aircraft, sun397, dtd, eurosat, ucf101, imagenetv2,
 * imagenet_sketch, imagenet_a, imagenet_r. dataset_load takes that dataset's own folder
 * (e.g. ROOT/oxford_pets, holding images/ and split_zhou_OxfordPets.json); dataset_dirname gives
 * the folder name under a data root that the CoOp instructions use.
 *
 * Readers (core/dataset_*.c): split_zhou_<Name>.json through jansson (names, labels and paths as
 * the file has them; every image must exist; paths must stay inside the folder; labels 0 … the
 * largest training label, one name each), FGVC-Aircraft's text files, ImageNet's folders and
 * classnames.txt (val = test), ImageNetV2's numbered folders, Sketch/A/R's wnid folders (A and R:
 * their 200-class subsets, names by wnid; the variants are test-only with train = test). Image
 * paths are absolute. Inside ImageNet-style class folders images are listed in sorted order
 * (Dassl takes os.listdir's file-system order). Errors name the file and the entry. */
#ifndef CLIPGRID_CORE_DATASET_H
#define CLIPGRID_CORE_DATASET_H

typedef struct {
    char *path; /* absolute path of the image file */
    int label;
} DataItem;

typedef struct {
    DataItem *items;
    int n;
} DataSplit;

typedef struct {
    char name[32];         /* clipgrid name */
    char *dir;             /* the dataset's folder */
    int n_classes;
    char **classnames;     /* [n_classes], label order, final form ("_" → " ", renames done) */
    DataSplit train, val, test;
} Dataset;

typedef enum { SUBSET_ALL = 0, SUBSET_BASE = 1, SUBSET_NEW = 2 } ClassSubset;

/* Users' own datasets, kind `folder` (core/data/dataset_folder.c): DIR/train/<class>/<images>,
 * DIR/test/<class>/…, optional DIR/val/<class>/…, optional DIR/classnames.txt
 * ("<folder> <class name…>" lines). Labels: train/'s class folders in bytewise sorted order
 * (0, 1, …); images sorted by name within a class. Registered names then work everywhere a
 * built-in name does (dataset_dirname gives DIR; Dassl name = the name). tmpl: the zero-shot /
 * hand-crafted prompt with {} (NULL: "a photo of a {}."). 0, or -1 with cg_error. */
int dataset_folder_register(const char *name, const char *dir, const char *tmpl);
const char *dataset_folder_template(const char *name); /* NULL when not a folder dataset */

/* the known names, NULL-terminated */
extern const char *const DATASET_NAMES[];
int dataset_known(const char *name);
/* whether dataset_load checks that every listed image exists (default 1; the runner's preflight
 * turns it off and stats the images itself, in parallel, listing every missing one) */
void dataset_set_image_checks(int on);
const char *dataset_dirname(const char *name);   /* "oxford_pets", "caltech-101", … */
const char *dataset_dassl_name(const char *name); /* "OxfordPets", "Caltech101", … */

/* read the split files / folders; 0, or −1 with cg_error naming the file and the problem */
int dataset_load(Dataset *d, const char *name, const char *dir);
void dataset_free(Dataset *d);

/* Dassl generate_fewshot_dataset with Python's random seeded by `seed`, in Dassl's order:
 * train with `shots`, then val with min(shots, 4) (ImageNet: val untouched; the four ImageNet
 * variants are never sampled, as in CoOp). shots <= 0: no-op. Python's `random` is emulated
 * exactly (core/base/pyrandom.h), so the picks are those of CoOp's shot_K-seed_S.pkl files for the
 * same split file (ImageNet: for the same listing order). */
int dataset_fewshot(Dataset *d, int shots, int seed);
/* subsample_classes: base = first ceil(n/2) of the sorted training labels, new = the rest;
 * relabel from 0 in train, val and test; classnames reduced to the kept ones. */
int dataset_subsample(Dataset *d, ClassSubset which);

#endif
