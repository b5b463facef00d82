#!/usr/bin/env bash
# The IR-level demo on the bundled transformer block in
# examples/block.mlir (or the model given as $1) is compiled to W8A8 with
# several quant-xform-w8a8 recipes (plain, SmoothQuant, Hadamard, LLM.int8()
# outlier split, ...), calibrated on one seeded batch, and the reference
# evaluator compares every version with the float model on another. One
# version is then JIT-compiled for the CPU and checked against the evaluator.
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
# Calibration batch: seeded N(0, 1) inputs of @main's argument shape (the
# example's outliers come from its norm γ).
python3 - "$model" "$out/calib.npy" <<'PY'
import re, sys
import numpy as np
shape = re.search(r"func\.func @main\(%\w+: tensor<([0-9x]+)xf32>", open(sys.argv[1]).read())
if not shape:
    sys.exit("error: the demo needs @main(%x: tensor<...xf32>)")
dims = [int(d) for d in shape.group(1).split("x")]
np.save(sys.argv[2], np.random.default_rng(100).standard_normal(dims).astype(np.float32))
PY

declare -a names=(
  "w8a8-plain:"
  "w8a8-per-tensor-static:activation-granularity=per_tensor static-activations=true"
  "w8a8-smoothquant:smooth-alpha=0.5"
  "w8a8-hadamard:rotation=hadamard"
  "w8a8-smooth-hadamard:smooth-alpha=0.5 rotation=hadamard"
  "w8a8-outlier-split:outliers=static"
)
compare=()
for entry in "${names[@]}"; do
  name=${entry%%:*}; opts=${entry#*:}
  echo "-- $name: -quant-xform-w8a8=\"$opts\""
  $opt "$model" -quant-xform-w8a8="$opts calibration-inputs=$out/calib.npy" \
    -mlir-print-op-on-diagnostic=false -o "$out/$name.mlir"
  compare+=(--compare "$out/$name.mlir")
done

echo "== error of each version against the float model (reference evaluator, seed $seed)"
$run --reference "$model" --seed "$seed" --no-print "${compare[@]}"
echo "== the SmoothQuant + Hadamard version compiled for this CPU (JIT), against the evaluator"
$run --target=cpu "$out/w8a8-smooth-hadamard.mlir" --seed "$seed" --no-print \
  --compare-reference --time 20
echo "== IR of each version is in $out/; the accuracy table is docs/ACCURACY.md"
