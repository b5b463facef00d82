//===- HostBufferCache.h - reused host buffers for JIT-compiled code -*- C++
//-*-===//
//
// JIT-compiled functions allocate their intermediate buffers on every call
// (memref.alloc / memref.dealloc after bufferization). With glibc's malloc
// a buffer of a few megabytes is mmapped and unmapped each time, so a
// SmolLM2 layer's prefill spent a third of its time in page faults. The
// CPU pipeline with `cachingAllocator` lowers those allocations to the
// generic `_mlir_memref_to_llvm_{alloc,aligned_alloc,free}` entry points,
// and the JIT binds them to this cache: freed buffers of 64 KiB and more
// are kept by size (up to a cap) and handed out again; smaller ones go to
// malloc.
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_TARGET_CPU_HOSTBUFFERCACHE_H
#define QUANT_XFORM_TARGET_CPU_HOSTBUFFERCACHE_H

#include <cstddef>
#include <cstdint>

namespace mlir::quant_xform::cpu {

/// The cache's entry points, with the signatures that
/// `finalize-memref-to-llvm{use-generic-functions}` calls.
struct HostBufferCacheEntryPoints {
  void *(*alloc)(size_t size);
  void *(*alignedAlloc)(size_t alignment, size_t size);
  void (*free)(void *ptr);
};

/// The entry points the JIT binds to `_mlir_memref_to_llvm_alloc`,
/// `_mlir_memref_to_llvm_aligned_alloc` and `_mlir_memref_to_llvm_free`.
HostBufferCacheEntryPoints hostBufferCacheEntryPoints();

/// Bytes held by the cache (freed buffers kept for reuse).
size_t hostBufferCacheBytes();

/// Frees every cached buffer (buffers in use are not affected).
void releaseHostBufferCache();

} // namespace mlir::quant_xform::cpu

#endif
