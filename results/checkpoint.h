/* results/checkpoint.h — HDF5 checkpoints of a run's TrainState (core/train/train.h): the learnable
 * block, the optimiser state, the position in the run (epoch, batch, optimiser steps, the
 * running sums of the epoch in progress) and the curves of the finished epochs. Written
 * atomically (a temporary name in the same folder, fsync, rename), so a checkpoint file is
 * always complete. Layout: attributes format ("clipgrid checkpoint"), version, epoch, step,
 * opt_steps, epoch_loss_sum, epoch_correct, epoch_seen, n_epochs_done; datasets params and opt
 * (float32), loss_curve, acc_curve, lr_curve, time_curve (float64 [n_epochs_done]). */
#ifndef CLIPGRID_RESULTS_CHECKPOINT_H
#define CLIPGRID_RESULTS_CHECKPOINT_H

#include "core/train/train.h"

/* 0, or −1 with cg_error */
int checkpoint_save(const char *path, const TrainState *st);
/* 1 loaded into *st (caller train_state_free's), 0 no file at path, −1 unreadable or not a
 * checkpoint (cg_error names the file and what is wrong) */
int checkpoint_load(const char *path, TrainState *st);

/* the TrainJob callbacks (ctx = CheckpointTarget *): every rank of a group loads, only the
 * writer (rank 0 of the group) saves */
typedef struct {
    char path[1024];
    int writer;
} CheckpointTarget;
int checkpoint_save_cb(void *ctx, const TrainState *st);
int checkpoint_load_cb(void *ctx, TrainState *st);

#endif
