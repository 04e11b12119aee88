/* core/model/prompt_plan.c — building and querying prompt plans (see prompt_plan.h). */
#include "core/model/prompt_plan.h"

#include <limits.h>

#include "base/util.h"

void plan_add(PromptPlan *p, PlanKind kind, int layer, int pos, int rows, int per_sample,
              const float *values, float *grad) {
    if (p->n >= CG_PLAN_MAX) cg_fatal("prompt plan: more than %d ops", CG_PLAN_MAX);
    if (rows <= 0 || pos < 0 || layer < -1 || !values)
        cg_fatal("prompt plan: bad op (layer %d, pos %d, rows %d, values %p)", layer, pos, rows,
                 (const void *)values);
    p->op[p->n++] = (PlanOp){kind, layer, pos, rows, per_sample, values, grad};
}

int plan_inserted_before(const PromptPlan *p, int layer) {
    int n = 0;
    for (int i = 0; p && i < p->n; i++)
        if (p->op[i].kind == PLAN_INSERT && p->op[i].layer < layer) n += p->op[i].rows;
    return n;
}

int plan_first_grad_layer(const PromptPlan *p) {
    int first = INT_MAX;
    for (int i = 0; p && i < p->n; i++)
        if (p->op[i].grad && p->op[i].layer < first) first = p->op[i].layer;
    return first;
}
