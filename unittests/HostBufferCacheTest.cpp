//===- HostBufferCacheTest.cpp - the JIT's reused host buffers ------------===//

#include "quant-xform/Target/CPU/HostBufferCache.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

using namespace mlir::quant_xform::cpu;

namespace {

bool alignedTo(void *p, size_t a) {
  return reinterpret_cast<uintptr_t>(p) % a == 0;
}

TEST(HostBufferCache, LargeBuffersAreReusedBySize) {
  releaseHostBufferCache();
  HostBufferCacheEntryPoints cache = hostBufferCacheEntryPoints();
  void *a = cache.alloc(3 << 20);
  ASSERT_NE(a, nullptr);
  std::memset(a, 1, 3 << 20); // the whole block is usable
  cache.free(a);
  EXPECT_GE(hostBufferCacheBytes(), size_t(3) << 20);
  void *b = cache.alloc((3 << 20) + 100); // same 64 KiB size class
  EXPECT_EQ(a, b);
  EXPECT_EQ(hostBufferCacheBytes(), 0u);
  void *c = cache.alloc(5 << 20); // another class: a new block
  EXPECT_NE(c, b);
  cache.free(b);
  cache.free(c);
  releaseHostBufferCache();
  EXPECT_EQ(hostBufferCacheBytes(), 0u);
}

TEST(HostBufferCache, SmallBuffersGoToMalloc) {
  releaseHostBufferCache();
  HostBufferCacheEntryPoints cache = hostBufferCacheEntryPoints();
  void *a = cache.alloc(4096);
  ASSERT_NE(a, nullptr);
  EXPECT_TRUE(alignedTo(a, 64));
  cache.free(a);
  EXPECT_EQ(hostBufferCacheBytes(), 0u);
  cache.free(nullptr); // as free(NULL)
}

TEST(HostBufferCache, AlignmentIsHonoured) {
  HostBufferCacheEntryPoints cache = hostBufferCacheEntryPoints();
  for (size_t align : {size_t(16), size_t(64), size_t(256), size_t(4096)})
    for (size_t size : {size_t(100), size_t(1) << 20}) {
      void *p = cache.alignedAlloc(align, size);
      ASSERT_NE(p, nullptr);
      EXPECT_TRUE(alignedTo(p, align)) << align << " " << size;
      std::memset(p, 0, size);
      cache.free(p);
    }
  EXPECT_EQ(cache.alignedAlloc(48, 128), nullptr); // not a power of two
  releaseHostBufferCache();
}

TEST(HostBufferCache, CapBoundsTheCachedBytes) {
  releaseHostBufferCache();
  HostBufferCacheEntryPoints cache = hostBufferCacheEntryPoints();
  // 3 × 512 MiB: the third does not fit under the 1 GiB cap and is freed.
  // (Untouched pages: the blocks cost address space, not memory.)
  void *p[3];
  for (void *&q : p)
    ASSERT_NE(q = cache.alloc(size_t(512) << 20), nullptr);
  for (void *q : p)
    cache.free(q);
  EXPECT_LE(hostBufferCacheBytes(), size_t(1) << 30);
  EXPECT_GE(hostBufferCacheBytes(), size_t(1) << 30 >> 1);
  releaseHostBufferCache();
}

} // namespace
