#!/usr/bin/python3
"""zs_fixture_ref.py: a second zero-shot CLIP fixture in the official fixture format (tests/data/zs_other.h5).

shared/fixtures/official/zsclip.h5 checks `clipgrid golden` on one model (tiny768: vision width 768, text width 512,
32x32 images, 5 classes, template "a photo of a {}."). This script writes a fixture with the same layout
(shared/fixtures/official/README.md sections 5.1, 5.2, 5.4, 5.5) for a different model, image size, batch sizes,
class names and template, so that golden is shown not to depend on the values, sizes or class names of zsclip.h5:

  * model: the seeded random CLIP of `clipgrid make-model OUT --vision-width 192 --vision-layers 3 --patch 8
    --image-res 48 --text-width 128 --text-layers 3 --embed 96 --seed 5 --dtype f32` (vision heads 3, MLP 768,
    6x6 patches + CLS = 37 tokens; text heads 2, MLP 512, context 77, vocab 49408; embed 96). The weights are
    generated here from the generator formula (the numpy twin in clip_b16_ref.py), NOT read from the C-written
    file. As a check, the script runs make-model itself, parses that safetensors file by hand and asserts that
    every tensor is bit-identical to the Python weights (and that both hold the same set of names and shapes).
  * 7 class names chosen to exercise the tokenizer, template "a photo of a person doing {}." (UCF101), the names
    formatted as ZeroshotCLIP does: template.format(name.replace("_", " ")). Tokenised with tokenizer_ref.py.
  * training batch 3 and test batch 5 of 3x48x48 normalised images from NumPy RandomState(IMAGE_SEED).
  * step0: features, logits, cross-entropy loss; eval: logits of the test batch. Computed with plain torch in float32
    (full 77-token text with the causal mask, no truncation), and again in float64 from the same float32 weights
    and inputs: each float dataset gets the attributes fp64_rel_err / fp64_max_abs_err, /config gets the maximum.

The CLIP forward functions are those of clip_b16_ref.py (imported; its dimension globals are set to this model's
dimensions before use). Importing it sets OMP/OPENBLAS/MKL_NUM_THREADS=1, so runs are bit-reproducible.

Usage (Debian's python3 only: torch 1.13, numpy, h5py), from anywhere:
    /usr/bin/python3 tests/reference/zs_fixture_ref.py
Options: --out PATH (default tests/data/zs_other.h5), --clipgrid PATH (default build/clipgrid, used only for the
bit-identity check of the weights), --check-official (additionally recompute zsclip.h5 from tiny768.safetensors
with the same pipeline and print the errors; a check of this script, nothing is written).
"""
import argparse
import hashlib
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

import clip_b16_ref as ref  # noqa: E402  (sets the one-thread environment before torch is imported)
import tokenizer_ref as tk  # noqa: E402
import h5py  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

# ----------------------------------------------------------------------------------------------------------------
# the model (make-model flags) and the inputs
SEED = 5
DIMS = dict(W=192, VL=3, PATCH=8, RES=48, D=128, TL=3, E=96)
MAKE_MODEL_FLAGS = ["--vision-width", "192", "--vision-layers", "3", "--patch", "8", "--image-res", "48",
                    "--text-width", "128", "--text-layers", "3", "--embed", "96", "--seed", "5", "--dtype", "f32"]
MODEL_FILE = "zs_other_model.safetensors"
VOCAB, CTX = 49408, 77
LOGIT_SCALE = 4.605170249938965          # ln(100) as float32 (exactly representable)

DATASET_NAME = "UCF101"
TEMPLATE = "a photo of a person doing {}."
CLASSNAMES = [
    "Apply_Eye_Makeup",                   # underscores become spaces (ZeroshotCLIP's c.replace("_", " "))
    "2012 Audi S4 Sedan",                 # digits are single-character pre-tokens
    "cr\u00e8me br\u00fbl\u00e9e",        # non-ASCII letters (NFC), multi-byte BPE
    "Boeing 737-200",                     # punctuation run, digits
    "great white shark",
    "Abyssinian",                         # a long word split into several BPE pieces
    "banded",
]
IMAGE_SEED = 4242
TRAIN_LABELS = [4, 0, 6]
TEST_LABELS = [2, 5, 1, 3, 6]
IMAGE_MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
IMAGE_STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)


def set_dims(W, VL, PATCH, RES, D, TL, E):
    """Point clip_b16_ref's dimension globals (read by its forward functions at call time) at this model."""
    ref.W, ref.VL, ref.VH, ref.PATCH, ref.RES = W, VL, W // 64, PATCH, RES
    ref.GRID = RES // PATCH
    ref.NV = ref.GRID * ref.GRID + 1
    ref.VMLP = 4 * W
    ref.D, ref.TL, ref.TH, ref.TMLP, ref.E = D, TL, D // 64, 4 * D, E
    ref.CTX, ref.VOCAB = CTX, VOCAB
    assert ref.HEAD_DIM == 64
    # std rules of clip_b16_ref.py (1/sqrt(n) in double) with this model's widths
    ref.STD_VIS = 1.0 / math.sqrt(float(W))
    ref.STD_TXTPROJ = 1.0 / math.sqrt(float(D))


def weight_specs():
    """(name, shape, mean, std) of every generated tensor: clip_b16_ref's list plus the token embedding."""
    return ref.weight_specs() + [("token_embedding.weight", (VOCAB, ref.D), 0.0, ref.STD_TOK)]


def make_weights():
    w = {name: ref.gen(name, shape, mean, std, seed=SEED) for name, shape, mean, std in weight_specs()}
    w["logit_scale"] = np.array(LOGIT_SCALE, dtype=np.float32)
    # clip_random.h writes the W^-0.5 rule as pow(W, -0.5), which is 1 ulp (double) away from 1/sqrt(W) for
    # W = 192 and D = 128; check that the float32 values do not depend on which one is used
    for name, shape, mean, std in weight_specs():
        if std in (ref.STD_VIS, ref.STD_TXTPROJ):
            alt = (float(ref.D) if name == "text_projection" else float(ref.W)) ** -0.5   # C pow()
            assert np.array_equal(ref.gen(name, shape, mean, alt, seed=SEED).view(np.uint32),
                                  w[name].view(np.uint32)), "pow/sqrt std changes %s" % name
    return w


# ----------------------------------------------------------------------------------------------------------------
# safetensors (read by hand) and the bit-identity check against the C-written file
ST_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": None, "I64": np.int64}


def read_safetensors(path):
    with open(path, "rb") as fh:
        blob = fh.read()
    n = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for name, h in header.items():
        dt = ST_DTYPES[h["dtype"]]
        s, e = h["data_offsets"]
        arr = np.frombuffer(blob[base + s:base + e], dtype=np.dtype(dt).newbyteorder("<"))
        out[name] = arr.reshape(h["shape"])
    return out, meta


def check_against_c(w, clipgrid):
    """Runs make-model, compares every tensor bit for bit; returns (sha256 of the file, tensor count)."""
    if not os.path.exists(clipgrid):
        sys.exit("%s not found: build it first (make), or pass --clipgrid" % clipgrid)
    tmp = tempfile.mkdtemp(prefix="zs_fixture_ref.")
    try:
        path = os.path.join(tmp, MODEL_FILE)
        subprocess.run([clipgrid, "make-model", path] + MAKE_MODEL_FLAGS, check=True, stdout=subprocess.DEVNULL)
        with open(path, "rb") as fh:
            sha = hashlib.sha256(fh.read()).hexdigest()
        c, meta = read_safetensors(path)
    finally:
        shutil.rmtree(tmp)
    assert set(c) == set(w), "name sets differ: only C %s, only Python %s" % (sorted(set(c) - set(w)),
                                                                           sorted(set(w) - set(c)))
    for name in w:
        a, b = w[name], c[name]
        assert a.shape == b.shape, "%s: shape %s (Python) vs %s (C)" % (name, a.shape, b.shape)
        assert b.dtype == np.float32, "%s: C dtype %s" % (name, b.dtype)
        diff = int(np.count_nonzero(a.view(np.uint32) != b.view(np.uint32)))
        assert diff == 0, "%s: %d of %d elements differ" % (name, diff, a.size)
    return sha, len(c)


# ----------------------------------------------------------------------------------------------------------------
# prompts and images
def build_prompts(tok, template, classnames):
    prompts = [template.format(c.replace("_", " ")) for c in classnames]
    ids = np.zeros((len(prompts), CTX), dtype=np.int64)
    for i, p in enumerate(prompts):
        # the reference tokenizer has no ftfy: the prompts must be texts that ftfy leaves alone
        assert tk.clean(p) == tk.clean_with_ftfy_subset(p), "ftfy would change %r" % p
        t = tok.tokenize(p)
        assert len(t) <= CTX, p
        ids[i, :len(t)] = t
    return prompts, ids, ids.argmax(axis=1).astype(np.int64)


def make_images(rs, n, res):
    x = rs.randint(0, 256, size=(n, 3, res, res)).astype(np.float32) / np.float32(255.0)
    return ((x - IMAGE_MEAN[None, :, None, None]) / IMAGE_STD[None, :, None, None]).astype(np.float32)


# ----------------------------------------------------------------------------------------------------------------
# zero-shot CLIP (CoOp's ZeroshotCLIP: encode, L2-normalise, exp(logit_scale) * img @ txt.T)
def zeroshot(w, ids, eot, images, labels, test_images, dtype):
    p = {k: torch.from_numpy(np.ascontiguousarray(v)).to(dtype) for k, v in w.items()
         if k not in ("token_embedding.weight",)}
    tok_emb = torch.from_numpy(np.ascontiguousarray(w["token_embedding.weight"][ids])).to(dtype)   # [C, 77, D]
    out = {}
    with torch.no_grad():
        txt_raw, _ = ref.text_tower(p, tok_emb, torch.from_numpy(eot))          # all 77 rows, causal
        txt = txt_raw / txt_raw.norm(dim=-1, keepdim=True)
        scale = p["logit_scale"].exp()
        for grp, imgs in (("step0", images), ("eval", test_images)):
            im = torch.from_numpy(imgs).to(dtype)
            img_raw, _ = ref.vision_tower(p, ref.vision_z0(p, im))
            img = img_raw / img_raw.norm(dim=-1, keepdim=True)
            logits = scale * img @ txt.t()
            out[grp + "/logits"] = logits.numpy()
            if grp == "step0":
                out["step0/image_features_raw"] = img_raw.numpy()
                out["step0/image_features"] = img.numpy()
                out["step0/text_features_raw"] = txt_raw.numpy()
                out["step0/text_features"] = txt.numpy()
                out["step0/loss"] = F.cross_entropy(logits, torch.from_numpy(labels)).numpy()
    return out


def max_rel(a, b):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    d = float(np.abs(a - b).max())
    return d / max(float(np.abs(b).max()), 1e-300), d


# ----------------------------------------------------------------------------------------------------------------
def vlen_strings(values):
    return np.array(values, dtype=h5py.string_dtype("utf-8"))


def write_fixture(path, cfg, inputs, r32, r64):
    tmp = path + ".tmp"
    with h5py.File(tmp, "w", track_order=False) as f:
        c = ref.group(f, "config")
        a = c.attrs
        for k, v in cfg.items():
            a[k] = v
        gi = ref.group(f, "inputs")
        for k in ("eot_indices", "images", "labels", "test_images", "test_labels", "tokenized_prompts"):
            arr = inputs[k]
            if arr.ndim == 4:
                ref.dataset(gi, k, arr, compression="gzip", compression_opts=9, shuffle=True)
            else:
                ref.dataset(gi, k, arr)
        floor = 0.0
        for k in sorted(r32):
            ds = ref.dataset(f, k, r32[k].astype(np.float32))
            rel, ab = max_rel(r32[k], r64[k])
            ds.attrs["fp64_rel_err"] = rel
            ds.attrs["fp64_max_abs_err"] = ab
            if k != "step0/loss":
                floor = max(floor, rel)
        c.attrs["fp64_max_rel_err"] = floor
        c.attrs["fp64_loss_abs_err"] = max_rel(r32["step0/loss"], r64["step0/loss"])[1]
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "data", "zs_other.h5"))
    ap.add_argument("--clipgrid", default=os.path.join(ROOT, "build", "clipgrid"))
    ap.add_argument("--check-official", action="store_true",
                    help="recompute shared/fixtures/official/zsclip.h5 with this pipeline and print the errors")
    args = ap.parse_args()
    torch.set_num_threads(1)
    t0 = time.time()
    if args.check_official:
        return check_official()

    set_dims(**DIMS)
    w = make_weights()
    print("weights generated (%d tensors, %.1f s)" % (len(w), time.time() - t0))
    sha, n = check_against_c(w, os.path.abspath(args.clipgrid))
    print("make-model file: %d tensors, all bit-identical to the Python weights; sha256 %s" % (n, sha))

    tok = tk.Tokenizer()
    prompts, ids, eot = build_prompts(tok, TEMPLATE, CLASSNAMES)
    for p_, row, e in zip(prompts, ids, eot):
        print("  %-45s eot %2d  %s" % (p_, e, " ".join(map(str, row[:e + 1]))))
    rs = np.random.RandomState(IMAGE_SEED)
    images = make_images(rs, len(TRAIN_LABELS), ref.RES)
    test_images = make_images(rs, len(TEST_LABELS), ref.RES)
    labels = np.array(TRAIN_LABELS, dtype=np.int64)
    test_labels = np.array(TEST_LABELS, dtype=np.int64)
    assert labels.max() < len(CLASSNAMES) and test_labels.max() < len(CLASSNAMES)

    r32 = zeroshot(w, ids, eot, images, labels, test_images, torch.float32)
    r64 = zeroshot(w, ids, eot, images, labels, test_images, torch.float64)
    # the loss as the fixture stores it must equal the cross-entropy recomputed from the stored logits
    assert np.array_equal(F.cross_entropy(torch.from_numpy(r32["step0/logits"]), torch.from_numpy(labels)).numpy(),
                          r32["step0/loss"])

    scale_exp = float(np.exp(np.float32(LOGIT_SCALE)))
    cfg = {
        "fixture": "zs_other",
        "trainer": "ZeroshotCLIP",
        "set": "clipgrid-tests",
        "repository": "none: plain torch in tests/reference/zs_fixture_ref.py (clipgrid), following "
                      "shared/spec/clip.md and CoOp's ZeroshotCLIP (KaiyangZhou/CoOp@ff61507)",
        "dassl": "none",
        "config_file": "none",
        "dataset_name": DATASET_NAME,
        "classnames": vlen_strings(CLASSNAMES),
        "num_classes": np.int64(len(CLASSNAMES)),
        "batch_size": np.int64(len(TRAIN_LABELS)),
        "test_batch_size": np.int64(len(TEST_LABELS)),
        "seed": np.int64(SEED),
        "image_seed": np.int64(IMAGE_SEED),
        "image_mean": IMAGE_MEAN,
        "image_std": IMAGE_STD,
        "dtype": "fp32",
        "template": TEMPLATE,
        "prompt_strings": vlen_strings(prompts),
        "tokenized_strings_during_build": vlen_strings(prompts),
        "logit_scale": float(LOGIT_SCALE),
        "logit_scale_exp": scale_exp,
        "overrides_json": "[]",
        "dataset_specific_opts_json": "[]",
        "dassl_cfg_yaml": "",
        "harness_notes": (
            "Not produced by the official code. Zero-shot CLIP written with plain torch ops (the block, tower and "
            "patch-embedding functions of tests/reference/clip_b16_ref.py), one CPU thread, fp32: prompts = "
            "template.format(name.replace('_', ' ')), tokenised with tests/reference/tokenizer_ref.py (a port "
            "of CLIP's tokenizer); text tower over all 77 rows with the causal mask, pooled at argmax(ids); "
            "features L2-normalised; logits = exp(logit_scale) * img @ txt.T; loss = mean cross-entropy of "
            "step0/logits (ZeroshotCLIP has no loss). Model: `clipgrid make-model %s %s`, the seeded random "
            "CLIP of core/gen/clip_random.h (seed = the generator seed %d), regenerated in Python and checked bit "
            "for bit against the C-written file. Images: NumPy RandomState(image_seed), training batch then "
            "test batch, integers 0..255 / 255, normalised with image_mean/image_std in float32. Each float "
            "dataset has fp64_rel_err = max|x32 - x64| / max|x64| and fp64_max_abs_err against a float64 run "
            "from the same float32 weights and inputs; /config fp64_max_rel_err is their maximum (loss "
            "excluded; fp64_loss_abs_err is the loss's absolute difference)."
            % (MODEL_FILE, " ".join(MAKE_MODEL_FLAGS), SEED)),
        "torch_version": str(torch.__version__),
        "python_version": platform.python_version(),
        "torch_threads": np.int64(1),
        "model_file": MODEL_FILE,
        "model_sha256": sha,
        "large_tensor_threshold": np.int64(65536),
        "large_tensors": vlen_strings([]),
        "init_stored_as_float16": vlen_strings([]),
        "init_from_formula": vlen_strings([]),
    }
    inputs = {"images": images, "labels": labels, "test_images": test_images, "test_labels": test_labels,
              "tokenized_prompts": ids, "eot_indices": eot}
    out = os.path.normpath(args.out)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    write_fixture(out, cfg, inputs, r32, r64)

    print("\n%-28s %-10s %-12s %s" % ("dataset", "shape", "fp64 rel", "fp64 abs"))
    with h5py.File(out, "r") as f:
        for k in sorted(r32):
            ds = f[k]
            print("%-28s %-10s %-12.3g %.3g" % (k, str(ds.shape), ds.attrs["fp64_rel_err"],
                                                ds.attrs["fp64_max_abs_err"]))
        print("loss %.9g (fp64 %.17g); fp64_max_rel_err %.3g" % (f["step0/loss"][()], r64["step0/loss"],
                                                                 f["config"].attrs["fp64_max_rel_err"]))
    print("wrote %s (%d bytes) in %.1f s" % (out, os.path.getsize(out), time.time() - t0))


# ----------------------------------------------------------------------------------------------------------------
def check_official():
    """Recompute zsclip.h5 (tiny768, F16 storage) with zeroshot() and print the errors: checks this pipeline."""
    d = os.path.normpath(os.path.join(ROOT, "..", "shared", "fixtures", "official"))
    with h5py.File(os.path.join(d, "zsclip.h5"), "r") as f:
        a = f["config"].attrs
        names = [s.decode() if isinstance(s, bytes) else s for s in a["classnames"]]
        tmpl = a["template"]
        ref_out = {k: f[k][()] for k in ("step0/logits", "step0/image_features_raw", "step0/image_features",
                                          "step0/text_features_raw", "step0/text_features", "step0/loss",
                                          "eval/logits")}
        inp = {k: f["inputs/" + k][()] for k in ("images", "labels", "test_images", "tokenized_prompts",
                                                 "eot_indices")}
    st, _ = read_safetensors(os.path.join(d, "tiny768.safetensors"))
    w = {k: v.astype(np.float32) for k, v in st.items()}
    set_dims(W=768, VL=2, PATCH=16, RES=32, D=512, TL=2, E=512)
    prompts, ids, eot = build_prompts(tk.Tokenizer(), tmpl, names)
    assert np.array_equal(ids, inp["tokenized_prompts"]) and np.array_equal(eot, inp["eot_indices"])
    r = zeroshot(w, ids, eot, inp["images"], inp["labels"], inp["test_images"], torch.float32)
    worst = 0.0
    for k, v in ref_out.items():
        rel, ab = max_rel(r[k], v)
        worst = max(worst, rel)
        print("%-28s rel %.3g  abs %.3g" % (k, rel, ab))
    print("zsclip.h5 recomputed: tokens identical, max rel err %.3g" % worst)


if __name__ == "__main__":
    main()
