#!/usr/bin/python3
"""methods_bench_ref.py: one training step of a prompt-learning method computed the way the official
PyTorch code computes it, timed, for `make bench` (tests/bench/bench_methods.c runs this script in the same
run as its own step and prints both).

The model is CLIP with ViT-B/16 dimensions and random weights, written here the way OpenAI's clip/model.py
is written (nn.MultiheadAttention with the causal mask for the text, pre-LN residual blocks, QuickGELU, the
class token pooled by ln_post and visual.proj, the EOT row pooled by ln_final and text_projection), frozen,
in float32. The methods follow CoOp's trainers (CoOp: trainers/coop.py, trainers/cocoop.py as described in
shared/spec/protocol.md sections 2-4):
  coop    PromptLearner: [SOS, ctx (4 rows), class tokens, '.', EOT, padding] for every class, all 77 rows
          through the text encoder, image features without gradient, logits = exp(s) x^ t^T, cross-entropy,
          backward to the context, SGD step (momentum 0.9, weight decay 5e-4).
  cocoop  the meta-net on the normalised image feature, the instance-conditioned context, and for every image
          the text encoder over all class prompts (77 rows each), as CoCoOp's CustomCLIP.forward does.
Other methods add their cases in their own script (methods_bench_ref_deep.py) with the helpers below.

Usage: /usr/bin/python3 tests/reference/methods_bench_ref.py --case coop --batch 32 --classes 50
           [--threads N] [--reps R] [--device cpu|cuda] [--half]
Prints one line: "case=coop ms=<best wall-clock of R steps after one warm-up> cpu_ms=<best process CPU
time, all threads>".
  --device cuda  the same shapes on the GPU; every timed step ends with torch.cuda.synchronize(). fp32 runs
                 there keep TF32 off (matmul and cuDNN), as clipgrid's fp32 products.
  --half         the official runs' precision (CoOp/CoCoOp PREC fp16): the frozen CLIP in float16 (clip_model.half();
                 LayerNorm computed in float32 as CLIP's LayerNorm does), the learnable context created in the
                 CLIP dtype as the official PromptLearner does, CoCoOp's meta-net .half(); needs --device cuda.
Works with torch 1.13 (Debian's, CPU) and torch 2.x (CUDA).
"""
import argparse
import math
import os
import sys
import time


def parse_args(argv=None, extra_cases=()):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--case", required=True)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--classes", type=int, default=50)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--name-tokens", type=int, default=2, help="BPE tokens per class name")
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    ap.add_argument("--half", action="store_true", help="CLIP in float16 as the official runs (CUDA only)")
    args = ap.parse_args(argv)
    if args.half and args.device != "cuda":
        ap.error("--half needs --device cuda (float16 products on the CPU are not what the official runs time)")
    return args


ARGS = parse_args() if __name__ == "__main__" else None
if ARGS is not None and ARGS.threads > 0:
    for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[v] = str(ARGS.threads)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

SOS, EOT, CTX_LEN = 49406, 49407, 77


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class LayerNorm(nn.LayerNorm):
    """CLIP's LayerNorm: computed in float32 whatever the input dtype (the identity on float32)."""

    def forward(self, x):
        t = x.dtype
        return super().forward(x.type(torch.float32)).type(t)


class Block(nn.Module):
    def __init__(self, d, heads, mask=None):
        super().__init__()
        self.attn = nn.MultiheadAttention(d, heads)
        self.ln_1 = LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), QuickGELU(), nn.Linear(4 * d, d))
        self.ln_2 = LayerNorm(d)
        self.mask = mask

    def forward(self, x):  # [T, N, d], as OpenAI's code
        m = self.mask.to(device=x.device, dtype=x.dtype) if self.mask is not None else None
        y = self.ln_1(x)
        x = x + self.attn(y, y, y, need_weights=False, attn_mask=m)[0]
        return x + self.mlp(self.ln_2(x))


class Clip(nn.Module):
    """CLIP ViT-B/16 dimensions, random weights, frozen."""

    def __init__(self, W=768, VL=12, patch=16, res=224, D=512, TL=12, E=512, vocab=49408):
        super().__init__()
        g = res // patch
        self.conv1 = nn.Conv2d(3, W, patch, patch, bias=False)
        self.class_embedding = nn.Parameter(torch.randn(W) * W ** -0.5)
        self.vpos = nn.Parameter(torch.randn(g * g + 1, W) * W ** -0.5)
        self.ln_pre, self.ln_post = LayerNorm(W), LayerNorm(W)
        self.vblocks = nn.Sequential(*[Block(W, W // 64) for _ in range(VL)])
        self.vproj = nn.Parameter(torch.randn(W, E) * W ** -0.5)
        mask = torch.full((CTX_LEN, CTX_LEN), float("-inf")).triu_(1)
        self.token_embedding = nn.Embedding(vocab, D)
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        self.tpos = nn.Parameter(torch.randn(CTX_LEN, D) * 0.01)
        self.tblocks = nn.Sequential(*[Block(D, D // 64, mask) for _ in range(TL)])
        self.ln_final = LayerNorm(D)
        self.text_projection = nn.Parameter(torch.randn(D, E) * D ** -0.5)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(100.0)))
        for p in self.parameters():
            p.requires_grad_(False)

    @property
    def dtype(self):
        return self.conv1.weight.dtype

    def encode_image(self, x):
        x = self.conv1(x.type(self.dtype)).flatten(2).permute(0, 2, 1)
        cls = self.class_embedding.expand(x.shape[0], 1, -1)
        x = self.ln_pre(torch.cat([cls, x], 1) + self.vpos)
        x = self.vblocks(x.permute(1, 0, 2)).permute(1, 0, 2)
        return self.ln_post(x[:, 0, :]) @ self.vproj

    def encode_text_embeds(self, prompts, tokenized):  # CoOp's TextEncoder
        x = (prompts + self.tpos).permute(1, 0, 2)
        x = self.tblocks(x).permute(1, 0, 2)
        x = self.ln_final(x)
        return x[torch.arange(x.shape[0], device=x.device), tokenized.argmax(dim=-1)] @ self.text_projection


def class_tokens(C, n_ctx, name_tokens):
    """[C, 77] ids: SOS, n_ctx context placeholders, name tokens, '.', EOT, zeros."""
    ids = torch.zeros(C, CTX_LEN, dtype=torch.long)
    for c in range(C):
        row = [SOS] + [343] * n_ctx + [1000 + (c * name_tokens + k) % 40000 for k in range(name_tokens)]
        row += [269, EOT]
        ids[c, :len(row)] = torch.tensor(row)
    return ids


class CoOpLearner(nn.Module):
    def __init__(self, clip, C, n_ctx=4, name_tokens=2):
        super().__init__()
        D = clip.token_embedding.weight.shape[1]
        dev, dtype = clip.token_embedding.weight.device, clip.dtype
        self.ctx = nn.Parameter((torch.randn(n_ctx, D) * 0.02).to(device=dev, dtype=dtype))
        self.tokenized = class_tokens(C, n_ctx, name_tokens).to(dev)
        with torch.no_grad():
            emb = clip.token_embedding(self.tokenized)
        self.register_buffer("token_prefix", emb[:, :1, :])
        self.register_buffer("token_suffix", emb[:, 1 + n_ctx:, :])
        self.C = C

    def forward(self):
        ctx = self.ctx.unsqueeze(0).expand(self.C, -1, -1)
        return torch.cat([self.token_prefix, ctx, self.token_suffix], dim=1)


def coop_step(clip, learner, opt, images, labels):
    image_features = clip.encode_image(images)
    text_features = clip.encode_text_embeds(learner(), learner.tokenized)
    image_features = image_features / image_features.norm(dim=-1, keepdim=True)
    text_features = text_features / text_features.norm(dim=-1, keepdim=True)
    logits = clip.logit_scale.exp() * image_features @ text_features.t()
    loss = F.cross_entropy(logits, labels)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss


class CoCoOpLearner(CoOpLearner):
    def __init__(self, clip, C, n_ctx=4, name_tokens=2):
        super().__init__(clip, C, n_ctx, name_tokens)
        E = clip.vproj.shape[1]
        D = self.ctx.shape[1]
        self.meta_net = nn.Sequential(nn.Linear(E, E // 16), nn.ReLU(inplace=True), nn.Linear(E // 16, D))
        self.meta_net.to(device=self.ctx.device, dtype=self.ctx.dtype)  # CoCoOp: .half() at PREC fp16

    def forward(self, im_features):
        bias = self.meta_net(im_features).unsqueeze(1)
        ctx_shifted = self.ctx.unsqueeze(0) + bias
        prompts = []
        for ctx_i in ctx_shifted:
            ctx_i = ctx_i.unsqueeze(0).expand(self.C, -1, -1)
            prompts.append(torch.cat([self.token_prefix, ctx_i, self.token_suffix], dim=1))
        return torch.stack(prompts)


def cocoop_step(clip, learner, opt, images, labels):
    image_features = clip.encode_image(images)
    image_features = image_features / image_features.norm(dim=-1, keepdim=True)
    prompts = learner(image_features)
    logits = []
    for pts_i, imf_i in zip(prompts, image_features):
        text_features = clip.encode_text_embeds(pts_i, learner.tokenized)
        text_features = text_features / text_features.norm(dim=-1, keepdim=True)
        logits.append(clip.logit_scale.exp() * imf_i @ text_features.t())
    loss = F.cross_entropy(torch.stack(logits), labels)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss


def sync(device):
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def time_steps(step, reps, device="cpu"):
    """best wall-clock and best process CPU time (all threads) of reps steps after a warm-up, ms; on the GPU
    each step is timed from an idle device to the end of its last kernel"""
    step()  # warm-up
    sync(device)
    best, best_cpu = float("inf"), float("inf")
    for _ in range(reps):
        t, c = time.perf_counter(), time.process_time()
        step()
        sync(device)
        best = min(best, time.perf_counter() - t)
        best_cpu = min(best_cpu, time.process_time() - c)
    return best * 1e3, best_cpu * 1e3


def setup_device(args):
    """threads; on the GPU fp32 without TF32 (clipgrid's fp32 products are plain fp32)"""
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    if args.device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = True
    return torch.device(args.device), torch.float16 if args.half else torch.float32


def setup(args):
    dev, dtype = setup_device(args)
    torch.manual_seed(0)
    clip = Clip().eval().to(device=dev, dtype=dtype)
    images = torch.randn(args.batch, 3, 224, 224).to(device=dev, dtype=dtype)
    labels = torch.randint(0, args.classes, (args.batch,)).to(dev)
    return clip, images, labels


def run_case(args, cases):
    clip, images, labels = setup(args)
    make_learner, step = cases[args.case]
    learner = make_learner(clip, args)
    opt = torch.optim.SGD(learner.parameters(), lr=0.002, momentum=0.9, weight_decay=5e-4)
    ms, cpu_ms = time_steps(lambda: step(clip, learner, opt, images, labels), args.reps, args.device)
    where = torch.cuda.get_device_name(0) if args.device == "cuda" else "cpu"
    print(f"case={args.case} ms={ms:.1f} cpu_ms={cpu_ms:.1f} threads={torch.get_num_threads()} device={where} "
          f"dtype={'float16' if args.half else 'float32'} torch={torch.__version__}")


CASES = {
    "coop": (lambda clip, a: CoOpLearner(clip, a.classes, 4, a.name_tokens), coop_step),
    "cocoop": (lambda clip, a: CoCoOpLearner(clip, a.classes, 4, a.name_tokens), cocoop_step),
}

if __name__ == "__main__":
    if ARGS.case not in CASES:
        sys.exit(f"unknown case {ARGS.case} (known: {', '.join(CASES)})")
    run_case(ARGS, CASES)
