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
           [--threads N] [--reps R]
Prints one line: "case=coop ms=<best wall-clock of R steps after one warm-up> cpu_ms=<best process CPU
time, all threads>".
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
    return ap.parse_args(argv)


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


class Block(nn.Module):
    def __init__(self, d, heads, mask=None):
        super().__init__()
        self.attn = nn.MultiheadAttention(d, heads)
        self.ln_1 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), QuickGELU(), nn.Linear(4 * d, d))
        self.ln_2 = nn.LayerNorm(d)
        self.mask = mask

    def forward(self, x):  # [T, N, d], as OpenAI's code
        m = self.mask.to(dtype=x.dtype) if self.mask is not None else None
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
        self.ln_pre, self.ln_post = nn.LayerNorm(W), nn.LayerNorm(W)
        self.vblocks = nn.Sequential(*[Block(W, W // 64) for _ in range(VL)])
        self.vproj = nn.Parameter(torch.randn(W, E) * W ** -0.5)
        mask = torch.full((CTX_LEN, CTX_LEN), float("-inf")).triu_(1)
        self.token_embedding = nn.Embedding(vocab, D)
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        self.tpos = nn.Parameter(torch.randn(CTX_LEN, D) * 0.01)
        self.tblocks = nn.Sequential(*[Block(D, D // 64, mask) for _ in range(TL)])
        self.ln_final = nn.LayerNorm(D)
        self.text_projection = nn.Parameter(torch.randn(D, E) * D ** -0.5)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(100.0)))
        for p in self.parameters():
            p.requires_grad_(False)

    def encode_image(self, x):
        x = self.conv1(x).flatten(2).permute(0, 2, 1)
        cls = self.class_embedding.expand(x.shape[0], 1, -1)
        x = self.ln_pre(torch.cat([cls, x], 1) + self.vpos)
        x = self.vblocks(x.permute(1, 0, 2)).permute(1, 0, 2)
        return self.ln_post(x[:, 0, :]) @ self.vproj

    def encode_text_embeds(self, prompts, tokenized):  # CoOp's TextEncoder
        x = (prompts + self.tpos).permute(1, 0, 2)
        x = self.tblocks(x).permute(1, 0, 2)
        x = self.ln_final(x)
        return x[torch.arange(x.shape[0]), tokenized.argmax(dim=-1)] @ self.text_projection


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
        self.ctx = nn.Parameter(torch.randn(n_ctx, D) * 0.02)
        self.tokenized = class_tokens(C, n_ctx, name_tokens)
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


def time_steps(step, reps):
    """best wall-clock and best process CPU time (all threads) of reps steps after a warm-up, ms"""
    step()  # warm-up
    best, best_cpu = float("inf"), float("inf")
    for _ in range(reps):
        t, c = time.perf_counter(), time.process_time()
        step()
        best = min(best, time.perf_counter() - t)
        best_cpu = min(best_cpu, time.process_time() - c)
    return best * 1e3, best_cpu * 1e3


def setup(args):
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    clip = Clip().eval()
    images = torch.randn(args.batch, 3, 224, 224)
    labels = torch.randint(0, args.classes, (args.batch,))
    return clip, images, labels


def run_case(args, cases):
    clip, images, labels = setup(args)
    make_learner, step = cases[args.case]
    learner = make_learner(clip, args)
    opt = torch.optim.SGD(learner.parameters(), lr=0.002, momentum=0.9, weight_decay=5e-4)
    ms, cpu_ms = time_steps(lambda: step(clip, learner, opt, images, labels), args.reps)
    print(f"case={args.case} ms={ms:.1f} cpu_ms={cpu_ms:.1f} threads={torch.get_num_threads()}")


CASES = {
    "coop": (lambda clip, a: CoOpLearner(clip, a.classes, 4, a.name_tokens), coop_step),
    "cocoop": (lambda clip, a: CoCoOpLearner(clip, a.classes, 4, a.name_tokens), cocoop_step),
}

if __name__ == "__main__":
    if ARGS.case not in CASES:
        sys.exit(f"unknown case {ARGS.case} (known: {', '.join(CASES)})")
    run_case(ARGS, CASES)
