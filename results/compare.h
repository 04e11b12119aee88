/* results/compare.h — `clipgrid compare`: two results files cell by cell. Per (setting, dataset,
 * method, variant, shots) and metric (base, new, HM, accuracy, each target), the seed means of A
 * and B, their difference B − A and the seed noise of that difference: paired over seeds when
 * both hold the same seeds (the spread of the per-seed differences), unpaired otherwise (the
 * spreads of A and B combined, Welch's df for t); a difference larger than the noise's 95 %
 * half-width is flagged. HM pairs the per-seed HMs of base and new. Markdown or CSV. */
#ifndef CLIPGRID_RESULTS_COMPARE_H
#define CLIPGRID_RESULTS_COMPARE_H

#include <stdio.h>

#include "results/stats.h"

/* o: the interval (default: t with the sample std; --ci z, --std as for table); format "md" or
 * "csv"; *n_flagged receives the flagged cells; 0, or −1 with cg_error */
int results_compare(FILE *out, const char *a_h5, const char *b_h5, const char *format,
                    const StatOptions *o, int *n_flagged);

#endif
