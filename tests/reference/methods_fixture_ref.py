#!/usr/bin/python3
"""methods_fixture_ref.py: CoOp and CoCoOp fixtures in the official fixture format (tests/data/coop_other.h5,
tests/data/cocoop_other.h5), for a model, sizes, options and class names that the official fixtures do not have,
so that `clipgrid golden` and the two methods are shown to work beyond them:

  * model: the seeded random CLIP of tests/data/zs_other.h5 (`clipgrid make-model ... --seed 5`: vision width
    192, 3 layers, patch 8, 48x48 images; text width 128, 3 layers; embed 96), generated here in Python
    (zs_fixture_ref.make_weights, checked bit for bit against the C-written file there);
  * the 7 class names of zs_other.h5 (digits, non-ASCII, punctuation, multi-piece words), dataset UCF101;
  * coop_other.h5: CoOp with 3 random context vectors N(0, 0.02^2), class-specific (CSC), class token in the
    middle: [SOS, v_1, name, v_2, v_3, ".", EOT] per class (CoOp: trainers/coop.py, protocol.md 2.3), SGD at
    LR 0.0002 (this model's gradients are large: a larger rate makes the step-2 and step-3 losses
    ill-conditioned in fp32, beyond the README's 1e-5);
  * cocoop_other.h5: CoCoOp with 2 random context vectors, the meta-net Linear(96, 6), ReLU, Linear(6, 128)
    (PyTorch's default Linear init), the official per-image loop over all class prompts (protocol.md 3.2), SGD
    at LR 0.005;
  * training batch 3 and test batch 5 of 48x48 images (NumPy RandomState), three SGD steps (momentum 0.9,
    weight decay 5e-4, Dassl's optimizer = torch.optim.SGD) on the same batch, then the evaluation logits.

The products with weights (and the logits product) go through clip_b16_ref.matmul, plain `a @ b` unless a caller
sets clip_b16_ref.MATMUL (precision_ref.py does, for its reduced-precision fixtures).

Everything is plain torch in float32 on one thread (the text tower over all 77 rows with the causal mask), and
again in float64 from the same float32 values: each float dataset has the attributes fp64_rel_err
(max|x32 - x64| / max|x64|) and fp64_max_abs_err. The initial values come from NumPy RandomState(INIT_SEED).

Usage: /usr/bin/python3 tests/reference/methods_fixture_ref.py [--outdir tests/data]
(cli_golden.sh runs the fixtures with the model from `clipgrid make-model`, see zs_fixture_ref.py.)
"""
import argparse
import math
import os
import platform
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

import zs_fixture_ref as zs  # noqa: E402  (imports clip_b16_ref: one-thread environment before torch)
import clip_b16_ref as ref  # noqa: E402
import tokenizer_ref as tk  # noqa: E402
import h5py  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

INIT_SEED = 777
TRAIN_LABELS = [4, 0, 6]
TEST_LABELS = [2, 5, 1, 3, 6]
STEPS = 3
COOP = dict(n_ctx=3, csc=True, position="middle", lr=0.0002)
COCOOP = dict(n_ctx=2, lr=0.005)


def class_tokens(tok, prefix):
    names = [c.replace("_", " ") for c in zs.CLASSNAMES]
    prompts = [prefix + " " + n + "." for n in names]
    ids = np.zeros((len(prompts), zs.CTX), dtype=np.int64)
    for i, p in enumerate(prompts):
        t = tok.tokenize(p)
        ids[i, :len(t)] = t
    name_lens = np.array([len(tok.encode(n)) for n in names], dtype=np.int64)
    return prompts, ids, ids.argmax(axis=1).astype(np.int64), name_lens


def frozen(w, dtype):
    return {k: torch.from_numpy(np.ascontiguousarray(v)).to(dtype) for k, v in w.items()}


def image_features(p, images, dtype):
    with torch.no_grad():
        raw, _ = ref.vision_tower(p, ref.vision_z0(p, torch.from_numpy(images).to(dtype)))
    return raw


# ----------------------------------------------------------------------------------------------------------------
# CoOp: class-specific context, class token in the middle
def coop_prompts(emb, ctx, name_lens):
    """emb [C, 77, D] token rows of "X X X <name>."; ctx [C, M, D] -> [C, 77, D]"""
    C, M = ctx.shape[0], ctx.shape[1]
    h = M // 2
    rows = []
    for c in range(C):
        nl = int(name_lens[c])
        name = emb[c, 1 + M:1 + M + nl]
        rows.append(torch.cat([emb[c, :1], ctx[c, :h], name, ctx[c, h:], emb[c, 1 + M + nl:]], dim=0))
    return torch.stack(rows)


def coop_forward(p, emb, ctx, name_lens, eot, img_raw):
    txt_raw, _ = ref.text_tower(p, coop_prompts(emb, ctx, name_lens), torch.from_numpy(eot))
    img = img_raw / img_raw.norm(dim=-1, keepdim=True)
    txt = txt_raw / txt_raw.norm(dim=-1, keepdim=True)
    return ref.matmul(p["logit_scale"].exp() * img, txt.t()), img, txt, txt_raw   # (scale·img) @ txtᵀ


def run_coop(w, ids, eot, name_lens, init, images, labels, test_images, dtype):
    p = frozen(w, dtype)
    emb = torch.from_numpy(np.ascontiguousarray(w["token_embedding.weight"][ids])).to(dtype)
    # a copy: the optimiser updates in place, and from_numpy would share the init array
    ctx = torch.nn.Parameter(torch.tensor(init["prompt_learner.ctx"], dtype=dtype))
    opt = torch.optim.SGD([ctx], lr=COOP["lr"], momentum=0.9, weight_decay=5e-4)
    img_raw = image_features(p, images, dtype)
    lab = torch.from_numpy(labels)
    out, losses = {}, []
    for k in range(STEPS):
        logits, img, txt, txt_raw = coop_forward(p, emb, ctx, name_lens, eot, img_raw)
        loss = F.cross_entropy(logits, lab)
        opt.zero_grad()
        loss.backward()
        if k == 0:
            out.update({"step0/logits": logits, "step0/loss": loss, "step0/image_features_raw": img_raw,
                        "step0/image_features": img, "step0/text_features_raw": txt_raw,
                        "step0/text_features": txt, "step0/grads/prompt_learner.ctx": ctx.grad.clone()})
        losses.append(loss.detach().clone())
        opt.step()
        out["steps/params_after_step%d/prompt_learner.ctx" % (k + 1)] = ctx.detach().clone()
    out["steps/losses"] = torch.stack(losses)
    with torch.no_grad():
        out["eval/logits"] = coop_forward(p, emb, ctx, name_lens, eot, image_features(p, test_images, dtype))[0]
    return {k: v.detach().numpy() for k, v in out.items()}


# ----------------------------------------------------------------------------------------------------------------
# CoCoOp: meta-net on the normalised image feature, one classifier per image, the official loop
META = ("prompt_learner.meta_net.linear1.weight", "prompt_learner.meta_net.linear1.bias",
        "prompt_learner.meta_net.linear2.weight", "prompt_learner.meta_net.linear2.bias")


def cocoop_forward(p, emb, q, eot, img_raw):
    """emb [C, 77, D] rows of "X X <name>."; returns logits [B, C], normalised image features, the meta-net
    output, raw and normalised text features [B, C, E]"""
    M = q["prompt_learner.ctx"].shape[0]
    img = img_raw / img_raw.norm(dim=-1, keepdim=True)
    hid = F.relu(ref.matmul(img, q[META[0]].t()) + q[META[1]])
    pi = ref.matmul(hid, q[META[2]].t()) + q[META[3]]
    ctx_shifted = q["prompt_learner.ctx"].unsqueeze(0) + pi.unsqueeze(1)           # [B, M, D]
    C = emb.shape[0]
    logits, raws, norms = [], [], []
    for ctx_i, imf_i in zip(ctx_shifted, img):
        prompts = torch.cat([emb[:, :1], ctx_i.unsqueeze(0).expand(C, -1, -1), emb[:, 1 + M:]], dim=1)
        t_raw, _ = ref.text_tower(p, prompts, torch.from_numpy(eot))
        t = t_raw / t_raw.norm(dim=-1, keepdim=True)
        logits.append(ref.matmul(p["logit_scale"].exp() * imf_i, t.t()))
        raws.append(t_raw)
        norms.append(t)
    return torch.stack(logits), img, pi, torch.stack(raws), torch.stack(norms)


def run_cocoop(w, ids, eot, init, images, labels, test_images, dtype):
    p = frozen(w, dtype)
    emb = torch.from_numpy(np.ascontiguousarray(w["token_embedding.weight"][ids])).to(dtype)
    names = ("prompt_learner.ctx",) + META
    q = {n: torch.nn.Parameter(torch.tensor(init[n], dtype=dtype)) for n in names}  # copies
    opt = torch.optim.SGD([q[n] for n in names], lr=COCOOP["lr"], momentum=0.9, weight_decay=5e-4)
    img_raw = image_features(p, images, dtype)
    lab = torch.from_numpy(labels)
    out, losses = {}, []
    for k in range(STEPS):
        logits, img, pi, t_raw, t = cocoop_forward(p, emb, q, eot, img_raw)
        loss = F.cross_entropy(logits, lab)
        opt.zero_grad()
        loss.backward()
        if k == 0:
            out.update({"step0/logits": logits, "step0/loss": loss, "step0/image_features_raw": img_raw,
                        "step0/image_features": img, "step0/meta_net_out": pi,
                        "step0/text_features_raw": t_raw, "step0/text_features": t})
            for n in names:
                out["step0/grads/" + n] = q[n].grad.clone()
        losses.append(loss.detach().clone())
        opt.step()
        for n in names:
            out["steps/params_after_step%d/%s" % (k + 1, n)] = q[n].detach().clone()
    out["steps/losses"] = torch.stack(losses)
    with torch.no_grad():
        logits, _, _, _, t = cocoop_forward(p, emb, q, eot, image_features(p, test_images, dtype))
    out["eval/logits"], out["eval/text_features"] = logits, t
    return {k: v.detach().numpy() for k, v in out.items()}


# ----------------------------------------------------------------------------------------------------------------
def max_rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    d = float(np.abs(a - b).max())
    return d / max(float(np.abs(b).max()), 1e-300), d


def write(path, cfg, inputs, init, r32, r64):
    tmp = path + ".tmp"
    with h5py.File(tmp, "w") as f:
        c = ref.group(f, "config")
        for k, v in cfg.items():
            c.attrs[k] = v
        gi = ref.group(f, "inputs")
        for k, arr in inputs.items():
            kw = dict(compression="gzip", compression_opts=9, shuffle=True) if arr.ndim == 4 else {}
            ref.dataset(gi, k, arr, **kw)
        for k, v in init.items():
            ref.dataset(f, "init/" + k, v).attrs["stored_dtype"] = "float32"
        worst = 0.0
        for k in sorted(r32):
            arr = r32[k].astype(np.float64 if k == "step0/loss" else np.float32)
            ds = ref.dataset(f, k, arr if arr.ndim else arr[()])
            rel, ab = max_rel(r32[k], r64[k])
            ds.attrs["fp64_rel_err"], ds.attrs["fp64_max_abs_err"] = rel, ab
            if "loss" not in k:
                worst = max(worst, rel)
        c.attrs["fp64_max_rel_err"] = worst
    os.replace(tmp, path)


def common_config(name, trainer, prompts, n_params, lr):
    return {
        "fixture": name, "trainer": trainer, "set": "clipgrid-tests",
        "repository": "none: plain torch in tests/reference/methods_fixture_ref.py (clipgrid), following "
                      "shared/spec/protocol.md and KaiyangZhou/CoOp@ff61507 trainers/coop.py, cocoop.py",
        "dassl": "none: torch.optim.SGD = Dassl's SGD (momentum 0.9, dampening 0, weight decay 5e-4)",
        "config_file": "none", "dataset_name": zs.DATASET_NAME,
        "classnames": zs.vlen_strings(zs.CLASSNAMES), "num_classes": np.int64(len(zs.CLASSNAMES)),
        "batch_size": np.int64(len(TRAIN_LABELS)), "test_batch_size": np.int64(len(TEST_LABELS)),
        "seed": np.int64(1), "image_seed": np.int64(zs.IMAGE_SEED), "init_seed": np.int64(INIT_SEED),
        "image_mean": zs.IMAGE_MEAN, "image_std": zs.IMAGE_STD, "dtype": "fp32", "prec": "fp32",
        "optimizer": "sgd", "lr": float(lr), "momentum": 0.9, "dampening": 0.0, "nesterov": False,
        "weight_decay": 5e-4, "num_trainable": np.int64(n_params),
        "prompt_strings": zs.vlen_strings(prompts), "tokenized_strings_during_build": zs.vlen_strings(prompts),
        "logit_scale": float(zs.LOGIT_SCALE), "logit_scale_exp": float(np.exp(np.float32(zs.LOGIT_SCALE))),
        "overrides_json": "[]", "dataset_specific_opts_json": "[]", "dassl_cfg_yaml": "",
        "torch_version": str(torch.__version__), "python_version": platform.python_version(),
        "torch_threads": np.int64(1), "model_file": zs.MODEL_FILE,
        "large_tensor_threshold": np.int64(65536), "large_tensors": zs.vlen_strings([]),
        "init_stored_as_float16": zs.vlen_strings([]), "init_from_formula": zs.vlen_strings([]),
        "harness_notes": "see the docstring of tests/reference/methods_fixture_ref.py",
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--outdir", default=os.path.join(ROOT, "tests", "data"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    t0 = time.time()
    zs.set_dims(**zs.DIMS)
    w = zs.make_weights()
    tok = tk.Tokenizer()
    rs = np.random.RandomState(zs.IMAGE_SEED)
    images = zs.make_images(rs, len(TRAIN_LABELS), ref.RES)
    test_images = zs.make_images(rs, len(TEST_LABELS), ref.RES)
    labels, test_labels = np.array(TRAIN_LABELS, np.int64), np.array(TEST_LABELS, np.int64)
    irs = np.random.RandomState(INIT_SEED)
    C, D, E = len(zs.CLASSNAMES), ref.D, ref.E
    base = {"images": images, "labels": labels, "test_images": test_images, "test_labels": test_labels}

    # CoOp
    M = COOP["n_ctx"]
    prompts, ids, eot, name_lens = class_tokens(tok, " ".join(["X"] * M))
    init = {"prompt_learner.ctx": (irs.standard_normal((C, M, D)) * 0.02).astype(np.float32)}
    r32 = run_coop(w, ids, eot, name_lens, init, images, labels, test_images, torch.float32)
    r64 = run_coop(w, ids, eot, name_lens, init, images, labels, test_images, torch.float64)
    r32["steps/lr_per_step"] = r64["steps/lr_per_step"] = np.full(STEPS, COOP["lr"])
    cfg = common_config("coop_other", "CoOp", prompts, C * M * D, COOP["lr"])
    cfg.update({"n_ctx_config": np.int64(M), "n_ctx": np.int64(M), "ctx_init": "", "csc": True,
                "class_token_position": COOP["position"],
                "trainable_parameters": zs.vlen_strings(list(init))})
    write(os.path.join(args.outdir, "coop_other.h5"), cfg,
          dict(base, tokenized_prompts=ids, eot_indices=eot, name_lens=name_lens), init, r32, r64)

    # CoCoOp
    M, H = COCOOP["n_ctx"], E // 16
    prompts, ids, eot, name_lens = class_tokens(tok, " ".join(["X"] * M))
    b1, b2 = 1 / math.sqrt(E), 1 / math.sqrt(H)
    init = {"prompt_learner.ctx": (irs.standard_normal((M, D)) * 0.02).astype(np.float32),
            META[0]: irs.uniform(-b1, b1, (H, E)).astype(np.float32), META[1]: irs.uniform(-b1, b1, H).astype(np.float32),
            META[2]: irs.uniform(-b2, b2, (D, H)).astype(np.float32), META[3]: irs.uniform(-b2, b2, D).astype(np.float32)}
    r32 = run_cocoop(w, ids, eot, init, images, labels, test_images, torch.float32)
    r64 = run_cocoop(w, ids, eot, init, images, labels, test_images, torch.float64)
    r32["steps/lr_per_step"] = r64["steps/lr_per_step"] = np.full(STEPS, COCOOP["lr"])
    cfg = common_config("cocoop_other", "CoCoOp", prompts, sum(v.size for v in init.values()), COCOOP["lr"])
    cfg.update({"n_ctx_config": np.int64(M), "n_ctx": np.int64(M), "ctx_init": "",
                "trainable_parameters": zs.vlen_strings(list(init))})
    write(os.path.join(args.outdir, "cocoop_other.h5"), cfg,
          dict(base, tokenized_prompts=ids, eot_indices=eot, name_lens=name_lens), init, r32, r64)
    for n in ("coop_other.h5", "cocoop_other.h5"):
        path = os.path.join(args.outdir, n)
        with h5py.File(path) as f:
            print("%s: %d bytes, fp64_max_rel_err %.3g, step-0 loss %.7f" % (
                n, os.path.getsize(path), f["config"].attrs["fp64_max_rel_err"], f["step0/loss"][()]))
    print("%.1f s" % (time.time() - t0))


if __name__ == "__main__":
    main()
