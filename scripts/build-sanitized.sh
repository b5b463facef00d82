#!/usr/bin/env bash
# Configures and builds build-san/: quant-xform's own code with AddressSanitizer
# + UndefinedBehaviorSanitizer and libFuzzer coverage (the distribution's
# MLIR/LLVM libraries are not instrumented), for scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f build-san/build.ninja ]; then
  cmake -G Ninja -S . -B build-san \
    -DCMAKE_BUILD_TYPE=Release -DQX_SANITIZE=ON -DQX_FUZZ=ON \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit > /dev/null
fi
start=$(date +%s)
ninja -C build-san xform-opt xform-run xform-aot QuantXformTests \
  ir_fuzzer npy_fuzzer safetensors_fuzzer stats_fuzzer
echo "== sanitized build finished in $(( $(date +%s) - start )) s"
