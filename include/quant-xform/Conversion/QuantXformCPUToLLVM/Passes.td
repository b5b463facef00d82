//===- Passes.td - qx_cpu to LLVM passes -*- tablegen -*-===//

#ifndef QUANT_XFORM_CONVERSION_QUANTXFORMCPUTOLLVM_PASSES_TD
#define QUANT_XFORM_CONVERSION_QUANTXFORMCPUTOLLVM_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertQuantXformCPUToLLVM
    : Pass<"convert-quant-xform-cpu-to-llvm"> {
  let summary = "Lower qx_cpu instruction ops to LLVM intrinsic calls";
  let description = [{
    Replaces every `qx_cpu` op (e.g. `qx_cpu.dot_u8s8`) by the
    `llvm.call_intrinsic` it stands for. Runs late in the CPU pipeline,
    after bufferization: `llvm.call_intrinsic` has unknown memory effects,
    which bufferization and buffer deallocation reject, so the kernels
    carry the pure `qx_cpu` ops until then.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

#endif // QUANT_XFORM_CONVERSION_QUANTXFORMCPUTOLLVM_PASSES_TD
