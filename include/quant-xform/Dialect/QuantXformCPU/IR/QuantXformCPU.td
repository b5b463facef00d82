//===- QuantXformCPU.td - CPU instruction ops --------------*- tablegen -*-===//
//
// Vector instructions the CPU lowering of quant_xform needs and upstream
// dialects do not model. Each op is pure (so that bufferization, CSE and
// loop-invariant code motion see through it) and lowers one-to-one to an
// LLVM intrinsic in `convert-quant-xform-cpu-to-llvm`.
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_CPU_TD
#define QUANT_XFORM_CPU_TD

include "mlir/IR/OpBase.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Dialect/LLVMIR/LLVMInterfaces.td"

def QuantXformCPU_Dialect : Dialect {
  let name = "qx_cpu";
  let cppNamespace = "::mlir::quant_xform::cpu_isa";
  let summary = "CPU vector instructions used by the quant_xform lowering";
  let description = [{
    Ops for x86-64 vector instructions that the int8 kernels of the CPU
    lowering use and that upstream's `x86vector` does not provide (its
    `avx.dot.i8` is the AVX-VNNI-INT8 s8 × s8 `vpdpbssd`, absent on
    AVX-512 VNNI server parts). Generated code only; the target must
    support the instruction.
  }];
}

def QuantXformCPU_DotU8S8Op : Op<QuantXformCPU_Dialect, "dot_u8s8", [Pure,
    AllTypesMatch<["acc", "result"]>, AllTypesMatch<["a", "b"]>,
    DeclareOpInterfaceMethods<OneToOneIntrinsicOpInterface>]> {
  let summary = "AVX-512 VNNI vpdpbusd: i32 += Σ of 4 u8 × s8 products";
  let description = [{
    For each i32 lane `j`: `result[j] = acc[j] + Σ_{l<4} zext(a[4j+l]) ·
    sext(b[4j+l])`, wrapping in i32 (`vpdpbusd`, the non-saturating form).
    Lowers to `llvm.x86.avx512.vpdpbusd.512`.

    ```mlir
    %r = qx_cpu.dot_u8s8 %acc, %a, %b : vector<64xi8> -> vector<16xi32>
    ```
  }];
  let arguments = (ins VectorOfLengthAndType<[16], [I32]>:$acc,
                       VectorOfLengthAndType<[64], [I8]>:$a,
                       VectorOfLengthAndType<[64], [I8]>:$b);
  let results = (outs VectorOfLengthAndType<[16], [I32]>:$result);
  let assemblyFormat =
      "$acc `,` $a `,` $b attr-dict `:` type($a) `->` type($result)";
}

#endif
