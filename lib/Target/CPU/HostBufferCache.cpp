//===- HostBufferCache.cpp - reused host buffers for JIT-compiled code ----===//
//
// Every block carries a header of `align` bytes in front of the pointer it
// returns: its size class (0: a small block, freed to malloc) and its
// alignment, so that free() needs no lookup. Freed large blocks wait in a
// list per (size class, alignment), under one mutex (allocations happen per
// buffer, not per element, and also in OpenMP worker threads). Size classes
// are multiples of 64 KiB; the cache holds at most kCapBytes, and a block
// that would exceed it is freed.
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Target/CPU/HostBufferCache.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

using namespace mlir::quant_xform::cpu;

namespace {
constexpr size_t kMinAlign = 64;              // header size and base alignment
constexpr size_t kLargeBytes = 64 * 1024;     // smaller blocks go to malloc
constexpr size_t kClassBytes = 64 * 1024;     // size classes: multiples of this
constexpr size_t kCapBytes = size_t(1) << 30; // cached bytes at most

/// The block's header, just in front of the pointer handed out.
struct Header {
  size_t sizeClass; // 0: small (malloc'd); else the block's bytes
  size_t align;     // header bytes in front of the pointer
};

struct Cache {
  std::mutex mutex;
  std::map<std::pair<size_t, size_t>, std::vector<void *>> free;
  size_t bytes = 0;
};

Cache &cache() {
  static Cache *c = new Cache; // never destroyed: JIT code may run at exit
  return *c;
}

Header *headerOf(void *ptr) { return static_cast<Header *>(ptr) - 1; }

void *fromBase(void *base, size_t align, size_t sizeClass) {
  void *ptr = static_cast<char *>(base) + align;
  *headerOf(ptr) = {sizeClass, align};
  return ptr;
}

void *allocate(size_t alignment, size_t size) {
  if (alignment == 0 || (alignment & (alignment - 1)))
    return nullptr; // not a power of two
  size_t align = std::max(kMinAlign, alignment);
  size_t total = size + align;
  if (total < kLargeBytes) {
    size_t rounded = (total + align - 1) / align * align;
    void *base = std::aligned_alloc(align, rounded);
    return base ? fromBase(base, align, 0) : nullptr;
  }
  size_t step = std::max(kClassBytes, align);
  size_t sizeClass = (total + step - 1) / step * step;
  {
    Cache &c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    auto it = c.free.find({sizeClass, align});
    if (it != c.free.end() && !it->second.empty()) {
      void *base = it->second.back();
      it->second.pop_back();
      c.bytes -= sizeClass;
      return fromBase(base, align, sizeClass);
    }
  }
  void *base = std::aligned_alloc(align, sizeClass);
  return base ? fromBase(base, align, sizeClass) : nullptr;
}

void *cacheAlloc(size_t size) { return allocate(kMinAlign, size); }

void *cacheAlignedAlloc(size_t alignment, size_t size) {
  return allocate(alignment, size);
}

void cacheFree(void *ptr) {
  if (!ptr)
    return;
  Header h = *headerOf(ptr);
  void *base = static_cast<char *>(ptr) - h.align;
  if (h.sizeClass == 0) {
    std::free(base);
    return;
  }
  Cache &c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    if (c.bytes + h.sizeClass <= kCapBytes) {
      c.free[{h.sizeClass, h.align}].push_back(base);
      c.bytes += h.sizeClass;
      return;
    }
  }
  std::free(base);
}
} // namespace

HostBufferCacheEntryPoints
mlir::quant_xform::cpu::hostBufferCacheEntryPoints() {
  return {cacheAlloc, cacheAlignedAlloc, cacheFree};
}

size_t mlir::quant_xform::cpu::hostBufferCacheBytes() {
  Cache &c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.bytes;
}

void mlir::quant_xform::cpu::releaseHostBufferCache() {
  Cache &c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  for (auto &entry : c.free)
    for (void *base : entry.second)
      std::free(base);
  c.free.clear();
  c.bytes = 0;
}
