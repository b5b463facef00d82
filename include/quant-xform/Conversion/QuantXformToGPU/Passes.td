//===- Passes.td - the GPU lowering passes -*- tablegen -*-===//

#ifndef QUANT_XFORM_CONVERSION_QUANTXFORMTOGPU_PASSES_TD
#define QUANT_XFORM_CONVERSION_QUANTXFORMTOGPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertQuantXformQLinearToGPU
    : Pass<"convert-quant-xform-qlinear-to-gpu", "ModuleOp"> {
  let summary = "Lower functions of qlinear ops (and their per-token "
                "quantizers) to generated GPU kernels";
  let description = [{
    A function whose body is `qlinear` ops on its arguments (or on the
    results of symmetric per-token `dynamic_quantize` ops of its f32
    arguments), with qlinear results returned directly, becomes a host
    function on device memrefs (its results become out-parameters) that
    launches generated kernels from the `gpu.module @qx_gpu_kernels`.

    Each `dynamic_quantize` gets a quantize kernel (one block per row, of
    256 threads, or 128 for a bf16 / f16 row of K ≤ 8192 without a
    rotation: loads kept in registers for K ≤ 16384, the row's absmax through
    warp shuffles and shared memory, the reference evaluator's scale and
    rounding exactly; an online `rotate hadamard` (not inverse, K ≤ 16384)
    whose only user is the quantize is done in the same kernel first:
    column factors sign_k/√B from a global, butterflies in registers, warp
    shuffles and shared memory, in the CPU lowering's order) writing
    device scratch buffers (`gpu.alloc` / `gpu.dealloc` on a stream; the
    runtime reuses freed blocks). Each `qlinear` gets one of two GEMM
    kernels:

    - with `wgmma` (sm_90a), when M ≥ `wgmma-min-m` and K is a multiple of
      16: blocks of one or two warpgroups computing 64 or 128 rows × 32 to
      256 columns (of 128 × 256, 128 × 192, 128 × 128, 64 × 192, 64 × 128,
      64 × 64 and 64 × 32, the one whose waves over the target's SMs
      take the least time by a simple model, unless `wgmma-tile-m` /
      `wgmma-tile-n` fix it); K tiles of 128 bytes staged
      in shared memory by 16-byte `cp.async` copies (as many buffers as fit
      in 200 KB, up to 16, all but 2 in flight; rows past a small M
      zeroed once instead of copied; 128-byte swizzle; zero fill
      past M, N and K) and multiplied by `wgmma.mma_async` m64nNk32 s8
      through matrix descriptors; the epilogue's weight scales and bias
      copied to shared memory by `cp.async` at the start; 8-byte stores of
      the output where the block is whole; consecutive blocks walk down
      raster groups of 16 row blocks of one column block
      (`wgmma-group-m`), so that the blocks in flight (about one per SM)
      share their A and B tiles in L2; with `wgmma-persistent`, a grid of more than one
      wave becomes one block per SM walking the tiles, the next tile's
      first K tiles copied during the current tile's epilogue (measured
      no faster on the H100, so off by default); with `wgmma-tma` (the
      default; not with `wgmma-persistent`) the K tiles come by TMA
      instead of cp.async: a producer warp (or warpgroup, for two
      consumer warpgroups, with `setmaxnreg` 40 / 232) issues 2-D tensor
      copies (128-byte swizzle, zeros past the edges) onto per-stage
      mbarriers, the tensor maps passed as 128-byte grid-constant
      parameters that the host makes per launch
      (quant-xform-gpu-tensor-maps, runtime `qxGpuEncodeTensorMap`);
      whole tiles of bf16 / f16 results are staged in shared memory and
      written out in 16-byte pieces;
    - otherwise: 4 warps per block, each warp a 16 × 32 output tile
      (64 × 64 for M ≥ 1024) with `nvgpu.mma.sync` m16n8k32 on s8, operands
      read from global memory in 4-byte groups; K a multiple of 4.

    Both accumulate in i32 and fuse the dequant + bias epilogue
    (`sx·(sw·acc) + bias`, the evaluator's order) before the store; ragged
    M and N are masked.

    M may be a run-time value (`tensor<?xK>` inputs and results; K and the
    weights static): one compiled function then runs any number of rows.
    The kernels take memrefs of a dynamic first dimension and read M from
    them (`memref.dim`) for their row clamps and masks; the host sizes the
    grid's row dimension from it (one quantize block per row, ⌈M / rows
    per block⌉ GEMM blocks), allocates the scratch buffers with it and
    gives it to the TMA tensor maps. The kernel (wgmma or mma.sync) and its
    tile are planned for `planned-m` rows; such kernels are never
    persistent and always mask their stores.

    Casts at the edges are fused: an `arith.extf` of a static [M, K] bf16
    or f16 function argument to f32 whose users are quantizes (or their
    Hadamard rotation, or a fused `mixed_linear`) becomes the quantize
    kernel's loads (8-byte loads widened exactly), and an `arith.truncf`
    to bf16 / f16 (to nearest even) that is the only use of a linear's f32
    result becomes the epilogue's stores (`cvt.rn.bf16x2.f32`, 4-byte
    pairs); the host function then takes and fills bf16 / f16 buffers.
    The quantize still divides in f32 (the evaluator's semantics of the
    f32 IR), so results stay bit-exact against the CPU lowering.

    All of a function's launches, allocations and frees go on one stream,
    created at its entry and synchronized at its exit (the runtime's
    `qxGpuSetStream` makes that the caller's stream, without the wait).

    With `outline` (the default), any other function (a whole model:
    norms, attention, activations between the linears) keeps its other ops
    and calls such kernel functions instead: each `qlinear` and
    `dynamic_quantize` that the kernels handle becomes a private function
    `@<name>_gpu<i>` of that op alone, lowered as above but with
    synchronous launches and no stream of its own (the GPU pipeline inlines
    it, and gpu-async-region then puts all of the caller's launches on one
    stream), and called through
    `bufferization.to_buffer` / `memref.alloc` / `bufferization.to_tensor`,
    so that one-shot bufferization of the rest sees ordinary tensor code.
    An LLM.int8() `mixed_linear` with 1 to 64 static outlier columns, an f32
    [M, K] input with K a multiple of 16 and `wgmma` on is two fused
    kernels (outlined like a `qlinear`, or a function of such ops): the
    quantize kernel quantizes x with the outlier columns zeroed (a keep
    mask) and gathers them into xo [M, O]; the wgmma GEMM adds
    Σⱼ xo[m, j]·Wo[n, j] to each dequantized value in order of j (up to 16
    columns staged in shared memory with the scales). Any other
    `mixed_linear` is split into the outlier mask, a per-token
    `dynamic_quantize` + `qlinear` of x with the outlier columns zeroed,
    and a float matmul of the outlier columns, so its int8 part takes the
    kernels too. A `quant_xform.attention` of static shape with a head
    size that is a multiple of 16 up to 128 is one flash attention kernel
    (online softmax, q·kᵀ and p·v on mma.sync f16 with f32 accumulators;
    outlined like a `qlinear`). A
    `qlinear` or attention that the kernels cannot take stays (with a
    warning) for convert-quant-xform-to-linalg. Without `outline`, and in functions of
    qlinear / dynamic_quantize / fusable mixed_linear ops only, anything the
    kernels do not handle
    (other ops, asymmetric activations, per-group weight scales, non-f32
    scales) is an error naming the op.
  }];
  let options = [
    Option<"wgmma", "wgmma", "bool", "false",
           "Use the sm_90a wgmma kernel where the shape allows it">,
    Option<"wgmmaTileM", "wgmma-tile-m", "int64_t", "0",
           "Rows per block of the wgmma kernel (64, 128; 0: choose)">,
    Option<"wgmmaTileN", "wgmma-tile-n", "int64_t", "0",
           "Columns per block of the wgmma kernel (32, 64, 128, 192, 256; "
           "0: choose)">,
    Option<"wgmmaTileK", "wgmma-tile-k", "int64_t", "0",
           "Bytes of K per stage of the wgmma kernel, the swizzle width "
           "(64, 128; 0: 128)">,
    Option<"wgmmaStages", "wgmma-stages", "int64_t", "0",
           "Shared-memory buffers of the wgmma kernel (3 to 16; 0: as many "
           "as fit in 200 KB, up to 16)">,
    Option<"wgmmaGroupM", "wgmma-group-m", "int64_t", "0",
           "Row blocks per raster group of the wgmma kernel: blocks run "
           "down groups of this many row blocks before the next columns "
           "(0: choose; 1: row by row)">,
    Option<"wgmmaPersistent", "wgmma-persistent", "bool", "false",
           "Persistent wgmma blocks where the grid has more than one wave: "
           "one block per SM walks the tiles, copying the next tile's first "
           "K tiles during the current tile's epilogue">,
    Option<"wgmmaTma", "wgmma-tma", "bool", "true",
           "Load the wgmma kernel's K tiles with TMA (a producer warp or "
           "warpgroup and mbarriers; tensor maps made on the host per "
           "launch) instead of cp.async by every thread (false with "
           "wgmma-persistent)">,
    Option<"wgmmaMinM", "wgmma-min-m", "int64_t", "1",
           "Smallest M that takes the wgmma kernel">,
    Option<"attentionKernel", "attention-kernel", "bool", "true",
           "Lower quant_xform.attention to the flash attention kernel (f16 "
           "products); false: the f32 loop kernels of its linalg form">,
    Option<"halfQuantizeInputs", "half-quantize-inputs", "bool", "false",
           "Store a linear's result (after its fused activation) in bf16 "
           "where only a per-token quantize kernel reads it, which widens "
           "it as it loads: one rounding of at most 2^-9 relative in front "
           "of the int8 one (measured no faster on MiniLM; off by default)">,
    Option<"plannedM", "planned-m", "int64_t", "1024",
           "Rows that the kernels of a run-time M (tensor<?xK>) are planned "
           "for (their kernel and tile; any M runs)">,
    Option<"chip", "chip", "std::string", "\"sm_90a\"",
           "The GPU the kernels are planned for: sm_80 (A100), sm_86 (A10), "
           "sm_89 (L40S), sm_90 or sm_90a (H100), whose SM count and "
           "shared memory per block size the wgmma grid and stages; "
           "`wgmma` needs sm_90a">,
    Option<"smCount", "sm-count", "int64_t", "0",
           "SMs of the GPU, for another part of the chip (0: the chip's)">,
    Option<"maxSharedBytes", "max-shared-bytes", "int64_t", "0",
           "Dynamic shared memory one block may use, in bytes (0: the "
           "chip's opt-in maximum)">,
    Option<"outline", "outline", "bool", "true",
           "In functions with other ops, outline the qlinear / quantize ops "
           "the kernels handle into kernel functions (else: an error)">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::bufferization::BufferizationDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::gpu::GPUDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::NVVM::NVVMDialect",
                           "::mlir::nvgpu::NVGPUDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

def GPUPrepareHostLoops
    : Pass<"quant-xform-gpu-prepare-host-loops", "func::FuncOp"> {
  let summary = "Make every memory-touching op of a host function a "
                "parallel loop, for the GPU mapping";
  let description = [{
    Runs on bufferized code after `convert-linalg-to-parallel-loops`, before
    `gpu-map-parallel-loops` / `convert-parallel-loops-to-gpu`, which turn
    each top-level `scf.parallel` into a kernel. What would otherwise stay
    on the host and touch device memory is made a parallel loop too: a
    `memref.copy` becomes an `scf.parallel` nest of loads and stores, and a
    top-level `scf.for` without results (a whole-tensor reduction) or
    `memref.store` is wrapped in a one-iteration `scf.parallel` (one GPU
    thread). Ops with results the host uses stay (and
    `quant-xform-gpu-host-buffers` reports them).
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

def GPUHostBuffers : Pass<"quant-xform-gpu-host-buffers", "ModuleOp"> {
  let summary = "Put a host function's buffers in device memory";
  let description = [{
    Runs after `convert-parallel-loops-to-gpu`, before kernel outlining.
    The buffers of a host function (whose loops became `gpu.launch` ops)
    move to the device: each `memref.alloc` / `memref.alloca` becomes a `gpu.alloc`
    at the function entry, freed (`gpu.dealloc`) before each return. Each
    `memref.get_global` of a constant global of f32, i8 or i32 (weights,
    norm scales, biases) becomes the device copy that the runtime makes
    once per process and keeps (`qxGpuConstantF32/I8/I32`, called through
    their C interface at the entry); any other global a device buffer
    filled from the host global by `gpu.memcpy` at the entry on every
    call. `memref.dealloc` ops are dropped. The GPU ops are synchronous here
    (`gpu-async-region` makes them asynchronous on one stream afterwards).
    A load, store or copy left on the host would read device memory from
    the CPU: it is an error naming the op.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::memref::MemRefDialect"];
}

def GPUWeightsAsData : Pass<"quant-xform-gpu-weights-as-data", "ModuleOp"> {
  let summary = "Write a GPU model's large constants to a weight file the "
                "compiled code reads at run time";
  let description = [{
    Runs after `quant-xform-gpu-host-buffers`. With `file` set, every
    constant global of f32, i8 or i32 of at least `min-bytes` bytes (0:
    all of them, so that one compiled layer can read another layer's file)
    whose device copy host code makes (`qxGpuConstant*`) is written, in order of
    first use, to `file` in the safetensors format and dropped from the
    module. The file's `__metadata__` holds `format`
    (`quant-xform-gpu-weights`), `layout` (a 64-bit FNV-1a of the names,
    dtypes and shapes, in hex), `sha256` (of the data section) and `order`
    (the names, comma-separated: weight i is the i-th). Each entry function
    that reads weights takes one more, last argument: the weight table, a
    `memref<?xi64>` in host memory holding the layout and then, per
    weight, its device address and size in bytes. Each read becomes a call
    of `qxGpuWeightF32/I8/I32(table, index, elements, layout)`
    (runtime/CudaRuntime.cpp), which checks the table against the compiled
    layout and records an error (kernels then do not run) on a mismatch.
    An empty `file`: nothing changes (the weights stay in the object).
  }];
  let options = [
    Option<"file", "file", "std::string", "\"\"",
           "The safetensors file to write (empty: keep weights in the code)">,
    Option<"minBytes", "min-bytes", "int64_t", "0",
           "Smaller constants stay in the code">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect"];
}

def GPUTensorMaps : Pass<"quant-xform-gpu-tensor-maps", "ModuleOp"> {
  let summary = "Make the tensor maps of TMA kernel launches on the host";
  let description = [{
    Runs after `gpu-async-region`, before `gpu-to-llvm`. A TMA kernel (the
    wgmma kernel with `wgmma-tma`) takes each of its tensor maps as an
    `!llvm.array<16 x i64>` argument marked `quant_xform.tensor_map =
    array<i64: source, box rows, box bytes>`; its launches pass a
    placeholder there. For each such launch, this pass calls the runtime's
    `qxGpuEncodeTensorMap` right before it (the int8 matrix of kernel
    operand `source`, its static shape, the box, into a 64-byte aligned
    stack slot at the function entry) and passes the loaded map instead.
    The call is made here, after `gpu-async-region`, because that pass
    would take it for a host-side effect and synchronize the stream in
    front of it. A source that is not a static int8 memref of identity
    layout is an error.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

def GPUTensorMapArgs
    : Pass<"quant-xform-gpu-tensor-map-args", "::mlir::gpu::GPUModuleOp"> {
  let summary = "Make the tensor-map arguments of TMA kernels byval, "
                "grid-constant parameters";
  let description = [{
    Runs on a `gpu.module` after `convert-gpu-to-nvvm`. A TMA kernel
    (the wgmma kernel with `wgmma-tma`) takes each CUtensorMap by value, as
    an `!llvm.array<16 x i64>` argument that the host passes like any other
    launch operand (`gpu-to-llvm` copies it into the kernel's parameter
    buffer), and uses its address through an `unrealized_conversion_cast`
    to `!llvm.ptr`. This pass turns each such argument of an `llvm.func`
    kernel into an `!llvm.ptr` with `llvm.byval = !llvm.array<16 x i64>`,
    `llvm.align = 64` and `nvvm.grid_constant` (a 64-byte aligned
    `.param` of 128 bytes whose generic address the TMA copies read, as
    CUDA's `const __grid_constant__ CUtensorMap`) and replaces the casts by
    it. An array argument used other than through such casts, or a cast
    left on a non-kernel function, is an error.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect",
                           "::mlir::NVVM::NVVMDialect"];
}

def GPUDependentLaunch
    : Pass<"quant-xform-gpu-dependent-launch", "::mlir::gpu::GPUModuleOp"> {
  let summary = "Let each kernel of a gpu.module start while the kernel "
                "before it on the stream finishes (programmatic dependent "
                "launch)";
  let description = [{
    Runs on a `gpu.module` of kernels (`gpu.func` with `gpu.kernel`), before
    `convert-gpu-to-nvvm`. Each kernel gets, at its entry, an
    `nvvm.griddepcontrol wait` (the thread waits until the grids it depends
    on have completed and their memory is visible: every access of the
    kernel to global memory comes after it) and then an
    `nvvm.griddepcontrol launch_dependents` (the next kernel on the stream
    may be scheduled once every block of this one has started). The module
    gets the marker `llvm.mlir.global external constant
    @qx_dependent_launch(1 : i32)`: the runtime (runtime/CudaRuntime.cpp)
    launches the kernels of a module that has it with
    `CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION`, so that a
    kernel's blocks are resident, and its launch latency spent, by the time
    the kernel before it completes. Kernels that already wait are left
    alone. Without the attribute (other runtimes, `QX_GPU_DEPENDENT_LAUNCH=0`)
    both instructions do nothing. A symbol `qx_dependent_launch` in the
    module that is not such a marker is an error.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect",
                           "::mlir::NVVM::NVVMDialect"];
}

#endif // QUANT_XFORM_CONVERSION_QUANTXFORMTOGPU_PASSES_TD
