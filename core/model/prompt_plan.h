/* core/model/prompt_plan.h — the prompt plan: what a method feeds the shared CLIP encoder.
 * A plan is a list of row operations on a tower's token sequence:
 *   - REPLACE rows [pos, pos+rows) of every sample with given values before block `layer`
 *     (the rows that were there get no gradient: they are discarded);
 *   - INSERT `rows` new rows before row `pos` (the sequence grows; for the text tower the causal
 *     mask is rebuilt at the new length).
 * layer = -1 means before ln_pre for the vision tower (MaPLe's shallow prompt); for the text
 * tower -1 and 0 are the same place (the input, after the positional embedding).
 * Values are device pointers: [rows, d] shared by every sample, or [B, rows, d] per sample.
 * Backward accumulates (+=) the gradient of each op's values into op.grad (same shape; shared
 * values get the sum over samples). Ops at the same layer apply in list order. */
#ifndef CLIPGRID_CORE_PROMPT_PLAN_H
#define CLIPGRID_CORE_PROMPT_PLAN_H

#define CG_PLAN_MAX 64

typedef enum { PLAN_REPLACE = 0, PLAN_INSERT = 1 } PlanKind;

typedef struct {
    PlanKind kind;
    int layer;            /* -1: before ln_pre (vision); i >= 0: before block i */
    int pos;              /* first row of the replaced or inserted block */
    int rows;
    int per_sample;       /* values [B, rows, d] instead of [rows, d] */
    const float *values;  /* device */
    float *grad;          /* device, same shape as values, accumulated; NULL: no gradient */
} PlanOp;

typedef struct {
    int n;
    PlanOp op[CG_PLAN_MAX];
} PromptPlan;

/* append an op; fatal if the plan is full */
void plan_add(PromptPlan *p, PlanKind kind, int layer, int pos, int rows, int per_sample,
              const float *values, float *grad);
/* rows inserted by ops at layers < `layer` (or all when layer = INT_MAX) */
int plan_inserted_before(const PromptPlan *p, int layer);
/* lowest layer at which some op has a gradient, or INT_MAX when none does */
int plan_first_grad_layer(const PromptPlan *p);

#endif
