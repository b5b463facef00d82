#!/usr/bin/env bash
# Builds, on this machine (no GPU needed), everything the GPU device run
# needs into one folder (default .gpu, git-ignored): for each shape the
# W8A8 linear compiled by `xform-aot --target=gpu` (cubin embedded, host code
# calling the mgpu* ABI), the runtime library (runtime/CudaRuntime.cpp) and
# bench/gpu/gpu_linear_runner linked against them, plus gpu-device-run.sh.
# On the device machine: `.gpu/gpu-device-run.sh` (see docs/PERF.md).
#   scripts/gpu-build-artifacts.sh [out-dir]
# QX_GPU_CHIP (sm_90a: wgmma kernels, the default; sm_90: mma.sync only) and
# QX_GPU_TILE_M / QX_GPU_TILE_N / QX_GPU_TILE_K / QX_GPU_STAGES /
# QX_GPU_GROUP_M (the wgmma block, pipeline and raster groups; 0: chosen
# per shape), QX_GPU_PERSISTENT (false, true) and QX_GPU_TMA (true,
# false; false with QX_GPU_PERSISTENT=true) pick the kernels;
# QX_GPU_PLANNED_M (1024) the rows that kernels of a run-time M are planned
# for.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-.gpu}
cxx=${CXX:-$(command -v clang++-22 || command -v clang++ || command -v c++)}
[ -x build/bin/xform-aot ] || { echo "error: build first (scripts/test.sh or ninja -C build)"; exit 1; }
[ -f build/lib/libqx_cuda_runtime.so ] || { echo "error: build/lib/libqx_cuda_runtime.so is missing: ninja -C build"; exit 1; }
command -v ptxas >/dev/null || export PATH=$PATH:/usr/local/cuda/bin
command -v ptxas >/dev/null || { echo "error: ptxas (CUDA toolkit) is needed to make cubins"; exit 1; }
rm -rf "$out" && mkdir -p "$out"
# name:M:N:K:bias[:fused|:quant|:hquant|:mixed:O] — ragged shapes for
# correctness, then the benchmark ones; `fused`: f32 activations quantized
# per token by the generated code (dynamic_quantize + qlinear), else s8
# activations + scales; `mixed`: an LLM.int8() mixed_linear with O static
# outlier columns j·⌊K/O⌋ (the anchor's choice: 8 columns);
# `quant`: the per-token quantize of [M, K] f32 alone; `hquant`: with an
# online Hadamard rotation in front (one kernel); `bfused` / `bmixed:O`:
# `fused` / `mixed:O` on bf16 activations and results (arith.extf to f32
# in front, arith.truncf to bf16 behind, both fused into the kernels);
# `bgemm`: the qlinear on s8 activations with bf16 results; `bquant`: the
# quantize of bf16 activations alone. M of the form `d1/17/300`: a run-time
# M (tensor<?xK>), one artifact run at M = 1, 17 and 300.
chip=${QX_GPU_CHIP:-sm_90a}
tile_m=${QX_GPU_TILE_M:-0}
tile_n=${QX_GPU_TILE_N:-0}
tile_k=${QX_GPU_TILE_K:-0}
stages=${QX_GPU_STAGES:-0}
group_m=${QX_GPU_GROUP_M:-0}
persistent=${QX_GPU_PERSISTENT:-false}
tma=${QX_GPU_TMA:-true}
planned_m=${QX_GPU_PLANNED_M:-1024}
shapes=${QX_GPU_SHAPES:-"ragged:100:70:96:1 lragged:100:70:96:1:mixed:3 bfragged:300:200:272:1:bfused blragged:100:70:96:1:bmixed:3 tailk:64:48:36:0 wragged:300:200:272:1 wfull:256:256:256:0 single:1:4096:4096:1 m16:16:4096:4096:1 m2048:2048:4096:4096:1 m2048n11008:2048:11008:4096:1 m8192:8192:4096:4096:1"}
# QX_GPU_SHAPES=bench: the grid of bench/gpu/gpu_linear.py (issue 5), plus
# the two ragged correctness shapes.
if [ "$shapes" = bench ]; then
  shapes="ragged:100:70:96:1 tailk:64:48:36:0 bigragged:1030:200:100:1 wragged:300:200:272:1 fragged:300:200:272:1:fused lragged:300:200:272:1:mixed:3 lragged8:130:264:96:0:mixed:8 lragged64:200:136:512:1:mixed:64 lragged16:520:300:1024:0:mixed:16 bfragged:300:200:272:1:bfused bfragged0:130:264:96:0:bfused bgragged:300:200:272:1:bgemm bqragged:130:0:1000:0:bquant pragged:3000:1400:208:1 bfpragged:3000:1400:208:1:bfused lpragged:3000:1400:208:0:mixed:8 blragged:300:200:272:1:bmixed:3 blragged16:520:300:1024:0:bmixed:16 hodd:130:0:3072:0:hquant hone:64:0:1024:0:hquant h512:100:0:1536:0:hquant"
  for m in 16 128 2048 8192; do
    for nk in 4096:4096 11008:4096 4096:11008; do
      shapes="$shapes m${m}_${nk/:/_}:$m:$nk:1 bg${m}_${nk/:/_}:$m:$nk:1:bgemm f${m}_${nk/:/_}:$m:$nk:1:fused l${m}_${nk/:/_}:$m:$nk:1:mixed:8 bf${m}_${nk/:/_}:$m:$nk:1:bfused bl${m}_${nk/:/_}:$m:$nk:1:bmixed:8"
    done
  done
  shapes="$shapes m8192_8192_8192:8192:8192:8192:1 bg8192_8192_8192:8192:8192:8192:1:bgemm f8192_8192_8192:8192:8192:8192:1:fused l8192_8192_8192:8192:8192:8192:1:mixed:8 bf8192_8192_8192:8192:8192:8192:1:bfused bl8192_8192_8192:8192:8192:8192:1:bmixed:8"
  for mk in 2048:4096 2048:11008 8192:4096 8192:11008; do
    shapes="$shapes q${mk/:/_}:${mk%:*}:0:${mk#*:}:0:quant bq${mk/:/_}:${mk%:*}:0:${mk#*:}:0:bquant h${mk/:/_}:${mk%:*}:0:${mk#*:}:0:hquant"
  done
fi
: > "$out/entries.inc"
for s in $shapes; do
  IFS=: read -r name m n k bias kind outliers <<< "$s"
  runs=""
  if [ "${m#d}" != "$m" ]; then # a run-time M: `?` in the IR
    runs=${m#d}; runs=${runs//\// }; m="?"
  fi
  bt=""; bias_use=""; bias_type=""
  if [ "$bias" = 1 ]; then
    bt=", %b: tensor<${n}xf32>"; bias_use=", bias %b"; bias_type=", tensor<${n}xf32>"
  fi
  if [ "${kind:-}" = bmixed ]; then
    # LLM.int8() on bf16 activations and results.
    cols=$(python3 -c "print(', '.join(str(j * ($k // $outliers)) for j in range($outliers)))")
    cat > "$out/$name.mlir" <<MLIR
func.func @main(%xb: tensor<${m}x${k}xbf16>, %w: tensor<${n}x${k}xi8>, %sw: tensor<${n}xf32>, %wo: tensor<${n}x${outliers}xf32>${bt}) -> tensor<${m}x${n}xbf16> {
  %x = arith.extf %xb : tensor<${m}x${k}xbf16> to tensor<${m}x${k}xf32>
  %y = quant_xform.mixed_linear %x, %w scale %sw, outliers %wo columns [$cols]${bias_use} : (tensor<${m}x${k}xf32>, tensor<${n}x${k}xi8>, tensor<${n}xf32>, tensor<${n}x${outliers}xf32>${bias_type}) -> tensor<${m}x${n}xf32>
  %yb = arith.truncf %y : tensor<${m}x${n}xf32> to tensor<${m}x${n}xbf16>
  return %yb : tensor<${m}x${n}xbf16>
}
MLIR
    entry=QX_BF16_MIXED_ENTRY
  elif [ "${kind:-}" = bfused ]; then
    # The whole W8A8 linear on bf16 activations and results.
    cat > "$out/$name.mlir" <<MLIR
func.func @main(%xb: tensor<${m}x${k}xbf16>, %w: tensor<${n}x${k}xi8>, %sw: tensor<${n}xf32>${bt}) -> tensor<${m}x${n}xbf16> {
  %x = arith.extf %xb : tensor<${m}x${k}xbf16> to tensor<${m}x${k}xf32>
  %q, %s = quant_xform.dynamic_quantize %x scheme<per_token> : (tensor<${m}x${k}xf32>) -> (tensor<${m}x${k}xi8>, tensor<${m}xf32>)
  %y = quant_xform.qlinear %q scale %s, %w scale %sw${bias_use} : (tensor<${m}x${k}xi8>, tensor<${m}xf32>, tensor<${n}x${k}xi8>, tensor<${n}xf32>${bias_type}) -> tensor<${m}x${n}xf32>
  %yb = arith.truncf %y : tensor<${m}x${n}xf32> to tensor<${m}x${n}xbf16>
  return %yb : tensor<${m}x${n}xbf16>
}
MLIR
    entry=QX_BF16_ENTRY
  elif [ "${kind:-}" = mixed ]; then
    # LLM.int8(): the quantize kernel zeroes and gathers the outlier
    # columns, the GEMM's epilogue adds their float product.
    cols=$(python3 -c "print(', '.join(str(j * ($k // $outliers)) for j in range($outliers)))")
    cat > "$out/$name.mlir" <<MLIR
func.func @main(%x: tensor<${m}x${k}xf32>, %w: tensor<${n}x${k}xi8>, %sw: tensor<${n}xf32>, %wo: tensor<${n}x${outliers}xf32>${bt}) -> tensor<${m}x${n}xf32> {
  %y = quant_xform.mixed_linear %x, %w scale %sw, outliers %wo columns [$cols]${bias_use} : (tensor<${m}x${k}xf32>, tensor<${n}x${k}xi8>, tensor<${n}xf32>, tensor<${n}x${outliers}xf32>${bias_type}) -> tensor<${m}x${n}xf32>
  return %y : tensor<${m}x${n}xf32>
}
MLIR
    entry=QX_MIXED_ENTRY
  elif [ "${kind:-}" = bquant ]; then
    # The per-token quantize of bf16 activations alone (N unused).
    cat > "$out/$name.mlir" <<MLIR
func.func @main(%xb: tensor<${m}x${k}xbf16>) -> (tensor<${m}x${k}xi8>, tensor<${m}xf32>) {
  %x = arith.extf %xb : tensor<${m}x${k}xbf16> to tensor<${m}x${k}xf32>
  %q, %s = quant_xform.dynamic_quantize %x scheme<per_token> : (tensor<${m}x${k}xf32>) -> (tensor<${m}x${k}xi8>, tensor<${m}xf32>)
  return %q, %s : tensor<${m}x${k}xi8>, tensor<${m}xf32>
}
MLIR
    entry=QX_BF16_QUANT_ENTRY
  elif [ "${kind:-}" = bgemm ]; then
    # The qlinear on s8 activations with bf16 results.
    cat > "$out/$name.mlir" <<MLIR
func.func @main(%q: tensor<${m}x${k}xi8>, %s: tensor<${m}xf32>, %w: tensor<${n}x${k}xi8>, %sw: tensor<${n}xf32>${bt}) -> tensor<${m}x${n}xbf16> {
  %y = quant_xform.qlinear %q scale %s, %w scale %sw${bias_use} : (tensor<${m}x${k}xi8>, tensor<${m}xf32>, tensor<${n}x${k}xi8>, tensor<${n}xf32>${bias_type}) -> tensor<${m}x${n}xf32>
  %yb = arith.truncf %y : tensor<${m}x${n}xf32> to tensor<${m}x${n}xbf16>
  return %yb : tensor<${m}x${n}xbf16>
}
MLIR
    entry=QX_BF16_GEMM_ENTRY
  elif [ "${kind:-}" = hquant ]; then
    # The online Hadamard rotation (signs: the runner's hadamardSign) and
    # the per-token quantize, one kernel (N unused).
    signs=$(python3 -c "print(', '.join('-1' if (j * 7 + 3) % 5 < 2 else '1' for j in range($k)))")
    cat > "$out/$name.mlir" <<MLIR
func.func @main(%x: tensor<${m}x${k}xf32>) -> (tensor<${m}x${k}xi8>, tensor<${m}xf32>) {
  %r = quant_xform.rotate hadamard %x signs [$signs] {quant_xform.online} : (tensor<${m}x${k}xf32>) -> tensor<${m}x${k}xf32>
  %q, %s = quant_xform.dynamic_quantize %r scheme<per_token> : (tensor<${m}x${k}xf32>) -> (tensor<${m}x${k}xi8>, tensor<${m}xf32>)
  return %q, %s : tensor<${m}x${k}xi8>, tensor<${m}xf32>
}
MLIR
    entry=QX_HQUANT_ENTRY
  elif [ "${kind:-}" = quant ]; then
    # The per-token quantize alone (N unused).
    cat > "$out/$name.mlir" <<MLIR
func.func @main(%x: tensor<${m}x${k}xf32>) -> (tensor<${m}x${k}xi8>, tensor<${m}xf32>) {
  %q, %s = quant_xform.dynamic_quantize %x scheme<per_token> : (tensor<${m}x${k}xf32>) -> (tensor<${m}x${k}xi8>, tensor<${m}xf32>)
  return %q, %s : tensor<${m}x${k}xi8>, tensor<${m}xf32>
}
MLIR
    entry=QX_QUANT_ENTRY
  elif [ "${kind:-}" = fused ]; then
    # The whole W8A8 linear: per-token dynamic quantize of f32 activations,
    # then the int8 GEMM with its epilogue.
    cat > "$out/$name.mlir" <<MLIR
func.func @main(%x: tensor<${m}x${k}xf32>, %w: tensor<${n}x${k}xi8>, %sw: tensor<${n}xf32>${bt}) -> tensor<${m}x${n}xf32> {
  %q, %s = quant_xform.dynamic_quantize %x scheme<per_token> : (tensor<${m}x${k}xf32>) -> (tensor<${m}x${k}xi8>, tensor<${m}xf32>)
  %y = quant_xform.qlinear %q scale %s, %w scale %sw${bias_use} : (tensor<${m}x${k}xi8>, tensor<${m}xf32>, tensor<${n}x${k}xi8>, tensor<${n}xf32>${bias_type}) -> tensor<${m}x${n}xf32>
  return %y : tensor<${m}x${n}xf32>
}
MLIR
    entry=QX_FUSED_ENTRY
  else
    cat > "$out/$name.mlir" <<MLIR
func.func @main(%q: tensor<${m}x${k}xi8>, %s: tensor<${m}xf32>, %w: tensor<${n}x${k}xi8>, %sw: tensor<${n}xf32>${bt}) -> tensor<${m}x${n}xf32> {
  %y = quant_xform.qlinear %q scale %s, %w scale %sw${bias_use} : (tensor<${m}x${k}xi8>, tensor<${m}xf32>, tensor<${n}x${k}xi8>, tensor<${n}xf32>${bias_type}) -> tensor<${m}x${n}xf32>
  return %y : tensor<${m}x${n}xf32>
}
MLIR
    entry=QX_ENTRY
  fi
  build/bin/xform-aot --target=gpu --gpu-chip "$chip" --gpu-wgmma-tile-m "$tile_m" --gpu-wgmma-tile-n "$tile_n" --gpu-wgmma-tile-k "$tile_k" --gpu-wgmma-stages "$stages" --gpu-wgmma-group-m "$group_m" --gpu-wgmma-persistent="$persistent" --gpu-wgmma-tma="$tma" --gpu-planned-m "$planned_m" "$out/$name.mlir" --name "$name" -o "$out/$name.o" --header "$out/$name.h"
  echo "#include \"$name.h\"" >> "$out/entries.inc"
  for mm in ${runs:-$m}; do
    ename=$name
    if [ -n "$runs" ]; then # qx_<name>_m<M>(...) = qx_<name>(M, ...)
      ename=${name}_m$mm
      echo "QX_RUNTIME_M_WRAPPER($name, $mm)" >> "$out/entries.inc"
    fi
    if [ "$entry" = QX_QUANT_ENTRY ]; then
      echo "QX_QUANT_ENTRY($ename, $mm, $k, false)" >> "$out/entries.inc"
    elif [ "$entry" = QX_BF16_QUANT_ENTRY ]; then
      echo "QX_BF16_QUANT_ENTRY($ename, $mm, $k)" >> "$out/entries.inc"
    elif [ "$entry" = QX_HQUANT_ENTRY ]; then
      echo "QX_QUANT_ENTRY($ename, $mm, $k, true)" >> "$out/entries.inc"
    elif [ "$entry" = QX_MIXED_ENTRY ] || [ "$entry" = QX_BF16_MIXED_ENTRY ]; then
      echo "$entry($ename, $mm, $n, $k, $bias, $outliers)" >> "$out/entries.inc"
    else
      echo "$entry($ename, $mm, $n, $k, $bias)" >> "$out/entries.inc"
    fi
  done
  echo "compiled $name ($m x $n x $k${kind:+, $kind}${runs:+; run at M = $runs})"
done
cp build/lib/libqx_cuda_runtime.so bench/gpu/gpu_linear.py "$out/"
"$cxx" -O2 -std=c++17 -I"$out" -Iruntime bench/gpu/gpu_linear_runner.cpp "$out"/*.o \
  -L"$out" -lqx_cuda_runtime -Wl,-rpath,'$ORIGIN' -o "$out/gpu_linear_runner"
cat > "$out/gpu-device-run.sh" <<'RUN'
#!/usr/bin/env bash
# Runs on the device machine: correctness + timing of every compiled shape.
cd "$(dirname "$0")" && ./gpu_linear_runner
RUN
chmod +x "$out/gpu-device-run.sh"
echo "artifacts in $out: run $out/gpu-device-run.sh on a machine with an NVIDIA GPU"
