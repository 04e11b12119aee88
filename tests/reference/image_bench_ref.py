#!/usr/bin/python3
"""tests/reference/image_bench_ref.py DIR [SECONDS] — the reference figure for
tests/bench/bench_image.c: images/s on one core through Image.open(f).convert("RGB") (Dassl's
read_image) + Resize(224, BICUBIC) + CenterCrop(224) + ToTensor + Normalize(CLIP mean/std)
(Dassl's test transform), over every *.jpg in DIR, repeated for SECONDS. Prints
"versions …" and "images/s X"."""
import glob
import os
import sys
import time

import torch
import torchvision
import torchvision.transforms as T
from PIL import Image

torch.set_num_threads(1)
files = sorted(glob.glob(os.path.join(sys.argv[1], "*.jpg")))
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
tf = T.Compose([T.Resize(224, interpolation=T.InterpolationMode.BICUBIC), T.CenterCrop(224), T.ToTensor(),
                T.Normalize((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711))])


def one_pass():
    for f in files:
        tf(Image.open(f).convert("RGB"))


one_pass()  # warm up
done, t0 = 0, time.perf_counter()
while time.perf_counter() - t0 < seconds:
    one_pass()
    done += len(files)
print(f"versions Pillow {Image.__version__}, torchvision {torchvision.__version__}")
print(f"images/s {done / (time.perf_counter() - t0):.1f}")
