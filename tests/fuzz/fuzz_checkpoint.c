/* tests/fuzz/fuzz_checkpoint.c — libFuzzer harness of the checkpoint reader
 * (results/checkpoint.c): the input is an HDF5 file given to checkpoint_load, as a resumed run
 * does with the checkpoint a killed job left. A checkpoint that loads must be self-consistent:
 * its arrays are read end to end, so a size that does not match its buffer shows as an ASan
 * error. */
#include <hdf5.h>

#include "results/checkpoint.h"
#include "tests/fuzz/fuzz_util.h"

static FuzzFile g_file;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_quiet_env();
    fuzz_file_init(&g_file, "fuzz_ckpt.h5");
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    return 0;
}

static volatile double g_sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    TrainState st;
    int rc = checkpoint_load(fuzz_file_set(&g_file, data, size), &st);
    if (rc == 1) {
        double s = 0;
        for (size_t i = 0; i < st.n_params; i++) s += st.params[i];
        for (size_t i = 0; i < st.n_opt; i++) s += st.opt[i];
        for (int i = 0; i < st.n_epochs_done; i++)
            s += st.loss_curve[i] + st.acc_curve[i] + st.lr_curve[i] + st.time_curve[i];
        g_sink = s;
        train_state_free(&st);
    } else if (rc != -1) {
        abort(); /* the file exists: loaded or refused, never "absent" */
    }
    return 0;
}
