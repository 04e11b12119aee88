/* core/base/torch_pickle.c — the non-executing pickle reader (core/base/torch_pickle.h): a stack machine
 * over the opcodes PyTorch checkpoints and Dassl caches use, with an allow-list of globals that
 * are turned into plain records. Every length, index and count is checked before it is used. */
#include "core/base/torch_pickle.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

#define MAX_MEMO (1u << 24)
#define MAX_STR (1u << 30)

/* the allow-list */
enum {
    G_ORDERED_DICT, G_REBUILD_TENSOR, G_REBUILD_PARAM, G_STORAGE, G_TYPE_TAG, G_BUILD_LIST,
    G_TORCHSCRIPT_CLASS, G_DATUM
};

struct TpDoc {
    const uint8_t *p;
    size_t len, pos, op_pos;
    unsigned allow;
    const char *what;
    TpValue **all;        /* every value, for tp_free */
    size_t n_all, cap_all;
    TpValue **stack;
    size_t sp, cap_stack;
    size_t *marks;
    size_t n_marks, cap_marks;
    TpValue **memo;
    size_t n_memo;
    TpValue *root;
    int failed;
};

static int fail_(TpDoc *d, const char *fmt, ...) CG_PRINTF(2, 3);
static int fail_(TpDoc *d, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cg_error_set("%s: pickle byte %zu: %s", d->what, d->op_pos, msg);
    d->failed = 1;
    return -1;
}

static TpValue *new_(TpDoc *d, TpKind k) {
    if (d->n_all == d->cap_all) {
        d->cap_all = d->cap_all ? 2 * d->cap_all : 256;
        d->all = cg_realloc(d->all, d->cap_all * sizeof *d->all);
    }
    TpValue *v = cg_calloc(1, sizeof *v);
    v->kind = k;
    d->all[d->n_all++] = v;
    return v;
}

static void add_item_(TpValue *v, TpValue *x) {
    if (v->n * 2 + 2 > v->cap) {  /* room for a pair as well as an item */
        v->cap = v->cap ? 2 * v->cap : 8;
        v->items = cg_realloc(v->items, v->cap * sizeof *v->items);
    }
    v->items[v->kind == TP_DICT || v->kind == TP_OBJECT ? 2 * v->n : v->n] = x;
}

static void append_(TpValue *list, TpValue *x) {
    add_item_(list, x);
    list->n++;
}

/* a string key set again replaces its value, as in Python */
static void set_item_(TpValue *dict, TpValue *k, TpValue *v) {
    if (k->kind == TP_STR)
        for (size_t i = 0; i < dict->n; i++)
            if (dict->items[2 * i]->kind == TP_STR && !strcmp(dict->items[2 * i]->s, k->s)) {
                dict->items[2 * i + 1] = v;
                return;
            }
    add_item_(dict, k);
    dict->items[2 * dict->n + 1] = v;
    dict->n++;
}

/* ---- the stack ------------------------------------------------------------------------------ */

static int push_(TpDoc *d, TpValue *v) {
    if (d->sp == d->cap_stack) {
        d->cap_stack = d->cap_stack ? 2 * d->cap_stack : 64;
        d->stack = cg_realloc(d->stack, d->cap_stack * sizeof *d->stack);
    }
    d->stack[d->sp++] = v;
    return 0;
}

static size_t floor_(const TpDoc *d) { return d->n_marks ? d->marks[d->n_marks - 1] : 0; }

static TpValue *pop_(TpDoc *d) {
    if (d->sp <= floor_(d)) {
        fail_(d, "stack underflow (opcode 0x%02x needs a value)", d->p[d->op_pos]);
        return NULL;
    }
    return d->stack[--d->sp];
}

static TpValue *top_(TpDoc *d) {
    if (d->sp <= floor_(d)) {
        fail_(d, "stack underflow (opcode 0x%02x needs a value)", d->p[d->op_pos]);
        return NULL;
    }
    return d->stack[d->sp - 1];
}

/* pops the items above the last MARK and the mark; *n items start at *base */
static int pop_mark_(TpDoc *d, TpValue ***base, size_t *n) {
    if (!d->n_marks) return fail_(d, "opcode 0x%02x without a MARK", d->p[d->op_pos]);
    size_t m = d->marks[--d->n_marks];
    *base = d->stack ? d->stack + m : NULL, *n = d->sp - m; /* no stack yet: a MARK on nothing */
    d->sp = m;
    return 0;
}

/* ---- reading the stream ----------------------------------------------------------------------- */

static int need_(TpDoc *d, size_t n) {
    if (n <= d->len - d->pos) return 0;
    return fail_(d, "truncated: opcode 0x%02x needs %zu more bytes, %zu left", d->p[d->op_pos],
                 n, d->len - d->pos);
}

static uint64_t le_(const uint8_t *b, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | b[i];
    return v;
}

static int read_uint_(TpDoc *d, int n, uint64_t *v) {
    if (need_(d, (size_t)n)) return -1;
    *v = le_(d->p + d->pos, n);
    d->pos += (size_t)n;
    return 0;
}

static int push_int_(TpDoc *d, int64_t x) {
    TpValue *v = new_(d, TP_INT);
    v->i = x;
    return push_(d, v);
}

static int push_str_(TpDoc *d, TpKind k, uint64_t n) {
    if (n > MAX_STR) return fail_(d, "string of %llu bytes is too long", (unsigned long long)n);
    if (need_(d, (size_t)n)) return -1;
    TpValue *v = new_(d, k);
    v->s = cg_malloc((size_t)n + 1);
    memcpy(v->s, d->p + d->pos, (size_t)n);
    v->s[n] = 0;
    v->len = (size_t)n;
    d->pos += (size_t)n;
    return push_(d, v);
}

/* LONG1: n little-endian two's-complement bytes; n <= 8 an INT, 9..16 its raw bytes as BYTES
 * (only the legacy torch format's 10-byte magic number is that long) */
static int long1_(TpDoc *d) {
    uint64_t n, v;
    if (read_uint_(d, 1, &n)) return -1;
    if (n > 8 && n <= 16) return push_str_(d, TP_BYTES, n);
    if (n > 8) return fail_(d, "LONG1 integer of %llu bytes is out of range", (unsigned long long)n);
    if (n == 0) return push_int_(d, 0);
    if (read_uint_(d, (int)n, &v)) return -1;
    if (n < 8 && (v >> (8 * n - 1)) & 1) v |= ~0ull << (8 * n);  /* sign-extend */
    return push_int_(d, (int64_t)v);
}

static int binfloat_(TpDoc *d) {
    if (need_(d, 8)) return -1;
    uint64_t bits = 0;
    for (int i = 0; i < 8; i++) bits = (bits << 8) | d->p[d->pos + (size_t)i];  /* big-endian */
    d->pos += 8;
    TpValue *v = new_(d, TP_FLOAT);
    memcpy(&v->f, &bits, 8);
    return push_(d, v);
}

/* ---- memo ---------------------------------------------------------------------------------- */

static int memo_put_(TpDoc *d, uint64_t idx) {
    TpValue *v = top_(d);
    if (!v) return -1;
    if (idx >= MAX_MEMO || idx > d->len)  /* a real pickle has fewer memo slots than bytes */
        return fail_(d, "memo index %llu is out of range", (unsigned long long)idx);
    if (idx >= d->n_memo) {
        size_t n = (size_t)idx + 1;
        d->memo = cg_realloc(d->memo, n * sizeof *d->memo);
        memset(d->memo + d->n_memo, 0, (n - d->n_memo) * sizeof *d->memo);
        d->n_memo = n;
    }
    d->memo[idx] = v;
    return 0;
}

static int memo_get_(TpDoc *d, uint64_t idx) {
    if (idx >= d->n_memo || !d->memo[idx])
        return fail_(d, "memo index %llu was never stored", (unsigned long long)idx);
    return push_(d, d->memo[idx]);
}

/* ---- globals ------------------------------------------------------------------------------- */

static int storage_dtype_(const char *name) {
    static const struct { const char *n; int dt; } S[] = {
        {"torch.FloatStorage", TP_F32}, {"torch.HalfStorage", TP_F16},
        {"torch.BFloat16Storage", TP_BF16}, {"torch.LongStorage", TP_I64}};
    for (size_t i = 0; i < sizeof S / sizeof *S; i++)
        if (!strcmp(name, S[i].n)) return S[i].dt;
    return -1;
}

static int classify_global_(TpDoc *d, const char *name, int *dtype) {
    int torch = d->allow & TP_ALLOW_TORCH;
    *dtype = -1;
    if (!strcmp(name, "collections.OrderedDict")) return G_ORDERED_DICT;
    if (torch && !strcmp(name, "torch._utils._rebuild_tensor_v2")) return G_REBUILD_TENSOR;
    if (torch && !strcmp(name, "torch._utils._rebuild_parameter")) return G_REBUILD_PARAM;
    if (torch && (*dtype = storage_dtype_(name)) >= 0) return G_STORAGE;
    if (torch && !strcmp(name, "torch.jit._pickle.restore_type_tag")) return G_TYPE_TAG;
    if (torch && (!strcmp(name, "torch.jit._pickle.build_intlist") ||
                  !strcmp(name, "torch.jit._pickle.build_floatlist") ||
                  !strcmp(name, "torch.jit._pickle.build_boollist") ||
                  !strcmp(name, "torch.jit._pickle.build_tensorlist")))
        return G_BUILD_LIST;
    if (torch && !strncmp(name, "__torch__.", 10)) return G_TORCHSCRIPT_CLASS;
    if ((d->allow & TP_ALLOW_DASSL) && !strcmp(name, "dassl.data.datasets.base_dataset.Datum"))
        return G_DATUM;
    return -1;
}

static int push_global_(TpDoc *d, const char *module, const char *name) {
    char full[512];
    snprintf(full, sizeof full, "%s.%s", module, name);
    int dtype, gid = classify_global_(d, full, &dtype);
    if (gid < 0)
        return fail_(d, "global '%s' is not allowed (nothing is imported or called; allowed: "
                        "collections.OrderedDict, torch tensor rebuilds and F32/F16/BF16/I64 "
                        "storages, TorchScript modules%s)", full,
                     d->allow & TP_ALLOW_DASSL ? ", Dassl's Datum" : "");
    TpValue *v = new_(d, TP_GLOBAL);
    v->s = cg_strdup(full), v->gid = gid, v->dtype = dtype;
    return push_(d, v);
}

/* GLOBAL: "module\nname\n", printable ASCII, each at most 255 bytes */
static int read_line_(TpDoc *d, char *out, size_t cap) {
    size_t i = 0;
    for (;;) {
        if (need_(d, 1)) return -1;
        uint8_t c = d->p[d->pos++];
        if (c == '\n') break;
        if (c < 0x20 || c > 0x7e || i + 1 >= cap)
            return fail_(d, "GLOBAL name is not a short printable line");
        out[i++] = (char)c;
    }
    out[i] = 0;
    return 0;
}

static int global_(TpDoc *d) {
    char module[256], name[256];
    if (read_line_(d, module, sizeof module) || read_line_(d, name, sizeof name)) return -1;
    return push_global_(d, module, name);
}

static int stack_global_(TpDoc *d) {
    TpValue *name = pop_(d), *module = name ? pop_(d) : NULL;
    if (!module) return -1;
    if (name->kind != TP_STR || module->kind != TP_STR || name->len > 255 || module->len > 255)
        return fail_(d, "STACK_GLOBAL needs two short strings");
    return push_global_(d, module->s, name->s);
}

/* ---- applying globals ----------------------------------------------------------------------- */

static int int_tuple_(TpDoc *d, const TpValue *t, int64_t *out, int *n, const char *what) {
    if (t->kind != TP_TUPLE || t->n > TP_MAX_DIMS)
        return fail_(d, "tensor %s is not a tuple of at most %d integers", what, TP_MAX_DIMS);
    for (size_t i = 0; i < t->n; i++) {
        if (t->items[i]->kind != TP_INT || t->items[i]->i < 0 || t->items[i]->i > (1ll << 40))
            return fail_(d, "tensor %s[%zu] is not an integer in [0, 2^40]", what, i);
        out[i] = t->items[i]->i;
    }
    *n = (int)t->n;
    return 0;
}

/* _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, hooks[, meta]) */
static int rebuild_tensor_(TpDoc *d, const TpValue *args) {
    if (args->n < 4 || args->items[0]->kind != TP_STORAGE || args->items[1]->kind != TP_INT ||
        args->items[1]->i < 0)
        return fail_(d, "_rebuild_tensor_v2 expects (storage, offset >= 0, size, stride, ...)");
    TpValue *t = new_(d, TP_TENSOR);
    int ns = 0, nt = 0;
    t->storage = args->items[0], t->i = args->items[1]->i;
    if (int_tuple_(d, args->items[2], t->shape, &ns, "size") ||
        int_tuple_(d, args->items[3], t->stride, &nt, "stride"))
        return -1;
    if (ns != nt) return fail_(d, "tensor size has %d dims, stride %d", ns, nt);
    t->ndim = ns;
    return push_(d, t);
}

static int reduce_(TpDoc *d) {
    TpValue *args = pop_(d), *fn = args ? pop_(d) : NULL;
    if (!fn) return -1;
    if (fn->kind != TP_GLOBAL) return fail_(d, "REDUCE on something that is not a global");
    if (args->kind != TP_TUPLE) return fail_(d, "REDUCE %s: arguments are not a tuple", fn->s);
    switch (fn->gid) {
    case G_ORDERED_DICT:
        if (args->n != 0) return fail_(d, "OrderedDict() with arguments is not supported");
        return push_(d, new_(d, TP_DICT));
    case G_REBUILD_TENSOR: return rebuild_tensor_(d, args);
    case G_REBUILD_PARAM:
        if (args->n < 1 || args->items[0]->kind != TP_TENSOR)
            return fail_(d, "_rebuild_parameter expects a tensor");
        return push_(d, args->items[0]);
    case G_TYPE_TAG:
    case G_BUILD_LIST:
        if (args->n < 1) return fail_(d, "%s expects an argument", fn->s);
        return push_(d, args->items[0]);
    default:
        return fail_(d, "global '%s' cannot be called (REDUCE)", fn->s);
    }
}

static int newobj_(TpDoc *d) {
    TpValue *args = pop_(d), *cls = args ? pop_(d) : NULL;
    if (!cls) return -1;
    if (cls->kind != TP_GLOBAL || (cls->gid != G_TORCHSCRIPT_CLASS && cls->gid != G_DATUM))
        return fail_(d, "NEWOBJ of '%s' is not allowed (only TorchScript modules and Dassl's "
                        "Datum)", cls->kind == TP_GLOBAL ? cls->s : "a non-global");
    if (args->kind != TP_TUPLE || args->n != 0)
        return fail_(d, "NEWOBJ %s with arguments is not supported", cls->s);
    TpValue *o = new_(d, TP_OBJECT);
    o->s = cg_strdup(cls->s);
    return push_(d, o);
}

/* BUILD: an object's state dict becomes its attributes; an OrderedDict's (state_dict's
 * _metadata) is dropped */
static int build_(TpDoc *d) {
    TpValue *state = pop_(d), *obj = state ? top_(d) : NULL;
    if (!obj) return -1;
    if (obj->kind == TP_DICT) return 0;
    if (obj->kind != TP_OBJECT || state->kind != TP_DICT)
        return fail_(d, "BUILD is supported only with a dict state on an allowed object");
    for (size_t i = 0; i < state->n; i++) set_item_(obj, state->items[2 * i], state->items[2 * i + 1]);
    return 0;
}

/* BINPERSID: ('storage', <storage type>, key, location, numel[, view_metadata]) */
static int persid_(TpDoc *d) {
    TpValue *pid = pop_(d);
    if (!pid) return -1;
    if (!(d->allow & TP_ALLOW_TORCH)) return fail_(d, "persistent id (BINPERSID) not allowed here");
    if (pid->kind != TP_TUPLE || pid->n < 5 || pid->items[0]->kind != TP_STR ||
        strcmp(pid->items[0]->s, "storage") || pid->items[1]->kind != TP_GLOBAL ||
        pid->items[1]->gid != G_STORAGE || pid->items[2]->kind != TP_STR ||
        pid->items[4]->kind != TP_INT || pid->items[4]->i < 0)
        return fail_(d, "persistent id is not ('storage', <Float|Half|BFloat16|Long>Storage, key, "
                        "location, numel)");
    const char *key = pid->items[2]->s;
    if (!key[0] || strspn(key, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_") !=
                       pid->items[2]->len)
        return fail_(d, "storage key '%.40s' is not a plain name", key);
    TpValue *s = new_(d, TP_STORAGE);
    s->s = cg_strdup(key), s->dtype = pid->items[1]->dtype, s->i = pid->items[4]->i;
    return push_(d, s);
}

/* ---- containers ------------------------------------------------------------------------------ */

static int tuple_n_(TpDoc *d, size_t n) {
    if (d->sp < floor_(d) + n) return fail_(d, "stack underflow building a %zu-tuple", n);
    TpValue *t = new_(d, TP_TUPLE);
    for (size_t i = 0; i < n; i++) append_(t, d->stack[d->sp - n + i]);
    d->sp -= n;
    return push_(d, t);
}

static int from_mark_(TpDoc *d, TpKind k) {
    TpValue **base = NULL;
    size_t n = 0;
    if (pop_mark_(d, &base, &n)) return -1;
    if (k == TP_DICT && n % 2) return fail_(d, "DICT with an odd number of items");
    TpValue *v = new_(d, k);
    if (k == TP_DICT)
        for (size_t i = 0; i < n; i += 2) set_item_(v, base[i], base[i + 1]);
    else
        for (size_t i = 0; i < n; i++) append_(v, base[i]);
    return push_(d, v);
}

static int appends_(TpDoc *d, int many) {
    TpValue **base = NULL, *one;
    size_t n = 1;
    if (many) {
        if (pop_mark_(d, &base, &n)) return -1;
    } else {
        if (!(one = pop_(d))) return -1;
        base = &one;
    }
    TpValue *list = top_(d);
    if (!list) return -1;
    if (list->kind != TP_LIST) return fail_(d, "APPEND to something that is not a list");
    for (size_t i = 0; i < n; i++) append_(list, base[i]);
    return 0;
}

static int setitems_(TpDoc *d, int many) {
    TpValue **base = NULL, *kv[2];
    size_t n = 2;
    if (many) {
        if (pop_mark_(d, &base, &n)) return -1;
        if (n % 2) return fail_(d, "SETITEMS with an odd number of items");
    } else {
        kv[1] = pop_(d), kv[0] = kv[1] ? pop_(d) : NULL;
        if (!kv[0]) return -1;
        base = kv;
    }
    TpValue *dict = top_(d);
    if (!dict) return -1;
    if (dict->kind != TP_DICT) return fail_(d, "SETITEM on something that is not a dict");
    for (size_t i = 0; i < n; i += 2) set_item_(dict, base[i], base[i + 1]);
    return 0;
}

static int mark_(TpDoc *d) {
    if (d->n_marks == d->cap_marks) {
        d->cap_marks = d->cap_marks ? 2 * d->cap_marks : 16;
        d->marks = cg_realloc(d->marks, d->cap_marks * sizeof *d->marks);
    }
    d->marks[d->n_marks++] = d->sp;
    return 0;
}

/* ---- the opcode loop -------------------------------------------------------------------------- */

static int op_(TpDoc *d, uint8_t op) {
    uint64_t u;
    switch (op) {
    case 0x80: /* PROTO */
        if (read_uint_(d, 1, &u)) return -1;
        return u <= 5 ? 0 : fail_(d, "pickle protocol %llu is not supported", (unsigned long long)u);
    case 0x95: /* FRAME */ return read_uint_(d, 8, &u);
    case '(': return mark_(d);
    case '0': return pop_(d) ? 0 : -1;
    case '1': { TpValue **b = NULL; size_t n = 0; return pop_mark_(d, &b, &n); }
    case '2': { TpValue *v = top_(d); return v ? push_(d, v) : -1; }
    case 'N': return push_(d, new_(d, TP_NONE));
    case 0x88: case 0x89: { TpValue *v = new_(d, TP_BOOL); v->i = op == 0x88; return push_(d, v); }
    case 'J': if (read_uint_(d, 4, &u)) return -1; return push_int_(d, (int32_t)(uint32_t)u);
    case 'K': if (read_uint_(d, 1, &u)) return -1; return push_int_(d, (int64_t)u);
    case 'M': if (read_uint_(d, 2, &u)) return -1; return push_int_(d, (int64_t)u);
    case 0x8a: return long1_(d);
    case 'G': return binfloat_(d);
    case 'X': case 'T': if (read_uint_(d, 4, &u)) return -1; return push_str_(d, TP_STR, u);
    case 0x8c: case 'U': if (read_uint_(d, 1, &u)) return -1; return push_str_(d, TP_STR, u);
    case 0x8d: if (read_uint_(d, 8, &u)) return -1; return push_str_(d, TP_STR, u);
    case 'B': if (read_uint_(d, 4, &u)) return -1; return push_str_(d, TP_BYTES, u);
    case 'C': if (read_uint_(d, 1, &u)) return -1; return push_str_(d, TP_BYTES, u);
    case 0x8e: if (read_uint_(d, 8, &u)) return -1; return push_str_(d, TP_BYTES, u);
    case '}': return push_(d, new_(d, TP_DICT));
    case ']': return push_(d, new_(d, TP_LIST));
    case ')': return push_(d, new_(d, TP_TUPLE));
    case 't': return from_mark_(d, TP_TUPLE);
    case 'l': return from_mark_(d, TP_LIST);
    case 'd': return from_mark_(d, TP_DICT);
    case 0x85: return tuple_n_(d, 1);
    case 0x86: return tuple_n_(d, 2);
    case 0x87: return tuple_n_(d, 3);
    case 'a': return appends_(d, 0);
    case 'e': return appends_(d, 1);
    case 's': return setitems_(d, 0);
    case 'u': return setitems_(d, 1);
    case 'q': if (read_uint_(d, 1, &u)) return -1; return memo_put_(d, u);
    case 'r': if (read_uint_(d, 4, &u)) return -1; return memo_put_(d, u);
    case 0x94: return memo_put_(d, d->n_memo);
    case 'h': if (read_uint_(d, 1, &u)) return -1; return memo_get_(d, u);
    case 'j': if (read_uint_(d, 4, &u)) return -1; return memo_get_(d, u);
    case 'c': return global_(d);
    case 0x93: return stack_global_(d);
    case 'R': return reduce_(d);
    case 0x81: return newobj_(d);
    case 'b': return build_(d);
    case 'Q': return persid_(d);
    default:
        if (op >= 0x20 && op < 0x7f)
            return fail_(d, "opcode 0x%02x ('%c') is not supported by this reader", op, op);
        return fail_(d, "opcode 0x%02x is not supported by this reader", op);
    }
}

TpDoc *tp_parse(const void *buf, size_t len, unsigned allow, const char *what) {
    TpDoc *d = cg_calloc(1, sizeof *d);
    d->p = buf, d->len = len, d->allow = allow, d->what = what ? what : "pickle";
    while (!d->failed) {
        d->op_pos = d->pos;
        if (d->pos >= d->len) {
            fail_(d, "truncated: the stream ends without STOP");
            break;
        }
        uint8_t op = d->p[d->pos++];
        if (op == '.') {
            if (d->n_marks) fail_(d, "STOP inside an open MARK");
            else if (d->sp != 1) fail_(d, "STOP with %zu values on the stack, expected 1", d->sp);
            else d->root = d->stack[0];
            break;
        }
        op_(d, op);
    }
    if (d->failed) {
        tp_free(d);
        return NULL;
    }
    return d;
}

size_t tp_consumed(const TpDoc *d) { return d->pos; }
size_t tp_value_count(const TpDoc *d) { return d->n_all; }
const TpValue *tp_value_at(const TpDoc *d, size_t i) { return i < d->n_all ? d->all[i] : NULL; }
const TpValue *tp_root(const TpDoc *d) { return d->root; }

void tp_free(TpDoc *d) {
    if (!d) return;
    for (size_t i = 0; i < d->n_all; i++) {
        free(d->all[i]->s);
        free(d->all[i]->items);
        free(d->all[i]);
    }
    free(d->all), free(d->stack), free(d->marks), free(d->memo), free(d);
}

const TpValue *tp_key(const TpValue *v, size_t i) { return v->items[2 * i]; }
const TpValue *tp_val(const TpValue *v, size_t i) { return v->items[2 * i + 1]; }

const TpValue *tp_get(const TpValue *v, const char *key) {
    if (!v || (v->kind != TP_DICT && v->kind != TP_OBJECT)) return NULL;
    for (size_t i = 0; i < v->n; i++)
        if (tp_key(v, i)->kind == TP_STR && !strcmp(tp_key(v, i)->s, key)) return tp_val(v, i);
    return NULL;
}
