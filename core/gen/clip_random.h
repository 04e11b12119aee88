/* core/gen/clip_random.h — a deterministic random CLIP (OpenAI naming), reproduced exactly by the
 * Python twin from the same definition:
 *
 *   splitmix64(x): x += 0x9E3779B97F4A7C15; z = x; z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
 *                  z = (z ^ (z >> 27)) * 0x94D049BB133111EB; return z ^ (z >> 31)   (uint64 wrap)
 *   fnv1a64(name): h = 0xcbf29ce484222325; per byte c: h ^= c; h *= 0x100000001b3
 *   key          = fnv1a64(tensor name) ^ (seed * 0x9E3779B97F4A7C15)
 *   element i    : bits = splitmix64(key + i); u = (double)(bits >> 40) / 16777216.0;
 *                  value = (float)(mean + std * 1.7320508075688772 * (2u - 1))   (double, then
 *                  rounded to float32; evaluated left to right, no fused multiply-add)
 *
 * i is the flat row-major index in the OpenAI tensor. mean/std per tensor: Linear, attention and
 * conv weights 0/0.02; biases 0/0.01; LayerNorm weights 1/0.05; LayerNorm biases 0/0.02;
 * visual.class_embedding, visual.positional_embedding, visual.proj 0/W^-0.5 (pow(W, -0.5));
 * text_projection 0/D^-0.5; positional_embedding 0/0.01; token_embedding.weight 0/0.02;
 * logit_scale = 4.605170249938965 (ln 100 as float32), always stored as F32. */
#ifndef CLIPGRID_CORE_CLIP_RANDOM_H
#define CLIPGRID_CORE_CLIP_RANDOM_H

#include <stddef.h>
#include <stdint.h>

#include "core/model/clip_config.h"
#include "core/model/clip_names.h"

#define CLIP_RANDOM_LOGIT_SCALE 4.605170249938965


/* elements 0..n-1 of tensor `name` */
void clip_random_fill_host(float *dst, size_t n, const char *name, uint64_t seed, double mean,
                           double std);
/* elements start..start+n-1 of tensor `name` */
void clip_random_fill_host_at(float *dst, size_t n, size_t start, const char *name,
                              uint64_t seed, double mean, double std);

/* A complete safetensors file in OpenAI naming, every tensor in `dtype` (F16/BF16 rounded to
 * nearest even) except logit_scale (F32). Written tensor by tensor: memory is bounded by the
 * largest tensor. 0, or -1 with cg_error set. */
int clip_random_write(const char *path, const ClipConfig *cfg, uint64_t seed, KDtype dtype);
/* The same values under either naming; HF adds the two int64 position_ids buffers. */
int clip_random_write_named(const char *path, const ClipConfig *cfg, uint64_t seed,
                            KDtype dtype, ClipNaming naming);

/* The model clip_model_load would give for the F32 OpenAI file, without touching disk. */
int clip_random_model(ClipModel *m, const ClipConfig *cfg, uint64_t seed);

#endif
