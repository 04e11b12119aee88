/* runner/golden_check.h — comparing computed tensors with reference tensors and tallying the
 * verdicts the way `clipgrid golden` prints them. */
#ifndef CLIPGRID_RUNNER_GOLDEN_CHECK_H
#define CLIPGRID_RUNNER_GOLDEN_CHECK_H

#include <stddef.h>

typedef struct {
    int passed, failed;
} GoldenTally;

/* relative: max|got−ref| / max|ref| <= tol; absolute: max|got−ref| <= tol. Prints one line. */
void golden_compare(GoldenTally *t, const char *name, const float *got, const float *ref,
                    size_t n, double tol, int absolute);
/* a check that is not a tensor comparison (e.g. token ids equal) */
void golden_verdict(GoldenTally *t, const char *name, int ok, const char *detail);

#endif
