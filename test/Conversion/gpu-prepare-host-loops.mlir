// The host side of whole functions on the GPU, before the GPU mapping: a
// copy becomes a parallel loop nest and a top-level serial loop a
// one-iteration parallel loop, so that convert-parallel-loops-to-gpu makes
// kernels of them; every top-level nest is collapsed to one dimension,
// row-major (the pipeline then tiles it by 256 threads a block), and the
// accumulators of serial loops inside them are kept in registers.
// RUN: xform-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(quant-xform-gpu-prepare-host-loops))' -verify-diagnostics | FileCheck %s

// CHECK-LABEL: func.func @copy(
// CHECK-SAME: %[[A:.*]]: memref<4x8xf32>, %[[B:.*]]: memref<4x8xf32>)
// CHECK-NOT: memref.copy
// CHECK: %[[N:.*]] = arith.muli %{{.*}}, %c8
// CHECK: scf.parallel (%[[L:.*]]) = (%{{.*}}) to (%[[N]]) step (%{{.*}}) {
// CHECK-NEXT: %[[J:.*]] = arith.remsi %[[L]], %c8
// CHECK-NEXT: %[[I:.*]] = arith.divsi %[[L]], %c8
// CHECK-NEXT: %[[V:.*]] = memref.load %[[A]][%[[I]], %[[J]]]
// CHECK-NEXT: memref.store %[[V]], %[[B]][%[[I]], %[[J]]]
func.func @copy(%a: memref<4x8xf32>, %b: memref<4x8xf32>) {
  memref.copy %a, %b : memref<4x8xf32> to memref<4x8xf32>
  return
}

// -----

// CHECK-LABEL: func.func @serial(
// CHECK: scf.parallel (%{{.*}}) = (%c0{{.*}}) to (%c1{{.*}}) step (%c1{{.*}}) {
// CHECK-NEXT: scf.for
// CHECK: memref.store
// CHECK-NEXT: }
// CHECK-NEXT: scf.reduce
func.func @serial(%a: memref<8xf32>, %out: memref<f32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  scf.for %i = %c0 to %c8 step %c1 {
    %v = memref.load %a[%i] : memref<8xf32>
    %s = memref.load %out[] : memref<f32>
    %t = arith.addf %s, %v : f32
    memref.store %t, %out[] : memref<f32>
  }
  return
}

// -----

func.func @dynamic_copy(%a: memref<?xf32>, %b: memref<?xf32>) {
  // expected-error @+1 {{the GPU lowering needs static shapes for copies}}
  memref.copy %a, %b : memref<?xf32> to memref<?xf32>
  return
}

// -----

// The accumulator of a serial loop inside a kernel (a lowered reduction:
// load, add, store of one element at loop-invariant indices) is loaded
// once, carried as an iter_arg and stored once, when the buffer it reads
// provably does not alias it (a fresh allocation here).
// CHECK-LABEL: func.func @row_sums(
// CHECK: %[[ACC:.*]] = memref.alloc() : memref<4xf32>
// CHECK: scf.parallel (%[[I:.*]]) =
// CHECK: %[[INIT:.*]] = memref.load %[[ACC]][%[[I]]]
// CHECK: %[[SUM:.*]] = scf.for {{.*}} iter_args(%[[S:.*]] = %[[INIT]]) -> (f32) {
// CHECK-NOT: memref.store
// CHECK: %[[NEXT:.*]] = arith.addf %[[S]], %{{.*}}
// CHECK: scf.yield %[[NEXT]]
// CHECK: memref.store %[[SUM]], %[[ACC]][%[[I]]]
func.func @row_sums(%a: memref<4x8xf32>) -> memref<4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %acc = memref.alloc() : memref<4xf32>
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    scf.for %k = %c0 to %c8 step %c1 {
      %s = memref.load %acc[%i] : memref<4xf32>
      %v = memref.load %a[%i, %k] : memref<4x8xf32>
      %t = arith.addf %s, %v : f32
      memref.store %t, %acc[%i] : memref<4xf32>
    }
    scf.reduce
  }
  return %acc : memref<4xf32>
}

// -----

// Two arguments may alias: the accumulator stays in memory.
// CHECK-LABEL: func.func @may_alias(
// CHECK: scf.for
// CHECK-NOT: iter_args
// CHECK: memref.load %arg1
// CHECK: memref.store
func.func @may_alias(%a: memref<4x8xf32>, %acc: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    scf.for %k = %c0 to %c8 step %c1 {
      %s = memref.load %acc[%i] : memref<4xf32>
      %v = memref.load %a[%i, %k] : memref<4x8xf32>
      %t = arith.addf %s, %v : f32
      memref.store %t, %acc[%i] : memref<4xf32>
    }
    scf.reduce
  }
  return
}
