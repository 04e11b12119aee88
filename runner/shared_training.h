/* runner/shared_training.h — one training for every run with the same training key (tkey,
 * runner/run_key.h), e.g. a cross-dataset and a domain-generalisation run of one method and
 * seed, which train the same ImageNet model and differ only in what they evaluate.
 *   OUT/params/<tkey>.h5            the trained state (the run's final checkpoint: parameters,
 *                                   curves, optimiser), from which another run evaluates
 *   OUT/params/<tkey>.safetensors   the learned parameters under the official tensor names
 *                                   (e.g. prompt_learner.ctx), for users
 *   OUT/params/<tkey>.claim         the claim of the run training it now (results/claim.h)
 * A run that trains takes the claim; a run that finds the trained state evaluates from it; a run
 * that finds a live claim waits for the state (a claim of a dead process of this host is taken
 * over at once, one whose heartbeat stopped after the stale bound, whichever job finds it). */
#ifndef CLIPGRID_RUNNER_SHARED_TRAINING_H
#define CLIPGRID_RUNNER_SHARED_TRAINING_H

#include <signal.h>

#include "core/methods/method.h"

typedef enum { SHARED_TRAIN = 0, SHARED_EVALUATE = 1, SHARED_STOPPED = 2 } SharedDecision;

/* "OUT/params/<tkey><ext>"; caller frees */
char *shared_path(const char *out, const char *tkey, const char *ext);
/* decide (and claim) for a run with training key tkey; waits while another live process trains
 * it, until *stop is set; *took (cap took_cap) says whose stale claim was taken over, or "" */
SharedDecision shared_training_begin(const char *out, const char *tkey,
                                     volatile sig_atomic_t *stop, char *took, size_t took_cap);
/* after the run: keep its final checkpoint as the trained state (when trained and done) and
 * release the claim */
void shared_training_end(const char *out, const char *tkey, const char *final_ckpt, int keep);
/* write the learned parameters as OUT/params/<tkey>.safetensors (F32, official names, metadata
 * key/tkey/method/version); 0, or −1 with cg_error */
int shared_params_write(const char *out, const char *tkey, const char *method,
                        const ParamBlock *layout, const float *values);

#endif
