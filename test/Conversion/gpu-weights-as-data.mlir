// Weights as data: after quant-xform-gpu-host-buffers, the constants of at
// least min-bytes bytes leave the module for a safetensors file (in order
// of their device copies at the entry, with the layout, a SHA-256 and the order in its metadata);
// the entry takes the weight table last and reads each weight through
// qxGpuWeight<T>(table, index, elements, layout). Smaller constants keep
// their resident copies; non-constant globals are untouched.
// RUN: rm -f %t.safetensors
// RUN: xform-opt %s -split-input-file -pass-pipeline='builtin.module(quant-xform-gpu-host-buffers,quant-xform-gpu-weights-as-data{file=%t.safetensors min-bytes=16})' -verify-diagnostics | FileCheck %s
// RUN: %python -c "import json,sys,struct,hashlib; d=open(sys.argv[1],'rb').read(); n=int.from_bytes(d[:8],'little'); h=json.loads(d[8:8+n]); m=h['__metadata__']; print('ALIGNED', (8+n)%%8==0); print('FORMAT', m['format']); print('ORDER', m['order']); print('LAYOUT', m['layout']); print('SHA', m['sha256']==hashlib.sha256(d[8+n:]).hexdigest()); [print('TENSOR', k, h[k]['dtype'], h[k]['shape'], h[k]['data_offsets']) for k in m['order'].split(',')]; print('S', struct.unpack('<4f', d[8+n:8+n+16])); print('W', list(d[8+n+16:8+n+36]))" %t.safetensors | FileCheck %s --check-prefix=FILE

// FILE: ALIGNED True
// FILE: FORMAT quant-xform-gpu-weights
// FILE: ORDER s,w
// FILE: LAYOUT [[LAYOUT:[0-9a-f]{16}]]
// FILE: SHA True
// FILE: TENSOR s F32 [4] [0, 16]
// FILE: TENSOR w I8 [4, 5] [16, 36]
// FILE: S (0.5, 0.25, 2.0, 4.0)
// FILE: W [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 237]

memref.global "private" constant @w : memref<4x5xi8> = dense<[[1, 2, 3, 4, 5], [6, 7, 8, 9, 10], [11, 12, 13, 14, 15], [16, 17, 18, 19, -19]]>
memref.global "private" constant @s : memref<4xf32> = dense<[0.5, 0.25, 2.0, 4.0]>
memref.global "private" constant @small : memref<2xf32> = dense<[1.0, 2.0]>

// The weights are gone; the small constant stays.
// CHECK-NOT: memref.global "private" constant @w
// CHECK-NOT: memref.global "private" constant @s
// CHECK-DAG: memref.global "private" constant @small
// CHECK-DAG: func.func private @qxGpuWeightI8(memref<?xi64>, i64, i64, i64) -> memref<?xi8> attributes {llvm.emit_c_interface}
// CHECK-DAG: func.func private @qxGpuWeightF32(memref<?xi64>, i64, i64, i64) -> memref<?xf32> attributes {llvm.emit_c_interface}
// CHECK-LABEL: func.func @model(
// CHECK-SAME: %[[OUT:.*]]: memref<4xf32>, %[[TABLE:.*]]: memref<?xi64>)
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : i64
// CHECK-DAG: %[[C20:.*]] = arith.constant 20 : i64
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : i64
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : i64
// CHECK-DAG: call @qxGpuWeightI8(%[[TABLE]], %[[C1]], %[[C20]], %{{.*}}) : (memref<?xi64>, i64, i64, i64) -> memref<?xi8>
// CHECK-DAG: call @qxGpuWeightF32(%[[TABLE]], %[[C0]], %[[C4]], %{{.*}}) : (memref<?xi64>, i64, i64, i64) -> memref<?xf32>
// CHECK-DAG: call @qxGpuConstantF32(
// CHECK-NOT: memref.get_global @w
// CHECK-NOT: memref.get_global @s
// CHECK: gpu.launch
func.func @model(%out: memref<4xf32>) {
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %w = memref.get_global @w : memref<4x5xi8>
  %s = memref.get_global @s : memref<4xf32>
  %small = memref.get_global @small : memref<2xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
    %q = memref.load %w[%tx, %tx] : memref<4x5xi8>
    %f = arith.sitofp %q : i8 to f32
    %sc = memref.load %s[%tx] : memref<4xf32>
    %c0 = arith.constant 0 : index
    %b = memref.load %small[%c0] : memref<2xf32>
    %p = arith.mulf %f, %sc : f32
    %r = arith.addf %p, %b : f32
    memref.store %r, %out[%tx] : memref<4xf32>
    gpu.terminator
  }
  return
}

// -----

// A function that reads weights must be an entry point: its signature
// gains the table.
memref.global "private" constant @w2 : memref<16xi8> = dense<1>

// expected-error @+1 {{weights as data: @inner reads weights but is not an entry point (public and not called)}}
func.func private @inner(%out: memref<16xi8>) {
  %c1 = arith.constant 1 : index
  %w = memref.get_global @w2 : memref<16xi8>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %v = memref.load %w[%tx] : memref<16xi8>
    memref.store %v, %out[%tx] : memref<16xi8>
    gpu.terminator
  }
  return
}
