/* tests/testlib.h — a tiny assertion harness shared by the test programs: CHECK counts failures,
 * close-compare helpers print the worst element, and test_finish() sets the exit status. */
#ifndef CLIPGRID_TESTS_TESTLIB_H
#define CLIPGRID_TESTS_TESTLIB_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int tl_fail, tl_pass;

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (cond) tl_pass++;                                                    \
        else {                                                                  \
            tl_fail++;                                                          \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
        }                                                                       \
    } while (0)

/* max |a-b| / max(max|b|, floor); prints and checks against tol */
static inline double tl_max_rel(const float *a, const float *b, size_t n, double floor_) {
    double md = 0, mb = floor_;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= md)) md = d; /* NaN propagates */
        if (fabs((double)b[i]) > mb) mb = fabs((double)b[i]);
    }
    return md / mb;
}

#define CHECK_CLOSE(name, a, b, n, tol)                                                  \
    do {                                                                                 \
        double e_ = tl_max_rel((a), (b), (n), 1e-30);                                    \
        printf("  %-48s max rel err %.2e\n", (name), e_);                                \
        CHECK(e_ <= (tol), "%s: max error %.3g (relative to max |ref|) > %.3g", (name),  \
              e_, (double)(tol));                                                        \
    } while (0)

static inline int test_finish(const char *name) {
    printf("%s: %d passed, %d failed\n", name, tl_pass, tl_fail);
    return tl_fail ? 1 : 0;
}

#endif
