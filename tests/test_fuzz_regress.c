/* tests/test_fuzz_regress.c — the inputs the fuzz harnesses (tests/fuzz/) found to crash, leak
 * or misbehave, committed under tests/fuzz/regress/<harness>/, each given to its reader with the
 * outcome it must have now: refused with a message naming the file and the problem. Each check
 * failed before its fix (see tests/fuzz/README.md for the list). Runs in every build; under
 * `make test SANITIZE=1` an out-of-bounds access would also stop it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
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

int main(void) {
    printf("-- checkpoint reader\n");
    checkpoint_damaged_params();
    return test_finish("test_fuzz_regress");
}
