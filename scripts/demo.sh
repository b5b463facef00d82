#!/usr/bin/env bash
# The main job on the bundled default: the transformer block in
# examples/block.mlir goes through the passes that exist, and the reference
# evaluator compares float and W8A8 versions on seeded inputs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

model=${1:-examples/block.mlir}
seed=${SEED:-1}
out=build/demo
mkdir -p "$out"
opt=build/bin/xform-opt
run=build/bin/xform-run

echo "== model: $model"
$opt "$model" -canonicalize -o "$out/float-canonical.mlir"
$opt "$model" -quant-xform-quantize-linears \
  -o "$out/w8a8-per-token-per-channel.mlir"
$opt "$model" -quant-xform-quantize-linears="activation-granularity=per_tensor" \
  -o "$out/w8a8-per-tensor-per-channel.mlir"
$opt "$model" -quant-xform-quantize-linears="weight-granularity=per_group group-size=16" \
  -o "$out/w8a8-per-token-per-group16.mlir"

echo "== error of each version against the float model (reference evaluator, seed $seed)"
$run --reference "$model" --seed "$seed" --no-print \
  --compare "$out/float-canonical.mlir" \
  --compare "$out/w8a8-per-token-per-channel.mlir" \
  --compare "$out/w8a8-per-tensor-per-channel.mlir" \
  --compare "$out/w8a8-per-token-per-group16.mlir"
echo "== IR of each version is in $out/"
