/* tests/fuzz/fuzz_runfile.c — libFuzzer harness of the HDF5 result readers (results/run_read.c):
 * the input is an HDF5 file read both as one run file (run_file_read: what results_aggregate
 * reads from OUT/runs/ *.h5) and as results.h5 (results_index_read: what `clipgrid table` reads).
 * The HDF5 library itself (Debian's build, not instrumented) parses the bytes; the harness checks
 * what clipgrid does with what it hands back. */
#include <hdf5.h>

#include "results/run_file.h"
#include "tests/fuzz/fuzz_util.h"

static FuzzFile g_file;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_quiet_env();
    fuzz_file_init(&g_file, "fuzz_run.h5");
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    return 0;
}

static volatile size_t g_sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file_set(&g_file, data, size);
    RunIndexRow row;
    RunEvalRow *ev = NULL;
    int n = 0;
    if (run_file_read(path, &row, &ev, &n) == 0) {
        if (n < 0 || (n && !ev)) abort();
        size_t s = strlen(row.id) + strlen(row.status) + strlen(row.error) + strlen(row.group);
        for (int i = 0; i < n; i++) s += strlen(ev[i].label) + strlen(ev[i].id);
        g_sink = s;
        free(ev);
    }
    ResultsIndex ix;
    if (results_index_read(path, &ix) == 0) {
        size_t s = 0;
        for (int i = 0; i < ix.n_runs; i++) s += strlen(ix.runs[i].id) + strlen(ix.runs[i].error);
        for (int i = 0; i < ix.n_evals; i++) s += strlen(ix.evals[i].label);
        g_sink = s;
        results_index_free(&ix);
    }
    return 0;
}
