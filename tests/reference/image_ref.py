#!/usr/bin/python3
"""tests/reference/image_ref.py — reference data for tests/test_image.c, from Debian's
python3-pil 9.4.0 and python3-torchvision 0.14.1 (the versions of clip.md §7.2).

Writes the fixture images into tests/data/images/ (JPEG RGB 4:2:0/4:2:2/4:4:4/progressive, gray,
CMYK; PNG RGB/RGBA/LA/gray 1-2-8-16 bit/palette (with a PLTE shorter than the indices)/16-bit
RGB and RGBA/interlaced/tRNS; a PNG named .JPEG; 1×1, 3×500, 400×7, upscaled and downscaled),
plus the files written by clipgrid's own writers (`build/tests/test_image --write-fixtures DIR`
must have been run first: YCCK JPEG, gray JPEG, RGB JPEG and PNG), and expected.h5 with, per case:
  decoded    uint8 [h, w, 3]   Image.open(f).convert("RGB")
  resize_WxH uint8 [H, W, 3]   .resize((W, H), BICUBIC)
  test_u8    uint8 [R, R, 3]   Resize(R, BICUBIC) + CenterCrop(R)   (attr res)
  test_f32   float [3, R, R]   + ToTensor + Normalize(CLIP mean, std)
  train_K/   draws, box (top, left, h, w), ndraws, u8 [R, R, 3] (and f32 [3, R, R]):
             RandomResizedCrop(R, scale, BICUBIC) + RandomHorizontalFlip (+ ToTensor + Normalize)
             run by torchvision itself on the recorded uniform draws (attrs s0, s1)
(R = 32 with everything, and R = 224 for two files with test_u8 and one train u8 only)
and /rrc (boxes of get_params for many sizes and draw sequences; torchvision itself and a plain
re-statement must agree), /norm_lut [3, 256] (ToTensor + Normalize of every value), /bad (files
Pillow refuses). Draws are multiples of 2^-24 so that float32 storage keeps them exact.

How a draw u becomes torchvision's randomness (the same rule as core/data/image.h rrc_params):
torch.empty(1).uniform_(a, b) → float32(a32 + u·(b32 − a32)); torch.randint(lo, hi) →
lo + floor(u·(hi − lo)); torch.rand(1) → u.
"""
import io
import math
import os
import random
import struct
import sys
import types
import zlib

import h5py
import numpy as np
import torch
import torchvision
import torchvision.transforms as T
import torchvision.transforms.transforms as TT
from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "images")
MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)
BICUBIC = T.InterpolationMode.BICUBIC
RES = 32


# ---------------------------------------------------------------- input images

def scene(w, h, seed):
    """smooth gradients, discs and a little noise: structure that compresses well"""
    rs = np.random.RandomState(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.zeros((h, w, 3))
    for c in range(3):
        fx, fy, ph = rs.uniform(0.5, 4, 3)
        img[..., c] = 127 + 100 * np.sin(fx * x / max(w, 1) * 6.28 + ph) * np.cos(fy * y / max(h, 1) * 6.28)
    for _ in range(4):
        cx, cy, r = rs.uniform(0, w), rs.uniform(0, h), rs.uniform(0.1, 0.4) * max(w, h)
        m = (x - cx) ** 2 + (y - cy) ** 2 < r * r
        img[m] = rs.uniform(0, 255, 3)
    img += rs.normal(0, 2, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def png_chunk(tag, data):
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def pack_row(vals, depth):
    """one row of samples (uint) at 1/2/4/8/16 bits, big-endian, padded to a byte"""
    if depth == 16:
        return np.asarray(vals, dtype=">u2").tobytes()
    if depth == 8:
        return np.asarray(vals, dtype=np.uint8).tobytes()
    per = 8 // depth
    out = bytearray()
    vals = list(vals) + [0] * (-len(vals) % per)
    for i in range(0, len(vals), per):
        b = 0
        for v in vals[i:i + per]:
            b = (b << depth) | int(v)
        out.append(b)
    return bytes(out)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def png_bytes(samples, depth, ctype, plte=None, interlace=False, extra=b""):
    """PNG written by hand (for what Pillow cannot write): samples [h, w, channels] uint"""
    h, w = samples.shape[:2]
    s = samples.reshape(h, w, -1)
    raw = bytearray()
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    for x0, y0, dx, dy in passes:
        sub = s[y0::dy, x0::dx]
        if sub.shape[0] == 0 or sub.shape[1] == 0:
            continue
        for row in sub:
            raw += b"\0" + pack_row(row.reshape(-1), depth)
    out = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, int(interlace)))
    if plte is not None:
        out += png_chunk(b"PLTE", bytes(np.asarray(plte, np.uint8).reshape(-1)))
    out += extra + png_chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + png_chunk(b"IEND", b"")
    return out


def save(name, data):
    with open(os.path.join(ROOT, name), "wb") as f:
        f.write(data)


def pil_bytes(im, fmt, **kw):
    b = io.BytesIO()
    im.save(b, fmt, **kw)
    return b.getvalue()


def make_inputs():
    """(file name, res) of every case; writes the files"""
    rgb = lambda w, h, s: Image.fromarray(scene(w, h, s))
    jp = lambda im, **kw: pil_bytes(im, "JPEG", **kw)
    pn = lambda im, **kw: pil_bytes(im, "PNG", **kw)
    files = {
        "rgb420_160x120.jpg": jp(rgb(160, 120, 1), quality=85),
        "rgb444_97x61.jpg": jp(rgb(97, 61, 2), quality=90, subsampling=0),
        "rgb422_75x130.jpg": jp(rgb(75, 130, 3), quality=80, subsampling=1),
        "progressive_200x150.jpg": jp(rgb(200, 150, 4), quality=70, progressive=True),
        "gray_90x120.jpg": jp(rgb(90, 120, 5).convert("L"), quality=85),
        "cmyk_64x80.jpg": jp(rgb(64, 80, 6).convert("CMYK"), quality=90),
        "big_500x375.jpg": jp(rgb(500, 375, 7), quality=75),
        "tall_3x500.jpg": jp(rgb(3, 500, 8), quality=90),
        "wide_400x7.jpg": jp(rgb(400, 7, 9), quality=90),
        "one_1x1.jpg": jp(rgb(1, 1, 10)),
        "small_20x15.jpg": jp(rgb(20, 15, 11), quality=95),
        "tie_99x64.jpg": jp(rgb(99, 64, 12), quality=90),
        "tie_64x102.jpg": jp(rgb(64, 102, 13), quality=90),
        "exact_48x32.jpg": jp(rgb(48, 32, 14), quality=90),
        "rgb_123x77.png": pn(rgb(123, 77, 20)),
        "rgba_80x80.png": pn(Image.fromarray(np.dstack([scene(80, 80, 21), scene(80, 80, 22)[..., 0]]))),
        "pal8_70x50.png": pn(rgb(70, 50, 23).quantize(60)),
        "gray_50x90.png": pn(rgb(50, 90, 24).convert("L")),
        "gray16_40x30.png": pn(Image.fromarray(
            (np.arange(1200, dtype=np.uint16).reshape(30, 40) * 7 % 600).astype(np.uint16))),
        "la_45x45.png": pn(Image.fromarray(scene(45, 45, 25)[..., :2].copy(), "LA")),
        "gray1_37x19.png": pn(rgb(37, 19, 26).convert("1")),
        "trns_30x20.png": pn(rgb(30, 20, 27), transparency=(10, 20, 30)),
        "exact_32x48.png": pn(rgb(32, 48, 28)),
        "one_1x1.png": pn(rgb(1, 1, 29)),
        "png_named.JPEG": pn(rgb(64, 48, 30)),
    }
    files["noiend_30x20.png"] = pn(rgb(30, 20, 31))[:-12]  # Pillow decodes a PNG without IEND
    rs = np.random.RandomState(40)
    files["pal4_short_41x29.png"] = png_bytes(
        rs.randint(0, 16, (29, 41)), 4, 3, plte=rs.randint(0, 256, (5, 3)))
    files["gray2_30x30.png"] = png_bytes(rs.randint(0, 4, (30, 30)), 2, 0)
    files["rgb16_33x47.png"] = png_bytes(
        (scene(33, 47, 41).astype(np.uint32) * 257 + rs.randint(0, 257, (47, 33, 3))).astype(np.uint16), 16, 2)
    files["rgba16_20x25.png"] = png_bytes(rs.randint(0, 65536, (25, 20, 4)).astype(np.uint16), 16, 6)
    files["la16_23x31.png"] = png_bytes(rs.randint(0, 65536, (31, 23, 2)).astype(np.uint16), 16, 4)
    files["interlaced_57x43.png"] = png_bytes(scene(57, 43, 42), 8, 2, interlace=True)
    for name, data in files.items():
        save(name, data)
    mine = ["writer_ycck_70x50.jpg", "writer_gray_50x40.jpg", "writer_rgb_50x40.jpg", "writer_rgb_50x40.png"]
    for m in mine:
        if not os.path.exists(os.path.join(ROOT, m)):
            sys.exit(f"{m} missing: run build/tests/test_image --write-fixtures tests/data/images first")
    cases = [(n, RES) for n in sorted(list(files) + mine)]
    cases += [("big_500x375.jpg", 224), ("progressive_200x150.jpg", 224)]
    return cases


# ---------------------------------------------------------------- torchvision on recorded draws

class Draws:
    def __init__(self, u):
        self.u, self.i = list(u), 0

    def next(self):
        self.i += 1
        return float(self.u[self.i - 1])


def f32_uniform(u, a, b):
    a, b = float(np.float32(float(a))), float(np.float32(float(b)))
    return float(np.float32(a + u * (b - a)))


class _Empty:
    def __init__(self, d):
        self.d = d

    def uniform_(self, a, b):
        return torch.tensor([f32_uniform(self.d.next(), a, b)], dtype=torch.float32)


def torch_shim(d):
    """the module torchvision.transforms.transforms sees as `torch`: real torch except that its
    random numbers come from the recorded draws"""
    m = types.ModuleType("torch_on_draws")
    m.__getattr__ = lambda k: getattr(torch, k)
    m.empty = lambda *a, **k: _Empty(d)
    m.randint = lambda lo, hi, size=None, **k: torch.tensor([lo + math.floor(d.next() * (hi - lo))])
    m.rand = lambda *a, **k: torch.tensor([d.next()], dtype=torch.float64)
    return m


def tv_get_params(W, H, scale, draws):
    d = Draws(draws)
    TT.torch = torch_shim(d)
    try:
        box = T.RandomResizedCrop.get_params(Image.new("RGB", (W, H)), list(scale), [3 / 4, 4 / 3])
    finally:
        TT.torch = torch
    return tuple(int(v) for v in box), d.i


def plain_get_params(W, H, scale, draws):
    """torchvision 0.14 RandomResizedCrop.get_params, restated without torch"""
    d = Draws(draws)
    area = W * H
    lr = np.log(np.float32([3 / 4, 4 / 3]))
    for _ in range(10):
        target = area * f32_uniform(d.next(), scale[0], scale[1])
        aspect = float(np.exp(np.float32(f32_uniform(d.next(), lr[0], lr[1]))))
        w, h = int(round(math.sqrt(target * aspect))), int(round(math.sqrt(target / aspect)))
        if 0 < w <= W and 0 < h <= H:
            i = math.floor(d.next() * (H - h + 1))
            j = math.floor(d.next() * (W - w + 1))
            return (i, j, h, w), d.i
    r = W / H
    if r < 3 / 4:
        w, h = W, int(round(W / (3 / 4)))
    elif r > 4 / 3:
        h, w = H, int(round(H * (4 / 3)))
    else:
        w, h = W, H
    return ((H - h) // 2, (W - w) // 2, h, w), d.i


def draws_for(seed, n=23, high=False):
    """n draws: get_params uses at most 22 (9 rejected attempts, an accepted one, top, left), the
    flip one more"""
    r = random.Random(seed)
    ks = [r.getrandbits(24) for _ in range(n)]
    if high:  # areas near the whole image: many rejections, often the fallback
        ks = [(1 << 24) - 1 - (k >> 4) for k in ks]
    return np.array([k / float(1 << 24) for k in ks], dtype=np.float64)


def train_tv(img, res, scale, draws, tensor):
    """RandomResizedCrop + RandomHorizontalFlip (+ ToTensor + Normalize) run by torchvision on the
    draws: the PIL image (or the tensor) and the number of draws used"""
    d = Draws(draws)
    steps = [T.RandomResizedCrop(res, scale=scale, interpolation=BICUBIC), T.RandomHorizontalFlip()]
    if tensor:
        steps += [T.ToTensor(), T.Normalize(MEAN, STD)]
    TT.torch = torch_shim(d)
    try:
        out = T.Compose(steps)(img)
    finally:
        TT.torch = torch
    return out, d.i


# ---------------------------------------------------------------- cases

def resize_targets(w, h):
    """both axes down; only the width (height kept: the vertical pass is skipped); only the
    height; a tiny output (wide kernels)"""
    return {(max(1, min(w // 3, 60)), max(1, min(h * 5 // 7, 60))),
            (min(2 * w + 1, 97) if w <= 48 else max(1, w // 9), h),
            (w, min(2 * h + 1, 97) if h <= 48 else max(1, h // 9)),
            (5, 3)}


def write_case(h5, name, res, rs):
    """res 32: decoded, resizes, test u8 + f32, three train transforms (u8, the first also f32);
    res 224: test and train u8 only (the tensor is the u8 through norm_lut, checked on its own)"""
    path = os.path.join(ROOT, name)
    img = Image.open(path).convert("RGB")
    g = h5.create_group(f"{name}@{res}")
    g.attrs["file"], g.attrs["res"] = np.bytes_(name), res
    w, h = img.size
    z = dict(compression="gzip", compression_opts=9, shuffle=True)
    small = res == RES
    resize = T.Resize(res, interpolation=BICUBIC)
    g.create_dataset("test_u8", data=np.asarray(T.CenterCrop(res)(resize(img))), **z)
    if small:
        g.create_dataset("decoded", data=np.asarray(img), **z)
        full = T.Compose([resize, T.CenterCrop(res), T.ToTensor(), T.Normalize(MEAN, STD)])(img)
        g.create_dataset("test_f32", data=full.numpy(), **z)
        for tw, th in resize_targets(w, h):
            g.create_dataset(f"resize_{tw}x{th}", data=np.asarray(img.resize((tw, th), Image.BICUBIC)), **z)
    kinds = [((0.08, 1.0), False), ((0.5, 1.0), False), ((0.08, 1.0), True)]
    for k, (scale, high) in enumerate(kinds if small else kinds[:1]):
        draws = draws_for(rs.randint(1 << 30), high=high)
        out, nd = train_tv(img, res, scale, draws, tensor=False)
        box, nd2 = plain_get_params(w, h, scale, draws)
        assert (box, nd2) == tv_get_params(w, h, scale, draws) and nd2 + 1 == nd
        t = g.create_group(f"train_{k}")
        t.attrs["s0"], t.attrs["s1"] = scale
        t.create_dataset("draws", data=draws.astype(np.float32))
        t.create_dataset("box", data=np.array(box, np.int32))
        t.create_dataset("ndraws", data=np.array([nd], np.int32))
        t.create_dataset("u8", data=np.asarray(out), **z)
        if small and k == 0:
            f32, nd3 = train_tv(img, res, scale, draws, tensor=True)
            assert nd3 == nd
            t.create_dataset("f32", data=f32.numpy(), **z)


def write_rrc(h5):
    rs = np.random.RandomState(7)
    sizes = [(1, 1), (2, 2), (3, 500), (500, 3), (500, 375), (375, 500), (224, 224), (100, 100), (10, 1000),
             (1000, 10), (4, 3), (3, 4), (7, 5)]
    sizes += [(int(a), int(b)) for a, b in rs.randint(1, 900, (40, 2))]
    WH, SC, DR, BOX, ND = [], [], [], [], []
    agree = 0
    for W, H in sizes:
        for scale in [(0.08, 1.0), (0.5, 1.0)]:
            for high in (False, True):
                for _ in range(3):
                    draws = draws_for(int(rs.randint(1 << 30)), n=22, high=high)
                    b1, n1 = tv_get_params(W, H, scale, draws)
                    b2, n2 = plain_get_params(W, H, scale, draws)
                    assert (b1, n1) == (b2, n2), (W, H, scale, b1, b2, n1, n2)
                    agree += 1
                    WH.append((W, H)), SC.append(scale), DR.append(draws), BOX.append(b1), ND.append(n1)
    g = h5.create_group("rrc")
    g.create_dataset("WH", data=np.array(WH, np.int32))
    g.create_dataset("scale", data=np.array(SC, np.float32))
    g.create_dataset("draws", data=np.array(DR, np.float32))
    g.create_dataset("box", data=np.array(BOX, np.int32))
    g.create_dataset("ndraws", data=np.array(ND, np.int32))
    fb = sum(1 for n in ND if n == 20)
    print(f"rrc: {agree} cases, torchvision == re-statement on all; {fb} fell back to the centre crop")


def corrupt_after(data, marker, skip, junk):
    """`junk` written over the bytes `skip` after the first `marker`"""
    i = data.index(marker) + skip
    return data[:i] + junk + data[i + len(junk):]


def write_bad(h5):
    good = open(os.path.join(ROOT, "rgb420_160x120.jpg"), "rb").read()
    png = open(os.path.join(ROOT, "rgb_123x77.png"), "rb").read()
    bad = {
        "bad_truncated.jpg": good[: len(good) // 2],
        "bad_noeoi.jpg": good[:-2],  # Pillow refuses a JPEG without EOI
        "bad_garbage.jpg": good[:2] + bytes(range(1, 200)) + good[201:],
        "bad_huffman.jpg": corrupt_after(good, b"\xff\xc4", 5, b"\xff" * 16),
        "bad_sof.jpg": corrupt_after(good, b"\xff\xc0", 5, b"\0\0\0\0"),
        "bad_truncated.png": png[: len(png) // 2],
        "bad_crc.png": png[:20] + bytes([png[20] ^ 1]) + png[21:],
        "bad_text.jpg": b"this is not an image\n",
    }
    os.makedirs(os.path.join(ROOT, "bad"), exist_ok=True)
    names = []
    for name, data in bad.items():
        save(os.path.join("bad", name), data)
        try:
            Image.open(os.path.join(ROOT, "bad", name)).convert("RGB")
            sys.exit(f"Pillow reads {name}: not a bad input")
        except Exception as e:  # noqa: BLE001 — any refusal
            print(f"Pillow refuses {name}: {type(e).__name__}: {e}")
        names.append(name)
    h5.attrs["bad"] = np.array([np.bytes_(n) for n in names])


def main():
    print("Pillow", Image.__version__, "torchvision", torchvision.__version__, "torch", torch.__version__)
    os.makedirs(ROOT, exist_ok=True)
    cases = make_inputs()
    rs = np.random.RandomState(2026)
    with h5py.File(os.path.join(ROOT, "expected.h5"), "w", libver="latest") as h5:
        for name, res in cases:
            write_case(h5, name, res, rs)
        write_rrc(h5)
        write_bad(h5)
        v = torch.arange(256, dtype=torch.uint8).view(1, 1, 256).expand(3, 1, 256)
        lut = T.Normalize(MEAN, STD)(v.float().div(255)).view(3, 256)
        h5.create_dataset("norm_lut", data=lut.numpy())
    print(f"{len(cases)} cases written to {ROOT}")


if __name__ == "__main__":
    main()
