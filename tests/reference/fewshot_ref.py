#!/usr/bin/env python3
"""tests/reference/fewshot_ref.py — reference values for core/base/pyrandom.c and core/data/fewshot.c,
made with Python's own `random` module (CPython 3.11, Debian 12).

Writes tests/data/pyrandom_ref.txt (raw generator values: getrandbits, random(), _randbelow and
random.sample in both of its regimes, for several seeds) and tests/data/fewshot_ref.txt (Dassl's
generate_fewshot_dataset with repeat=False on train, then on val with min(K, 4) shots — ImageNet:
train only — followed by CoOp's subsample_classes base/new, on several list shapes, seeds and shot
counts). The few-shot algorithm below restates Dassl.pytorch's base_dataset.py and CoOp's
datasets/oxford_pets.py: group by label in order of first appearance (a defaultdict of lists),
random.sample(group, K) when the group has at least K items, else the whole group.

Run from the repository root: /usr/bin/python3 tests/reference/fewshot_ref.py
"""
import math
import random
from collections import defaultdict

OUT_RAW = "tests/data/pyrandom_ref.txt"
OUT_FS = "tests/data/fewshot_ref.txt"


def raw_values(f):
    seeds = [0, 1, 2, 3, 42, -7, 2**32 + 5, 123456789012345, 2**63 - 1]
    for s in seeds:
        r = random.Random(s)
        f.write(f"seed {s}\n")
        f.write("u32 " + " ".join(str(r.getrandbits(32)) for _ in range(8)) + "\n")
        f.write("bits " + " ".join(str(r.getrandbits(k)) for k in (1, 5, 17, 31, 33, 48, 64)) + "\n")
        f.write("random " + " ".join(repr(r.random()) for _ in range(4)) + "\n")
        f.write("below " + " ".join(str(r._randbelow(n)) for n in (1, 2, 3, 7, 100, 1000, 2**31 + 1, 10**12)) + "\n")
        for n, k in [(5, 0), (5, 5), (21, 4), (22, 4), (85, 16), (86, 16), (85, 8), (300, 16), (1300, 16), (40, 6)]:
            f.write(f"sample {n} {k} " + " ".join(str(v) for v in r.sample(range(n), k)) + "\n")
        # after > 624 draws the state has been twisted at least once more
        for _ in range(700):
            r.getrandbits(32)
        f.write("late " + " ".join(str(r.getrandbits(32)) for _ in range(4)) + "\n")


def split_by_label(items):
    tracker = defaultdict(list)
    for it in items:
        tracker[it[1]].append(it)
    return tracker


def fewshot(items, k):
    if k < 1:
        return items
    out = []
    for label, group in split_by_label(items).items():
        out.extend(random.sample(group, k) if len(group) >= k else group)
    return out


def subsample(lists, which):
    if which == "all":
        return lists
    labels = sorted({it[1] for it in lists[0]})
    m = math.ceil(len(labels) / 2)
    selected = labels[:m] if which == "base" else labels[m:]
    relabel = {y: i for i, y in enumerate(selected)}
    return [[(it[0], relabel[it[1]]) for it in lst if it[1] in selected] for lst in lists]


def make_shapes():
    g = random.Random(2024)  # only shapes the lists; the sampled state is the global one
    shapes = []
    # sorted by label, equal class sizes (a split_zhou file's usual look)
    shapes.append(("sorted37", "oxford_pets", [c for c in range(37) for _ in range(40)],
                   [c for c in range(37) for _ in range(10)], [c for c in range(37) for _ in range(3)]))
    # interleaved labels, class sizes on both sides of random.sample's regime switch and of K
    sizes = [1, 2, 3, 4, 5, 8, 15, 16, 17, 20, 21, 22, 25, 84, 85, 86, 90, 200]
    train = [c for c, n in enumerate(sizes) for _ in range(n)]
    g.shuffle(train)
    val = [c for c, n in enumerate(sizes) for _ in range(max(1, n // 4))]
    g.shuffle(val)
    test = [c for c in range(len(sizes)) for _ in range(2)]
    shapes.append(("mixed18", "dtd", train, val, test))
    # labels first seen in a non-sorted order, odd class count (base gets the extra class)
    order = list(range(11))
    g.shuffle(order)
    train = [c for c in order for _ in range(30 + 3 * c)]
    val = [c for c in reversed(order) for _ in range(7)]
    test = [c for c in range(11) for _ in range(4)]
    shapes.append(("unsorted11", "eurosat", train, val, test))
    # ImageNet-like: large classes (set-based sampling for every K), val untouched, val = test
    train = [c for c in range(12) for _ in range(1300 - 37 * c)]
    test = [c for c in range(12) for _ in range(5)]
    shapes.append(("imagenet12", "imagenet", train, test, test))
    return shapes


def fewshot_cases(f):
    for name, dataset, tr, va, te in make_shapes():
        tr = [(i, y) for i, y in enumerate(tr)]
        va = [(i, y) for i, y in enumerate(va)]
        te = [(i, y) for i, y in enumerate(te)]
        f.write(f"shape {name} {dataset}\n")
        f.write("train " + " ".join(str(y) for _, y in tr) + "\n")
        f.write("val " + " ".join(str(y) for _, y in va) + "\n")
        f.write("test " + " ".join(str(y) for _, y in te) + "\n")
        for seed in (1, 2, 3, 7, 2**31 - 1):
            for k in (1, 2, 4, 8, 16):
                random.seed(seed)
                ftr = fewshot(tr, k)
                fva = va if dataset == "imagenet" else fewshot(va, min(k, 4))
                for which in ("all", "base", "new"):
                    lists = subsample([ftr, fva, te], which)
                    f.write(f"case {seed} {k} {which}\n")
                    for tag, lst in zip(("train", "val", "test"), lists):
                        f.write(f"{tag} " + " ".join(f"{i}:{y}" for i, y in lst) + "\n")


def main():
    with open(OUT_RAW, "w") as f:
        raw_values(f)
    with open(OUT_FS, "w") as f:
        fewshot_cases(f)


if __name__ == "__main__":
    main()
