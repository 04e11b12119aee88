#!/usr/bin/env python3
"""tests/reference/fewshot_split_ref.py — the training items a CoOp run picks from a split_zhou
JSON file, printed like `clipgrid data --shots K --seed S [--subset …]` (one "PATH LABEL" line
per item, PATH relative to the image folder), using Python's own `random` and Dassl's algorithm
(read_split → random.seed(S) → generate_fewshot_dataset(train, K) → generate_fewshot_dataset(val,
min(K, 4)) → subsample_classes). Also usable on a real dataset to compare with clipgrid.

usage: /usr/bin/python3 tests/reference/fewshot_split_ref.py SPLIT.json SHOTS SEED [all|base|new]
"""
import json
import math
import random
import sys
from collections import defaultdict


def fewshot(items, k):
    groups = defaultdict(list)
    for it in items:
        groups[it[1]].append(it)
    out = []
    for _, g in groups.items():
        out.extend(random.sample(g, k) if len(g) >= k else g)
    return out


def subsample(train, which):
    if which == "all":
        return train
    labels = sorted({it[1] for it in train})
    m = math.ceil(len(labels) / 2)
    sel = labels[:m] if which == "base" else labels[m:]
    relabel = {y: i for i, y in enumerate(sel)}
    return [(p, relabel[y]) for p, y in train if y in relabel]


def main():
    path, shots, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    which = sys.argv[4] if len(sys.argv) > 4 else "all"
    with open(path) as f:
        split = json.load(f)
    train = [(p, int(y)) for p, y, _ in split["train"]]
    val = [(p, int(y)) for p, y, _ in split["val"]]
    random.seed(seed)
    train = fewshot(train, shots)
    fewshot(val, min(shots, 4))  # drawn after train, as in CoOp; not printed
    for p, y in subsample(train, which):
        print(p, y)


if __name__ == "__main__":
    main()
