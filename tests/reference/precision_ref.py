#!/usr/bin/python3
"""precision_ref.py: reference data for the reduced-precision matrix products (precision bf16, fp16, tf32).

Semantics restated here (what the C side's op_matmul / op_matmul_backward / op_dense_backward do at precision P):
both input operands of every product with weights are rounded to P with round-to-nearest-even, multiplied (the
products of rounded values are exact in fp32) and accumulated in fp32; the output is fp32. Backward products round
their own inputs: y = A·B gives dA = r(dy)·r(B)ᵀ and dB = r(A)ᵀ·r(dy). Attention's q·kᵀ and probs·v (and their
backward), LayerNorm, softmax, GELU, adds, bias adds, L2 normalisation, the loss and the optimiser stay fp32.
The products: every Linear of the blocks (in_proj, out_proj, c_fc, c_proj), the patch embedding (image pixels times
the conv weight), visual.proj, text_projection, CoCoOp's two meta-net Linears and the logits
(exp(logit_scale)·img_n) · txt_nᵀ. Rounding: bf16 keeps 8 significant bits, fp16 is IEEE binary16 (subnormals,
overflow to ±inf), tf32 keeps 11 significant bits in the fp32 exponent range (overflow to ±inf); NaN stays NaN.

Writes (default folder tests/data):
  precision_round.h5  /x [N] float32 edge cases and random values; /bf16, /fp16, /tf32 [N] float32 rounded values
                      (torch for bf16 and fp16; a NumPy bit-arithmetic RNE for tf32, which is checked to reproduce
                      torch's bf16 at 7 stored bits and to agree with the torch-side tf32 rounding used below).
                      /matmul: one product y = x w^T and its backward products dx = dy w, dw = dy^T x at each
                      precision (rounded operands, exact float64 sums rounded once to float32), with row scales
                      2^-16 .. 2^12: a kernel at P lands within ~1e-6 of these, the plain fp32 product 4e-4 to 5e-3
                      away (attributes fp32_rel_diff_rowwise, fp32_sum_rel_err_rowwise).
  coop_bf16.h5, coop_fp16.h5, coop_tf32.h5, cocoop_bf16.h5
                      fixtures in the format of coop_other.h5 / cocoop_other.h5 (methods_fixture_ref.py: same model,
                      classes, batches, init, steps, LR), computed with every product rounded at the precision in
                      /config attribute `precision`. Every float dataset has `fp32_rel_diff` = max|x_P - x_fp32| /
                      max|x_fp32| (x_fp32: the plain fp32 run, the values of coop_other.h5 / cocoop_other.h5) and
                      `fp32_max_abs_diff`; params_after_step datasets also `fp32_rel_diff_of_update` (the same on
                      x - init). `/config fp32_min_rel_diff` is the smallest fp32_rel_diff over the non-constant
                      datasets. Every float dataset also has `p_noise_rel`: how far other correct computations at
                      P are (a float64 run of the same rounded computation, also stored as fp64_rel_err as in
                      coop_other.h5; fp32 runs that sum each product in 2, 3, 4 and 8 slices). Rounding turns the
                      1e-7 differences of summation order into whole-ulp differences of later operands, which
                      grow layer by layer: p_noise_rel is 0.4 to 3.2 times fp32_rel_diff, so these end-to-end
                      fixtures check "computed at P within P's noise", not "not computed in fp32"; /matmul does
                      the latter.

Usage: /usr/bin/python3 tests/reference/precision_ref.py [--outdir tests/data]
One thread, byte-reproducible (HDF5 without timestamps).
"""
import argparse
import math
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

import methods_fixture_ref as mf  # noqa: E402  (imports clip_b16_ref: one-thread environment before torch)
import zs_fixture_ref as zs  # noqa: E402
import clip_b16_ref as ref  # noqa: E402
import tokenizer_ref as tk  # noqa: E402
import h5py  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

PRECISIONS = ("fp32", "tf32", "bf16", "fp16")
FIXTURES = [("coop", "bf16"), ("coop", "fp16"), ("coop", "tf32"), ("cocoop", "bf16")]
ROUND_SEED = 2024
NOISE_CHUNKS = (2, 3, 4, 8)   # the fp32 summation orders of the p_noise_rel runs


# ----------------------------------------------------------------------------------------------------------------
# rounding in torch (used inside the products)
def tf32_torch(x):
    """RNE to 10 stored mantissa bits by adding 0xFFF + lsb and clearing the low 13 bits; NaN kept"""
    b = x.contiguous().view(torch.int32).to(torch.int64) & 0xFFFFFFFF
    r = ((b + 0xFFF + ((b >> 13) & 1)) & 0xFFFFE000) & 0xFFFFFFFF
    r = torch.where(r >= 0x80000000, r - (1 << 32), r).to(torch.int32).view(torch.float32)
    return torch.where(torch.isnan(x), x, r)


def round_torch(x, prec):
    """x rounded to prec; a float64 x (the noise-floor run) is rounded through float32 and returned as float64"""
    if prec == "fp32":
        return x
    if x.dtype == torch.float64:
        return round_torch(x.float(), prec).double()
    if prec == "bf16":
        return x.to(torch.bfloat16).float()
    if prec == "fp16":
        return x.half().float()
    if prec == "tf32":
        return tf32_torch(x)
    raise ValueError(prec)


# rounding in NumPy, written independently: compare the dropped bits with one half ulp
def rne_numpy(x, drop):
    """float32 x rounded to 23 - drop stored mantissa bits, fp32 exponent range, RNE, NaN kept"""
    b = np.ascontiguousarray(x, np.float32).view(np.uint32).astype(np.uint64)
    low = b & np.uint64((1 << drop) - 1)
    half = np.uint64(1 << (drop - 1))
    odd = (b >> np.uint64(drop)) & np.uint64(1)
    up = (low > half) | ((low == half) & (odd == 1))
    r = (b - low) + up.astype(np.uint64) * np.uint64(1 << drop)     # a carry may reach the exponent: inf
    out = (r & np.uint64(0xFFFFFFFF)).astype(np.uint32).view(np.float32)
    return np.where(np.isnan(x), x, out)


def same_bits(a, b):
    """equal as float32 bit patterns, any NaN equal to any NaN"""
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    nan = np.isnan(a) & np.isnan(b)
    return bool(np.all(nan | (a.view(np.uint32) == b.view(np.uint32))))


# ----------------------------------------------------------------------------------------------------------------
# the edge cases and random values of precision_round.h5
def f32(bits):
    return np.asarray(bits, np.uint64).astype(np.uint32).view(np.float32)


def halfway_cases(rs, drop, n):
    """values exactly halfway between two neighbours of the format keeping 23 - drop stored bits (both
    parities of the lower neighbour), and one fp32 ulp either side"""
    hi = rs.randint(0, 0xFF, n).astype(np.uint64) << np.uint64(23)               # exponents 0..254
    mant = rs.randint(0, 1 << (23 - drop), n).astype(np.uint64) << np.uint64(drop)
    mant[0::2] &= ~np.uint64(1 << drop)                                          # even lower neighbour
    mant[1::2] |= np.uint64(1 << drop)                                           # odd lower neighbour
    sign = rs.randint(0, 2, n).astype(np.uint64) << np.uint64(31)
    mid = sign | hi | mant | np.uint64(1 << (drop - 1))
    return np.concatenate([mid, mid - np.uint64(1), mid + np.uint64(1)])


def fp16_halfway(rs, n):
    """midpoints between neighbouring finite fp16 values (normals and subnormals; exact in fp32), +-1 fp32 ulp"""
    h = rs.randint(0, 0x7BFF, n).astype(np.uint16)                               # up to the one below 65504
    h[:64] = np.arange(64, dtype=np.uint16)                                       # smallest subnormals
    h[64:128] = np.arange(0x3C0, 0x400, dtype=np.uint16)                          # up to the min normal
    lo = h.view(np.float16).astype(np.float64)
    hi = (h + np.uint16(1)).view(np.float16).astype(np.float64)
    mid = ((lo + hi) / 2).astype(np.float32)
    assert np.all(mid.astype(np.float64) == (lo + hi) / 2)
    sign = np.where(rs.randint(0, 2, n) == 1, -1, 1).astype(np.float32)
    mid = mid * sign
    b = mid.view(np.uint32).astype(np.uint64)
    return np.concatenate([b, b - np.uint64(1), b + np.uint64(1)])


def round_inputs():
    rs = np.random.RandomState(ROUND_SEED)
    named = [0.0, -0.0, np.inf, -np.inf, 1.0, -1.0, 65504.0, 65519.99, 65520.0, -65520.0, 65536.0, 1e5,
             2.0 ** -24, 2.0 ** -25, 3 * 2.0 ** -25, 2.0 ** -26, 2.0 ** -14, 2.0 ** -14 - 2.0 ** -25,
             2.0 ** -14 - 2.0 ** -24, -2.0 ** -24, 1.0 + 2.0 ** -8, 1.0 + 3 * 2.0 ** -8, 1.0 + 2.0 ** -11,
             1.0 + 3 * 2.0 ** -11, 1.0 + 2.0 ** -12, 0.1, -0.1, 1.0 / 3.0, math.pi, 100.0]
    bits = [np.asarray(named, np.float32).view(np.uint32).astype(np.uint64)]
    bits.append(np.array([
        0x7FC00000, 0xFFC00000, 0x7F800001, 0x7F801000, 0x7F802000, 0x7FFFFFFF, 0xFFFFFFFF, 0x7FBFFFFF,  # NaNs
        0x00000001, 0x80000001, 0x00000FFF, 0x00001000, 0x00001001, 0x00003000, 0x00008000, 0x00018000,  # fp32
        0x007FFFFF, 0x007FF000, 0x007FFFF0, 0x00800000, 0x80800000,                                     # subnormals
        0x7F7FFFFF, 0xFF7FFFFF, 0x7F7F8000, 0x7F7F7FFF, 0x7F7FF000, 0x7F7FEFFF, 0x7F7FE000,             # FLT_MAX area
        0x477FE000, 0x477FEFFF, 0x477FF000, 0x477FFFFF,                                                  # 65504..65536
    ], np.uint64))
    # just below powers of two (and the powers), over the whole exponent range
    p2 = (np.arange(1, 255, dtype=np.uint64) << np.uint64(23))
    bits += [p2 - np.uint64(1), p2, p2 | np.uint64(1 << 31)]
    bits += [halfway_cases(rs, 16, 1000), halfway_cases(rs, 13, 1000), fp16_halfway(rs, 1000)]
    # random bit patterns (every exponent, NaN and inf included) and random values in and around fp16's range
    bits.append(rs.randint(0, 1 << 32, 6000, dtype=np.uint64))
    e = rs.uniform(-30.0, 18.0, 4000)
    vals = (np.exp2(e) * np.where(rs.randint(0, 2, 4000) == 1, -1, 1)).astype(np.float32)
    bits.append(vals.view(np.uint32).astype(np.uint64))
    sub = rs.randint(1, 1 << 23, 500, dtype=np.uint64)                           # random fp32 subnormals
    bits.append(sub | (rs.randint(0, 2, 500).astype(np.uint64) << np.uint64(31)))
    return f32(np.concatenate(bits) & np.uint64(0xFFFFFFFF))


def make_round_file(path):
    x = round_inputs()
    xt = torch.from_numpy(x)
    bf16 = round_torch(xt, "bf16").numpy()
    fp16 = round_torch(xt, "fp16").numpy()
    tf32 = rne_numpy(x, 13)
    # sanity checks of the NumPy RNE and of the torch-side rounding the fixtures use
    assert same_bits(rne_numpy(x, 16), bf16), "numpy RNE at 7 stored bits differs from torch bf16"
    assert same_bits(round_torch(xt, "tf32").numpy(), tf32), "torch tf32 rounding differs from numpy"
    with np.errstate(over="ignore"):
        assert same_bits(x.astype(np.float16).astype(np.float32), fp16), "numpy float16 differs from torch half"
    assert same_bits(round_torch(xt, "fp32").numpy(), x)
    for r in (bf16, fp16, tf32):   # NaN in, NaN out, and nothing else becomes NaN
        assert np.array_equal(np.isnan(r), np.isnan(x))
    named = {65519.99: np.float32(65504), 65520.0: np.float32(np.inf), 2.0 ** -25: np.float32(0),
             3 * 2.0 ** -25: np.float32(2.0 ** -23), 2.0 ** -14 - 2.0 ** -25: np.float32(2.0 ** -14)}
    for v, want in named.items():
        i = int(np.nonzero(x == np.float32(v))[0][0])
        assert fp16[i] == want, (v, fp16[i])
    for pattern, r in ((0x7F7F8000, bf16), (0x7F7FF000, tf32)):   # a tie above the largest finite (odd) value
        i = int(np.nonzero(x.view(np.uint32) == pattern)[0][0])
        assert np.isinf(r[i]), "a tie at the top of the range goes to inf"
    i = int(np.nonzero(x.view(np.uint32) == 0x7F801000)[0][0])
    assert np.isnan(tf32[i]), "a NaN whose payload is all in the dropped bits stays NaN"
    tmp = path + ".tmp"
    with h5py.File(tmp, "w") as f:
        f.attrs["description"] = (
            "x: float32 inputs (edge cases, then random values); bf16/fp16/tf32: x rounded to the format with "
            "round-to-nearest-even and stored back as float32. bf16: 8 significant bits, fp32 exponent range; "
            "fp16: IEEE binary16 with subnormals, beyond 65520 (and 65520 itself, a tie) to +-inf; tf32: 11 "
            "significant bits, fp32 exponent range, a carry into the exponent gives inf; NaN stays NaN (the "
            "payload of a rounded NaN is not specified: compare NaN by isnan). fp32 subnormals are rounded like "
            "normals (no flush to zero)")
        f.attrs["source"] = ("bf16: torch x.to(torch.bfloat16).float(); fp16: torch x.half().float(); tf32: "
                             "NumPy bit arithmetic in tests/reference/precision_ref.py (checked to give torch's "
                             "bf16 at 7 stored bits, and NumPy's float16 equal to torch's)")
        f.attrs["torch_version"] = str(torch.__version__)
        for name, arr in (("x", x), ("bf16", bf16), ("fp16", fp16), ("tf32", tf32)):
            ref.dataset(f, name, np.ascontiguousarray(arr, np.float32),
                        compression="gzip", compression_opts=9, shuffle=True)
        write_matmul_cases(f)
    os.replace(tmp, path)
    changed = {k: int(np.sum(~np.isnan(x) & (v != x))) for k, v in (("bf16", bf16), ("fp16", fp16), ("tf32", tf32))}
    print("precision_round.h5: N = %d, values changed by rounding: %s" % (x.size, changed), flush=True)


# ----------------------------------------------------------------------------------------------------------------
# one product and its two backward products at each precision (group /matmul of precision_round.h5)
MM_N, MM_K, MM_M = 32, 96, 48


def write_matmul_cases(f):
    """x [n,k], w [m,k] (out x in, as a Linear), dy [n,m]; per precision P: y = r(x) r(w)^T, dx = r(dy) r(w),
    dw = r(dy)^T r(x), each computed in float64 from the rounded operands and rounded once to float32 (exact
    products, so only the fp32 summation order of an implementation differs from these)"""
    rs = np.random.RandomState(ROUND_SEED + 1)
    row_scale = np.exp2(np.round(rs.uniform(-14, 12, (MM_N, 1))))              # fp16 subnormals .. 16000
    x = (rs.standard_normal((MM_N, MM_K)) * row_scale).astype(np.float32)
    w = (rs.standard_normal((MM_M, MM_K)) * 0.05).astype(np.float32)
    dy = (rs.standard_normal((MM_N, MM_M)) * np.exp2(np.round(rs.uniform(-16, 4, (MM_N, 1))))).astype(np.float32)
    g = ref.group(f, "matmul")
    g.attrs["description"] = (
        "y = x w^T (op_matmul, w out x in), dx = dy w (op_matmul_backward / op_dense_backward dx), dw = dy^T x "
        "(op_dense_backward dw); for each precision P in /matmul/<P>/{y,dx,dw}: both operands rounded to P (as "
        "in /bf16 etc.), products exact, summed in float64 and rounded once to float32. Rows of x and dy have "
        "scales 2^-16 .. 2^12 (fp16 subnormals included), so compare row by row. Attributes per dataset: "
        "fp32_rel_diff_rowwise = max over rows of max|x_P - x_fp32| / max|x_fp32| (how far the plain fp32 "
        "product is), fp32_sum_rel_err_rowwise = the same between these values and an fp32 accumulation of the "
        "same rounded operands (the noise an implementation at P may show)")
    for name, arr in (("x", x), ("w", w), ("dy", dy)):
        ref.dataset(g, name, arr)
    t = {k: torch.from_numpy(v) for k, v in (("x", x), ("w", w), ("dy", dy))}

    def products(prec, dtype):
        r = {k: round_torch(v, prec).to(dtype) for k, v in t.items()}
        return {"y": r["x"] @ r["w"].t(), "dx": r["dy"] @ r["w"], "dw": r["dy"].t() @ r["x"]}

    def rowwise(a, b):
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        den = np.maximum(np.abs(b).max(axis=1), 1e-300)
        return float((np.abs(a - b).max(axis=1) / den).max())

    plain = {k: v.float().numpy() for k, v in products("fp32", torch.float64).items()}
    res = {}
    for prec in PRECISIONS:
        exact = res[prec] = {k: v.float().numpy() for k, v in products(prec, torch.float64).items()}
        fp32sum = {k: v.numpy() for k, v in products(prec, torch.float32).items()}
        for k in ("y", "dx", "dw"):
            ds = ref.dataset(g, "%s/%s" % (prec, k), exact[k])
            ds.attrs["fp32_rel_diff_rowwise"] = rowwise(exact[k], plain[k])
            ds.attrs["fp32_sum_rel_err_rowwise"] = rowwise(fp32sum[k], exact[k])
            if prec != "fp32":
                assert ds.attrs["fp32_rel_diff_rowwise"] > 30 * ds.attrs["fp32_sum_rel_err_rowwise"], (prec, k)
            print("  /matmul/%s/%-3s fp32_rel_diff_rowwise %.3g, fp32_sum_rel_err_rowwise %.3g"
                  % (prec, k, ds.attrs["fp32_rel_diff_rowwise"], ds.attrs["fp32_sum_rel_err_rowwise"]))
    for k in ("y", "dx"):   # fp16 is not tf32: its subnormals and range show in the small rows
        assert rowwise(res["fp16"][k], res["tf32"][k]) > 1e-4, k


# ----------------------------------------------------------------------------------------------------------------
# the rounded product
def chunked_mm(x, y, chunks):
    """x [..., k] @ y [k, m]; chunks > 1 sums k in that many slices, last first (another fp32 order, used only
    to measure how much a correct implementation at precision P may differ)"""
    k = x.shape[-1]
    if chunks == 1 or k < chunks:
        return x @ y
    edges = [k * i // chunks for i in range(chunks + 1)]
    out = x[..., edges[-2]:] @ y[edges[-2]:]
    for i in range(chunks - 2, -1, -1):
        out = out + x[..., edges[i]:edges[i + 1]] @ y[edges[i]:edges[i + 1]]
    return out


class RoundedMatmul(torch.autograd.Function):
    """a [..., k] @ b [k, m] with both operands rounded; backward products round their own operands"""

    @staticmethod
    def forward(ctx, a, b, prec, chunks):
        ra, rb = round_torch(a, prec), round_torch(b, prec)
        ctx.save_for_backward(ra, rb)
        ctx.prec, ctx.chunks = prec, chunks
        return chunked_mm(ra, rb, chunks)

    @staticmethod
    def backward(ctx, g):
        ra, rb = ctx.saved_tensors
        rg = round_torch(g, ctx.prec)
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = chunked_mm(rg, rb.t(), ctx.chunks)
        if ctx.needs_input_grad[1]:
            gb = chunked_mm(ra.reshape(-1, ra.shape[-1]).t(), rg.reshape(-1, rg.shape[-1]), ctx.chunks)
        return ga, gb, None, None


def rounded(prec, chunks=1):
    return lambda a, b: RoundedMatmul.apply(a, b, prec, chunks)


def check_rounded_matmul():
    """the Function against explicit formulas, and the flattened patch embedding against conv2d"""
    g = torch.Generator().manual_seed(5)
    a = (torch.randn(4, 3, 7, generator=g) * 3).requires_grad_(True)
    b = torch.randn(7, 5, generator=g).requires_grad_(True)
    dy = torch.randn(4, 3, 5, generator=g)
    y = RoundedMatmul.apply(a, b, "bf16", 1)
    y.backward(dy)
    r = lambda t: t.to(torch.bfloat16).double()  # noqa: E731  products of bf16 values are exact in double
    assert torch.allclose(y.double(), r(a) @ r(b), rtol=1e-6, atol=1e-6)
    assert torch.allclose(a.grad.double(), r(dy) @ r(b).t(), rtol=1e-6, atol=1e-6)
    assert torch.allclose(b.grad.double(), r(a).reshape(-1, 7).t() @ r(dy).reshape(-1, 5), rtol=1e-6, atol=1e-6)
    v = torch.randn(7, generator=g).requires_grad_(True)                       # a 1-D left operand (CoCoOp)
    b.grad = None
    RoundedMatmul.apply(v, b, "fp16", 3).backward(dy[0, 0])
    assert torch.allclose(v.grad, dy[0, 0].half().float() @ b.half().float().t(), rtol=1e-6, atol=1e-6)
    assert torch.allclose(b.grad, torch.outer(v.half().float(), dy[0, 0].half().float()), rtol=1e-6, atol=1e-6)
    p = mf.frozen({"visual.conv1.weight": np.random.RandomState(3).standard_normal((ref.W, 3, ref.PATCH, ref.PATCH))
                   .astype(np.float32), "visual.class_embedding": np.zeros(ref.W, np.float32),
                   "visual.positional_embedding": np.zeros((ref.NV, ref.W), np.float32)}, torch.float64)
    img = torch.from_numpy(np.random.RandomState(4).standard_normal((2, 3, ref.RES, ref.RES)))   # float64
    plain = ref.vision_z0(p, img)
    ref.MATMUL = lambda x, w: x @ w
    try:
        flat = ref.vision_z0(p, img)
    finally:
        ref.MATMUL = None
    err = float((plain - flat).abs().max() / plain.abs().max())
    assert err < 1e-13, err
    x, y = torch.randn(5, 3, 50, generator=g, dtype=torch.float64), torch.randn(50, 4, generator=g, dtype=torch.float64)
    for n in (2, 3, 7):
        assert torch.allclose(chunked_mm(x, y, n), x @ y, rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------------------------------------------
# the fixtures
def setup():
    """model, images, tokens and initial values exactly as methods_fixture_ref.main makes them"""
    zs.set_dims(**zs.DIMS)
    w = zs.make_weights()
    tok = tk.Tokenizer()
    rs = np.random.RandomState(zs.IMAGE_SEED)
    images = zs.make_images(rs, len(mf.TRAIN_LABELS), ref.RES)
    test_images = zs.make_images(rs, len(mf.TEST_LABELS), ref.RES)
    labels, test_labels = np.array(mf.TRAIN_LABELS, np.int64), np.array(mf.TEST_LABELS, np.int64)
    irs = np.random.RandomState(mf.INIT_SEED)
    C, D, E = len(zs.CLASSNAMES), ref.D, ref.E
    base = {"images": images, "labels": labels, "test_images": test_images, "test_labels": test_labels}
    s = {"w": w, "images": images, "test_images": test_images, "labels": labels}
    M = mf.COOP["n_ctx"]
    prompts, ids, eot, name_lens = mf.class_tokens(tok, " ".join(["X"] * M))
    init = {"prompt_learner.ctx": (irs.standard_normal((C, M, D)) * 0.02).astype(np.float32)}
    cfg = mf.common_config("coop_other", "CoOp", prompts, C * M * D, mf.COOP["lr"])
    cfg.update({"n_ctx_config": np.int64(M), "n_ctx": np.int64(M), "ctx_init": "", "csc": True,
                "class_token_position": mf.COOP["position"], "trainable_parameters": zs.vlen_strings(list(init))})
    s["coop"] = dict(ids=ids, eot=eot, name_lens=name_lens, init=init, cfg=cfg, lr=mf.COOP["lr"],
                     inputs=dict(base, tokenized_prompts=ids, eot_indices=eot, name_lens=name_lens))
    M, H = mf.COCOOP["n_ctx"], E // 16
    prompts, ids, eot, name_lens = mf.class_tokens(tok, " ".join(["X"] * M))
    b1, b2 = 1 / math.sqrt(E), 1 / math.sqrt(H)
    init = {"prompt_learner.ctx": (irs.standard_normal((M, D)) * 0.02).astype(np.float32),
            mf.META[0]: irs.uniform(-b1, b1, (H, E)).astype(np.float32),
            mf.META[1]: irs.uniform(-b1, b1, H).astype(np.float32),
            mf.META[2]: irs.uniform(-b2, b2, (D, H)).astype(np.float32),
            mf.META[3]: irs.uniform(-b2, b2, D).astype(np.float32)}
    cfg = mf.common_config("cocoop_other", "CoCoOp", prompts, sum(v.size for v in init.values()), mf.COCOOP["lr"])
    cfg.update({"n_ctx_config": np.int64(M), "n_ctx": np.int64(M), "ctx_init": "",
                "trainable_parameters": zs.vlen_strings(list(init))})
    s["cocoop"] = dict(ids=ids, eot=eot, name_lens=name_lens, init=init, cfg=cfg, lr=mf.COCOOP["lr"],
                       inputs=dict(base, tokenized_prompts=ids, eot_indices=eot, name_lens=name_lens))
    return s


def run_method(s, method, prec, dtype=torch.float32, chunks=1):
    m = s[method]
    ref.MATMUL = None if prec == "fp32" else rounded(prec, chunks)
    try:
        if method == "coop":
            r = mf.run_coop(s["w"], m["ids"], m["eot"], m["name_lens"], m["init"], s["images"], s["labels"],
                            s["test_images"], dtype)
        else:
            r = mf.run_cocoop(s["w"], m["ids"], m["eot"], m["init"], s["images"], s["labels"], s["test_images"],
                              dtype)
    finally:
        ref.MATMUL = None
    r["steps/lr_per_step"] = np.full(mf.STEPS, m["lr"])
    return r


def check_fp32_matches_committed(method, r32, data_dir):
    """the fp32 run is the committed <method>_other.h5 bit for bit (same setup, same code)"""
    path = os.path.join(data_dir, method + "_other.h5")
    if not os.path.exists(path):
        print("note: %s not found, fp32 run not compared" % path)
        return
    with h5py.File(path, "r") as f:
        for k, v in r32.items():
            want = f[k][()]
            got = v.astype(np.float64 if k == "step0/loss" else np.float32)
            assert np.array_equal(np.asarray(got), np.asarray(want)), "fp32 run differs from %s at %s" % (path, k)


def rel_diff(x, x32):
    x, x32 = np.asarray(x, np.float64), np.asarray(x32, np.float64)
    d = float(np.abs(x - x32).max())
    return d / max(float(np.abs(x32).max()), 1e-300), d


def write_fixture(path, method, prec, m, rP, r64, variants, r32):
    cfg = dict(m["cfg"])
    name = "%s_%s" % (method, prec)
    cfg.update({
        "fixture": name, "precision": prec,
        "precision_semantics": (
            "every matrix product with weights (block Linears, patch embedding, visual.proj, text_projection, "
            "meta-net Linears, logits (exp(logit_scale)*img_n) @ txt_n^T), forward and backward, rounds both "
            "operands to %s with round-to-nearest-even, multiplies exactly and accumulates in fp32; backward "
            "dA = r(dy) r(B)^T, dB = r(A)^T r(dy); attention q.k^T and probs.v, LayerNorm, softmax, GELU, adds, "
            "L2 normalisation, the loss and SGD in fp32" % prec),
        "repository": "none: plain torch in tests/reference/precision_ref.py (clipgrid) over "
                      "tests/reference/methods_fixture_ref.py, following shared/spec/protocol.md and "
                      "KaiyangZhou/CoOp@ff61507 trainers/coop.py, cocoop.py",
        "harness_notes": "see the docstring of tests/reference/precision_ref.py",
        "fp32_rel_diff_definition": "max|x_P - x_fp32| / max|x_fp32|, x_fp32 from the same script with plain fp32 "
                                    "products (= %s_other.h5)" % method,
        "fp64_rel_err_definition": "max|x_P - x64_P| / max|x64_P|, x64_P from a float64 run of the same computation "
                                   "(operands of the products rounded to P through float32): the noise floor of a "
                                   "correct implementation at precision P",
        "p_noise_rel_definition": "max over other correct computations at precision P (the float64 run; fp32 "
                                  "runs summing each product in 2, 3, 4 and 8 slices, last first) of max|x_v - x_P| / "
                                  "max|x_P|: rounding turns tiny differences of summation order into whole-ulp "
                                  "differences of later operands, so two correct implementations at P differ by "
                                  "about this much (compare with fp32_rel_diff before choosing a tolerance)",
    })
    tmp = path + ".tmp"
    rows = []
    with h5py.File(tmp, "w") as f:
        c = ref.group(f, "config")
        for k, v in cfg.items():
            c.attrs[k] = v
        gi = ref.group(f, "inputs")
        for k, arr in m["inputs"].items():
            kw = dict(compression="gzip", compression_opts=9, shuffle=True) if arr.ndim == 4 else {}
            ref.dataset(gi, k, arr, **kw)
        for k, v in m["init"].items():
            ref.dataset(f, "init/" + k, v).attrs["stored_dtype"] = "float32"
        least, worst = math.inf, 0.0
        for k in sorted(rP):
            arr = rP[k].astype(np.float64 if k == "step0/loss" else np.float32)
            ds = ref.dataset(f, k, arr if arr.ndim else arr[()])
            rel, ab = rel_diff(arr, r32[k].astype(arr.dtype))   # both as stored
            ds.attrs["fp32_rel_diff"], ds.attrs["fp32_max_abs_diff"] = rel, ab
            rel64, ab64 = rel_diff(rP[k], r64[k])
            ds.attrs["fp64_rel_err"], ds.attrs["fp64_max_abs_err"] = rel64, ab64
            noise = max([rel_diff(v[k].astype(arr.dtype), arr)[0] for v in variants + [r64]])
            ds.attrs["p_noise_rel"] = noise
            if "loss" not in k:
                worst = max(worst, rel64)
            upd = None
            if k.startswith("steps/params_after_step"):
                init = m["init"][k.split("/", 2)[2]].astype(np.float64)
                upd = rel_diff(arr.astype(np.float64) - init, r32[k].astype(np.float32).astype(np.float64) - init)[0]
                ds.attrs["fp32_rel_diff_of_update"] = upd
            if k != "steps/lr_per_step":
                least = min(least, rel)
            rows.append((k, rel, noise, upd))
        c.attrs["fp32_min_rel_diff"] = least
        c.attrs["fp64_max_rel_err"] = worst
    os.replace(tmp, path)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--outdir", default=os.path.join(ROOT, "tests", "data"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    t0 = time.time()
    make_round_file(os.path.join(args.outdir, "precision_round.h5"))
    check_rounded_matmul()
    s = setup()
    data_dir = os.path.join(ROOT, "tests", "data")
    r32 = {}
    for method in ("coop", "cocoop"):
        r32[method] = run_method(s, method, "fp32")
        check_fp32_matches_committed(method, r32[method], data_dir)
    for method, prec in FIXTURES:
        rP = run_method(s, method, prec)
        r64 = run_method(s, method, prec, torch.float64)
        variants = [run_method(s, method, prec, chunks=n) for n in NOISE_CHUNKS]
        path = os.path.join(args.outdir, "%s_%s.h5" % (method, prec))
        rows = write_fixture(path, method, prec, s[method], rP, r64, variants, r32[method])
        print("\n%s (%d bytes), step-0 loss %.7f (fp32 %.7f)" % (os.path.basename(path), os.path.getsize(path),
                                                                 rP["step0/loss"], r32[method]["step0/loss"]))
        print("  %-64s %-13s %-11s %-6s %s" % ("dataset", "fp32_rel_diff", "p_noise_rel", "ratio",
                                                "fp32_rel_diff_of_update"))
        for k, rel, noise, upd in rows:
            print("  %-64s %-13.3g %-11.3g %-6s %s" % (k, rel, noise, "%.1f" % (rel / noise) if noise else "",
                                                   "" if upd is None else "%.3g" % upd))
    print("\n%.1f s" % (time.time() - t0))


if __name__ == "__main__":
    main()
