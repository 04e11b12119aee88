/* core/optim/train_config.h — the training options of a run (Dassl's OPTIM, DATALOADER and INPUT
 * keys), apart from any method's own options: what the optimiser, its schedule, the loader and
 * the matrix products need. A method's descriptor sets the published values for its setting
 * (core/methods/registry.h); train_config_dassl_defaults gives Dassl's common ones. */
#ifndef CLIPGRID_CORE_TRAIN_CONFIG_H
#define CLIPGRID_CORE_TRAIN_CONFIG_H

typedef struct {
    int epochs, batch, test_batch;   /* OPTIM.MAX_EPOCH, DATALOADER.{TRAIN_X,TEST}.BATCH_SIZE */
    char optim[8];                   /* sgd | adamw (OPTIM.NAME) */
    double lr, momentum, weight_decay, beta1, beta2, eps;
    int warmup_epochs;               /* constant warm-up epochs at warmup_lr */
    double warmup_lr;
    double rrc_scale_lo, rrc_scale_hi; /* RandomResizedCrop area fractions (INPUT.RRCROP_SCALE) */
    /* arithmetic of the matrix products (kernels/ops.h k_set_matmul_precision): fp32 | tf32 |
     * bf16 | fp16; applied around every call of the method (core/methods/method.h) */
    char precision[8];
} TrainConfig;

/* Dassl's defaults as the CoOp-family configs leave them: SGD lr 0.002, momentum 0.9, weight
 * decay 5e-4, 10 epochs, batch 32, test batch 100, 1 constant warm-up epoch at 1e-5, AdamW
 * betas (0.9, 0.999) and eps 1e-8, RRC scale (0.08, 1), fp32 products */
void train_config_dassl_defaults(TrainConfig *t);

#endif
