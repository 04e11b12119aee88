#!/usr/bin/python3
"""clip_b16_ref.py: PyTorch reference data for the clipgrid CLIP ViT-B/16 towers.

It builds CLIP with ViT-B/16 dimensions, using deterministic pseudo-random weights from the splitmix64 generator
below (the C side has its own copy of the generator). It runs both towers forward and backward with torch
autograd, once in float32 and once in float64, and writes tests/data/clip_b16_ref.h5. The model follows
shared/spec/clip.md sections 2, 3, 5 and 6 and does not use any clipgrid C code.

Usage (Debian's python3 only: it has torch 1.13, numpy and h5py):
    /usr/bin/python3 tests/reference/clip_b16_ref.py            # make the data (one BLAS thread, deterministic)
    /usr/bin/python3 tests/reference/clip_b16_ref.py --bench    # time PyTorch (print; --save-bench: store)
Options: --out PATH (default tests/data/clip_b16_ref.h5 next to this script's repository).
--bench options: --device cpu|cuda (cuda: the same model on the GPU, timings end with torch.cuda.synchronize(),
fp32 without TF32, plus torch.mm's 8192^3 rate as the reference for MFU), --half (the model in float16, as the
official runs' clip_model.half(); CUDA only), --batch B (vision batch; default 8 on the CPU, 128 on the GPU).
They also run with torch 2.x (no h5py needed unless --save-bench).

The file layout is described in tests/reference/README.md.
"""
import argparse
import math
import os
import sys
import time

BENCH = "--bench" in sys.argv
SAVE_BENCH = "--save-bench" in sys.argv  # with --bench: also store the speeds in the data file
if not BENCH:
    # Use one thread everywhere so the data is bit-reproducible. Debian's torch uses the system OpenBLAS, which
    # reads these variables when it is loaded, so they must be set before torch is imported.
    for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[v] = "1"

try:
    import h5py  # noqa: E402
except ImportError:  # only --bench without --save-bench can do without it
    if not BENCH:
        raise
    h5py = None
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

# ----------------------------------------------------------------------------------------------------------------
# dimensions (clip.md section 1.1, ViT-B/16)
SEED = 7
W, VL, VH, PATCH, RES = 768, 12, 12, 16, 224
GRID = RES // PATCH            # 14
NV = GRID * GRID + 1           # 197
VMLP = 4 * W                   # 3072
D, TL, TH, CTX, VOCAB = 512, 12, 8, 77, 49408
TMLP = 4 * D                   # 2048
E = 512
LN_EPS = 1e-5
LOGIT_SCALE = 4.605170249938965
HEAD_DIM = 64

TOKEN_ROWS = [
    [49406, 320, 1125, 539, 320, 2368, 269, 49407],                    # "a photo of a cat."
    [49406, 343, 343, 343, 343, 320, 1125, 539, 320, 2368, 269, 49407],  # "X X X X a photo of a cat."
    [49406, 320, 1125, 539, 320, 1929, 49407],                         # "a photo of a dog"
]
NP = len(TOKEN_ROWS)
VIS_ROWS = [0, 1, 98, 196]     # vision rows stored in full in /g/vision/hidden_rows
TXT_ROWS = 16                  # text rows 0..15 stored in /g/text/hidden and /g/text/d_input
PLAN_REPLACE_LAYER = 4         # vision and text replacement happen before this block (0-based)
PLAN_INSERT_LAYER = 8          # text insertion happens before this block
PLAN_INSERT_POS = 1

# std values, as float64: the 1/sqrt(n) ones are computed as 1.0 / sqrt(n) (NOT pow(n, -0.5), which is 1 ulp
# different for n = 768 and 512)
STD_W = 0.02
STD_B = 0.01
STD_LNW = 0.05
STD_LNB = 0.02
STD_VIS = 1.0 / math.sqrt(768.0)
STD_TXTPROJ = 1.0 / math.sqrt(512.0)
STD_POS_TXT = 0.01
STD_TOK = 0.02

FORMULA = (
    "splitmix64(x): x += 0x9E3779B97F4A7C15; z = x; z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9; "
    "z = (z ^ (z >> 27)) * 0x94D049BB133111EB; return z ^ (z >> 31)  (all mod 2^64). "
    "fnv1a64(name): h = 0xcbf29ce484222325; for each UTF-8 byte c: h ^= c; h = h * 0x100000001b3 mod 2^64. "
    "key = fnv1a64(name) ^ (seed * 0x9E3779B97F4A7C15 mod 2^64), seed = 7. "
    "element i (flat row-major index): bits = splitmix64(key + i mod 2^64); u = (double)(bits >> 40) / 16777216.0; "
    "value = (float)(mean + (std * 1.7320508075688772) * (2.0 * u - 1.0)) evaluated in double, no FMA, "
    "left to right, then rounded to float32. std 768^-0.5 and 512^-0.5 are computed as 1.0 / sqrt(768.0) and "
    "1.0 / sqrt(512.0) in double."
)

# ----------------------------------------------------------------------------------------------------------------
# generator
M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
_C_GOLD = np.uint64(GOLDEN)
_C_M1 = np.uint64(0xBF58476D1CE4E5B9)
_C_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S40 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(40)
SQRT3 = 1.7320508075688772


def fnv1a64(name):
    h = 0xCBF29CE484222325
    for c in name.encode("utf-8"):
        h ^= c
        h = (h * 0x100000001B3) & M64
    return h


def gen_key(name, seed=SEED):
    return fnv1a64(name) ^ ((seed * GOLDEN) & M64)


def gen_at(name, idx, mean, std, seed=SEED):
    """Values of tensor `name` at flat indices idx (uint64 numpy array), float32."""
    with np.errstate(over="ignore"):
        x = idx.astype(np.uint64, copy=True)
        x += np.uint64(gen_key(name, seed))      # key + i (wraps)
        x += _C_GOLD                             # splitmix64
        z = x
        z ^= z >> _S30
        z *= _C_M1
        z ^= z >> _S27
        z *= _C_M2
        z ^= z >> _S31
        z >>= _S40
    u = z.astype(np.float64) / 16777216.0
    a = std * SQRT3                              # (std * sqrt3) first, as in C left-to-right
    v = u * 2.0
    v -= 1.0
    v *= a
    v += mean
    return v.astype(np.float32)


def gen(name, shape, mean, std, seed=SEED, chunk=1 << 22):
    n = int(np.prod(shape))
    out = np.empty(n, dtype=np.float32)
    for s in range(0, n, chunk):
        e = min(n, s + chunk)
        out[s:e] = gen_at(name, np.arange(s, e, dtype=np.uint64), mean, std, seed)
    return out.reshape(shape)


def gen_rows(name, ncols, rows, mean, std):
    """Rows `rows` of a [*, ncols] tensor (flat index row * ncols + col)."""
    idx = (np.asarray(rows, dtype=np.uint64)[:, None] * np.uint64(ncols)
           + np.arange(ncols, dtype=np.uint64)[None, :])
    return gen_at(name, idx.reshape(-1), mean, std).reshape(len(rows), ncols)


# ----------------------------------------------------------------------------------------------------------------
# weights: (name, shape, mean, std)
def block_specs(prefix, d):
    return [
        (prefix + "attn.in_proj_weight", (3 * d, d), 0.0, STD_W),
        (prefix + "attn.in_proj_bias", (3 * d,), 0.0, STD_B),
        (prefix + "attn.out_proj.weight", (d, d), 0.0, STD_W),
        (prefix + "attn.out_proj.bias", (d,), 0.0, STD_B),
        (prefix + "ln_1.weight", (d,), 1.0, STD_LNW),
        (prefix + "ln_1.bias", (d,), 0.0, STD_LNB),
        (prefix + "mlp.c_fc.weight", (4 * d, d), 0.0, STD_W),
        (prefix + "mlp.c_fc.bias", (4 * d,), 0.0, STD_B),
        (prefix + "mlp.c_proj.weight", (d, 4 * d), 0.0, STD_W),
        (prefix + "mlp.c_proj.bias", (d,), 0.0, STD_B),
        (prefix + "ln_2.weight", (d,), 1.0, STD_LNW),
        (prefix + "ln_2.bias", (d,), 0.0, STD_LNB),
    ]


def weight_specs():
    s = [
        ("visual.conv1.weight", (W, 3, PATCH, PATCH), 0.0, STD_W),
        ("visual.class_embedding", (W,), 0.0, STD_VIS),
        ("visual.positional_embedding", (NV, W), 0.0, STD_VIS),
        ("visual.ln_pre.weight", (W,), 1.0, STD_LNW),
        ("visual.ln_pre.bias", (W,), 0.0, STD_LNB),
    ]
    for i in range(VL):
        s += block_specs("visual.transformer.resblocks.%d." % i, W)
    s += [
        ("visual.ln_post.weight", (W,), 1.0, STD_LNW),
        ("visual.ln_post.bias", (W,), 0.0, STD_LNB),
        ("visual.proj", (W, E), 0.0, STD_VIS),
        ("positional_embedding", (CTX, D), 0.0, STD_POS_TXT),
    ]
    for i in range(TL):
        s += block_specs("transformer.resblocks.%d." % i, D)
    s += [
        ("ln_final.weight", (D,), 1.0, STD_LNW),
        ("ln_final.bias", (D,), 0.0, STD_LNB),
        ("text_projection", (D, E), 0.0, STD_TXTPROJ),
    ]
    return s


INPUT_SPECS = [
    ("input.image", (1, 3, RES, RES), 0.0, 1.0),
    ("input.dfeat_vision", (1, E), 0.0, 1.0),
    ("input.dfeat_text", (NP, E), 0.0, 1.0),
    ("plan.vis_append", (2, W), 0.0, 0.5),
    ("plan.vis_replace4", (2, W), 0.0, 0.5),
    ("plan.txt_replace4", (2, D), 0.0, 0.5),
    ("plan.txt_insert8", (2, D), 0.0, 0.5),
]


def make_weights():
    w = {}
    for name, shape, mean, std in weight_specs():
        w[name] = gen(name, shape, mean, std)
    return w


# ----------------------------------------------------------------------------------------------------------------
# Products with weights go through matmul(): with MATMUL = None it is the plain `a @ b` (what every committed
# file was made with, byte for byte). precision_ref.py sets MATMUL to a function f(a, b) = a @ b computed another
# way (both operands rounded to bf16/fp16/tf32). It covers every Linear of the blocks, the patch embedding, the
# two projections, and (methods_fixture_ref.py) the meta-net and the logits; attention's q·kᵀ and probs·v never
# use it.
MATMUL = None


def matmul(a, b):
    """a [..., k] @ b [k, m]"""
    return a @ b if MATMUL is None else MATMUL(a, b)


# ----------------------------------------------------------------------------------------------------------------
# model (clip.md sections 2, 3, 5), written with plain torch ops
def layer_norm(x, p, prefix):
    return F.layer_norm(x, (x.shape[-1],), p[prefix + "weight"], p[prefix + "bias"], LN_EPS)


def resblock(x, p, prefix, heads, causal):
    """Pre-LN residual block; x [B, n, d]."""
    B, n, d = x.shape
    a = layer_norm(x, p, prefix + "ln_1.")
    qkv = matmul(a, p[prefix + "attn.in_proj_weight"].t()) + p[prefix + "attn.in_proj_bias"]
    q, k, v = qkv.split(d, dim=-1)
    q = q.reshape(B, n, heads, HEAD_DIM).transpose(1, 2)     # [B, h, n, 64]
    k = k.reshape(B, n, heads, HEAD_DIM).transpose(1, 2)
    v = v.reshape(B, n, heads, HEAD_DIM).transpose(1, 2)
    s = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(HEAD_DIM))
    if causal:
        mask = torch.full((n, n), float("-inf"), dtype=x.dtype, device=x.device).triu(1)  # -inf above the diagonal
        s = s + mask
    pr = torch.softmax(s, dim=-1)
    o = (pr @ v).transpose(1, 2).reshape(B, n, d)
    x = x + matmul(o, p[prefix + "attn.out_proj.weight"].t()) + p[prefix + "attn.out_proj.bias"]
    m = layer_norm(x, p, prefix + "ln_2.")
    u = matmul(m, p[prefix + "mlp.c_fc.weight"].t()) + p[prefix + "mlp.c_fc.bias"]
    g = u * torch.sigmoid(1.702 * u)                          # QuickGELU
    x = x + matmul(g, p[prefix + "mlp.c_proj.weight"].t()) + p[prefix + "mlp.c_proj.bias"]
    return x


def vision_z0(p, image):
    """Z0 = [class; patches] + positional, [B, 197, W] (clip.md section 2 steps 1-2)."""
    B = image.shape[0]
    if MATMUL is None:
        pt = F.conv2d(image, p["visual.conv1.weight"], stride=PATCH)      # [B, W, 14, 14], no bias
        pt = pt.reshape(B, W, GRID * GRID).transpose(1, 2)                 # token 1 + r*14 + c
    else:   # the conv as one product: patch rows (channel, row, column order) times the flattened weight
        cols = image.reshape(B, 3, GRID, PATCH, GRID, PATCH).permute(0, 2, 4, 1, 3, 5)
        cols = cols.reshape(B, GRID * GRID, 3 * PATCH * PATCH)
        pt = matmul(cols, p["visual.conv1.weight"].reshape(W, -1).t())    # [B, 196, W]
    cls = p["visual.class_embedding"].reshape(1, 1, W).expand(B, 1, W)
    return torch.cat([cls, pt], dim=1) + p["visual.positional_embedding"]


def vision_tower(p, z0, plan=None, record=None):
    """z0 [B, 197, W] -> (feat [B, E], pooled_ln [B, W]). plan: dict with vis_append, vis_replace4 [2, W]."""
    B = z0.shape[0]
    x = z0
    if plan is not None:
        x = torch.cat([x, plan["vis_append"].unsqueeze(0).expand(B, 2, W)], dim=1)   # rows 197, 198, no pos
    x = layer_norm(x, p, "visual.ln_pre.")
    if record is not None:
        record.append(x.detach().clone())
    for l in range(VL):
        if plan is not None and l == PLAN_REPLACE_LAYER:
            x = torch.cat([x[:, :NV], plan["vis_replace4"].unsqueeze(0).expand(B, 2, W)], dim=1)
        x = resblock(x, p, "visual.transformer.resblocks.%d." % l, VH, causal=False)
        if record is not None:
            record.append(x.detach().clone())
    pooled = layer_norm(x[:, 0], p, "visual.ln_post.")
    return matmul(pooled, p["visual.proj"]), pooled


def text_tower(p, emb, eot, plan=None, record=None):
    """emb [B, 77, D] token embeddings (before the positional add); eot [B] argmax of the ids."""
    B = emb.shape[0]
    x = emb + p["positional_embedding"]
    if record is not None:
        record.append(x.detach().clone())
    for l in range(TL):
        if plan is not None and l == PLAN_REPLACE_LAYER:
            x = torch.cat([x[:, :1], plan["txt_replace4"].unsqueeze(0).expand(B, 2, D), x[:, 3:]], dim=1)
        if plan is not None and l == PLAN_INSERT_LAYER:
            x = torch.cat([x[:, :PLAN_INSERT_POS], plan["txt_insert8"].unsqueeze(0).expand(B, 2, D),
                           x[:, PLAN_INSERT_POS:]], dim=1)
        x = resblock(x, p, "transformer.resblocks.%d." % l, TH, causal=True)
        if record is not None:
            record.append(x.detach().clone())
    fin = layer_norm(x, p, "ln_final.")                    # every row
    k = eot + (2 if plan is not None else 0)
    pooled = fin[torch.arange(B, device=fin.device), k]
    return matmul(pooled, p["text_projection"]), pooled


# ----------------------------------------------------------------------------------------------------------------
def token_ids():
    ids = np.zeros((NP, CTX), dtype=np.int64)
    for c, row in enumerate(TOKEN_ROWS):
        ids[c, :len(row)] = row
    return ids


def run_config(p, inp, ids, eot, use_plan, dtype):
    """One forward + backward; returns a dict of numpy arrays (the stored tensors, not yet cut)."""
    pt = {k: torch.from_numpy(v).to(dtype) for k, v in p.items()}
    image = torch.from_numpy(inp["input.image"]).to(dtype)
    with torch.no_grad():
        z0v = vision_z0(pt, image)
    z0 = z0v.detach().clone().requires_grad_(True)
    # token embeddings of all 77 positions of every prompt
    emb_in = torch.from_numpy(inp["tok_rows"][ids]).to(dtype).requires_grad_(True)   # [3, 77, D]
    plan = None
    if use_plan:
        plan = {k: torch.from_numpy(inp["plan." + k]).to(dtype).requires_grad_(True)
                for k in ("vis_append", "vis_replace4", "txt_replace4", "txt_insert8")}
    vrec, trec = [], []
    feat_v, pooled_v = vision_tower(pt, z0, plan, vrec)
    eot_t = torch.from_numpy(eot)
    feat_t, pooled_t = text_tower(pt, emb_in, eot_t, plan, trec)
    dfv = torch.from_numpy(inp["input.dfeat_vision"]).to(dtype)
    dft = torch.from_numpy(inp["input.dfeat_text"]).to(dtype)
    loss = (feat_v * dfv).sum() + (feat_t * dft).sum()
    loss.backward()

    out = {}
    out["vision/feat"] = feat_v.detach().numpy()
    out["text/feat"] = feat_t.detach().numpy()
    out["vision/pooled_ln"] = pooled_v.detach().numpy()
    out["text/pooled_ln"] = pooled_t.detach().numpy()
    hv = torch.stack([h[0] for h in vrec]).numpy()          # [13, Ntok, W]
    out["vision/hidden_rows"] = hv[:, VIS_ROWS, :]
    hv64 = hv.astype(np.float64)
    out["vision/hidden_rowsum"] = hv64.sum(axis=-1)
    out["vision/hidden_rownorm"] = np.sqrt((hv64 * hv64).sum(axis=-1))
    out["text/hidden"] = torch.stack([h[:, :TXT_ROWS] for h in trec]).numpy()   # [13, 3, 16, D]
    dz = z0.grad[0].numpy()                                  # [197, W]
    if not use_plan:   # full gradient only for plain (file size); both configs get selected rows + row norms
        out["vision/d_rows"] = dz
    out["vision/d_rows_sel"] = dz[VIS_ROWS]
    dz64 = dz.astype(np.float64)
    out["vision/d_rows_rownorm"] = np.sqrt((dz64 * dz64).sum(axis=-1))
    dti = emb_in.grad.numpy()                                # [3, 77, D]
    for c in range(NP):   # causality: rows after the EOT get exactly zero gradient
        assert np.all(dti[c, eot[c] + 1:] == 0), "non-zero gradient after EOT in prompt %d" % c
        assert np.any(dti[c, eot[c]] != 0)
    out["text/d_input"] = dti[:, :TXT_ROWS]
    if use_plan:
        for k in ("vis_append", "vis_replace4", "txt_replace4", "txt_insert8"):
            out["grad/" + k] = plan[k].grad.numpy()
    out["loss"] = np.array(loss.item())
    return out


def max_rel(a, ref):
    a = np.asarray(a, np.float64)
    ref = np.asarray(ref, np.float64)
    return float(np.abs(a - ref).max() / max(np.abs(ref).max(), 1e-300)), float(np.abs(a - ref).max())


CHECK_NAMES = [
    ("visual.conv1.weight", (W, 3, PATCH, PATCH), 0.0, STD_W),
    ("visual.transformer.resblocks.0.attn.in_proj_weight", (3 * W, W), 0.0, STD_W),
    ("transformer.resblocks.0.attn.in_proj_weight", (3 * D, D), 0.0, STD_W),
    ("visual.positional_embedding", (NV, W), 0.0, STD_VIS),
    ("text_projection", (D, E), 0.0, STD_TXTPROJ),
    ("visual.transformer.resblocks.11.ln_2.weight", (W,), 1.0, STD_LNW),
    ("token_embedding.weight", (VOCAB, D), 0.0, STD_TOK),
    ("input.image", (1, 3, RES, RES), 0.0, 1.0),
]


def group(parent, path):
    """Create (or open) nested groups without modification timestamps, so the file is byte-reproducible."""
    for part in path.split("/"):
        if part not in parent:
            gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
            gcpl.set_obj_track_times(False)
            h5py.h5g.create(parent.id, part.encode("utf-8"), gcpl=gcpl)
        parent = parent[part]
    return parent


def dataset(parent, path, data, **kw):
    head, _, leaf = path.rpartition("/")
    g = group(parent, head) if head else parent
    return g.create_dataset(leaf, data=data, track_times=False, **kw)


def write_weights_check(f):
    g = group(f, "weights_check")
    g.attrs["description"] = ("for each tensor (subgroup named after it): first8 = values at flat indices 0..7, "
                              "idx = 3 large flat indices, vals = values there; mean, std (float64) and "
                              "shape used; key = generator key (uint64)")
    for name, shape, mean, std in CHECK_NAMES:
        n = int(np.prod(shape))
        idx = np.array([n // 2 + min(12345, n // 4), n - min(1000, n // 3), n - 1], dtype=np.uint64)
        s = group(g, name)
        s.attrs["first8"] = gen_at(name, np.arange(8, dtype=np.uint64), mean, std)
        s.attrs["idx"] = idx.astype(np.int64)
        s.attrs["vals"] = gen_at(name, idx, mean, std)
        s.attrs["shape"] = np.array(shape, dtype=np.int64)
        s.attrs["mean"] = float(mean)
        s.attrs["std"] = float(std)
        s.attrs["std_hex"] = float(std).hex()
        s.attrs["key"] = np.uint64(gen_key(name))


DESCR = {
    "vision/feat": "projected image feature (ln_post(row 0) @ visual.proj), before L2 normalisation",
    "text/feat": "projected text features (ln_final(row k) @ text_projection), before L2 normalisation",
    "vision/pooled_ln": "ln_post output of row 0",
    "text/pooled_ln": "ln_final output of the pooled row (argmax(ids), +2 in plan)",
    "vision/hidden_rows": "entry 0: ln_pre output (block 0 input); entry l>=1: output of block l-1 before any "
                          "hook of block l is applied; rows given by attribute rows",
    "vision/hidden_rowsum": "float64 sum over the W features of every token row of the entries of hidden_rows",
    "vision/hidden_rownorm": "float64 L2 norm of every token row of the entries of hidden_rows",
    "text/hidden": "entry 0: token emb + positional (block 0 input); entry l>=1: output of block l-1 before any "
                   "hook of block l; rows 0..15 of each prompt (post-insertion rows for entries 9..12 of plan)",
    "vision/d_rows": "dL/dZ0 for the 197 image rows (class + patches, after the positional add, before ln_pre); "
                     "stored for plain only",
    "vision/d_rows_sel": "rows given by attribute rows of dL/dZ0 (the 197 image rows before ln_pre)",
    "vision/d_rows_rownorm": "float64 L2 norm of every one of the 197 rows of dL/dZ0 (row sums are ~0 because "
                             "ln_pre's backward removes the row mean, so they are not stored)",
    "text/d_input": "dL/d(token embeddings before the positional add), rows 0..15 (rows > EOT are exactly 0)",
    "grad/vis_append": "dL/d plan.vis_append (rows 197,198 appended before ln_pre)",
    "grad/vis_replace4": "dL/d plan.vis_replace4 (rows 197,198 of the input of block 4)",
    "grad/txt_replace4": "dL/d plan.txt_replace4 (rows 1,2 of the input of block 4, summed over the 3 prompts)",
    "grad/txt_insert8": "dL/d plan.txt_insert8 (inserted at row 1 before block 8, summed over the 3 prompts)",
}


def make_data(out_path):
    t0 = time.time()
    torch.set_num_threads(1)
    ids = token_ids()
    eot = ids.argmax(axis=1).astype(np.int64)
    p = make_weights()
    t_gen = time.time() - t0
    inp = {name: gen(name, shape, mean, std) for name, shape, mean, std in INPUT_SPECS}
    # token embedding: only the rows used, scattered into a [VOCAB, D] index space via a small lookup table
    used = np.unique(ids)
    rows = gen_rows("token_embedding.weight", D, used, 0.0, STD_TOK)
    tok_rows = np.zeros((VOCAB, D), dtype=np.float32)      # 100 MB of zeros, only used rows filled
    tok_rows[used] = rows
    inp["tok_rows"] = tok_rows
    print("weights generated in %.1f s; visual.conv1.weight[:8] = %s" % (t_gen, p["visual.conv1.weight"].reshape(-1)[:8]))
    print("transformer.resblocks.0.attn.in_proj_weight[:8] = %s"
          % p["transformer.resblocks.0.attn.in_proj_weight"].reshape(-1)[:8])

    results = {}
    for cfg in ("plain", "plan"):
        for dt in (torch.float32, torch.float64):
            t1 = time.time()
            results[(cfg, dt)] = run_config(p, inp, ids, eot, cfg == "plan", dt)
            print("%s %s: %.1f s, loss %.9g" % (cfg, dt, time.time() - t1, results[(cfg, dt)]["loss"]))

    # keep bench attributes of an earlier --bench run
    old_bench = {}
    if os.path.exists(out_path):
        try:
            with h5py.File(out_path, "r") as f:
                old_bench = {k: v for k, v in f["config"].attrs.items()
                             if k.startswith("torch_bench") or k in ("torch_vision_fwd_img_per_s",
                                                                      "torch_text_fwdbwd_100_ms")}
        except Exception:
            old_bench = {}
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    tmp = out_path + ".tmp"
    with h5py.File(tmp, "w") as f:
        c = group(f, "config")
        a = c.attrs
        a["seed"] = SEED
        a["vision"] = "width 768, layers 12, heads 12, patch 16, resolution 224, tokens 197, mlp 3072"
        a["text"] = "width 512, layers 12, heads 8, mlp 2048, context 77, vocab 49408"
        a["embed_dim"] = E
        for k, v in dict(vision_width=W, vision_layers=VL, vision_heads=VH, patch=PATCH, resolution=RES,
                         vision_tokens=NV, vision_mlp=VMLP, text_width=D, text_layers=TL, text_heads=TH,
                         text_mlp=TMLP, context=CTX, vocab=VOCAB).items():
            a[k] = v
        a["ln_eps"] = LN_EPS
        a["logit_scale"] = LOGIT_SCALE
        a["generator"] = FORMULA
        a["weight_init"] = ("Linear/attention/conv weights mean 0 std 0.02; biases mean 0 std 0.01; LayerNorm "
                            "weights mean 1 std 0.05; LayerNorm biases mean 0 std 0.02; visual.class_embedding, "
                            "visual.positional_embedding, visual.proj std 1/sqrt(768); text_projection std "
                            "1/sqrt(512); positional_embedding std 0.01; token_embedding.weight std 0.02 (flat "
                            "index row*512+col); logit_scale = 4.605170249938965 (not generated). Inputs: "
                            "input.image [1,3,224,224] std 1, input.dfeat_vision [1,512] std 1, input.dfeat_text "
                            "[3,512] std 1, plan.vis_append/plan.vis_replace4 [2,768] std 0.5, "
                            "plan.txt_replace4/plan.txt_insert8 [2,512] std 0.5, all mean 0, seed 7")
        a["loss"] = "L = sum(feat_img * input.dfeat_vision) + sum(feat_txt * input.dfeat_text), feats unnormalised"
        a["plan"] = ("vision: plan.vis_append appended as rows 197,198 (no positional) before ln_pre (199 tokens); "
                     "before block 4 rows 197,198 replaced by plan.vis_replace4. text: before block 4 rows 1,2 of "
                     "every prompt replaced by plan.txt_replace4; before block 8 plan.txt_insert8 inserted at row 1 "
                     "(79 rows, causal mask at 79), pooled row argmax(ids)+2")
        a["fp64_rel_err_definition"] = ("max|x_fp32 - x_fp64| / max|x_fp64| over the dataset, where x_fp64 is the "
                                        "same quantity from a float64 run with the same (float32-valued) weights "
                                        "and inputs; fp64_max_abs_err = max|x_fp32 - x_fp64|")
        a["torch_version"] = str(torch.__version__)
        a["numpy_version"] = str(np.__version__)
        a["threads"] = 1
        for k, v in old_bench.items():
            a[k] = v

        gi = group(f, "inputs")
        dataset(gi, "token_ids", ids)
        dataset(gi, "eot", eot)
        gi["token_ids"].attrs["description"] = "3 prompts, padded with 0 to 77"
        gi["eot"].attrs["description"] = "argmax of each token row (first occurrence)"
        for name in ("input.dfeat_vision", "input.dfeat_text", "plan.vis_append", "plan.vis_replace4",
                     "plan.txt_replace4", "plan.txt_insert8"):
            dataset(gi, name, inp[name])
        gi.attrs["description"] = ("generator outputs kept for convenience (input.image and the token embedding "
                                   "rows are not stored: regenerate them)")

        errs = []
        for cfg in ("plain", "plan"):
            r32, r64 = results[(cfg, torch.float32)], results[(cfg, torch.float64)]
            g = group(f, cfg)
            g.attrs["loss_fp32"] = float(r32["loss"])
            g.attrs["loss_fp64"] = float(r64["loss"])
            for k in r32:
                if k == "loss":
                    continue
                arr = r32[k]
                if arr.dtype != np.float64:
                    arr = arr.astype(np.float32)
                big = arr.size > 4096
                ds = dataset(g, k, arr, compression="gzip" if big else None,
                                      shuffle=big, compression_opts=9 if big else None)
                rel, ab = max_rel(r32[k], r64[k])
                ds.attrs["fp64_rel_err"] = rel
                ds.attrs["fp64_max_abs_err"] = ab
                ds.attrs["description"] = DESCR[k]
                if k in ("vision/hidden_rows", "vision/d_rows_sel"):
                    ds.attrs["rows"] = np.array(VIS_ROWS, dtype=np.int64)
                if k in ("text/hidden", "text/d_input"):
                    ds.attrs["rows"] = np.arange(TXT_ROWS, dtype=np.int64)
                if not big:   # small tensors: keep the float64 run too
                    dataset(f, "fp64/%s/%s" % (cfg, k), r64[k].astype(np.float64))
                errs.append(("/%s/%s" % (cfg, k), arr.shape, rel, ab))
        f["fp64"].attrs["description"] = "float64-run values of the small datasets (same paths under /fp64)"
        write_weights_check(f)
    os.replace(tmp, out_path)
    print("\n%-32s %-18s %-12s %s" % ("dataset", "shape", "fp64 rel", "fp64 abs"))
    for n, s, rel, ab in errs:
        print("%-32s %-18s %-12.3g %.3g" % (n, str(tuple(s)), rel, ab))
    print("\nwrote %s (%.2f MB) in %.1f s" % (out_path, os.path.getsize(out_path) / 1e6, time.time() - t0))


def gpu_mm_rate(n, dtype, reps=5):
    """torch.mm n^3 TFLOP/s on the GPU at dtype, best of reps after a warm-up (the MFU reference)"""
    a = torch.full((n, n), 0.01, device="cuda", dtype=dtype)
    b = torch.full((n, n), 0.02, device="cuda", dtype=dtype)
    torch.mm(a, b)
    ts = []
    for _ in range(reps):
        torch.cuda.synchronize()
        t = time.perf_counter()
        torch.mm(a, b)
        torch.cuda.synchronize()
        ts.append(time.perf_counter() - t)
    del a, b
    return 2.0 * n ** 3 / min(ts) / 1e12


def bench(out_path, device="cpu", half=False, batch=0):
    """Reference PyTorch speeds (float32, all threads; on --device cuda also float16 with --half)."""
    nthreads = os.cpu_count()
    torch.set_num_threads(nthreads)
    gpu = device == "cuda"
    dtype = torch.float16 if half else torch.float32
    batch = batch or (128 if gpu else 8)
    if gpu:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = True
        print("torch %s, %s, %s" % (torch.__version__, torch.cuda.get_device_name(0), str(dtype)[6:]))
        r32, r16 = gpu_mm_rate(8192, torch.float32), gpu_mm_rate(8192, torch.float16)
        print("torch.mm 8192^3: float32 %.1f TFLOP/s, float16 %.1f TFLOP/s" % (r32, r16))
    p = {k: torch.from_numpy(v).to(device=device, dtype=dtype) for k, v in make_weights().items()}
    img = torch.from_numpy(gen("input.image", (1, 3, RES, RES), 0.0, 1.0)).expand(batch, 3, RES, RES)
    img = img.contiguous().to(device=device, dtype=dtype)

    def sync():
        if gpu:
            torch.cuda.synchronize()

    def vis():
        with torch.no_grad():
            vision_tower(p, vision_z0(p, img))

    emb = torch.from_numpy(gen("bench.text_emb", (100, CTX, D), 0.0, STD_TOK)).to(device=device, dtype=dtype)
    eot = torch.full((100,), 20, dtype=torch.int64, device=device)
    dft = torch.from_numpy(gen("bench.dfeat", (100, E), 0.0, 1.0)).to(device=device, dtype=dtype)

    def txt():
        x = emb.clone().requires_grad_(True)
        feat, _ = text_tower(p, x, eot)
        (feat * dft).sum().backward()

    def best(fn, reps):
        fn()
        ts = []
        for _ in range(reps):
            sync()
            t = time.perf_counter()
            fn()
            sync()
            ts.append(time.perf_counter() - t)
        return min(ts), float(np.median(ts))

    vb, vm = best(vis, 3)
    tb, tm = best(txt, 3)
    print("vision fwd batch %d: best %.3f s (%.2f img/s), median %.3f s" % (batch, vb, batch / vb, vm))
    if gpu:
        tf = batch / vb * 35.13 / 1e3
        peak = r16 if half else r32
        print("vision fwd batch %d %s: %.1f img/s, %.1f TFLOP/s (35.13 GFLOP/image), MFU %.1f %% of torch.mm %s"
              % (batch, str(dtype)[6:], batch / vb, tf, 100 * tf / peak, str(dtype)[6:]))
    print("text fwd+bwd 100 x 77: best %.1f ms, median %.1f ms" % (tb * 1e3, tm * 1e3))
    if not SAVE_BENCH:
        return
    if gpu or half or batch != 8:
        sys.exit("--save-bench stores the CPU float32 batch-8 figures only")
    with h5py.File(out_path, "r+") as f:
        a = f["config"].attrs
        a["torch_vision_fwd_img_per_s"] = 8 / vb
        a["torch_text_fwdbwd_100_ms"] = tb * 1e3
        a["torch_bench_description"] = (
            "best of 3 (after 1 warm-up), float32, torch %s, %d threads (torch.set_num_threads; BLAS = system "
            "OpenBLAS), CPU %s. vision: vision_z0 + tower forward, batch 8, no grad. text: 100 prompts x 77 tokens "
            "(full length, no truncation), forward + backward to the input embeddings (weights frozen)"
            % (str(torch.__version__), nthreads, cpu_name()))
        a["torch_bench_threads"] = nthreads


def cpu_name():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "data", "clip_b16_ref.h5"))
    ap.add_argument("--bench", action="store_true", help="time PyTorch (print only)")
    ap.add_argument("--save-bench", action="store_true", help="with --bench: add the speeds to the data file")
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="with --bench: where to time")
    ap.add_argument("--half", action="store_true", help="with --bench --device cuda: the model in float16")
    ap.add_argument("--batch", type=int, default=0, help="with --bench: vision batch (8 CPU, 128 GPU)")
    args = ap.parse_args()
    out = os.path.normpath(args.out)
    if args.bench:
        if args.save_bench and not os.path.exists(out):
            sys.exit("%s does not exist: run without --bench first" % out)
        if args.half and args.device != "cuda":
            sys.exit("--half needs --device cuda")
        bench(out, args.device, args.half, args.batch)
    else:
        make_data(out)


if __name__ == "__main__":
    main()
