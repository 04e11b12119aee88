#!/usr/bin/python3
"""arch_ckpt_ref.py: PyTorch reference data for issue 14 (architecture from metadata, PyTorch checkpoints).

It restates OpenAI's clip/model.py (CLIP, VisionTransformer, Transformer, ResidualAttentionBlock, LayerNorm in fp32,
QuickGELU) with two changes open_clip makes configurable: the MLP activation (QuickGELU or nn.GELU, exact erf) and
the head count of each tower. Three small random models are built and run in float64 on fixed inputs:

  gelu64/   exact GELU, 64-wide heads (vision 64 wide, 1 head; text 64 wide, 1 head);
            metadata: open_clip_config.json (quick_gelu absent = false, vision_cfg.head_width 64, text_cfg.heads 1)
  heads32/  QuickGELU, 32-wide heads (vision 64 wide, 2 heads; text 64 wide, 2 heads); no metadata file: the test
            refuses it, then gives `heads: 2` as the sweep would
  heads80/  exact GELU, 80-wide heads (vision 160 wide, 2 heads; text 80 wide, 1 head; one block each);
            metadata: HF config.json (hidden_act gelu, num_attention_heads, hidden_size)

Each directory gets model.safetensors (OpenAI names, F32) and ref.h5 (inputs, image/text features, logits in
float64). gelu64/ also gets the same weights as PyTorch files written by this torch:
  model.pt          torch.save(state_dict)                     (ZIP format)
  model_f16.pt, model_bf16.pt and model_f16.safetensors, model_bf16.safetensors (the same weights cast)
  model_jit.pt      torch.jit.save(torch.jit.script(model))      (TorchScript archive, as OpenAI's ViT-*.pt)
  model_f16_legacy.pt  the F16 state dict in torch.save's legacy (pre-1.6, non-ZIP) format
The safetensors files are written here by hand (the format is a JSON header and raw little-endian data).

Usage (Debian's python3 with python3-torch, numpy, h5py): /usr/bin/python3 tests/reference/arch_ckpt_ref.py
Output: tests/data/arch/<name>/ (overwritten). Deterministic (fixed seeds, one thread).
"""
import json
import os
import struct
from collections import OrderedDict
from typing import Optional

for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[v] = "1"

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

torch.set_num_threads(1)
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "arch")


# ---- OpenAI's clip/model.py, restated (ViT only), with the activation and head counts as parameters ----

class LayerNorm(nn.LayerNorm):
    # OpenAI's calls super().forward on x in fp32 when x is fp16; F.layer_norm is the same and scriptable
    def forward(self, x: torch.Tensor):
        orig_type = x.dtype
        y = x.type(torch.float32) if orig_type == torch.float16 else x
        ret = nn.functional.layer_norm(y, self.normalized_shape, self.weight, self.bias, self.eps)
        return ret.type(orig_type)


class QuickGELU(nn.Module):
    def forward(self, x: torch.Tensor):
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    def __init__(self, d_model: int, n_head: int, attn_mask: Optional[torch.Tensor], gelu: bool):
        super().__init__()
        self.attn = nn.MultiheadAttention(d_model, n_head)
        self.ln_1 = LayerNorm(d_model)
        self.mlp = nn.Sequential(OrderedDict([
            ("c_fc", nn.Linear(d_model, d_model * 4)),
            ("gelu", nn.GELU() if gelu else QuickGELU()),
            ("c_proj", nn.Linear(d_model * 4, d_model)),
        ]))
        self.ln_2 = LayerNorm(d_model)
        self.attn_mask = attn_mask

    def attention(self, x: torch.Tensor):
        mask = self.attn_mask
        if mask is not None:
            mask = mask.to(dtype=x.dtype, device=x.device)
        return self.attn(x, x, x, need_weights=False, attn_mask=mask)[0]

    def forward(self, x: torch.Tensor):
        x = x + self.attention(self.ln_1(x))
        x = x + self.mlp(self.ln_2(x))
        return x


class Transformer(nn.Module):
    def __init__(self, width: int, layers: int, heads: int, attn_mask: Optional[torch.Tensor], gelu: bool):
        super().__init__()
        self.width = width
        self.layers = layers
        self.resblocks = nn.Sequential(*[ResidualAttentionBlock(width, heads, attn_mask, gelu) for _ in range(layers)])

    def forward(self, x: torch.Tensor):
        return self.resblocks(x)


class VisionTransformer(nn.Module):
    def __init__(self, input_resolution: int, patch_size: int, width: int, layers: int, heads: int,
                 output_dim: int, gelu: bool):
        super().__init__()
        self.input_resolution = input_resolution
        self.output_dim = output_dim
        self.conv1 = nn.Conv2d(3, width, kernel_size=patch_size, stride=patch_size, bias=False)
        scale = width ** -0.5
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn((input_resolution // patch_size) ** 2 + 1, width))
        self.ln_pre = LayerNorm(width)
        self.transformer = Transformer(width, layers, heads, None, gelu)
        self.ln_post = LayerNorm(width)
        self.proj = nn.Parameter(scale * torch.randn(width, output_dim))

    def forward(self, x: torch.Tensor):
        x = self.conv1(x)
        x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)
        x = torch.cat([self.class_embedding.to(x.dtype) +
                       torch.zeros(x.shape[0], 1, x.shape[-1], dtype=x.dtype, device=x.device), x], dim=1)
        x = x + self.positional_embedding.to(x.dtype)
        x = self.ln_pre(x)
        x = x.permute(1, 0, 2)
        x = self.transformer(x)
        x = x.permute(1, 0, 2)
        x = self.ln_post(x[:, 0, :])
        return x @ self.proj


class CLIP(nn.Module):
    def __init__(self, embed_dim: int, image_resolution: int, vision_layers: int, vision_width: int,
                 vision_patch_size: int, vision_heads: int, context_length: int, vocab_size: int,
                 transformer_width: int, transformer_heads: int, transformer_layers: int, gelu: bool):
        super().__init__()
        self.context_length = context_length
        self.visual = VisionTransformer(image_resolution, vision_patch_size, vision_width, vision_layers,
                                        vision_heads, embed_dim, gelu)
        self.transformer = Transformer(transformer_width, transformer_layers, transformer_heads,
                                       self.build_attention_mask(), gelu)
        self.vocab_size = vocab_size
        self.token_embedding = nn.Embedding(vocab_size, transformer_width)
        self.positional_embedding = nn.Parameter(torch.empty(context_length, transformer_width))
        self.ln_final = LayerNorm(transformer_width)
        self.text_projection = nn.Parameter(torch.empty(transformer_width, embed_dim))
        self.logit_scale = nn.Parameter(torch.ones([]) * np.log(1 / 0.07))
        self.initialize_parameters()

    def initialize_parameters(self):
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        nn.init.normal_(self.positional_embedding, std=0.01)
        w = self.transformer.width
        proj_std = (w ** -0.5) * ((2 * self.transformer.layers) ** -0.5)
        for block in self.transformer.resblocks:
            nn.init.normal_(block.attn.in_proj_weight, std=w ** -0.5)
            nn.init.normal_(block.attn.out_proj.weight, std=proj_std)
            nn.init.normal_(block.mlp.c_fc.weight, std=(2 * w) ** -0.5)
            nn.init.normal_(block.mlp.c_proj.weight, std=proj_std)
        nn.init.normal_(self.text_projection, std=w ** -0.5)
        # beyond OpenAI's init (zero biases, unit LayerNorms): every tensor random, so that every one is tested
        with torch.no_grad():
            for name, p in self.named_parameters():
                if name.endswith("bias"):
                    p.normal_(0, 0.05)
                elif "ln" in name and name.endswith("weight"):
                    p.normal_(1.0, 0.1)

    def build_attention_mask(self):
        mask = torch.empty(self.context_length, self.context_length)
        mask.fill_(float("-inf"))
        mask.triu_(1)
        return mask

    def encode_image(self, image: torch.Tensor):
        return self.visual(image)

    def encode_text(self, text: torch.Tensor):
        x = self.token_embedding(text)
        x = x + self.positional_embedding
        x = x.permute(1, 0, 2)
        x = self.transformer(x)
        x = x.permute(1, 0, 2)
        x = self.ln_final(x)
        return x[torch.arange(x.shape[0]), text.argmax(dim=-1)] @ self.text_projection

    def forward(self, image: torch.Tensor, text: torch.Tensor):
        img = self.encode_image(image)
        txt = self.encode_text(text)
        img = img / (img * img).sum(dim=1, keepdim=True).sqrt()  # .norm(dim=1, keepdim=True), scriptable
        txt = txt / (txt * txt).sum(dim=1, keepdim=True).sqrt()
        return self.logit_scale.exp() * img @ txt.t()


# ---- files -----------------------------------------------------------------------------------------------

DT = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}


def save_safetensors(sd, path, metadata=None):
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for k, t in sd.items():
        t = t.detach().contiguous()
        raw = t.view(torch.int16).numpy().tobytes() if t.dtype == torch.bfloat16 else t.numpy().tobytes()
        header[k] = {"dtype": DT[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


MODELS = {
    "gelu64": dict(embed_dim=32, image_resolution=16, vision_layers=2, vision_width=64, vision_patch_size=8,
                   vision_heads=1, context_length=16, vocab_size=300, transformer_width=64, transformer_heads=1,
                   transformer_layers=2, gelu=True),
    "heads32": dict(embed_dim=32, image_resolution=16, vision_layers=2, vision_width=64, vision_patch_size=8,
                    vision_heads=2, context_length=16, vocab_size=300, transformer_width=64, transformer_heads=2,
                    transformer_layers=2, gelu=False),
    "heads80": dict(embed_dim=48, image_resolution=16, vision_layers=1, vision_width=160, vision_patch_size=8,
                    vision_heads=2, context_length=16, vocab_size=300, transformer_width=80, transformer_heads=1,
                    transformer_layers=1, gelu=True),
}


def inputs(cfg, gen):
    B, C, T, V, R = 3, 4, cfg["context_length"], cfg["vocab_size"], cfg["image_resolution"]
    images = torch.randn(B, 3, R, R, generator=gen, dtype=torch.float32).double()  # C gets these floats
    ids = torch.zeros(C, T, dtype=torch.int64)
    eot = [3, 7, 15, 5]
    for c in range(C):
        ids[c, 0] = V - 2  # a start token
        ids[c, 1:eot[c]] = torch.randint(1, V - 2, (eot[c] - 1,), generator=gen)
        ids[c, eot[c]] = V - 1  # the end token: the row's argmax
    return images, ids, eot


def metadata_files(name, cfg, d):
    if name == "gelu64":
        oc = {"model_cfg": {"embed_dim": cfg["embed_dim"],
                            "vision_cfg": {"image_size": cfg["image_resolution"], "layers": cfg["vision_layers"],
                                           "width": cfg["vision_width"], "head_width": 64,
                                           "patch_size": cfg["vision_patch_size"]},
                            "text_cfg": {"context_length": cfg["context_length"], "vocab_size": cfg["vocab_size"],
                                         "width": cfg["transformer_width"], "heads": cfg["transformer_heads"],
                                         "layers": cfg["transformer_layers"]}},
              "preprocess_cfg": {"mean": [0.48145466, 0.4578275, 0.40821073],
                                 "std": [0.26862954, 0.26130258, 0.27577711]}}
        with open(os.path.join(d, "open_clip_config.json"), "w") as f:
            json.dump(oc, f, indent=2)
    elif name == "heads80":
        hf = {"architectures": ["CLIPModel"], "model_type": "clip", "projection_dim": cfg["embed_dim"],
              "text_config": {"hidden_act": "gelu", "hidden_size": cfg["transformer_width"],
                              "num_attention_heads": cfg["transformer_heads"],
                              "num_hidden_layers": cfg["transformer_layers"],
                              "intermediate_size": 4 * cfg["transformer_width"],
                              "max_position_embeddings": cfg["context_length"], "vocab_size": cfg["vocab_size"]},
              "vision_config": {"hidden_act": "gelu", "hidden_size": cfg["vision_width"],
                                "num_attention_heads": cfg["vision_heads"],
                                "num_hidden_layers": cfg["vision_layers"],
                                "intermediate_size": 4 * cfg["vision_width"],
                                "image_size": cfg["image_resolution"], "patch_size": cfg["vision_patch_size"]}}
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(hf, f, indent=2)


def torch_files(model, sd, d):
    torch.save(sd, os.path.join(d, "model.pt"))
    for dt, tag in ((torch.float16, "f16"), (torch.bfloat16, "bf16")):
        cast = OrderedDict((k, v.to(dt)) for k, v in sd.items())
        torch.save(cast, os.path.join(d, f"model_{tag}.pt"))
        save_safetensors(cast, os.path.join(d, f"model_{tag}.safetensors"))
        if dt == torch.float16:
            torch.save(cast, os.path.join(d, "model_f16_legacy.pt"), _use_new_zipfile_serialization=False)
    torch.jit.save(torch.jit.script(model), os.path.join(d, "model_jit.pt"))


def main():
    for i, (name, cfg) in enumerate(MODELS.items()):
        torch.manual_seed(100 + i)
        model = CLIP(**cfg).eval()
        d = os.path.join(ROOT, name)
        os.makedirs(d, exist_ok=True)
        sd = OrderedDict((k, v.detach().clone()) for k, v in model.state_dict().items())
        save_safetensors(sd, os.path.join(d, "model.safetensors"), {"format": "pt"})
        metadata_files(name, cfg, d)
        if name == "gelu64":
            torch_files(model, sd, d)
        gen = torch.Generator().manual_seed(7)
        images, ids, eot = inputs(cfg, gen)
        m64 = CLIP(**cfg).double().eval()
        m64.load_state_dict(OrderedDict((k, v.double()) for k, v in sd.items()))
        with torch.no_grad():
            img = m64.encode_image(images)
            txt = m64.encode_text(ids)
            logits = m64(images, ids)
        with h5py.File(os.path.join(d, "ref.h5"), "w") as f:
            f["inputs/images"] = images.numpy().astype(np.float32)
            f["inputs/token_ids"] = ids.numpy().astype(np.int32)
            f["inputs/eot"] = np.array(eot, dtype=np.int32)
            f["image_features"] = img.numpy()
            f["text_features"] = txt.numpy()
            f["logits"] = logits.numpy()
            f.attrs["model"] = json.dumps(cfg)
            f.attrs["torch"] = str(torch.__version__)
        print(name, "logits", logits.numpy().round(4).tolist()[0])


if __name__ == "__main__":
    main()
