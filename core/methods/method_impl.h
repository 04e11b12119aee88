/* core/methods/method_impl.h — internal to the method files: each method's operation table and its
 * published defaults (core/method_<name>.c defines both), dispatched by core/methods/method.c and
 * core/methods/method_config.c. Not for callers outside core/method*.c (they use core/methods/method.h).
 *
 * <m>_config_defaults fills only the method's own keys and the training options that differ
 * from Dassl's common defaults (method_config_defaults sets those first: SGD, momentum 0.9,
 * weight decay 5e-4, 1 warm-up epoch constant at 1e-5, test batch 100, RRC scale (0.08, 1)).
 * `setting` is base2new | fewshot | cross_dataset | domain_generalization; `dataset` is the
 * training dataset (clipgrid name, e.g. "caltech101"; may be "" or NULL). */
#ifndef CLIPGRID_CORE_METHOD_IMPL_H
#define CLIPGRID_CORE_METHOD_IMPL_H

#include "core/methods/cos_head.h"
#include "core/methods/method.h"

extern const MethodOps zsclip_ops, coop_ops, cocoop_ops, maple_ops, mudpt_ops, mmrl_ops;

void zsclip_config_defaults(MethodConfig *c, const char *setting, const char *dataset);
void coop_config_defaults(MethodConfig *c, const char *setting, const char *dataset);
void cocoop_config_defaults(MethodConfig *c, const char *setting, const char *dataset);
void maple_config_defaults(MethodConfig *c, const char *setting, const char *dataset);
void mudpt_config_defaults(MethodConfig *c, const char *setting, const char *dataset);
void mmrl_config_defaults(MethodConfig *c, const char *setting, const char *dataset);

/* CoCoOp: 1 runs every full class prompt of every image (the official way; the reference of
 * the shared-prefix path in tests), 0 the shared-prefix path (default) */
void cocoop_set_plain(Method *m, int plain);
/* CoCoOp: suffix rows per text-tower call (<= 0: the default); tests use small values */
void cocoop_set_chunk_rows(Method *m, int rows);
/* CoOp: prompt rows per text-tower call (<= 0: the default); tests use small values */
void coop_set_chunk_rows(Method *m, int rows);

/* ---- helpers shared by the method files (core/methods/method_common.c) ------------------------------- */

struct Tokenizer;

/* Initial values from the run's seed (core/base/rng.h streams keyed by (seed, tensor name)): normal
 * N(0, std²), and PyTorch's default Linear init U(−1/sqrt(fan_in), 1/sqrt(fan_in)). dst device. */
void method_init_normal(const Method *m, const char *name, float *dst, size_t n, double std);
void method_init_uniform(const Method *m, const char *name, float *dst, size_t n, double bound);

/* token embeddings of ids [n] (host) into dst [n, D] (device) */
void embed_tokens(const ClipModel *clip, const int *ids, int n, float *dst);

/* the context phrase's words (after '_' → ' '): *n_words, and its rows 1..n_words of the
 * embedding (the rows after SOS) into dst [n_words, D] when dst != NULL; 0 or −1 */
int ctx_phrase_embed(const ClipModel *clip, const struct Tokenizer *tok, const char *phrase,
                     int *n_words, float *dst);

/* The split of C class prompts over a rank group (design.md §5): this rank encodes classes
 * [lo, lo + cnt); class_split_gather assembles all rows from every rank's slice (allgatherv of
 * `per` floats per class); class_split_reduce sums a gradient w.r.t. all rows over the group
 * (each rank's images contribute) and returns the pointer to this rank's rows. With comm_self
 * both reduce to the identity. */
typedef struct {
    int C, lo, cnt, per;
    int size;
    size_t *counts;  /* [size] floats per rank */
} ClassSplit;
void class_split_init(ClassSplit *s, CgComm *comm, int C, int per);
void class_split_free(ClassSplit *s);
void class_split_gather(CgComm *comm, const ClassSplit *s, const float *mine, float *all);
float *class_split_reduce(CgComm *comm, const ClassSplit *s, float *d_all);
/* per-image class rows: mine [n, cnt, per] of every rank → all [n, C, per] (each rank's
 * classes in place), and the reverse selection of this rank's classes from all */
void class_split_gather_rows(CgComm *comm, const ClassSplit *s, int n, const float *mine,
                             float *all);
void class_split_select_rows(const ClassSplit *s, int n, const float *all, float *mine);

/* The images of a global batch over the group: every rank's count (counts [size], host) and
 * the global count (returned); *lo the index of this rank's first image. Collective. */
int image_split(CgComm *comm, int b, int *counts, int *lo);
/* all [b_global, per] = the concatenation of every rank's mine [counts[r], per]. Collective. */
void image_split_gather(CgComm *comm, const int *counts, int per, const float *mine, float *all);

#endif
