/* runner/golden_check.c — tensor comparison and verdict lines for `clipgrid golden`. */
#include "runner/golden_check.h"

#include <math.h>
#include <stdio.h>

void golden_compare(GoldenTally *t, const char *name, const float *got, const float *ref,
                    size_t n, double tol, int absolute) {
    double maxabs = 0, maxref = 0;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)ref[i]);
        if (!isfinite(got[i])) bad = 1;
        if (d > maxabs) maxabs = d;
        if (fabs((double)ref[i]) > maxref) maxref = fabs((double)ref[i]);
    }
    double rel = maxref > 0 ? maxabs / maxref : maxabs;
    int ok = !bad && (absolute ? maxabs <= tol : rel <= tol);
    printf("  %-34s max abs err %.3e  max rel err %.3e  (%s tol %.0e)  %s\n", name, maxabs, rel,
           absolute ? "abs" : "rel", tol, ok ? "ok" : (bad ? "FAIL (non-finite)" : "FAIL"));
    if (ok) t->passed++;
    else t->failed++;
}

void golden_verdict(GoldenTally *t, const char *name, int ok, const char *detail) {
    printf("  %-34s %s  %s\n", name, detail ? detail : "", ok ? "ok" : "FAIL");
    if (ok) t->passed++;
    else t->failed++;
}
