#!/usr/bin/env python3
"""Prints the PTX of the first gpu.binary (format=isa) in an MLIR file.

Usage: xform-opt m.mlir -quant-xform-lower-to-gpu=format=isa | scripts/extract-ptx.py > k.ptx
Then `ptxas -arch=sm_90a -v k.ptx` shows registers, spills and wgmma
serialization warnings (docs/PERF.md).
"""
import re
import sys


def main() -> int:
    text = open(sys.argv[1]).read() if len(sys.argv) > 1 else sys.stdin.read()
    m = re.search(r'gpu\.binary[^\n]*?assembly = "', text)
    if not m:
        print("error: no gpu.binary with an assembly (use format=isa)", file=sys.stderr)
        return 1
    out, k = [], m.end()
    while text[k] != '"':
        if text[k] == "\\":
            if text[k + 1] in '\\"':
                out.append(text[k + 1])
                k += 2
            else:
                out.append(chr(int(text[k + 1:k + 3], 16)))
                k += 3
        else:
            out.append(text[k])
            k += 1
    sys.stdout.write("".join(out).rstrip("\0"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
