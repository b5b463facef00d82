# -*- Python -*-
# lit configuration for quant-xform's tests.

import os
import shutil
import sys

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "QUANT_XFORM"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["Inputs", "lit.cfg.py", "lit.site.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.quant_xform_obj_root, "test")

llvm_config.use_default_substitutions()
# Sanitizer settings reach the tools (scripts/test.sh sets them for build-san).
llvm_config.with_system_environment(["ASAN_OPTIONS", "UBSAN_OPTIONS",
                                     "LSAN_OPTIONS"])
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

# The Python that runs lit runs the numpy checks too.
config.substitutions.append(("%python", sys.executable))
config.substitutions.append(("%src_root", config.quant_xform_src_root))

tool_dirs = [config.quant_xform_tools_dir, config.llvm_tools_dir]
tools = ["xform-opt", "xform-run", "xform-aot"]
llvm_config.add_tool_substitutions(tools, tool_dirs)

# GPU tests run only where a CUDA driver and device are present.
if os.path.exists("/dev/nvidia0") or os.environ.get("QUANT_XFORM_CUDA_GPU"):
    config.available_features.add("cuda-gpu")
# ptxas (CUDA toolkit) turns PTX into cubins for the GPU artifacts.
cuda_bin = "/usr/local/cuda/bin"
if os.path.isdir(cuda_bin):
    config.environment["PATH"] = os.pathsep.join(
        [config.environment.get("PATH", os.environ.get("PATH", "")), cuda_bin])
if shutil.which("ptxas", path=config.environment.get("PATH")):
    config.available_features.add("ptxas")

# The VNNI int8 kernel runs only on CPUs with AVX-512 VNNI, the AMX one
# only on CPUs with AMX-INT8 (the kernel lists the flags only when it
# supports the tile state).
try:
    with open("/proc/cpuinfo") as f:
        cpuinfo = f.read()
    if " avx512_vnni" in cpuinfo:
        config.available_features.add("avx512-vnni")
    if " amx_int8" in cpuinfo and " amx_tile" in cpuinfo:
        config.available_features.add("amx")
except OSError:
    pass
try:
    import numpy  # noqa: F401
    config.available_features.add("numpy")
except ImportError:
    pass

# A C++ compiler for the AOT test programs (clang-22 is installed by
# scripts/setup.sh).
cxx = shutil.which("clang++-22") or shutil.which("clang++") or shutil.which("c++")
if cxx:
    config.available_features.add("cxx")
    config.substitutions.append(("%cxx", cxx))
