/* core/train/run_prepare.c — the data of one run for each setting (train.h, protocol.md §5 and §8):
 * the training set (few-shot sample with the run seed, base classes for base-to-new) and the
 * evaluation sets (base and new classes; the dataset's test split; ImageNet's targets for
 * cross-dataset and domain generalisation, each with its own class list). */
#include <stdlib.h>
#include <string.h>

#include "core/train/train.h"
#include "base/util.h"

static const char *const XD_TARGETS[] = {"caltech101", "oxford_pets", "stanford_cars",
                                         "oxford_flowers", "food101", "fgvc_aircraft", "sun397",
                                         "dtd", "eurosat", "ucf101", NULL};
static const char *const DG_TARGETS[] = {"imagenetv2", "imagenet_sketch", "imagenet_a",
                                         "imagenet_r", NULL};

static int load(Dataset *d, const char *name, const char *root) {
    if (!dataset_known(name)) return cg_error_set("unknown dataset '%s'", name), -1;
    char *dir = cg_path_join(root, dataset_dirname(name));
    int rc = dataset_load(d, name, dir);
    free(dir);
    return rc;
}

static int add_eval(RunData *rd, const char *label, const char *name, const char *root,
                    ClassSubset subset, EvalMode mode) {
    if (rd->n_evals >= CG_MAX_EVALS) return cg_error_set("more than %d evaluation sets", CG_MAX_EVALS), -1;
    EvalSet *es = &rd->evals[rd->n_evals];
    memset(es, 0, sizeof *es);
    snprintf(es->label, sizeof es->label, "%s", label);
    snprintf(es->dataset, sizeof es->dataset, "%s", name);
    es->mode = mode;
    if (load(&es->ds, name, root) != 0) return -1;
    rd->n_evals++;
    if (subset != SUBSET_ALL && dataset_subsample(&es->ds, subset) != 0) return -1;
    return 0;
}

const char *const *protocol_targets(const char *setting) {
    return !setting ? NULL : !strcmp(setting, "cross_dataset") ? XD_TARGETS
           : !strcmp(setting, "domain_generalization") ? DG_TARGETS : NULL;
}

int run_prepare(RunData *rd, const char *setting, const char *dataset, const char *data_root,
                int shots, int seed) {
    return run_prepare_with(rd, setting, dataset, data_root, shots, seed, NULL, NULL);
}

int run_prepare_with(RunData *rd, const char *setting, const char *dataset,
                     const char *data_root, int shots, int seed, const char *fewshot_root,
                     const char *const *extra_targets) {
    memset(rd, 0, sizeof *rd);
    snprintf(rd->setting, sizeof rd->setting, "%s", setting);
    int b2n = !strcmp(setting, "base2new"), fs = !strcmp(setting, "fewshot");
    int xd = !strcmp(setting, "cross_dataset"), dg = !strcmp(setting, "domain_generalization");
    if (!b2n && !fs && !xd && !dg)
        return cg_error_set("unknown setting '%s' (base2new | fewshot | cross_dataset | "
                            "domain_generalization)", setting), -1;
    const char *train = (xd || dg) ? "imagenet" : dataset;
    if ((xd || dg) && dataset && *dataset && strcmp(dataset, "imagenet"))
        return cg_error_set("%s trains on imagenet, not %s", setting, dataset), -1;
    snprintf(rd->dataset, sizeof rd->dataset, "%s", train);
    int rc = load(&rd->train, train, data_root);
    if (rc == 0 && shots > 0)
        rc = dataset_fewshot_select(&rd->train, fewshot_root, shots, seed, &rd->fewshot);
    if (rc == 0 && b2n) rc = dataset_subsample(&rd->train, SUBSET_BASE);
    if (rc == 0 && b2n) rc = add_eval(rd, "base", train, data_root, SUBSET_BASE, EVAL_BASE);
    if (rc == 0 && b2n) rc = add_eval(rd, "new", train, data_root, SUBSET_NEW, EVAL_NOVEL);
    if (rc == 0 && fs) rc = add_eval(rd, "test", train, data_root, SUBSET_ALL, EVAL_DEFAULT);
    if (rc == 0 && (xd || dg)) rc = add_eval(rd, "imagenet", "imagenet", data_root, SUBSET_ALL, EVAL_DEFAULT);
    const char *const *targets = protocol_targets(setting);
    /* targets other than the source: EVAL_NOVEL (MMRL answers with its class head only,
     * methods.md §2.5; every other method ignores the mode) */
    for (int i = 0; rc == 0 && targets && targets[i]; i++)
        rc = add_eval(rd, targets[i], targets[i], data_root, SUBSET_ALL, EVAL_NOVEL);
    for (int i = 0; rc == 0 && (xd || dg) && extra_targets && extra_targets[i]; i++)
        rc = add_eval(rd, extra_targets[i], extra_targets[i], data_root, SUBSET_ALL, EVAL_NOVEL);
    if (rc != 0) run_data_free(rd);
    return rc;
}

void run_data_free(RunData *rd) {
    dataset_free(&rd->train);
    for (int i = 0; i < rd->n_evals; i++) dataset_free(&rd->evals[i].ds);
    memset(rd, 0, sizeof *rd);
}
