/* runner/preflight.h — the checks `plan` and `run` make before anything is queued (issue 12 §5):
 * data.root, every dataset folder (the sweep's datasets and, for cross_dataset and
 * domain_generalization, their targets), every split file (by loading the dataset), every listed
 * image present (stat in parallel; `quick` skips this), method options valid for the model
 * (depth and rep_layers within the towers' layers, n_ctx consistent with ctx_init), the weights
 * and vocabulary readable. Each problem is printed as one line "file:line:column: what" (the
 * sweep key's position) or "file: what" (a data file) to `err`. */
#ifndef CLIPGRID_RUNNER_PREFLIGHT_H
#define CLIPGRID_RUNNER_PREFLIGHT_H

#include <stdio.h>

#include "core/model/clip_config.h"
#include "runner/sweep.h"

/* the number of problems found (0: go on); the model's configuration is read from the weights
 * into *cfg when they are readable */
int preflight(const Sweep *s, int quick, ClipConfig *cfg, FILE *err);

#endif
