// The whole W8A8 linear on the GPU: a per-token dynamic_quantize of an f32
// argument becomes a generated quantize kernel (16-byte loads, the row's
// absmax through warp butterflies and shared memory, the evaluator's f64
// scale formula, the IEEE f32 division x / s as one correctly rounded
// reciprocal per row and two fma corrections per value (a division per
// value for a scale outside [2^-90, 2^90]), round-half-even by adding
// 1.5·2²³ in round-to-nearest and the low bytes of the sums' bits put
// together by prmt (no float-to-int conversion, no libdevice call) writing device
// scratch buffers that the GEMM kernel reads; the host allocates them,
// launches both kernels and frees the buffers in order on one stream, and
// synchronizes once. Both kernels are launched as dependents: each waits
// for the grid before it (griddepcontrol.wait) ahead of any global memory
// access, then lets its own dependents start, and the module carries the
// runtime's marker global (none of it with dependent-launch=false).
// format=isa: no ptxas or GPU needed (the PTX is one escaped line: no
// greedy {{.*}}; split into lines by sed for the DEP checks).
// RUN: xform-opt %s -quant-xform-lower-to-gpu=format=isa | FileCheck %s
// RUN: xform-opt %s -convert-quant-xform-qlinear-to-gpu=wgmma=true | FileCheck %s --check-prefix=HOST
// RUN: xform-opt %s -quant-xform-lower-to-gpu=format=isa | sed -e 's/\\0A/\n/g' | FileCheck %s --check-prefix=DEP
// RUN: xform-opt %s -quant-xform-lower-to-gpu="format=isa dependent-launch=false" | FileCheck %s --check-prefix=NODEP --implicit-check-not=griddepcontrol --implicit-check-not=qx_dependent_launch

// CHECK-NOT: __nv_
// CHECK: .visible .entry main_quantize0(
// CHECK-SAME: ld.global.v4.b32
// CHECK-SAME: shfl.sync.bfly.b32
// CHECK-SAME: bar.sync
// CHECK-SAME: rcp.rn.f32
// CHECK-SAME: fma.rn.f32
// CHECK-SAME: div.rn.f32
// CHECK-SAME: add.rn.f32
// CHECK-SAME: prmt.b32
// CHECK-NOT: cvt.rzi
// CHECK-SAME: .visible .entry main_qlinear0(
// CHECK-SAME: wgmma.mma_async.sync.aligned
// CHECK: llvm.func @main(
// CHECK: llvm.call @mgpuMemAlloc
// CHECK: llvm.call @mgpuMemAlloc
// CHECK: gpu.launch_func <%{{[0-9]+}} : !llvm.ptr> @qx_gpu_kernels::@main_quantize0
// CHECK: gpu.launch_func <%{{[0-9]+}} : !llvm.ptr> @qx_gpu_kernels::@main_qlinear0
// CHECK: llvm.call @mgpuMemFree
// CHECK: llvm.call @mgpuMemFree

// DEP: .visible .global .align 4 .u32 qx_dependent_launch = 1;
// DEP-LABEL: .visible .entry main_quantize0(
// DEP-NOT: ld.global
// DEP: griddepcontrol.wait;
// DEP-NEXT: griddepcontrol.launch_dependents;
// DEP: ld.global
// DEP-LABEL: .visible .entry main_qlinear0(
// DEP-NOT: ld.global
// DEP-NOT: cp.async
// DEP: griddepcontrol.wait;
// DEP-NEXT: griddepcontrol.launch_dependents;
// DEP: cp.async.bulk.tensor

// NODEP: .visible .entry main_quantize0(

// HOST-LABEL: func.func @main(
// HOST: %[[T0:.*]] = gpu.wait async
// HOST: %[[Q:.*]], %[[T1:.*]] = gpu.alloc async [%[[T0]]]
// HOST: %[[S:.*]], %[[T2:.*]] = gpu.alloc async [%[[T1]]]
// HOST: %[[T3:.*]] = gpu.launch_func async [%[[T2]]] @qx_gpu_kernels::@main_quantize0 {{.*}} args(%arg0 : memref<256x512xf32>, %[[Q]] : memref<256x512xi8>, %[[S]] : memref<256xf32>)
// HOST: %[[T4:.*]] = gpu.launch_func async [%[[T3]]] @qx_gpu_kernels::@main_qlinear0 {{.*}} args(%[[Q]] : memref<256x512xi8>, %[[S]] : memref<256xf32>, %arg1 : memref<384x512xi8>
// HOST: %[[T5:.*]] = gpu.dealloc async [%[[T4]]] %[[Q]]
// HOST: %[[T6:.*]] = gpu.dealloc async [%[[T5]]] %[[S]]
// HOST-NEXT: gpu.wait [%[[T6]]]
// HOST-NEXT: return

func.func @main(%x: tensor<256x512xf32>, %w: tensor<384x512xi8>, %sw: tensor<384xf32>, %b: tensor<384xf32>) -> tensor<256x384xf32> {
  %q, %s = quant_xform.dynamic_quantize %x scheme<per_token> : (tensor<256x512xf32>) -> (tensor<256x512xi8>, tensor<256xf32>)
  %y = quant_xform.qlinear %q scale %s, %w scale %sw, bias %b : (tensor<256x512xi8>, tensor<256xf32>, tensor<384x512xi8>, tensor<384xf32>, tensor<384xf32>) -> tensor<256x384xf32>
  return %y : tensor<256x384xf32>
}
