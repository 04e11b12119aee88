#!/usr/bin/python3
"""bad_ckpt_ref.py: malicious and broken PyTorch checkpoints for tests/test_torch_ckpt.c.

Each file is a small torch.save ZIP checkpoint (written by Debian's torch) that is then rewritten with Python's
zipfile module so that exactly one thing is wrong. tests/data/torch_bad/expected.txt lists, per file, a piece of
the one error message clipgrid must give (tab-separated). Nothing here is ever unpickled by Python.

Usage: /usr/bin/python3 tests/reference/bad_ckpt_ref.py   (writes tests/data/torch_bad/)
"""
import io
import os
import pickle
import struct
import zipfile
from collections import OrderedDict

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "torch_bad")
PWNED = "/tmp/clipgrid_pwned_by_pickle"


class Evil:
    def __reduce__(self):
        return (os.system, ("touch " + PWNED,))


class EvalGlobal:
    def __reduce__(self):
        return (eval, ("1+1",))


def good_zip():
    buf = io.BytesIO()
    torch.save(OrderedDict(w=torch.arange(6, dtype=torch.float32).reshape(2, 3)), buf)
    z = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    return {i.filename: z.read(i.filename) for i in z.infolist()}


def write(name, entries, compressed=()):
    with zipfile.ZipFile(os.path.join(OUT, name), "w", zipfile.ZIP_STORED) as z:
        for fn, data in entries.items():
            z.writestr(zipfile.ZipInfo(fn), data, zipfile.ZIP_DEFLATED if fn in compressed else zipfile.ZIP_STORED)


def pkl_tensor(storage_type=b"FloatStorage", numel=6, offset=0, size=(2, 3), stride=(3, 1), key=b"0"):
    """data.pkl of {'w': tensor} written opcode by opcode (protocol 2), as torch.save does"""
    def tup(xs):
        return b"(" + b"".join(b"J" + struct.pack("<i", x) for x in xs) + b"t"
    pid = (b"(X\x07\x00\x00\x00storage" + b"ctorch\n" + storage_type + b"\n" +
           b"X" + struct.pack("<I", len(key)) + key + b"X\x03\x00\x00\x00cpu" +
           b"\x8a\x08" + struct.pack("<q", numel) + b"tQ")
    tensor = (b"ctorch._utils\n_rebuild_tensor_v2\n(" + pid + b"J" + struct.pack("<i", offset) + tup(size) +
              tup(stride) + b"\x89ccollections\nOrderedDict\n)Rq\x00tR")
    return b"\x80\x02ccollections\nOrderedDict\n)R(X\x01\x00\x00\x00w" + tensor + b"u."


def main():
    os.makedirs(OUT, exist_ok=True)
    g = good_zip()
    pre = next(k for k in g if k.endswith("data.pkl"))[: -len("data.pkl")]
    cases = []

    def case(name, entries, expect, compressed=()):
        write(name, entries, compressed)
        cases.append((name, expect))

    def with_pkl(data):
        e = dict(g)
        e[pre + "data.pkl"] = data
        return e

    case("reduce_os_system.pt", with_pkl(pickle.dumps(Evil(), protocol=2)), "global 'posix.system' is not allowed")
    case("global_eval.pt", with_pkl(pickle.dumps(EvalGlobal(), protocol=2)), "global '__builtin__.eval' is not allowed")
    case("unknown_global.pt", with_pkl(b"\x80\x02ctorch.nn\nModule\n)R."), "global 'torch.nn.Module' is not allowed")
    case("double_storage.pt", with_pkl(pkl_tensor(storage_type=b"DoubleStorage")),
         "global 'torch.DoubleStorage' is not allowed")
    case("opcode_inst.pt", with_pkl(b"\x80\x02(ios\nsystem\n."), "opcode 0x69 ('i') is not supported")
    case("truncated_pickle.pt", with_pkl(g[pre + "data.pkl"][:-40]), "truncated")
    case("memo_huge.pt", with_pkl(b"\x80\x02N" + b"r" + struct.pack("<I", 0xFFFFFFF0) + b"."),
         "memo index 4294967280 is out of range")
    case("offset_beyond.pt", with_pkl(pkl_tensor(offset=5)), "lie outside its storage")
    case("huge_numel.pt", with_pkl(pkl_tensor(numel=1 << 61, size=(2, 3))), "declares 2305843009213693952 elements")
    case("size_mismatch.pt", with_pkl(pkl_tensor(numel=600, size=(2, 3))), "declares 600 elements")
    case("not_contiguous.pt", with_pkl(pkl_tensor(stride=(1, 2))), "is not contiguous")
    case("missing_storage.pt", with_pkl(pkl_tensor(key=b"7")), "has no archive entry")
    case("bad_key.pt", with_pkl(pkl_tensor(key=b"../0")), "is not a plain name")
    e = dict(g)
    e[pre + "../../outside"] = b"x"
    case("zip_slip.pt", e, "is not a path inside the archive's folder")
    e = dict(g)
    e["/etc/cron.d/x"] = b"x"
    case("zip_absolute.pt", e, "is not a path inside the archive's folder")
    case("compressed_storage.pt", g, "is compressed", compressed=(pre + "data/0",))
    e = dict(g)
    e[pre + "data/0"] = bytes(b ^ 0xFF for b in e[pre + "data/0"][:4]) + e[pre + "data/0"][4:]
    write("crc_mismatch.pt", e)  # zipfile computes the CRC of what it writes: patch the data bytes afterwards
    raw = bytearray(open(os.path.join(OUT, "crc_mismatch.pt"), "rb").read())
    pos = raw.find(e[pre + "data/0"])
    raw[pos] ^= 0x01
    open(os.path.join(OUT, "crc_mismatch.pt"), "wb").write(bytes(raw))
    cases.append(("crc_mismatch.pt", "CRC-32"))
    e = dict(g)
    del e[pre + "data.pkl"]
    case("no_data_pkl.pt", e, "without")
    whole = open(os.path.join(OUT, "offset_beyond.pt"), "rb").read()
    open(os.path.join(OUT, "truncated_zip.pt"), "wb").write(whole[: len(whole) // 2])
    cases.append(("truncated_zip.pt", "not a readable ZIP archive"))
    case("stop_early.pt", with_pkl(b"\x80\x02N."), "neither a state dict nor a TorchScript module")
    buf = io.BytesIO()
    torch.save(OrderedDict(w=torch.arange(6, dtype=torch.float32)), buf, _use_new_zipfile_serialization=False)
    open(os.path.join(OUT, "legacy_truncated.pt"), "wb").write(buf.getvalue()[:-5])
    cases.append(("legacy_truncated.pt", "truncated: storage"))
    open(os.path.join(OUT, "legacy_trailing.pt"), "wb").write(buf.getvalue() + b"xx")
    cases.append(("legacy_trailing.pt", "2 bytes after the last storage"))
    with open(os.path.join(OUT, "expected.txt"), "w") as f:
        f.write("# file<TAB>a piece of the one error message clipgrid must give (tests/test_torch_ckpt.c)\n")
        for name, expect in cases:
            f.write(f"{name}\t{expect}\n")
    print(len(cases), "files in", OUT)


if __name__ == "__main__":
    main()
