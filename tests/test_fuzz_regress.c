/* tests/test_fuzz_regress.c — the inputs the fuzz harnesses (tests/fuzz/) found to crash, leak
 * or misbehave, committed under tests/fuzz/regress/<harness>/, each given to its reader with the
 * outcome it must have now: refused with a message naming the file and the problem. Each check
 * failed before its fix (see tests/fuzz/README.md for the list). Runs in every build; under
 * `make test SANITIZE=1` an out-of-bounds access would also stop it. */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "results/checkpoint.h"
#include "results/run_file.h"
#include "tests/testlib.h"

#define REG "tests/fuzz/regress/"

static int has(const char *msg, const char *part) { return msg && strstr(msg, part) != NULL; }

/* a checkpoint whose "params" object header is damaged: H5Dopen fails, and the reader took the
 * element count −1 as SIZE_MAX and loaded the file (n_params = 2^64 − 1, reading past the
 * buffer); now refused */
static void checkpoint_damaged_params(void) {
    TrainState st;
    int rc = checkpoint_load(REG "checkpoint/damaged_params_header.h5", &st);
    CHECK(rc == -1, "damaged params: checkpoint_load returned %d (n_params %zu), expected -1", rc,
          rc == 1 ? st.n_params : 0);
    CHECK(has(cg_error(), "damaged_params_header.h5") && has(cg_error(), "missing or has the wrong size"),
          "damaged params: message '%s'", cg_error());
    if (rc == 1) train_state_free(&st);
}

/* replace attribute `name` of the root group of `path` by one of n int32 elements */
static void attr_to_array(const char *path, const char *name, int n) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    H5Adelete(f, name);
    hsize_t dims[1] = {(hsize_t)n};
    hid_t sp = H5Screate_simple(1, dims, NULL);
    hid_t a = H5Acreate2(f, name, H5T_NATIVE_INT32, sp, H5P_DEFAULT, H5P_DEFAULT);
    int32_t *v = calloc((size_t)n, sizeof *v);
    H5Awrite(a, H5T_NATIVE_INT32, v);
    free(v);
    H5Aclose(a), H5Sclose(sp), H5Fclose(f);
}

/* a number attribute that is an array: H5Aread wrote all of its elements into one int (found by
 * review of the fuzzed readers: a stack overflow); now refused */
static void checkpoint_attr_array(const char *dir) {
    char path[600];
    snprintf(path, sizeof path, "%s/ckpt.h5", dir);
    float p[2] = {1, 2};
    double c[1] = {0.5};
    TrainState st = {.n_params = 2, .params = p, .n_opt = 2, .opt = p, .n_epochs_done = 1,
                     .loss_curve = c, .acc_curve = c, .lr_curve = c, .time_curve = c};
    CHECK(checkpoint_save(path, &st) == 0, "checkpoint_save: %s", cg_error());
    TrainState back;
    CHECK(checkpoint_load(path, &back) == 1, "valid checkpoint: %s", cg_error());
    train_state_free(&back);
    attr_to_array(path, "epoch", 4096);
    int rc = checkpoint_load(path, &back);
    CHECK(rc == -1 && has(cg_error(), "attribute is missing or unreadable"),
          "epoch attribute of 4096 elements: checkpoint_load returned %d: %s", rc, cg_error());
    if (rc == 1) train_state_free(&back);
}

static void run_file_attr_array(const char *dir) {
    RunMeta m;
    memset(&m, 0, sizeof m);
    snprintf(m.id, sizeof m.id, "fewshot/coop/eurosat/shots1/seed1");
    snprintf(m.setting, sizeof m.setting, "fewshot");
    snprintf(m.dataset, sizeof m.dataset, "eurosat");
    snprintf(m.method, sizeof m.method, "coop");
    m.seed = 1, m.shots = 1, m.ranks = 1;
    TrainResult r;
    memset(&r, 0, sizeof r);
    r.status = TRAIN_FAILED;
    snprintf(r.error, sizeof r.error, "x");
    CHECK(run_file_write(dir, &m, &r) == 0, "run_file_write: %s", cg_error());
    char path[700];
    snprintf(path, sizeof path, "%s/runs/fewshot_coop_eurosat_shots1_seed1.h5", dir);
    RunIndexRow row;
    RunEvalRow *ev = NULL;
    int n = 0;
    CHECK(run_file_read(path, &row, &ev, &n) == 0 && row.seed == 1, "valid run file: %s", cg_error());
    free(ev);
    attr_to_array(path, "seed", 4096);
    int rc = run_file_read(path, &row, &ev, &n);
    CHECK(rc == -1 && has(cg_error(), "attribute seed of / is not a number (4096 elements)"),
          "seed attribute of 4096 elements: run_file_read returned %d: %s", rc, cg_error());
    if (rc == 0) free(ev);
}

int main(void) {
    char dir[] = "/tmp/clipgrid-test-fuzz-regress-XXXXXX";
    if (!mkdtemp(dir)) return perror("mkdtemp"), 1;
    printf("-- checkpoint reader\n");
    checkpoint_damaged_params();
    checkpoint_attr_array(dir);
    printf("-- run file reader\n");
    run_file_attr_array(dir);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
    return test_finish("test_fuzz_regress");
}
