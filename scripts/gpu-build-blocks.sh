#!/usr/bin/env bash
# Builds, on this machine (no GPU needed), whole transformer blocks and
# small models compiled for the GPU into one folder (default .gpu-blocks,
# git-ignored): for each variant — the bundled blocks (float; W8A8 pipeline
# outputs with several recipes) and, from the Python package
# (bench/gpu/make_models.py), a 2-layer BERT-style encoder and a 2-layer
# LLaMA-style decoder (float, W8A8, SmoothQuant + Hadamard) — the model
# compiled by `xform-aot --target=gpu`
# (tensor-core kernels for the linears, generated loop kernels for norms,
# attention and activations, host code calling the mgpu* ABI), linked with
# the runtime into bench/gpu/gpu_block_driver. On the device:
#   <out>/run-blocks.sh <results-dir>
# writes <variant>.in<i>.npy / <variant>.y.npy there and prints timings; then,
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
# Python-built models (QX_GPU_MODELS=0: none).
if [ "${QX_GPU_MODELS:-1}" != 0 ]; then
  PYTHONPATH=build/python_packages python3 bench/gpu/make_models.py "$out/models" >/dev/null ||
    { echo "error: bench/gpu/make_models.py failed (is the Python package built?)"; exit 1; }
fi
# name|source|W8A8 recipe ("float", "as-is": the source as written)
variants=${QX_GPU_BLOCKS:-"pre-float|examples/block.mlir|float
pre-w8a8|examples/block.mlir|
pre-smooth-hadamard|examples/block.mlir|smooth-alpha=0.5 rotation=hadamard
pre-split|examples/block.mlir|outliers=dynamic
pre-split-static|examples/block.mlir|outliers=static
post-w8a8|examples/block_post.mlir|
post-static-asym-group|examples/block_post.mlir|activation-granularity=per_tensor static-activations=true asymmetric=true weight-granularity=per_group group-size=16
attention-bert|test/Target/GPU/Inputs/attention-bert.mlir|as-is
attention-ragged|test/Target/GPU/Inputs/attention-ragged.mlir|as-is
attention-gqa-causal|test/Target/GPU/Inputs/attention-gqa-causal.mlir|as-is
attention-cache|test/Target/GPU/Inputs/attention-cache.mlir|as-is
attention-decode|test/Target/GPU/Inputs/attention-decode.mlir|as-is
attention-d16|test/Target/GPU/Inputs/attention-d16.mlir|as-is
attention-rotary|test/Target/GPU/Inputs/attention-rotary.mlir|as-is
attention-f16|test/Target/GPU/Inputs/attention-f16.mlir|as-is
attention-f16-decode|test/Target/GPU/Inputs/attention-f16-decode.mlir|as-is
norm-ragged|test/Target/GPU/Inputs/norm-ragged.mlir|as-is
norm-wide|test/Target/GPU/Inputs/norm-wide.mlir|as-is
gated-pair|test/Target/GPU/Inputs/gated-pair.mlir|as-is
gated-pair-rows|test/Target/GPU/Inputs/gated-pair-rows.mlir|as-is
linear-tiles-128x192|test/Target/GPU/Inputs/linear-tiles-128x192.mlir|as-is
linear-tiles-64x192|test/Target/GPU/Inputs/linear-tiles-64x192.mlir|as-is
linear-tiles-128x192-f16|test/Target/GPU/Inputs/linear-tiles-128x192-f16.mlir|as-is
linear-tiles-64x192-f16|test/Target/GPU/Inputs/linear-tiles-64x192-f16.mlir|as-is"}
if [ "${QX_GPU_MODELS:-1}" != 0 ] && [ -z "${QX_GPU_BLOCKS:-}" ]; then
  for m in bert decoder; do
    for r in float w8a8 smooth-hadamard; do
      variants="$variants
$m-$r|$out/models/$m-$r.mlir|as-is"
    done
    for r in float w8a8; do # 4 sequences as the rows of one call
      variants="$variants
${m}4-$r|$out/models/${m}4-$r.mlir|as-is"
    done
  done
fi
echo "#!/usr/bin/env bash" > "$out/run-blocks.sh"
echo "# Runs every compiled block on the GPU; writes <name>.in<i>.npy / <name>.y.npy to \$1." >> "$out/run-blocks.sh"
echo 'set -e; cd "$(dirname "$0")"; res=${1:-.}; mkdir -p "$res"' >> "$out/run-blocks.sh"
cat > "$out/compare-blocks.sh" <<'CMP'
#!/usr/bin/env bash
# Where MLIR is installed: each block's GPU output against the reference
# evaluator on the same input (relative error ≤ 1e-4: the GPU's f32 sums
# run in another order than the evaluator's f64 ones, which can flip an
# int8 rounding of a W8A8 model, ~1e-3 on one row, ~5e-5 over the output
# of the batched decoder; a wrong kernel is off by O(1); floats stay
# ≤ 4e-7). Models with attention: ≤ 2e-3, since the attention kernel
# multiplies q·kᵀ and p·v on f16 tensor cores (q, k, v and the
# probabilities rounded to 11 significant bits, 2⁻¹¹ = 4.9e-4 relative
# each; f32 sums): measured 1.6e-4 – 2.6e-4 (H100, 2026-12-06). W8A8
# models with attention: ≤ 2e-2, since that 2e-4 perturbation of the
# attention output flips the int8 roundings of the next per-token
# quantizers wherever a value sits near a rounding boundary, one step
# (1/127 of the row's largest value) each, and the flips add up over the
# layers: measured 1.2e-3 – 1.05e-2, cosine ≥ 0.99994.
set -e; here=$(cd "$(dirname "$0")" && pwd); res=${1:-.}; xr=${XFORM_RUN:-xform-run}
CMP
while IFS='|' read -r name src recipe; do
  [ -n "$name" ] || continue
  if [ "$recipe" = float ] || [ "$recipe" = as-is ]; then
    [ "$src" -ef "$out/$name.mlir" ] || cp "$src" "$out/$name.mlir"
  else
    build/bin/xform-opt "$src" -quant-xform-w8a8="$recipe" -o "$out/$name.mlir"
  fi
  build/bin/xform-aot --target=gpu "$out/$name.mlir" -o "$out/$name.o" --header "$out/$name.h"
  # The driver's shapes and call, from the header's descriptor comments:
  # f32 arguments and one f32 result, or all of them f16 (QX_HALF).
  elem=f32; half=""
  if grep -q '^/// Descriptor of result 0: tensor<.*xf16>$' "$out/$name.h"; then elem=f16; half=-DQX_HALF; fi
  shapes=$(sed -nE "s|^/// Descriptor of argument [0-9]+: tensor<(([0-9]+x)*)$elem>\$|\\1|p" "$out/$name.h" |
           sed -E 's/x$//; s/x/,/g; s/.*/{&}/' | paste -sd, -)
  nargs=$(grep -c '^/// Descriptor of argument' "$out/$name.h" || true)
  result=$(sed -nE "s|^/// Descriptor of result 0: tensor<(([0-9]+x)*)$elem>\$|\\1|p" "$out/$name.h" |
           sed -E 's/x$//; s/x/,/g')
  if [ -z "$shapes" ] || [ "$(echo "$shapes" | grep -o '{' | wc -l)" != "$nargs" ] || [ -z "$result" ] ||
     grep -q '^/// Descriptor of result 1' "$out/$name.h"; then
    echo "error: $out/$name.mlir: the driver takes f32 (or all f16) arguments and one result of their type"; exit 1
  fi
  call="qx_model("; files=""
  for ((i = 0; i < nargs; i++)); do call="${call}in[$i],"; files="$files \"\$res/$name.in$i.npy\""; done
  call="${call}out)"
  "$cxx" -O2 -std=c++17 $half -Iruntime -include "$out/$name.h" "-DQX_IN_SHAPES={$shapes}" "-DQX_OUT_SHAPE={$result}" \
    "-DQX_CALL(in,out)=$call" bench/gpu/gpu_block_driver.cpp "$out/$name.o" -L build/lib \
    -lqx_cuda_runtime -Wl,-rpath,'$ORIGIN' -o "$out/$name"
  echo "echo -n '$name: '; ./$name$files \"\$res/$name.y.npy\"" >> "$out/run-blocks.sh"
  inputs=""
  for ((i = 0; i < nargs; i++)); do inputs="$inputs --input \"\$res/$name.in$i.npy\""; done
  tol='${QX_MAX_REL_ERR:-1e-4}'
  if grep -q 'quant_xform.attention' "$out/$name.mlir"; then
    tol='${QX_ATTENTION_MAX_REL_ERR:-2e-3}'
    grep -q 'quant_xform.qlinear' "$out/$name.mlir" && tol='${QX_W8A8_ATTENTION_MAX_REL_ERR:-2e-2}'
  fi
  echo "\"\$xr\" --reference \"\$here/$name.mlir\"$inputs --no-print --compare-npy \"\$res/$name.y.npy\" --max-rel-err $tol" >> "$out/compare-blocks.sh"
  echo "compiled $name (${shapes} -> {$result}${recipe:+, $recipe})"
done <<< "$variants"
cp build/lib/libqx_cuda_runtime.so "$out/"
chmod +x "$out/run-blocks.sh" "$out/compare-blocks.sh"
echo "artifacts in $out: run $out/run-blocks.sh <dir> on a machine with an NVIDIA GPU, then $out/compare-blocks.sh <dir>"
