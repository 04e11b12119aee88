#!/usr/bin/python3
"""tests/reference/methods_deep_bench_ref.py — the PyTorch reference figures for
tests/bench/bench_methods_deep.c: one training step (forward, loss, backward, optimiser step)
of MaPLe, MuDPT (UUMuDPT) and MMRL with ViT-B/16 dimensions and random weights, computed the
way the official code computes it (methods.md; the official repositories' model code
re-typed here in its structure, not copied): nn.MultiheadAttention blocks on (L, N, D)
sequences, all 77 text tokens of every class prompt, prompts concatenated in at every depth,
MMRL with a second frozen CLIP for the zero-shot image features, autograd backward.

  --threads N   torch threads (default: all cores)
  --classes C   (50)   --batch B (4)   --reps R (2, after one warm-up step)
  --eot LIST    comma-separated end-of-text positions of the class prompts (from the C bench,
                so both sides use the same prompts); default: 8 for every class
  --methods     comma list of maple,mudpt,mmrl
  --device cuda the same shapes on the GPU (each timed step ends with torch.cuda.synchronize();
                fp32 there without TF32, as clipgrid's fp32 products)
  --half        the official runs' precision (PREC fp16): the frozen CLIPs in float16 (LayerNorm
                in float32, as CLIP's); the learnable prompts, projections and MuDPT's injection
                blocks stay float32 and their outputs are cast to float16 where they enter the
                towers (the cost that matters, the towers, is the official one); needs --device cuda
Prints "<method>_ms X Y" per method: wall-clock ms and process CPU ms (all threads) of the
fastest timed step. Works with torch 1.13 (Debian's, CPU) and torch 2.x (CUDA)."""
import argparse
import time
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=0)
p.add_argument("--classes", type=int, default=50)
p.add_argument("--batch", type=int, default=4)
p.add_argument("--reps", type=int, default=2)
p.add_argument("--eot", default="")
p.add_argument("--methods", default="maple,mudpt,mmrl")
p.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
p.add_argument("--half", action="store_true")
args = p.parse_args()
if args.half and args.device != "cuda":
    p.error("--half needs --device cuda")
if args.threads > 0:
    torch.set_num_threads(args.threads)
if args.device == "cuda":
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
DEV, DT = torch.device(args.device), (torch.float16 if args.half else torch.float32)
torch.manual_seed(0)

VW, VL, TW, TL, E, R, PATCH, CTX, VOCAB = 768, 12, 512, 12, 512, 224, 16, 77, 49408
C, B = args.classes, args.batch
EOT = [int(x) for x in args.eot.split(",")] if args.eot else [8] * C
assert len(EOT) == C


class LayerNorm(nn.LayerNorm):
    def forward(self, x):
        t = x.dtype
        return super().forward(x.type(torch.float32)).type(t)


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class Block(nn.Module):
    """CLIP's ResidualAttentionBlock (also MuDPT's LightTransformer)."""

    def __init__(self, d, heads, mask=None):
        super().__init__()
        self.attn = nn.MultiheadAttention(d, heads)
        self.ln_1, self.ln_2 = LayerNorm(d), LayerNorm(d)
        self.mlp = nn.Sequential(OrderedDict([("c_fc", nn.Linear(d, 4 * d)), ("gelu", QuickGELU()),
                                              ("c_proj", nn.Linear(4 * d, d))]))
        self.mask = mask

    def forward(self, x):
        m = None
        if self.mask is not None:
            n = x.shape[0]
            m = torch.full((n, n), float("-inf"), device=x.device, dtype=x.dtype).triu_(1)  # at the current length
        a = self.ln_1(x)
        x = x + self.attn(a, a, a, need_weights=False, attn_mask=m)[0]
        return x + self.mlp(self.ln_2(x))


class Clip(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, VW, PATCH, PATCH, bias=False)
        self.class_embedding = nn.Parameter(torch.randn(VW) * VW ** -0.5)
        self.vpos = nn.Parameter(torch.randn((R // PATCH) ** 2 + 1, VW) * VW ** -0.5)
        self.ln_pre, self.ln_post = LayerNorm(VW), LayerNorm(VW)
        self.vblocks = nn.ModuleList([Block(VW, VW // 64) for _ in range(VL)])
        self.proj = nn.Parameter(torch.randn(VW, E) * VW ** -0.5)
        self.token_embedding = nn.Embedding(VOCAB, TW)
        self.tpos = nn.Parameter(torch.randn(CTX, TW) * 0.01)
        self.tblocks = nn.ModuleList([Block(TW, TW // 64, mask=True) for _ in range(TL)])
        self.ln_final = LayerNorm(TW)
        self.text_projection = nn.Parameter(torch.randn(TW, E) * TW ** -0.5)
        self.logit_scale = nn.Parameter(torch.tensor(4.6052))
        for q in self.parameters():
            q.requires_grad_(False)
        self.to(device=DEV, dtype=DT)

    def stem(self, img):
        x = self.conv1(img.type(DT)).flatten(2).permute(0, 2, 1)
        cls = self.class_embedding + torch.zeros(x.shape[0], 1, VW, device=x.device, dtype=x.dtype)
        return torch.cat([cls, x], 1) + self.vpos

    def encode_image(self, img):  # the frozen zero-shot path
        x = self.ln_pre(self.stem(img)).permute(1, 0, 2)
        for blk in self.vblocks:
            x = blk(x)
        return self.ln_post(x.permute(1, 0, 2)[:, 0]) @ self.proj


def token_ids():
    ids = torch.randint(1, 49000, (C, CTX))
    for c, e in enumerate(EOT):
        ids[c, 0], ids[c, e], ids[c, e + 1:] = 49406, 49407, 0
    return ids.to(DEV)


def learnable(module):
    """a method's learnable parts: float32 on the run's device"""
    return module.to(device=DEV)


def h(x):
    """a learnable part's output entering a frozen tower: the tower's dtype"""
    return x.type(DT)


def train_step(model, params, opt, images, labels):
    opt.zero_grad()
    loss = model(images, labels)
    loss.backward()
    opt.step()


# ---- MaPLe (trainers/maple.py, clip/model.py) --------------------------------------------------
class MaPLe(nn.Module):
    def __init__(self, clip, depth=9, n=2):
        super().__init__()
        self.clip, self.n, self.depth = clip, n, depth
        ids = token_ids()
        self.eot = ids.argmax(-1)
        with torch.no_grad():
            emb = clip.token_embedding(ids)
        self.prefix, self.suffix = emb[:, :1], emb[:, 1 + n:]
        self.ctx = nn.Parameter(torch.randn(n, TW) * 0.02)
        self.proj = nn.Linear(TW, VW)
        self.compound_prompts_text = nn.ParameterList([nn.Parameter(torch.randn(n, TW) * 0.02)
                                                       for _ in range(depth - 1)])
        self.compound_prompt_projections = nn.ModuleList([nn.Linear(TW, VW) for _ in range(depth - 1)])

    def text(self):
        ctx = h(self.ctx).unsqueeze(0).expand(C, -1, -1)
        x = torch.cat([self.prefix, ctx, self.suffix], 1) + self.clip.tpos
        x = x.permute(1, 0, 2)
        for i, blk in enumerate(self.clip.tblocks):
            if 1 <= i < self.depth:
                p = h(self.compound_prompts_text[i - 1]).expand(x.shape[1], -1, -1).permute(1, 0, 2)
                x = torch.cat([x[:1], p, x[1 + self.n:]], 0)
            x = blk(x)
        x = self.clip.ln_final(x.permute(1, 0, 2))
        return x[torch.arange(C, device=DEV), self.eot] @ self.clip.text_projection

    def image(self, img):
        vis = [h(self.proj(self.ctx))] + [h(f(p)) for f, p in zip(self.compound_prompt_projections,
                                                                  self.compound_prompts_text)]
        x = self.clip.stem(img)
        x = torch.cat([x, vis[0].expand(x.shape[0], -1, -1)], 1)
        x = self.clip.ln_pre(x).permute(1, 0, 2)
        for i, blk in enumerate(self.clip.vblocks):
            if 1 <= i < self.depth:
                p = vis[i].expand(x.shape[1], -1, -1).permute(1, 0, 2)
                x = torch.cat([x[:-self.n], p], 0)
            x = blk(x)
        return self.clip.ln_post(x.permute(1, 0, 2)[:, 0]) @ self.clip.proj

    def forward(self, img, labels):
        f, g = self.image(img), self.text()
        f, g = f / f.norm(dim=-1, keepdim=True), g / g.norm(dim=-1, keepdim=True)
        return F.cross_entropy(self.clip.logit_scale.exp() * f @ g.t(), labels)


# ---- MuDPT / UUMuDPT (trainers/uumudpt.py, clip/model.py) ----------------------------------------
class Inject(nn.Module):
    def __init__(self, d, out):
        super().__init__()
        self.ln_pre, self.block, self.ln_post = LayerNorm(d), Block(d, d // 64), LayerNorm(d)
        self.proj = nn.Linear(d, out)

    def forward(self, x):  # x [G, n, d]: attention over the n rows of each group
        x = self.block(self.ln_pre(x).permute(1, 0, 2)).permute(1, 0, 2)
        return self.proj(self.ln_post(x))


class MuDPT(MaPLe):
    def __init__(self, clip, depth=9, n=2):
        nn.Module.__init__(self)
        self.clip, self.n, self.depth = clip, n, depth
        ids = token_ids()
        self.eot = ids.argmax(-1)
        with torch.no_grad():
            emb = clip.token_embedding(ids)
        self.prefix, self.suffix = emb[:, :1], emb[:, 1 + n:]
        self.ctx = nn.Parameter(torch.randn(n, TW) * 0.02)
        self.deep_prompts = nn.Parameter(torch.randn(depth - 1, n, TW) * 0.02)
        self.t2v = Inject(TW, VW)
        self.visual_ctx = nn.Parameter(torch.randn(n, VW) * 0.02)
        self.visual_ctx_deep_prompts = nn.Parameter(torch.randn(depth - 1, n, VW) * 0.02)
        self.v2t = Inject(VW, TW)

    def forward(self, img, labels):
        tp = self.t2v(torch.cat([self.ctx.unsqueeze(0), self.deep_prompts], 0))
        vis = h(torch.cat([(tp[:1] + self.visual_ctx.unsqueeze(0)), tp[1:] + self.visual_ctx_deep_prompts], 0))
        txt = h(self.deep_prompts + self.v2t(self.visual_ctx_deep_prompts))
        x = self.clip.stem(img)
        x = torch.cat([x, vis[0].expand(x.shape[0], -1, -1)], 1)
        x = self.clip.ln_pre(x).permute(1, 0, 2)
        for i, blk in enumerate(self.clip.vblocks):
            if 1 <= i < self.depth:
                x = torch.cat([x[:-self.n], vis[i].expand(x.shape[1], -1, -1).permute(1, 0, 2)], 0)
            x = blk(x)
        f = self.clip.ln_post(x.permute(1, 0, 2)[:, 0]) @ self.clip.proj
        ctx = h(self.ctx).unsqueeze(0).expand(C, -1, -1)
        x = (torch.cat([self.prefix, ctx, self.suffix], 1) + self.clip.tpos).permute(1, 0, 2)
        for i, blk in enumerate(self.clip.tblocks):
            if 1 <= i < self.depth:
                x = torch.cat([x[:1], txt[i - 1].expand(x.shape[1], -1, -1).permute(1, 0, 2),
                               x[1 + self.n:]], 0)
            x = blk(x)
        g = self.clip.ln_final(x.permute(1, 0, 2))[torch.arange(C, device=DEV), self.eot] @ self.clip.text_projection
        f, g = f / f.norm(dim=-1, keepdim=True), g / g.norm(dim=-1, keepdim=True)
        return F.cross_entropy(self.clip.logit_scale.exp() * f @ g.t(), labels)


# ---- MMRL (trainers/mmrl.py, clip/model_mmrl.py) ---------------------------------------------------
class MMRL(nn.Module):
    def __init__(self, clip, zs_clip, layers=(6, 7, 8, 9, 10, 11, 12), K=5, dr=512, alpha=0.7, lam=0.5):
        super().__init__()
        self.clip, self.zs, self.layers, self.K, self.alpha, self.lam = clip, zs_clip, layers, K, alpha, lam
        ids = token_ids()
        self.eot = ids.argmax(-1)
        with torch.no_grad():
            self.emb = clip.token_embedding(ids)
            g = zs_clip.ln_final(self.plain_text(zs_clip))[torch.arange(C, device=DEV), self.eot]
            g = g @ zs_clip.text_projection
            self.zs_text = g / g.norm(dim=-1, keepdim=True)
        self.compound_rep_tokens = nn.Parameter(torch.randn(K, dr) * 0.02)
        self.r2v = nn.ModuleList([nn.Linear(dr, VW) for _ in layers])
        self.r2t = nn.ModuleList([nn.Linear(dr, TW) for _ in layers])
        self.proj_rep = nn.Parameter(torch.randn(VW, E) * VW ** -0.5)

    def plain_text(self, clip):
        x = (self.emb + clip.tpos).permute(1, 0, 2)
        for blk in clip.tblocks:
            x = blk(x)
        return x.permute(1, 0, 2)

    def run(self, x, blocks, tokens):
        j = 0
        for i, blk in enumerate(blocks):
            if i + 1 in self.layers:
                t = tokens[j].expand(x.shape[1], -1, -1).permute(1, 0, 2)
                x = torch.cat([x[:1], t, x[1:] if j == 0 else x[1 + self.K:]], 0)
                j += 1
            x = blk(x)
        return x.permute(1, 0, 2)

    def forward(self, img, labels):
        with torch.no_grad():
            fz = self.zs.encode_image(img)
            fz = fz / fz.norm(dim=-1, keepdim=True)
        rt = [h(f(self.compound_rep_tokens)) for f in self.r2t]
        rv = [h(f(self.compound_rep_tokens)) for f in self.r2v]
        x = self.run((self.emb + self.clip.tpos).permute(1, 0, 2), self.clip.tblocks, rt)
        g = self.clip.ln_final(x)[torch.arange(C, device=DEV), self.eot + self.K] @ self.clip.text_projection
        x = self.run(self.clip.ln_pre(self.clip.stem(img)).permute(1, 0, 2), self.clip.vblocks, rv)
        fr = self.clip.ln_post(x[:, 1:1 + self.K]).mean(1) @ h(self.proj_rep)
        fc = self.clip.ln_post(x[:, 0]) @ self.clip.proj
        fc, fr = fc / fc.norm(dim=-1, keepdim=True), fr / fr.norm(dim=-1, keepdim=True)
        g = g / g.norm(dim=-1, keepdim=True)
        lc, lr = 100. * fc @ g.t(), 100. * fr @ g.t()
        return (self.alpha * F.cross_entropy(lc, labels) + (1 - self.alpha) * F.cross_entropy(lr, labels)
                + self.lam * (1 - F.cosine_similarity(fc, fz, dim=1).mean())
                + self.lam * (1 - F.cosine_similarity(g, self.zs_text, dim=1).mean()))


def sync():
    if DEV.type == "cuda":
        torch.cuda.synchronize()


def bench(name, model, opt):
    images, labels = torch.randn(B, 3, R, R).to(DEV, DT), torch.randint(0, C, (B,)).to(DEV)
    params = [q for q in model.parameters() if q.requires_grad]
    times, cpu = [], []
    for r in range(args.reps + 1):
        sync()
        t, c = time.perf_counter(), time.process_time()
        train_step(model, params, opt, images, labels)
        sync()
        if r:
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
    print(f"{name}_ms {1000 * min(times):.1f} {1000 * min(cpu):.1f}", flush=True)


clip = Clip()
for name in args.methods.split(","):
    if name == "maple":
        m = learnable(MaPLe(clip))
        bench(name, m, torch.optim.SGD([q for q in m.parameters() if q.requires_grad], lr=0.0035,
                                       momentum=0.9, weight_decay=5e-4))
    elif name == "mudpt":
        m = learnable(MuDPT(clip))
        bench(name, m, torch.optim.SGD([q for q in m.parameters() if q.requires_grad], lr=0.0025,
                                       momentum=0.9, weight_decay=5e-4))
    elif name == "mmrl":
        m = learnable(MMRL(clip, Clip()))
        bench(name, m, torch.optim.AdamW([q for q in m.parameters() if q.requires_grad], lr=1e-3,
                                         weight_decay=5e-4))
    del m
where = torch.cuda.get_device_name(0) if DEV.type == "cuda" else "cpu"
print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {where}, {str(DT)[6:]}")
