#!/usr/bin/env bash
# Builds, on this machine (no GPU needed), whole transformer blocks compiled
# for the GPU into one folder (default .gpu-blocks, git-ignored): for each
# variant of the bundled blocks (the float block; W8A8 pipeline outputs
# with several recipes) the model compiled by `xform-aot --target=gpu`
# (tensor-core kernels for the linears, generated loop kernels for norms,
# attention and activations, host code calling the mgpu* ABI), linked with
# the runtime into bench/gpu/gpu_block_driver. On the device:
#   <out>/run-blocks.sh <results-dir>
# writes <variant>.x.npy / <variant>.y.npy there and prints timings; then,
# where MLIR is installed, compare-blocks.sh <results-dir> checks every
# output against the reference evaluator.
#   scripts/gpu-build-blocks.sh [out-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-.gpu-blocks}
cxx=${CXX:-$(command -v clang++-22 || command -v clang++ || command -v c++)}
[ -x build/bin/xform-aot ] || { echo "error: build first (scripts/test.sh or ninja -C build)"; exit 1; }
[ -f build/lib/libqx_cuda_runtime.so ] || { echo "error: build/lib/libqx_cuda_runtime.so is missing: ninja -C build"; exit 1; }
command -v ptxas >/dev/null || export PATH=$PATH:/usr/local/cuda/bin
command -v ptxas >/dev/null || { echo "error: ptxas (CUDA toolkit) is needed to make cubins"; exit 1; }
rm -rf "$out" && mkdir -p "$out"
# name|source|W8A8 recipe ("float": the float block as written)
variants=${QX_GPU_BLOCKS:-"pre-float|examples/block.mlir|float
pre-w8a8|examples/block.mlir|
pre-smooth-hadamard|examples/block.mlir|smooth-alpha=0.5 rotation=hadamard
pre-split|examples/block.mlir|outliers=dynamic
post-w8a8|examples/block_post.mlir|
post-static-asym-group|examples/block_post.mlir|activation-granularity=per_tensor static-activations=true asymmetric=true weight-granularity=per_group group-size=16"}
echo "#!/usr/bin/env bash" > "$out/run-blocks.sh"
echo "# Runs every compiled block on the GPU; writes <name>.x.npy / <name>.y.npy to \$1." >> "$out/run-blocks.sh"
echo 'set -e; cd "$(dirname "$0")"; res=${1:-.}; mkdir -p "$res"' >> "$out/run-blocks.sh"
cat > "$out/compare-blocks.sh" <<'CMP'
#!/usr/bin/env bash
# Where MLIR is installed: each block's GPU output against the reference
# evaluator on the same input (relative error ≤ 1e-5).
set -e; here=$(cd "$(dirname "$0")" && pwd); res=${1:-.}; xr=${XFORM_RUN:-xform-run}
CMP
while IFS='|' read -r name src recipe; do
  [ -n "$name" ] || continue
  if [ "$recipe" = float ]; then
    cp "$src" "$out/$name.mlir"
  else
    build/bin/xform-opt "$src" -quant-xform-w8a8="$recipe" -o "$out/$name.mlir"
  fi
  build/bin/xform-aot --target=gpu "$out/$name.mlir" -o "$out/$name.o" --header "$out/$name.h"
  # The driver's shapes: the block's one argument and result.
  read -r rows cols out_cols < <(sed -nE 's/^ *func\.func @main\(%[a-z0-9_]+: tensor<([0-9]+)x([0-9]+)xf32>\) -> tensor<[0-9]+x([0-9]+)xf32>.*/\1 \2 \3/p' "$out/$name.mlir" | head -1) || true
  [ -n "${rows:-}" ] || { echo "error: $out/$name.mlir: expected @main(tensor<RxCxf32>) -> tensor<RxOxf32>"; exit 1; }
  "$cxx" -O2 -std=c++17 -include "$out/$name.h" -DROWS="$rows" -DCOLS="$cols" -DOUT_COLS="$out_cols" \
    bench/gpu/gpu_block_driver.cpp "$out/$name.o" -L build/lib -lqx_cuda_runtime \
    -Wl,-rpath,'$ORIGIN' -o "$out/$name"
  echo "echo -n '$name: '; ./$name \"\$res/$name.x.npy\" \"\$res/$name.y.npy\"" >> "$out/run-blocks.sh"
  echo "\"\$xr\" --reference \"\$here/$name.mlir\" --input \"\$res/$name.x.npy\" --no-print --compare-npy \"\$res/$name.y.npy\" --max-rel-err \${QX_MAX_REL_ERR:-1e-5}" >> "$out/compare-blocks.sh"
  echo "compiled $name ($rows x $cols -> $rows x $out_cols${recipe:+, $recipe})"
done <<< "$variants"
cp build/lib/libqx_cuda_runtime.so "$out/"
chmod +x "$out/run-blocks.sh" "$out/compare-blocks.sh"
echo "artifacts in $out: run $out/run-blocks.sh <dir> on a machine with an NVIDIA GPU, then $out/compare-blocks.sh <dir>"
