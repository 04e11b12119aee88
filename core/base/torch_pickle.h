/* core/base/torch_pickle.h — a pickle reader that executes nothing, for PyTorch checkpoints
 * (torch.save state dicts, TorchScript archives' data.pkl) and Dassl's few-shot caches.
 *
 * Only the opcodes these files use are implemented (protocols 2–5: PROTO FRAME STOP MARK POP
 * POP_MARK DUP, the int/float/str/bytes/None/bool constants, tuples, lists, dicts, the memo,
 * GLOBAL/STACK_GLOBAL, REDUCE, NEWOBJ, BUILD, BINPERSID). Globals are looked up in an allow-list
 * and never imported or called: collections.OrderedDict (an empty dict),
 * torch._utils._rebuild_tensor_v2 / _rebuild_parameter (a tensor record),
 * torch.{Float,Half,BFloat16,Long}Storage (only as the type inside a storage persistent id),
 * TorchScript's helpers torch.jit._pickle.{restore_type_tag, build_intlist, build_floatlist,
 * build_boollist, build_tensorlist} (their argument) and TorchScript modules (__torch__.*) or
 * Dassl's dassl.data.datasets.base_dataset.Datum as plain objects (their BUILD state is their
 * attribute dictionary). Anything else is refused with an error naming the opcode or the global
 * and its byte offset. Lengths, indices and nesting are checked against the buffer before use,
 * so a truncated or hostile stream gives an error, never a crash or a huge allocation.
 *
 * tp_parse works on a memory buffer (the entry point for fuzzing). */
#ifndef CLIPGRID_CORE_TORCH_PICKLE_H
#define CLIPGRID_CORE_TORCH_PICKLE_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    TP_NONE, TP_BOOL, TP_INT, TP_FLOAT, TP_STR, TP_BYTES, TP_TUPLE, TP_LIST, TP_DICT,
    TP_OBJECT,   /* an allowed class instance: s = class name, entries = its attributes */
    TP_GLOBAL,   /* an allowed global not yet applied: s = "module.name" */
    TP_STORAGE,  /* persistent id ('storage', type, key, location, numel) */
    TP_TENSOR,   /* _rebuild_tensor_v2(storage, offset, size, stride, ...) */
    TP_MARK      /* internal */
} TpKind;

/* storage element types (the values of StDtype) */
enum { TP_F32 = 0, TP_F16 = 1, TP_BF16 = 2, TP_I64 = 3 };
#define TP_MAX_DIMS 8

typedef struct TpValue TpValue;
struct TpValue {
    TpKind kind;
    int64_t i;            /* INT, BOOL; STORAGE: numel; TENSOR: storage offset (elements) */
    double f;
    char *s;              /* STR, BYTES (len bytes, NUL-terminated), GLOBAL, OBJECT class,
                           * STORAGE key */
    size_t len;
    TpValue **items;      /* TUPLE/LIST: n items; DICT/OBJECT: n pairs as 2n (key, value) */
    size_t n, cap;
    int dtype;            /* STORAGE */
    int gid;              /* GLOBAL: which allowed global */
    TpValue *storage;     /* TENSOR */
    int ndim;
    int64_t shape[TP_MAX_DIMS], stride[TP_MAX_DIMS];
};

typedef struct TpDoc TpDoc;

/* what a file may contain beyond plain data */
enum { TP_ALLOW_TORCH = 1, TP_ALLOW_DASSL = 2 };

/* Parses one pickle (up to its STOP) from buf[0..len). `what` names the source in errors
 * ("FILE:data.pkl"). Returns NULL with cg_error() = "WHAT: pickle byte N: what was wrong". */
TpDoc *tp_parse(const void *buf, size_t len, unsigned allow, const char *what);
/* bytes consumed by the pickle (the legacy torch format has several in a row) */
size_t tp_consumed(const TpDoc *d);
/* every value the stream made, in creation order (e.g. to find all storages) */
size_t tp_value_count(const TpDoc *d);
const TpValue *tp_value_at(const TpDoc *d, size_t i);
const TpValue *tp_root(const TpDoc *d);
void tp_free(TpDoc *d);

/* DICT/OBJECT member by string key; NULL if absent */
const TpValue *tp_get(const TpValue *dict, const char *key);
/* the entry's key / value of a DICT/OBJECT */
const TpValue *tp_key(const TpValue *dict, size_t i);
const TpValue *tp_val(const TpValue *dict, size_t i);

#endif
