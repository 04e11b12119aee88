/* core/data/dataset.c — the table of the 15 datasets (clipgrid name, CoOp folder, Dassl name,
 * layout; registered folder datasets after them), dataset_load's dispatch to the layout
 * readers, and dataset_free. */
#include <stdlib.h>
#include <string.h>

#include "core/data/dataset_internal.h"
#include "base/util.h"

static const DatasetInfo INFOS[] = {
    {"imagenet", "imagenet", "ImageNet", LAYOUT_IMAGENET, "images", NULL},
    {"caltech101", "caltech-101", "Caltech101", LAYOUT_SPLIT_JSON, "101_ObjectCategories",
     "split_zhou_Caltech101.json"},
    {"oxford_pets", "oxford_pets", "OxfordPets", LAYOUT_SPLIT_JSON, "images",
     "split_zhou_OxfordPets.json"},
    {"stanford_cars", "stanford_cars", "StanfordCars", LAYOUT_SPLIT_JSON, "",
     "split_zhou_StanfordCars.json"},
    {"oxford_flowers", "oxford_flowers", "OxfordFlowers", LAYOUT_SPLIT_JSON, "jpg",
     "split_zhou_OxfordFlowers.json"},
    {"food101", "food-101", "Food101", LAYOUT_SPLIT_JSON, "images", "split_zhou_Food101.json"},
    {"fgvc_aircraft", "fgvc_aircraft", "FGVCAircraft", LAYOUT_FGVC, "images", NULL},
    {"sun397", "sun397", "SUN397", LAYOUT_SPLIT_JSON, "SUN397", "split_zhou_SUN397.json"},
    {"dtd", "dtd", "DescribableTextures", LAYOUT_SPLIT_JSON, "images",
     "split_zhou_DescribableTextures.json"},
    {"eurosat", "eurosat", "EuroSAT", LAYOUT_SPLIT_JSON, "2750", "split_zhou_EuroSAT.json"},
    {"ucf101", "ucf101", "UCF101", LAYOUT_SPLIT_JSON, "UCF-101-midframes",
     "split_zhou_UCF101.json"},
    {"imagenetv2", "imagenetv2", "ImageNetV2", LAYOUT_IMAGENETV2,
     "imagenetv2-matched-frequency-format-val", NULL},
    {"imagenet_sketch", "imagenet-sketch", "ImageNetSketch", LAYOUT_WNID_FOLDERS, "images", NULL},
    {"imagenet_a", "imagenet-adversarial", "ImageNetA", LAYOUT_WNID_FOLDERS, "imagenet-a", NULL},
    {"imagenet_r", "imagenet-rendition", "ImageNetR", LAYOUT_WNID_FOLDERS, "imagenet-r", NULL},
};
#define N_INFOS ((int)(sizeof INFOS / sizeof INFOS[0]))

const char *const DATASET_NAMES[] = {
    "imagenet", "caltech101", "oxford_pets", "stanford_cars", "oxford_flowers",
    "food101", "fgvc_aircraft", "sun397", "dtd", "eurosat", "ucf101", "imagenetv2",
    "imagenet_sketch", "imagenet_a", "imagenet_r", NULL};

const DatasetInfo *dataset_info(const char *name) {
    for (int i = 0; name && i < N_INFOS; i++)
        if (!strcmp(INFOS[i].name, name)) return &INFOS[i];
    return ds_folder_info(name);
}

int dataset_known(const char *name) { return dataset_info(name) != NULL; }

const char *dataset_dirname(const char *name) {
    const DatasetInfo *i = dataset_info(name);
    return i ? i->dirname : NULL;
}

const char *dataset_dassl_name(const char *name) {
    const DatasetInfo *i = dataset_info(name);
    return i ? i->dassl_name : NULL;
}

int dataset_load(Dataset *d, const char *name, const char *dir) {
    memset(d, 0, sizeof *d);
    const DatasetInfo *info = dataset_info(name);
    if (!info) {
        cg_error_set("unknown dataset '%s' (known: imagenet, caltech101, oxford_pets, "
                     "stanford_cars, oxford_flowers, food101, fgvc_aircraft, sun397, dtd, eurosat, "
                     "ucf101, imagenetv2, imagenet_sketch, imagenet_a, imagenet_r)",
                     name ? name : "(null)");
        return -1;
    }
    snprintf(d->name, sizeof d->name, "%s", name);
    d->dir = realpath(dir, NULL);
    if (!d->dir || !ds_dir_exists(d->dir)) {
        cg_error_set("dataset %s: folder %s does not exist (expected the dataset's own folder, "
                     "e.g. DATA_ROOT/%s)", name, dir, info->dirname);
        free(d->dir);
        d->dir = NULL;
        return -1;
    }
    int rc = -1;
    switch (info->layout) {
    case LAYOUT_SPLIT_JSON: rc = ds_read_split_json(d, info); break;
    case LAYOUT_FGVC: rc = ds_read_fgvc(d, info); break;
    case LAYOUT_IMAGENET: rc = ds_read_imagenet(d, info); break;
    case LAYOUT_IMAGENETV2:
    case LAYOUT_WNID_FOLDERS: rc = ds_read_imagenet_variant(d, info); break;
    case LAYOUT_FOLDER: rc = ds_read_folder(d, info); break;
    }
    if (rc == 0 && d->test.n == 0) {
        cg_error_set("dataset %s in %s: the test list is empty", name, d->dir);
        rc = -1;
    }
    if (rc != 0) dataset_free(d);
    return rc;
}

void dataset_free(Dataset *d) {
    ds_split_free(&d->train);
    ds_split_free(&d->val);
    ds_split_free(&d->test);
    for (int i = 0; i < d->n_classes; i++) free(d->classnames[i]);
    free(d->classnames);
    free(d->dir);
    memset(d, 0, sizeof *d);
}
