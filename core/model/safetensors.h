/* core/model/safetensors.h — the safetensors container (clip.md §8.3): a validating, memory-mapped
 * reader and a writer of the official layout.
 *
 * File layout: 8-byte little-endian header length N, N bytes of JSON header (an object:
 * tensor name -> {"dtype", "shape", "data_offsets": [begin, end)}, plus an optional
 * "__metadata__" map of strings), then the data buffer. Offsets are relative to the data buffer.
 *
 * The reader checks everything before handing out a tensor: header length bounds, JSON syntax,
 * entry fields, dtype, shape, byte counts, duplicate names, and that the data ranges tile the
 * data buffer exactly (no overlap, no gap, no trailing bytes: the rule of the official reader).
 * Errors: NULL / -1 and cg_error() = "FILE: what was expected, what was found".
 *
 * Tensor data returned by the reader is host memory inside the read-only mapping: little-endian,
 * possibly unaligned (use memcpy or k_upload_cast, which accepts unaligned data). */
#ifndef CLIPGRID_CORE_SAFETENSORS_H
#define CLIPGRID_CORE_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#define ST_MAX_DIMS 8
#define ST_MAX_HEADER 100000000ull

/* the float dtypes share their values with KDtype (kernels/ops.h); I64 is read only so that
 * HF's integer `position_ids` buffers can be recognised and skipped */
typedef enum { ST_F32 = 0, ST_F16 = 1, ST_BF16 = 2, ST_I64 = 3 } StDtype;
#define ST_NUM_DTYPES 4

typedef struct {
    const char *name;
    StDtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    const void *data;     /* inside the mapping; NULL when nbytes == 0 */
    size_t nbytes;
    size_t numel;         /* product(shape); 1 for a scalar */
    size_t offset;        /* begin of data_offsets (relative to the data buffer) */
} StTensor;

typedef struct SafeTensors SafeTensors;

SafeTensors *st_open(const char *path);
void st_close(SafeTensors *st);
/* A reader over tensors another container holds (core/model/torch_checkpoint.c): takes t (its names
 * and data stay the owner's), checks that names are unique, and calls release(owner) on close.
 * No metadata. NULL with cg_error() on a duplicate name (the owner is released then too). */
SafeTensors *st_wrap(const char *path, StTensor *t, int n, size_t file_size,
                     void (*release)(void *), void *owner);
int st_count(const SafeTensors *st);
const StTensor *st_get(const SafeTensors *st, int i);          /* header order */
const StTensor *st_find(const SafeTensors *st, const char *name);  /* NULL if absent */
int st_index(const SafeTensors *st, const char *name);         /* -1 if absent */
const char *st_metadata(const SafeTensors *st, const char *key);   /* NULL if absent */
int st_metadata_count(const SafeTensors *st);
const char *st_metadata_key(const SafeTensors *st, int i);       /* header order */
const char *st_path(const SafeTensors *st);
size_t st_file_size(const SafeTensors *st);

const char *st_dtype_name(StDtype dt);
size_t st_dtype_size(StDtype dt);
/* "[768, 3, 16, 16]" into buf (always NUL-terminated) */
const char *st_shape_str(char *buf, size_t cap, int ndim, const int64_t *shape);

/* host scalar conversions, round-to-nearest-even on narrowing (NaN stays NaN, overflow -> inf) */
uint16_t st_f32_to_f16(float f);
uint16_t st_f32_to_bf16(float f);
float st_f16_to_f32(uint16_t h);
float st_bf16_to_f32(uint16_t h);
/* one element of a float tensor at `p` (any alignment) as float; dt must be F32/F16/BF16 */
float st_read_float(const void *p, StDtype dt);

/* ---- writer ----------------------------------------------------------------------------
 * Collects tensors, then writes: 8-byte LE length, compact JSON header (metadata first, then
 * the tensors in the order they were added) padded with spaces to a multiple of 8, and the data
 * contiguous in header order. Two ways to give data:
 *   st_writer_add:    raw little-endian bytes of `dtype`, borrowed until st_writer_write.
 *   st_writer_add_fn: a callback fills numel fp32 values into a scratch buffer when the tensor is
 *                     written; the writer converts to `dtype` (F32/F16/BF16). Memory stays
 *                     bounded by the largest tensor.
 * The file is written to PATH.tmp.PID and renamed into place when complete. */
typedef struct StWriter StWriter;
typedef int (*StFillFn)(void *ctx, float *dst, size_t numel);  /* 0 ok, -1 error (cg_error set) */

StWriter *st_writer_new(void);
int st_writer_add(StWriter *w, const char *name, StDtype dtype, int ndim, const int64_t *shape,
                  const void *data);
int st_writer_add_fn(StWriter *w, const char *name, StDtype dtype, int ndim,
                     const int64_t *shape, StFillFn fn, void *ctx);
void st_writer_set_metadata(StWriter *w, const char *key, const char *value);
int st_writer_write(StWriter *w, const char *path);
void st_writer_free(StWriter *w);

#endif
