"""Writes variants of a quant-xform statistics file (safetensors) for
test/Transforms/stats-file.mlir: edit-stats-file.py IN OUT EDIT.

EDIT is one of: nometa (drop __metadata__), version (version "9"),
rename-layer (attn.q -> nope), unknown-entry (attn.q/absmax -> attn.q/foo),
short-absmax (attn.q/absmax loses its last channel), rows-float (attn.q/rows
becomes F32), nan (attn.q/absmax[0] = NaN), truncate (drop the last byte),
only-q (keep attn.q's entries only).
"""
import json
import struct
import sys

src, dst, edit = sys.argv[1:4]
raw = open(src, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
data = raw[8 + n:]
meta = header.pop("__metadata__", None)
tensors = {k: (v["dtype"], v["shape"], data[v["data_offsets"][0]:v["data_offsets"][1]])
           for k, v in header.items()}

if edit == "nometa":
    meta = None
elif edit == "version":
    meta["version"] = "9"
elif edit == "rename-layer":
    tensors = {k.replace("attn.q/", "nope/"): v for k, v in tensors.items()}
elif edit == "unknown-entry":
    tensors["attn.q/foo"] = tensors.pop("attn.q/absmax")
elif edit == "short-absmax":
    dt, shape, b = tensors["attn.q/absmax"]
    tensors["attn.q/absmax"] = (dt, [shape[0] - 1], b[:-4])
elif edit == "rows-float":
    tensors["attn.q/rows"] = ("F32", [], struct.pack("<f", 3.0))
elif edit == "nan":
    dt, shape, b = tensors["attn.q/absmax"]
    tensors["attn.q/absmax"] = (dt, shape, struct.pack("<f", float("nan")) + b[4:])
elif edit == "only-q":
    tensors = {k: v for k, v in tensors.items() if k.startswith("attn.q/")}
elif edit != "truncate":
    sys.exit(f"unknown edit {edit}")

out_header, blobs, offset = {}, [], 0
if meta is not None:
    out_header["__metadata__"] = meta
for k, (dt, shape, b) in tensors.items():
    out_header[k] = {"dtype": dt, "shape": shape, "data_offsets": [offset, offset + len(b)]}
    blobs.append(b)
    offset += len(b)
text = json.dumps(out_header).encode()
out = struct.pack("<Q", len(text)) + text + b"".join(blobs)
if edit == "truncate":
    out = raw[:-1]
open(dst, "wb").write(out)
