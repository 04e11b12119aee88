#!/usr/bin/python3
"""methods_deep_fixture_ref.py: MaPLe and MMRL fixtures in the official fixture format (tests/data/maple_other.h5,
tests/data/mmrl_other.h5), for a model, sizes, depths and options that the official fixtures do not have, so that
`clipgrid golden` and the two methods are shown to work beyond them:

  * model: the seeded random CLIP of tests/data/zs_other.h5 (`clipgrid make-model ... --seed 5`: vision width 192,
    3 layers, patch 8, 48x48 images, 37 tokens; text width 128, 3 layers; embed 96), generated in Python by
    zs_fixture_ref.make_weights (checked bit for bit against the C-written file there);
  * the 7 class names of zs_other.h5, dataset UCF101; training batch 3 and the first 2 of the 5 test images of
    methods_fixture_ref.py (labels [2, 5]; fewer to keep the files under 400 KB);
  * maple_other.h5: MaPLe (methods.md section 1) with N_CTX 2, CTX_INIT "a photo of a" (the quirk of 1.2: the
    prompts are "a photo of a {class}." and the two learnable rows take the places of "a" and "photo"), prompt
    depth 3 (shallow prompts at the input, deep prompts replacing the prompt rows before blocks 1 and 2 of both
    towers: text rows 1..2, vision rows 37..38 after the appended shallow prompt), couplings Linear(128, 192)
    per depth; SGD at LR 0.0035 (MaPLe's configured rate);
  * mmrl_other.h5: MMRL (methods.md section 2) with REP_LAYERS [2, 3] (1-based: 3 representation tokens inserted
    after the first row before block 1, replaced before block 2, in both towers), REP_DIM 64, ALPHA 0.7,
    REG_WEIGHT 0.5, the UCF101 template "a photo of a person doing {}.", logits 100*cos; SGD at LR 0.001;
    the evaluation records the three heads and the base (fusion) and novel (class-token) inference logits.
    No AdamW run (/steps_adamw): its digests would double the file, and the optimiser is shape-independent
    (mmrl.h5 covers it).

Initial values: a torch.Generator seeded with INIT_SEED, in the official distributions (ctx from the token
embeddings of "a" and "photo"; default Linear init U(+-1/sqrt(fan_in)); prompts and rep tokens N(0, 0.02^2);
proj_rep N(0, 1)/sqrt(192)), but every depth's coupling Linear and every layer's r2v/r2t Linear is drawn on its
own instead of copied from one template, so that a mix-up of depths or layers cannot cancel out.

Everything is plain torch in float32 on one thread (text tower over all 77 (+K) rows with the causal mask), then
again in float64 from the same float32 values: each float dataset has fp64_rel_err (max|x32 - x64| / max|x64|)
and fp64_max_abs_err. To keep each file under 400 KB, tensors with more than LARGE = 4096 elements store
their gradients and post-step values as official-format digests (README 5.7, 256 sampled indices); /init
is always complete.

Usage: /usr/bin/python3 tests/reference/methods_deep_fixture_ref.py [--outdir tests/data]
(cli_golden.sh runs the fixtures with the model from `clipgrid make-model`, see zs_fixture_ref.py.)
"""
import argparse
import math
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

import methods_fixture_ref as mf  # noqa: E402  (imports zs_fixture_ref and clip_b16_ref)
import zs_fixture_ref as zs  # noqa: E402
import clip_b16_ref as ref  # noqa: E402
import tokenizer_ref as tk  # noqa: E402
import h5py  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

INIT_SEED = 2718
STEPS = 3
MAPLE = dict(n_ctx=2, ctx_init="a photo of a", depth=3, lr=0.0035)
MMRL = dict(rep_layers=[2, 3], n_rep=3, rep_dim=64, alpha=0.7, reg_weight=0.5, lr=0.001)
TEST_LABELS = mf.TEST_LABELS[:2]   # the first two test images of methods_fixture_ref.py (file size)
MMRL_SCALE = 100.0
LARGE = 4096          # tensors with more elements: gradients and post-step values as digests (README 5.7)
N_SAMPLES = 256       # sampled flat indices per large tensor (NumPy RandomState(12345), sorted)


def params(init, dtype):
    return {n: torch.nn.Parameter(torch.tensor(v, dtype=dtype)) for n, v in init.items()}  # copies


def sgd(q, lr):
    return torch.optim.SGD(list(q.values()), lr=lr, momentum=0.9, weight_decay=5e-4)


def normed(x):
    return x / x.norm(dim=-1, keepdim=True)


# ----------------------------------------------------------------------------------------------------------------
# MaPLe (methods.md 1.3-1.5)
def maple_names(J):
    names = ["prompt_learner.ctx", "prompt_learner.proj.weight", "prompt_learner.proj.bias"]
    names += ["prompt_learner.compound_prompts_text.%d" % k for k in range(J - 1)]
    for k in range(J - 1):
        names += ["prompt_learner.compound_prompt_projections.%d.weight" % k,
                  "prompt_learner.compound_prompt_projections.%d.bias" % k]
    return names


def maple_prompts(q, J):
    """text prompts P_0..P_{J-1} [n, D] and vision prompts F_i(P_i) [n, W]"""
    txt = [q["prompt_learner.ctx"]] + [q["prompt_learner.compound_prompts_text.%d" % k] for k in range(J - 1)]
    lin = [("prompt_learner.proj.weight", "prompt_learner.proj.bias")] + [
        ("prompt_learner.compound_prompt_projections.%d.weight" % k,
         "prompt_learner.compound_prompt_projections.%d.bias" % k) for k in range(J - 1)]
    vis = [t @ q[w].t() + q[b] for t, (w, b) in zip(txt, lin)]
    return txt, vis


def maple_text(p, emb, eot, txt, n, J):
    C = emb.shape[0]
    x = torch.cat([emb[:, :1], txt[0].unsqueeze(0).expand(C, -1, -1), emb[:, 1 + n:]], dim=1)
    x = x + p["positional_embedding"]
    for l in range(ref.TL):
        if 1 <= l < J:
            x = torch.cat([x[:, :1], txt[l].unsqueeze(0).expand(C, -1, -1), x[:, 1 + n:]], dim=1)
        x = ref.resblock(x, p, "transformer.resblocks.%d." % l, ref.TH, causal=True)
    fin = ref.layer_norm(x, p, "ln_final.")
    return fin[torch.arange(C), torch.from_numpy(eot)] @ p["text_projection"]


def maple_vision(p, images, vis, J):
    z0 = ref.vision_z0(p, images)
    B, N = z0.shape[0], z0.shape[1]
    x = torch.cat([z0, vis[0].unsqueeze(0).expand(B, -1, -1)], dim=1)
    x = ref.layer_norm(x, p, "visual.ln_pre.")
    for l in range(ref.VL):
        if 1 <= l < J:
            x = torch.cat([x[:, :N], vis[l].unsqueeze(0).expand(B, -1, -1)], dim=1)
        x = ref.resblock(x, p, "visual.transformer.resblocks.%d." % l, ref.VH, causal=False)
    return ref.layer_norm(x[:, 0], p, "visual.ln_post.") @ p["visual.proj"]


def maple_forward(p, emb, eot, q, images):
    n, J = MAPLE["n_ctx"], MAPLE["depth"]
    txt, vis = maple_prompts(q, J)
    t_raw = maple_text(p, emb, eot, txt, n, J)
    i_raw = maple_vision(p, images, vis, J)
    img, t = normed(i_raw), normed(t_raw)
    return p["logit_scale"].exp() * img @ t.t(), i_raw, img, t_raw, t, vis


def run_maple(w, ids, eot, init, images, labels, test_images, dtype):
    p = mf.frozen(w, dtype)
    emb = torch.from_numpy(np.ascontiguousarray(w["token_embedding.weight"][ids])).to(dtype)
    q = params(init, dtype)
    opt = sgd(q, MAPLE["lr"])
    im, lab = torch.from_numpy(images).to(dtype), torch.from_numpy(labels)
    out, losses = {}, []
    for k in range(STEPS):
        logits, i_raw, img, t_raw, t, vis = maple_forward(p, emb, eot, q, im)
        loss = F.cross_entropy(logits, lab)
        opt.zero_grad()
        loss.backward()
        if k == 0:
            out.update({"step0/logits": logits, "step0/loss": loss, "step0/image_features_raw": i_raw,
                        "step0/image_features": img, "step0/text_features_raw": t_raw, "step0/text_features": t,
                        "step0/visual_shallow_prompt": vis[0], "step0/visual_deep_prompts": torch.stack(vis[1:])})
            for n in q:
                out["step0/grads/" + n] = q[n].grad.clone()
        losses.append(loss.detach().clone())
        opt.step()
        for n in q:
            out["steps/params_after_step%d/%s" % (k + 1, n)] = q[n].detach().clone()
    out["steps/losses"] = torch.stack(losses)
    with torch.no_grad():
        out["eval/logits"] = maple_forward(p, emb, eot, q, torch.from_numpy(test_images).to(dtype))[0]
    return {k: v.detach().numpy() for k, v in out.items()}


# ----------------------------------------------------------------------------------------------------------------
# MMRL (methods.md 2.3-2.5)
REP = "representation_learner.compound_rep_tokens"
PROJ_REP = "image_encoder.proj_rep"


def mmrl_lin(d, j, what):
    return "%s_r2%sproj.%d.%s" % (REP, d, j, what)


def mmrl_names(L):
    names = [REP]
    for d in ("v", "t"):
        for j in range(L):
            names += [mmrl_lin(d, j, "weight"), mmrl_lin(d, j, "bias")]
    return names + [PROJ_REP]


def mmrl_insert(x, rows, j, K):
    """before the first rep layer insert after row 0, later replace rows 1..K"""
    rows = rows.unsqueeze(0).expand(x.shape[0], -1, -1)
    return torch.cat([x[:, :1], rows, x[:, 1 if j == 0 else 1 + K:]], dim=1)


def mmrl_text(p, emb, eot, rt, layers, K):
    C = emb.shape[0]
    x = emb + p["positional_embedding"]
    for l in range(ref.TL):
        if l in layers:
            j = layers.index(l)
            x = mmrl_insert(x, rt[j], j, K)
        x = ref.resblock(x, p, "transformer.resblocks.%d." % l, ref.TH, causal=True)
    fin = ref.layer_norm(x, p, "ln_final.")
    return fin[torch.arange(C), torch.from_numpy(eot) + K] @ p["text_projection"]


def mmrl_vision(p, images, rv, proj_rep, layers, K):
    x = ref.layer_norm(ref.vision_z0(p, images), p, "visual.ln_pre.")
    for l in range(ref.VL):
        if l in layers:
            j = layers.index(l)
            x = mmrl_insert(x, rv[j], j, K)
        x = ref.resblock(x, p, "visual.transformer.resblocks.%d." % l, ref.VH, causal=False)
    fin = ref.layer_norm(x, p, "visual.ln_post.")
    return fin[:, 0] @ p["visual.proj"], fin[:, 1:1 + K].mean(dim=1) @ proj_rep


def mmrl_forward(p, emb, eot, q, images):
    L, K = len(MMRL["rep_layers"]), MMRL["n_rep"]
    layers = [l - 1 for l in MMRL["rep_layers"]]                     # 1-based layers -> 0-based blocks
    rt = [q[REP] @ q[mmrl_lin("t", j, "weight")].t() + q[mmrl_lin("t", j, "bias")] for j in range(L)]
    rv = [q[REP] @ q[mmrl_lin("v", j, "weight")].t() + q[mmrl_lin("v", j, "bias")] for j in range(L)]
    t_raw = mmrl_text(p, emb, eot, rt, layers, K)
    fc, fr = mmrl_vision(p, images, rv, q[PROJ_REP], layers, K)
    t, fc_n, fr_n = normed(t_raw), normed(fc), normed(fr)
    cls, rep = MMRL_SCALE * fc_n @ t.t(), MMRL_SCALE * fr_n @ t.t()
    a = MMRL["alpha"]
    fusion = a * cls + (1 - a) * rep
    return dict(logits_cls=cls, logits_rep=rep, logits_fusion=fusion, text_features_raw=t_raw, text_features=t,
                image_features_raw=fc, image_features=fc_n, image_features_rep_raw=fr, image_features_rep=fr_n,
                rep_tokens_text=torch.stack(rt), rep_tokens_visual=torch.stack(rv))


def zs_image(p, images):
    with torch.no_grad():
        raw, _ = ref.vision_tower(p, ref.vision_z0(p, images))
    return raw


def mmrl_loss(r, labels, zs_img_n, zs_txt_n):
    a, lam = MMRL["alpha"], MMRL["reg_weight"]
    ce_cls = F.cross_entropy(r["logits_cls"], labels)
    ce_rep = F.cross_entropy(r["logits_rep"], labels)
    reg_img = 1 - F.cosine_similarity(r["image_features"], zs_img_n, dim=1).mean()
    reg_txt = 1 - F.cosine_similarity(r["text_features"], zs_txt_n, dim=1).mean()
    loss = a * ce_cls + (1 - a) * ce_rep + lam * reg_img + lam * reg_txt
    return loss, dict(loss_ce_cls=ce_cls, loss_ce_rep=ce_rep, loss_reg_image=reg_img, loss_reg_text=reg_txt)


def run_mmrl(w, ids, eot, init, images, labels, test_images, dtype):
    p = mf.frozen(w, dtype)
    emb = torch.from_numpy(np.ascontiguousarray(w["token_embedding.weight"][ids])).to(dtype)
    with torch.no_grad():
        zs_txt_n = normed(ref.text_tower(p, emb, torch.from_numpy(eot))[0])
    q = params(init, dtype)
    opt = sgd(q, MMRL["lr"])
    im, lab = torch.from_numpy(images).to(dtype), torch.from_numpy(labels)
    out, losses = {}, []
    for k in range(STEPS):
        r = mmrl_forward(p, emb, eot, q, im)
        zs_raw = zs_image(p, im)
        loss, comp = mmrl_loss(r, lab, normed(zs_raw), zs_txt_n)
        opt.zero_grad()
        loss.backward()
        if k == 0:
            out.update({"step0/" + n: v for n, v in r.items()})
            out.update({"step0/" + n: v for n, v in comp.items()})
            out.update({"step0/logits": r["logits_fusion"], "step0/loss": loss, "step0/zs_image_features_raw": zs_raw,
                        "step0/zs_image_features": normed(zs_raw), "step0/zs_text_features": zs_txt_n})
            for n in q:
                out["step0/grads/" + n] = q[n].grad.clone()
        losses.append(loss.detach().clone())
        opt.step()
        for n in q:
            out["steps/params_after_step%d/%s" % (k + 1, n)] = q[n].detach().clone()
    out["steps/losses"] = torch.stack(losses)
    with torch.no_grad():
        r = mmrl_forward(p, emb, eot, q, torch.from_numpy(test_images).to(dtype))
    for n in ("logits_cls", "logits_rep", "logits_fusion"):
        out["eval/" + n] = r[n]
    out["eval/logits"] = out["eval/logits_base_inference"] = r["logits_fusion"]
    out["eval/logits_novel_inference"] = r["logits_cls"]
    return {k: v.detach().numpy() for k, v in out.items()}


# ----------------------------------------------------------------------------------------------------------------
def fp16_exact(x):
    return x.astype(np.float16).astype(np.float32)


def digest(x, x0=None):
    """README 5.7 reductions in float64 of x (a gradient) or of x - x0 (parameters after a step), [shape0, rest]"""
    v = np.asarray(x, np.float64) - (0 if x0 is None else np.asarray(x0, np.float64))
    v = v.reshape(v.shape[0], -1)
    pre = "" if x0 is None else "delta_"
    return {pre + "sum_over_dim1": v.sum(axis=1), pre + "sum_over_dim0": v.sum(axis=0), pre + "sum": v.sum(),
            pre + "l2_norm": np.sqrt((v * v).sum()), pre + "max_abs": np.abs(v).max()}


def to_digests(r, init, index):
    """replaces the gradients and post-step values of the large tensors in r by their digests"""
    out = {}
    for k, v in r.items():
        grp, _, name = k.rpartition("/")
        head, _, leaf = grp.rpartition("/")
        if name not in index:
            out[k] = v
            continue
        if leaf == "grads":
            dg, x0 = head + "/grad_digests/" + name, None
        else:
            dg, x0 = head + "/" + leaf.replace("params_after", "digests_after") + "/" + name, init[name]
        out[dg + "/sample_values"] = v.reshape(-1)[index[name]]
        out.update({dg + "/" + n: d for n, d in digest(v, x0).items()})
    return out


def sample_index(init):
    rs = np.random.RandomState(12345)
    return {n: np.sort(rs.choice(v.size, N_SAMPLES, replace=False)).astype(np.int32)
            for n, v in init.items() if v.size > LARGE}


def new_file(path):
    """an HDF5 file in the latest format (smaller headers) with no modification times, byte-reproducible"""
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    fapl.set_libver_bounds(h5py.h5f.LIBVER_LATEST, h5py.h5f.LIBVER_LATEST)
    fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
    fcpl.set_obj_track_times(False)
    return h5py.h5f.create(path.encode("utf-8"), h5py.h5f.ACC_TRUNC, fcpl=fcpl, fapl=fapl)


def write(path, cfg, inputs, init, r32, r64, f16=(), index=None):
    """methods_fixture_ref.write plus float16 storage of the exactly representable initial values f16, the sample
    indices of the digests, float64 digest reductions and /config fp64_loss_abs_err"""
    tmp = path + ".tmp"
    with h5py.File(new_file(tmp)) as f:
        c = ref.group(f, "config")
        for k, v in cfg.items():
            c.attrs[k] = v
        gi = ref.group(f, "inputs")
        for k, arr in inputs.items():
            kw = dict(compression="gzip", compression_opts=9, shuffle=True) if arr.ndim == 4 else {}
            ref.dataset(gi, k, arr, **kw)
        for k, v in init.items():
            half = k in f16
            kw = dict(compression="gzip", compression_opts=9, shuffle=True) if v.size > LARGE else {}
            ds = ref.dataset(f, "init/" + k, v.astype(np.float16) if half else v, **kw)
            ds.attrs["stored_dtype"] = "float16 (exact)" if half else "float32"
        for k, v in (index or {}).items():
            ref.dataset(f, "digests/sample_index/" + k, v)
        worst, loss_err = 0.0, 0.0
        for k in sorted(r32):
            wide = k == "step0/loss" or (("digests" in k) and not k.endswith("sample_values"))
            arr = r32[k].astype(np.float64 if wide else np.float32)
            ds = ref.dataset(f, k, arr if arr.ndim else arr[()])
            rel, ab = mf.max_rel(r32[k], r64[k])
            ds.attrs["fp64_rel_err"], ds.attrs["fp64_max_abs_err"] = rel, ab
            if "loss" in k:
                loss_err = max(loss_err, ab)
            elif not wide:   # digest sums cancel: their relative error says nothing
                worst = max(worst, rel)
        c.attrs["fp64_max_rel_err"] = worst
        c.attrs["fp64_loss_abs_err"] = loss_err
    os.replace(tmp, path)


def deep_config(name, trainer, prompts, init, lr, repo):
    cfg = mf.common_config(name, trainer, prompts, sum(v.size for v in init.values()), lr)
    cfg.update({"repository": "none: plain torch in tests/reference/methods_deep_fixture_ref.py (clipgrid), "
                              "following shared/spec/methods.md and " + repo,
                "trainable_parameters": zs.vlen_strings(list(init)), "all_other_parameters_frozen": True,
                "harness_notes": "see the docstring of tests/reference/methods_deep_fixture_ref.py",
                "test_batch_size": np.int64(len(TEST_LABELS)), "large_tensor_threshold": np.int64(LARGE),
                "large_tensors": zs.vlen_strings([n for n, v in init.items() if v.size > LARGE])})
    return cfg


def uniform(g, shape, bound):
    """PyTorch's default Linear init U(-bound, bound), rounded to multiples of 2^-10 (exact in fp16, stored as
    float16 in /init; the few distinct values keep the compressed file small)"""
    u = (torch.rand(shape, generator=g, dtype=torch.float64) * 2 - 1) * bound
    return fp16_exact((torch.round(u * 1024) / 1024).float().numpy())


def normal(g, shape, std):
    return (torch.randn(shape, generator=g, dtype=torch.float64) * std).float().numpy()


def make_maple(args, w, tok, base, images, labels, test_images, g):
    n, J, D, W = MAPLE["n_ctx"], MAPLE["depth"], ref.D, ref.W
    prompts, ids, eot, name_lens = mf.class_tokens(tok, MAPLE["ctx_init"])
    ctx_ids = np.zeros((1, zs.CTX), np.int64)
    t = tok.tokenize(MAPLE["ctx_init"])
    ctx_ids[0, :len(t)] = t
    b = 1 / math.sqrt(D)
    init = {"prompt_learner.ctx": w["token_embedding.weight"][ctx_ids[0, 1:1 + n]].astype(np.float32),
            "prompt_learner.proj.weight": uniform(g, (W, D), b), "prompt_learner.proj.bias": uniform(g, (W,), b)}
    for k in range(J - 1):
        init["prompt_learner.compound_prompts_text.%d" % k] = normal(g, (n, D), 0.02)
    for k in range(J - 1):
        init["prompt_learner.compound_prompt_projections.%d.weight" % k] = uniform(g, (W, D), b)
        init["prompt_learner.compound_prompt_projections.%d.bias" % k] = uniform(g, (W,), b)
    assert list(init) == maple_names(J)
    r32 = run_maple(w, ids, eot, init, images, labels, test_images, torch.float32)
    r64 = run_maple(w, ids, eot, init, images, labels, test_images, torch.float64)
    r32["steps/lr_per_step"] = r64["steps/lr_per_step"] = np.full(STEPS, MAPLE["lr"])
    cfg = deep_config("maple_other", "MaPLe", prompts, init, MAPLE["lr"],
                      "muzairkhattak/multimodal-prompt-learning@69bce21 trainers/maple.py, clip/model.py")
    cfg.update({"n_ctx_config": np.int64(n), "n_ctx": np.int64(n), "ctx_init": MAPLE["ctx_init"],
                "prompt_depth": np.int64(J),
                "tokenized_strings_during_build": zs.vlen_strings([MAPLE["ctx_init"]] + prompts)})
    f16 = [k for k in init if "proj" in k]
    cfg["init_stored_as_float16"] = zs.vlen_strings(f16)
    index = sample_index(init)
    write(os.path.join(args.outdir, "maple_other.h5"), cfg,
          dict(base, tokenized_prompts=ids, eot_indices=eot, name_lens=name_lens, ctx_init_tokens=ctx_ids),
          init, to_digests(r32, init, index), to_digests(r64, init, index), f16=f16, index=index)


def make_mmrl(args, w, tok, base, images, labels, test_images, g):
    K, dr, L, D, W, E = MMRL["n_rep"], MMRL["rep_dim"], len(MMRL["rep_layers"]), ref.D, ref.W, ref.E
    prompts, ids, eot = zs.build_prompts(tok, zs.TEMPLATE, zs.CLASSNAMES)
    b = 1 / math.sqrt(dr)
    init = {REP: normal(g, (K, dr), 0.02)}
    for d, width in (("v", W), ("t", D)):
        for j in range(L):
            init[mmrl_lin(d, j, "weight")] = uniform(g, (width, dr), b)
            init[mmrl_lin(d, j, "bias")] = uniform(g, (width,), b)
    init[PROJ_REP] = fp16_exact(np.round(normal(g, (W, E), W ** -0.5) * 1024) / 1024)
    assert list(init) == mmrl_names(L)
    r32 = run_mmrl(w, ids, eot, init, images, labels, test_images, torch.float32)
    r64 = run_mmrl(w, ids, eot, init, images, labels, test_images, torch.float64)
    r32["steps/lr_per_step"] = r64["steps/lr_per_step"] = np.full(STEPS, MMRL["lr"])
    r32["step0/loss_recomputed_from_components"] = r64["step0/loss_recomputed_from_components"] = np.float32(
        MMRL["alpha"] * r32["step0/loss_ce_cls"] + (1 - MMRL["alpha"]) * r32["step0/loss_ce_rep"]
        + MMRL["reg_weight"] * (r32["step0/loss_reg_image"] + r32["step0/loss_reg_text"]))
    cfg = deep_config("mmrl_other", "MMRL", prompts, init, MMRL["lr"],
                      "yunncheng/MMRL@27d8821 trainers/mmrl.py, clip/model_mmrl.py")
    cfg.update({"alpha": MMRL["alpha"], "reg_weight": MMRL["reg_weight"],
                "rep_layers": np.array(MMRL["rep_layers"], np.int64), "rep_dim": np.int64(dr),
                "n_rep_tokens": np.int64(K), "task": "B2N", "template": zs.TEMPLATE,
                "logit_multiplier": MMRL_SCALE})
    f16 = [k for k in init if "proj" in k]
    cfg["init_stored_as_float16"] = zs.vlen_strings(f16)
    index = sample_index(init)
    write(os.path.join(args.outdir, "mmrl_other.h5"), cfg, dict(base, tokenized_prompts=ids, eot_indices=eot),
          init, to_digests(r32, init, index), to_digests(r64, init, index), f16=f16,
          index=index)


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
    images = zs.make_images(rs, len(mf.TRAIN_LABELS), ref.RES)
    test_images = zs.make_images(rs, len(mf.TEST_LABELS), ref.RES)[:len(TEST_LABELS)]
    labels, test_labels = np.array(mf.TRAIN_LABELS, np.int64), np.array(TEST_LABELS, np.int64)
    base = {"images": images, "labels": labels, "test_images": test_images, "test_labels": test_labels}
    g = torch.Generator().manual_seed(INIT_SEED)
    make_maple(args, w, tok, base, images, labels, test_images, g)
    make_mmrl(args, w, tok, base, images, labels, test_images, g)
    for n in ("maple_other.h5", "mmrl_other.h5"):
        path = os.path.join(args.outdir, n)
        with h5py.File(path) as f:
            big = len(f["config"].attrs["large_tensors"])
            print("%s: %d bytes, %d tensors as digests, fp64_max_rel_err %.3g, fp64_loss_abs_err %.3g, "
                  "step-0 loss %.7f, losses %s" % (
                      n, os.path.getsize(path), big, f["config"].attrs["fp64_max_rel_err"],
                      f["config"].attrs["fp64_loss_abs_err"], f["step0/loss"][()], f["steps/losses"][()]))
            for k in ("steps/params_after_step3",):
                if k in f:
                    print("  %s: max fp64 abs err %.3g" % (k, max(f[k][n].attrs["fp64_max_abs_err"] for n in f[k])))
                    print("  the same, digests: %.3g" % max(d.attrs["fp64_max_abs_err"] for n in f[k.replace(
                        "params", "digests")] for d in f[k.replace("params", "digests")][n].values()))
    print("%.1f s" % (time.time() - t0))


if __name__ == "__main__":
    main()
