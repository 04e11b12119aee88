/* tests/fuzz/fuzz_sweep.c — libFuzzer harness of the sweep file parser (runner/sweep*.c): the
 * input is a sweep YAML file, taken through sweep_load (libyaml, every key's type and range, the
 * overrides, the grid expansion) and, when it is valid, the resolved JSON of every cell. */
#include "runner/sweep.h"
#include "tests/fuzz/fuzz_util.h"

static FuzzFile g_file;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_quiet_env();
    fuzz_file_init(&g_file, "fuzz_sweep.yaml");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    Sweep s;
    if (sweep_load(&s, fuzz_file_set(&g_file, data, size)) == 0) {
        for (int i = 0; i < s.n_cells && i < 64; i++) free(sweep_cell_config_json(&s, &s.cells[i]));
        if (!s.n_cells || !s.output || !s.vocab || !s.weights || !s.data_root) abort();
    } else if (!cg_error()[0]) {
        abort(); /* a refused file must say why */
    }
    sweep_free(&s);
    return 0;
}
