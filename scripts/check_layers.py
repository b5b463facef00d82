#!/usr/bin/env python3
"""Checks that every library includes only the headers of libraries it may
link (docs/ARCHITECTURE.md, "Layers"): each `#include "quant-xform/..."` in
lib/<library> and include/quant-xform/<library> must name its own library
or one listed below it. Prints one line per violation; exit 1 if any.

Usage: check_layers.py REPO_ROOT
"""
import pathlib
import re
import sys

# Library -> the path prefixes (under include/quant-xform/ and lib/) it owns.
OWNS = {
    "Support": ["Support"],
    "IO": ["IO"],
    "IR": ["Dialect/QuantXform/IR"],
    "CPUIR": ["Dialect/QuantXformCPU"],
    "Reference": ["Reference"],
    "Calibration": ["Calibration"],
    "Transforms": ["Dialect/QuantXform/Transforms"],
    "CPUToLLVM": ["Conversion/QuantXformCPUToLLVM"],
    "ToLinalg": ["Conversion/QuantXformToLinalg"],
    "ToGPU": ["Conversion/QuantXformToGPU"],
    "Conversion": ["Conversion/Passes"],
    "CPUJit": ["Target"],
    "Registration": ["InitAll"],
    "API": ["API"],
}

# Library -> the libraries whose headers it may include (its CMake links).
MAY_USE = {
    "Support": [],
    "IO": [],
    "IR": ["Support"],
    "CPUIR": [],
    "Reference": ["IR", "IO", "Support"],
    "Calibration": ["Reference", "IO", "Support", "IR"],
    "Transforms": ["Calibration", "IO", "IR", "Support"],
    "CPUToLLVM": ["CPUIR"],
    "ToLinalg": ["IR", "CPUIR", "CPUToLLVM", "Support"],
    "ToGPU": ["IR", "ToLinalg", "CPUToLLVM", "CPUIR", "IO", "Support"],
    "Conversion": ["ToLinalg", "CPUToLLVM", "ToGPU"],
    "CPUJit": ["ToLinalg", "CPUIR", "IO", "IR"],
    "Registration": ["Transforms", "Conversion", "ToLinalg", "CPUToLLVM",
                     "ToGPU", "IR", "CPUIR"],
    "API": ["IO", "CPUJit", "Reference", "Registration", "Transforms",
            "Conversion", "ToLinalg", "ToGPU", "IR", "Support"],
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"quant-xform/([^"]+)"')


def owner(relative):
    """The library that owns `relative` (a path under include/quant-xform/
    or lib/), or None."""
    best = None
    for lib, prefixes in OWNS.items():
        for p in prefixes:
            if relative == p or relative.startswith(p + "/") or \
                    relative.startswith(p + "."):
                if best is None or len(p) > len(best[1]):
                    best = (lib, p)
    return best[0] if best else None


def main():
    root = pathlib.Path(sys.argv[1])
    violations = []
    for base in (root / "include" / "quant-xform", root / "lib"):
        for path in sorted(base.rglob("*")):
            if path.suffix not in (".h", ".cpp", ".td", ".inc"):
                continue
            lib = owner(path.relative_to(base).as_posix())
            if lib is None:
                continue
            for n, line in enumerate(path.read_text().splitlines(), 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                used = owner(m.group(1))
                if used is None or used == lib or used in MAY_USE[lib]:
                    continue
                violations.append(f"{path.relative_to(root)}:{n}: {lib} "
                                  f"includes {m.group(1)} ({used})")
    for v in violations:
        print(v)
    print(f"layers: {len(violations)} violation(s)")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
