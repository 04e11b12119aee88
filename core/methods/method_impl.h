/* core/methods/method_impl.h — internal to the method files: what a descriptor's key table is
 * written with, the prompt family's shared keys, and the helpers every method file uses
 * (core/methods/method_common.c). Not for callers outside core/methods (they use
 * core/methods/method.h and registry.h).
 *
 * A descriptor's defaults function sets only what differs from Dassl's common training
 * defaults (method_config_defaults sets those first: SGD, momentum 0.9, weight decay 5e-4, 1
 * warm-up epoch constant at 1e-5, test batch 100, RRC scale (0.08, 1)) and the method's own
 * keys. `setting` is base2new | fewshot | cross_dataset | domain_generalization; `dataset` the
 * training dataset (clipgrid name, e.g. "caltech101"; may be ""). */
#ifndef CLIPGRID_CORE_METHOD_IMPL_H
#define CLIPGRID_CORE_METHOD_IMPL_H

#include <stddef.h>

#include "core/methods/cos_head.h"
#include "core/methods/method.h"
#include "core/methods/registry.h"

/* a key's place: a field of MethodConfig, or field f of the method's own options struct T */
#define CFG_FIELD(f) offsetof(MethodConfig, f), sizeof(((MethodConfig *)0)->f)
#define OWN_FIELD(T, f) offsetof(MethodConfig, own) + offsetof(T, f), sizeof(((T *)0)->f)

/* the prompt family's keys, for the methods' key tables */
#define KEY_N_CTX {"n_ctx", KEY_INT, CFG_FIELD(n_ctx), 0, "number of learnable context vectors (N_CTX)"}
#define KEY_CTX_INIT {"ctx_init", KEY_STRING, CFG_FIELD(ctx_init), 0, \
    "initial context phrase, e.g. \"a photo of a\"; empty: random N(0, 0.02^2)"}
#define KEY_CSC {"csc", KEY_BOOL, CFG_FIELD(csc), 0, "class-specific context (CSC)"}
#define KEY_CLASS_TOKEN_POSITION {"class_token_position", KEY_STRING, \
    CFG_FIELD(class_token_position), 0, "class token position: end | middle | front"}
#define KEY_DEPTH {"depth", KEY_INT, CFG_FIELD(prompt_depth), 0, \
    "prompt depth (MaPLe PROMPT_DEPTH, MuDPT DEEP_PROMPT_DEPTH)"}
#define KEY_PROMPT_DEPTH {"prompt_depth", KEY_INT, CFG_FIELD(prompt_depth), 0, "the same as depth"}
#define KEY_TEMPLATE {"template", KEY_STRING, CFG_FIELD(template_str), 0, \
    "class prompt template with {}; empty: the dataset's"}
#define KEY_END {NULL, 0, 0, 0, 0, NULL}

/* the cost model of the CoOp family: n_ctx context tokens in the text prompt only */
MethodCost method_cost_text_context(const MethodConfig *c);
/* the cost model of MaPLe and MuDPT: n_ctx prompt tokens in both towers, image backward */
MethodCost method_cost_deep_prompts(const MethodConfig *c);
/* MaPLe's and MuDPT's check: the prompt depth within the model's layers */
int method_check_depth(const MethodConfig *c, const ClipConfig *model, char *why, size_t cap,
                       const char **key);

/* CoCoOp: 1 runs every full class prompt of every image (the official way; the reference of
 * the shared-prefix path in tests), 0 the shared-prefix path (default) */
void cocoop_set_plain(Method *m, int plain);
/* CoCoOp: suffix rows per text-tower call (<= 0: the default); tests use small values */
void cocoop_set_chunk_rows(Method *m, int rows);
/* CoOp: prompt rows per text-tower call (<= 0: the default); tests use small values */
void coop_set_chunk_rows(Method *m, int rows);

/* CoOp's prompt learner as a base for methods that add to its loss (KgCoOp): its ops and
 * defaults, and an extension set after coop_build. text_loss gets the raw class text features
 * txt [C, E] (device, every class of the group) after the cross-entropy, returns the added
 * loss and adds (+=) its gradient into d_txt [C, E]; it is called on rank 0 of the group only,
 * so the term counts once. destroy frees the extension's state. */
typedef struct {
    double (*text_loss)(Method *m, const float *txt, float *d_txt);
    void (*destroy)(Method *m, void *state);
    void *state;
} CoopExtension;
void coop_defaults(MethodConfig *c, const char *setting, const char *dataset);
int coop_build(Method *m);
int coop_set_classes(Method *m, const char *const *names, int C, const char *dataset);
double coop_forward_backward(Method *m, const float *images, const int *labels, int b,
                             int b_global, float *logits);
void coop_logits(Method *m, const float *images, int b, EvalMode mode, float *logits);
void coop_destroy(Method *m);
void coop_extend(Method *m, CoopExtension ext);
void *coop_extension_state(const Method *m);

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
