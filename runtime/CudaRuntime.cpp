//===- CudaRuntime.cpp - the mgpu* ABI over the CUDA driver API ----------===//
//
// What host code from `gpu-to-llvm` calls (mgpuModuleLoad, mgpuLaunchKernel,
// streams, memory), implemented over the CUDA driver API, which is loaded
// with dlopen at the first call: this library builds and links on machines
// without CUDA, and a missing driver is an error message, not a link or load
// failure. Debian's MLIR ships no CUDA wrapper library, hence this one.
//
// The mgpu* entry points return nothing (their ABI is fixed by MLIR), so
// errors are sticky: the first failing CUDA call records "error: <call>:
// <CUDA error name>: <message>", later calls do nothing, and the caller
// checks `qxGpuLastError()` after running generated code. Nothing aborts.
//
// Kernels of modules compiled with quant-xform-gpu-dependent-launch (the
// default) launch with programmatic stream serialization
// (cuLaunchKernelEx): each starts while the kernel before it on the stream
// finishes, and waits for it at its entry. QX_GPU_DEPENDENT_LAUNCH=0 turns
// that off.
//
// Helpers for callers (runners, the Python binding) use the same state:
// qxGpuMalloc/qxGpuFree/qxGpuCopyToDevice/qxGpuCopyToHost/
// qxGpuSynchronize/qxGpuElapsedMs, and qxGpuSetStream/qxGpuSetSynchronous,
// which choose whether a generated function waits for its work (the
// default) or leaves it queued on the caller's stream.
//
//===----------------------------------------------------------------------===//

#include "qx_gpu_runtime.h"

#include <dlfcn.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace {

// The few driver types used here (ABI-stable since CUDA 4; no cuda.h needed).
using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = void *;
using CUmodule = void *;
using CUfunction = void *;
using CUstream = void *;
using CUevent = void *;

/// CUlaunchAttribute with CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION
/// (id 6; the value a 64-byte union whose first int is the flag).
struct LaunchAttribute {
  int id = 6;
  char pad[4] = {};
  union {
    int programmaticStreamSerializationAllowed;
    char bytes[64];
  } value = {};
};
static_assert(sizeof(LaunchAttribute) == 72, "CUlaunchAttribute is 72 bytes");

/// CUlaunchConfig (cuda.h, CUDA 12+).
struct LaunchConfig {
  unsigned gridDimX, gridDimY, gridDimZ, blockDimX, blockDimY, blockDimZ;
  unsigned sharedMemBytes;
  CUstream hStream;
  LaunchAttribute *attrs;
  unsigned numAttrs;
};

/// The driver entry points, resolved once.
struct Driver {
  CUresult (*cuInit)(unsigned);
  CUresult (*cuDeviceGet)(CUdevice *, int);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuGetErrorName)(CUresult, const char **);
  CUresult (*cuGetErrorString)(CUresult, const char **);
  CUresult (*cuModuleLoadData)(CUmodule *, const void *);
  CUresult (*cuModuleUnload)(CUmodule);
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*cuFuncSetAttribute)(CUfunction, int, int);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned,
                             unsigned, unsigned, unsigned, CUstream, void **,
                             void **);
  CUresult (*cuStreamCreate)(CUstream *, unsigned);
  CUresult (*cuStreamDestroy)(CUstream);
  CUresult (*cuStreamSynchronize)(CUstream);
  CUresult (*cuCtxSynchronize)();
  CUresult (*cuMemAlloc)(CUdeviceptr *, size_t);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void *, size_t);
  CUresult (*cuMemcpyDtoH)(void *, CUdeviceptr, size_t);
  CUresult (*cuMemcpyAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
  CUresult (*cuMemsetD32Async)(CUdeviceptr, unsigned, size_t, CUstream);
  CUresult (*cuEventCreate)(CUevent *, unsigned);
  CUresult (*cuEventDestroy)(CUevent);
  CUresult (*cuEventRecord)(CUevent, CUstream);
  CUresult (*cuEventSynchronize)(CUevent);
  CUresult (*cuEventElapsedTime)(float *, CUevent, CUevent);
  /// cuModuleGetGlobal (a module's marker of dependent launches).
  CUresult (*cuModuleGetGlobal)(CUdeviceptr *, size_t *, CUmodule,
                                const char *);
  /// cuLaunchKernelEx (CUDA 12+; bound when present: without it kernels
  /// launch plainly).
  CUresult (*cuLaunchKernelEx)(const LaunchConfig *, CUfunction, void **,
                               void **);
  /// cuTensorMapEncodeTiled (CUDA 12+; bound when present, checked on use).
  CUresult (*cuTensorMapEncodeTiled)(void *, int, unsigned, void *,
                                     const uint64_t *, const uint64_t *,
                                     const unsigned *, const unsigned *, int,
                                     int, int, int);
};

std::mutex mutex;
/// QX_GPU_TRACE=1 prints every mgpu* call to stderr.
const bool trace = std::getenv("QX_GPU_TRACE") != nullptr;
std::string lastError;
Driver driver;
bool ready = false;

/// Records the first error (later ones are consequences).
void fail(const std::string &message) {
  if (lastError.empty())
    lastError = "error: " + message;
}

/// Records the failure of driver call `what` with CUDA's name and text for
/// `r` (the error-name entry points are bound before any call is made).
void failCall(const char *what, CUresult r) {
  const char *name = "?", *text = "?";
  driver.cuGetErrorName(r, &name);
  driver.cuGetErrorString(r, &text);
  fail(std::string(what) + ": " + name + ": " + text);
}

/// Loads libcuda and makes device 0's primary context current, once.
/// False (with the error recorded) when that is impossible.
bool init() {
  if (ready)
    return true;
  if (!lastError.empty())
    return false;
  void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *why = dlerror();
    fail(std::string("cannot load the CUDA driver (libcuda.so.1): ") +
         (why ? why : "unknown reason") +
         "; GPU code needs an NVIDIA driver and device");
    return false;
  }
  bool missing = false;
  auto bind = [&](auto &fn, const char *name, bool versioned = true) {
    // Versioned names first (what cuda.h maps the plain names to), except
    // where a _v2 is a different function: cuCtxSynchronize_v2 (CUDA 13)
    // takes a context.
    std::string v2 = std::string(name) + "_v2";
    void *sym = versioned ? dlsym(lib, v2.c_str()) : nullptr;
    if (!sym)
      sym = dlsym(lib, name);
    if (!sym) {
      fail(std::string("the CUDA driver has no ") + name);
      missing = true;
    }
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(sym);
  };
#define QX_BIND(name) bind(driver.name, #name)
  QX_BIND(cuInit);
  QX_BIND(cuDeviceGet);
  QX_BIND(cuDevicePrimaryCtxRetain);
  QX_BIND(cuCtxSetCurrent);
  QX_BIND(cuGetErrorName);
  QX_BIND(cuGetErrorString);
  QX_BIND(cuModuleLoadData);
  QX_BIND(cuModuleUnload);
  QX_BIND(cuModuleGetFunction);
  QX_BIND(cuModuleGetGlobal);
  QX_BIND(cuFuncSetAttribute);
  QX_BIND(cuLaunchKernel);
  QX_BIND(cuStreamCreate);
  QX_BIND(cuStreamDestroy);
  QX_BIND(cuStreamSynchronize);
  bind(driver.cuCtxSynchronize, "cuCtxSynchronize", /*versioned=*/false);
  QX_BIND(cuMemAlloc);
  QX_BIND(cuMemFree);
  QX_BIND(cuMemcpyHtoD);
  QX_BIND(cuMemcpyDtoH);
  QX_BIND(cuMemcpyAsync);
  QX_BIND(cuMemsetD32Async);
  QX_BIND(cuEventCreate);
  QX_BIND(cuEventDestroy);
  QX_BIND(cuEventRecord);
  QX_BIND(cuEventSynchronize);
  QX_BIND(cuEventElapsedTime);
#undef QX_BIND
  // Optional: without it, kernels marked for dependent launches launch
  // plainly (their griddepcontrol instructions then do nothing).
  driver.cuLaunchKernelEx = reinterpret_cast<decltype(driver.cuLaunchKernelEx)>(
      dlsym(lib, "cuLaunchKernelEx"));
  // Optional: only TMA kernels need it (an error at their first launch).
  driver.cuTensorMapEncodeTiled =
      reinterpret_cast<decltype(driver.cuTensorMapEncodeTiled)>(
          dlsym(lib, "cuTensorMapEncodeTiled"));
  if (missing)
    return false;
  ready = true; // check() below needs the error-name functions
  CUdevice device;
  CUcontext context;
  auto ok = [&](CUresult r, const char *what) {
    if (r == 0)
      return true;
    failCall(what, r);
    ready = false;
    return false;
  };
  return ok(driver.cuInit(0), "cuInit") &&
         ok(driver.cuDeviceGet(&device, 0), "cuDeviceGet") &&
         ok(driver.cuDevicePrimaryCtxRetain(&context, device),
            "cuDevicePrimaryCtxRetain") &&
         ok(driver.cuCtxSetCurrent(context), "cuCtxSetCurrent");
}

/// Runs one driver call unless an error is already recorded; records its
/// failure. Returns whether it succeeded.
template <typename Fn, typename... Args>
bool call(const char *what, Fn Driver::*entry, Args... args) {
  if (!init()) // binds the entry points: read `entry` only after this
    return false;
  CUresult r = (driver.*entry)(args...);
  if (r == 0)
    return true;
  failCall(what, r);
  return false;
}

} // namespace

#define QX_EXPORT extern "C" __attribute__((visibility("default")))

//===----------------------------------------------------------------------===//
// The mgpu* ABI (what gpu-to-llvm and the gpu.binary translation call)
//===----------------------------------------------------------------------===//

/// Programmatic dependent launches: the kernels of modules that carry the
/// marker of quant-xform-gpu-dependent-launch (each waits for the grids it
/// depends on at its entry) launch with programmatic stream serialization,
/// so that they start while the kernel before them finishes. Off with
/// QX_GPU_DEPENDENT_LAUNCH=0 (the kernels' griddepcontrol instructions then
/// do nothing). Guarded by `mutex`.
namespace {
const bool dependentLaunchesAllowed = [] {
  const char *v = std::getenv("QX_GPU_DEPENDENT_LAUNCH");
  return !v || std::strcmp(v, "0") != 0;
}();
std::unordered_map<CUmodule, bool> dependentModules;
/// Kernels that launch as dependents, with their module.
std::unordered_map<CUfunction, CUmodule> dependentKernels;

/// Whether the kernels of `module` launch as dependents (looked up once per
/// module: a module without the marker answers CUDA_ERROR_NOT_FOUND, which
/// is no error here).
bool launchesAsDependents(CUmodule module) {
  if (!dependentLaunchesAllowed || !driver.cuLaunchKernelEx)
    return false;
  auto known = dependentModules.find(module);
  if (known != dependentModules.end())
    return known->second;
  CUdeviceptr marker = 0;
  size_t bytes = 0;
  bool marked = driver.cuModuleGetGlobal(&marker, &bytes, module,
                                         "qx_dependent_launch") == 0 &&
                bytes == 4;
  dependentModules[module] = marked;
  return marked;
}
} // namespace

QX_EXPORT void *mgpuModuleLoad(void *data, size_t /*size*/) {
  if (trace)
    std::fprintf(stderr, "qx-gpu: mgpuModuleLoad\n");
  std::lock_guard<std::mutex> lock(mutex);
  CUmodule module = nullptr;
  call("cuModuleLoadData", &Driver::cuModuleLoadData, &module,
       static_cast<const void *>(data));
  return module;
}

QX_EXPORT void mgpuModuleUnload(void *module) {
  if (trace)
    std::fprintf(stderr, "qx-gpu: mgpuModuleUnload\n");
  std::lock_guard<std::mutex> lock(mutex);
  if (module && ready)
    driver.cuModuleUnload(module); // at exit: errors no longer matter
  // The driver may hand the same handles out again, for other code.
  dependentModules.erase(static_cast<CUmodule>(module));
  for (auto it = dependentKernels.begin(); it != dependentKernels.end();)
    it = it->second == module ? dependentKernels.erase(it) : std::next(it);
}

QX_EXPORT void *mgpuModuleGetFunction(void *module, const char *name) {
  if (trace)
    std::fprintf(stderr, "qx-gpu: mgpuModuleGetFunction\n");
  std::lock_guard<std::mutex> lock(mutex);
  CUfunction fn = nullptr;
  if (!module) {
    fail(std::string("kernel ") + name + ": its module did not load");
    return nullptr;
  }
  if (call("cuModuleGetFunction", &Driver::cuModuleGetFunction, &fn,
           static_cast<CUmodule>(module), name) &&
      launchesAsDependents(static_cast<CUmodule>(module)))
    dependentKernels[fn] = static_cast<CUmodule>(module);
  return fn;
}

QX_EXPORT void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                                intptr_t gridZ, intptr_t blockX,
                                intptr_t blockY, intptr_t blockZ, int32_t smem,
                                void *stream, void **params, void ** /*extra*/,
                                size_t /*paramsCount*/) {
  if (trace)
    std::fprintf(stderr, "qx-gpu: mgpuLaunchKernel\n");
  std::lock_guard<std::mutex> lock(mutex);
  if (!function) {
    fail("kernel launch without a kernel (see the earlier error)");
    return;
  }
  // After an error, kernels do not run: their operands (a buffer that was
  // not allocated, a zeroed tensor map) may be invalid.
  if (!lastError.empty())
    return;
  // More than 48 KiB of dynamic shared memory must be asked for.
  const int maxDynamicSharedBytes = 8; // CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_...
  if (smem > 48 * 1024 &&
      !call("cuFuncSetAttribute", &Driver::cuFuncSetAttribute,
            static_cast<CUfunction>(function), maxDynamicSharedBytes,
            static_cast<int>(smem)))
    return;
  if (dependentKernels.count(static_cast<CUfunction>(function))) {
    LaunchAttribute dependent;
    dependent.value.programmaticStreamSerializationAllowed = 1;
    LaunchConfig config = {unsigned(gridX),  unsigned(gridY),
                           unsigned(gridZ),  unsigned(blockX),
                           unsigned(blockY), unsigned(blockZ),
                           unsigned(smem),   static_cast<CUstream>(stream),
                           &dependent,       1};
    call("cuLaunchKernelEx", &Driver::cuLaunchKernelEx, &config,
         static_cast<CUfunction>(function), params,
         static_cast<void **>(nullptr));
    return;
  }
  call("cuLaunchKernel", &Driver::cuLaunchKernel,
       static_cast<CUfunction>(function), unsigned(gridX), unsigned(gridY),
       unsigned(gridZ), unsigned(blockX), unsigned(blockY), unsigned(blockZ),
       unsigned(smem), static_cast<CUstream>(stream), params,
       static_cast<void **>(nullptr));
}

/// Streams and scratch buffers of generated code. Each generated function
/// creates a stream at its entry and synchronizes and destroys it at its
/// exit: a destroyed stream is kept for the next create (cuStreamCreate
/// and cuStreamDestroy cost microseconds per call). A freed block (gpu.dealloc
/// on a stream, before that stream's synchronize) is kept for the next
/// allocation of the same size (cuMemAlloc and cuMemFree cost tens of
/// microseconds and synchronize): at once for allocations on the same
/// stream (stream order makes that safe), for any stream once the freeing
/// stream has been synchronized. Up to kPoolBytes are cached; a block that
/// would exceed that evicts idle cached blocks of other sizes first (a
/// process that runs several models keeps the blocks of the one running
/// now: with a full cache of an earlier model's blocks, every free and
/// allocation of the next one would synchronize). Guarded by `mutex`.
namespace {
constexpr size_t kPoolBytes = size_t(4) << 30;
std::vector<CUstream> idleStreams;
std::unordered_map<CUdeviceptr, size_t> poolSizes; // live + cached blocks
std::unordered_multimap<size_t, CUdeviceptr> poolFree;
/// Blocks freed on a stream that has not been synchronized since.
std::unordered_map<CUstream, std::vector<CUdeviceptr>> poolPending;
size_t poolCached = 0;

/// Scratch for captured CUDA graphs. A graph replays its kernels with the
/// pointers they had at capture: the blocks its calls used must not go to
/// other work afterwards. While `holding`, every block handed out is noted
/// in `holdTaken` (reuse inside the capture, in stream order, stays allowed);
/// qxGpuEndHoldScratch takes them out of the pool as one held set, which
/// qxGpuReleaseScratch gives back once the graph is gone.
bool holding = false;
std::unordered_set<CUdeviceptr> holdTaken;
std::unordered_map<int64_t, std::vector<CUdeviceptr>> heldSets;
std::unordered_set<CUdeviceptr> heldBlocks;
int64_t nextHeldSet = 1;

/// Notes `p`, handed out by the pool, for the current hold.
void noteTaken(CUdeviceptr p) {
  if (holding)
    holdTaken.insert(p);
}

/// Frees idle cached blocks (synchronized, not noted by an open hold) until
/// `bytes` more fit under kPoolBytes; whether they then fit.
bool evictCached(size_t bytes) {
  for (auto it = poolFree.begin();
       it != poolFree.end() && poolCached + bytes > kPoolBytes;) {
    if (holding && holdTaken.count(it->second)) {
      ++it;
      continue;
    }
    CUdeviceptr p = it->second;
    poolCached -= it->first;
    poolSizes.erase(p);
    it = poolFree.erase(it);
    call("cuMemFree", &Driver::cuMemFree, p);
  }
  return poolCached + bytes <= kPoolBytes;
}

/// Makes the blocks freed on `stream` available to every stream.
void releasePending(CUstream stream) {
  auto pending = poolPending.find(stream);
  if (pending == poolPending.end())
    return;
  for (CUdeviceptr p : pending->second)
    poolFree.emplace(poolSizes[p], p);
  poolPending.erase(pending);
}
} // namespace

/// Where generated functions called on this thread queue their work: a
/// stream of their own that they synchronize at their exit (the default),
/// or, after qxGpuSetStream, the caller's stream, which their create /
/// synchronize / destroy calls then leave alone (so they return at once).
namespace {
struct CallStream {
  bool async = false;
  CUstream stream = nullptr;
};
thread_local CallStream callStream;

/// Whether `stream` is the caller's stream of an asynchronous call.
bool isCallerStream(CUstream stream) {
  return callStream.async && stream == callStream.stream;
}
} // namespace

QX_EXPORT void *mgpuStreamCreate() {
  if (trace)
    std::fprintf(stderr, "qx-gpu: mgpuStreamCreate\n");
  if (callStream.async)
    return callStream.stream;
  std::lock_guard<std::mutex> lock(mutex);
  if (!idleStreams.empty()) {
    CUstream stream = idleStreams.back();
    idleStreams.pop_back();
    return stream;
  }
  CUstream stream = nullptr;
  call("cuStreamCreate", &Driver::cuStreamCreate, &stream, 0u);
  return stream;
}

QX_EXPORT void mgpuStreamSynchronize(void *stream) {
  if (trace)
    std::fprintf(stderr, "qx-gpu: mgpuStreamSynchronize\n");
  // The caller's stream: its freed blocks stay pending on it (reused in
  // stream order) until it is synchronized through qxGpuSynchronize.
  if (isCallerStream(static_cast<CUstream>(stream)))
    return;
  std::lock_guard<std::mutex> lock(mutex);
  if (call("cuStreamSynchronize", &Driver::cuStreamSynchronize,
           static_cast<CUstream>(stream)))
    releasePending(static_cast<CUstream>(stream));
}

QX_EXPORT void mgpuStreamDestroy(void *stream) {
  if (trace)
    std::fprintf(stderr, "qx-gpu: mgpuStreamDestroy\n");
  auto s = static_cast<CUstream>(stream);
  if (!s || isCallerStream(s))
    return;
  std::lock_guard<std::mutex> lock(mutex);
  // Work may still be queued (a destroy without a synchronize): wait for
  // it before the stream and its freed blocks are handed out again.
  if (poolPending.count(s) &&
      !call("cuStreamSynchronize", &Driver::cuStreamSynchronize, s))
    return;
  releasePending(s);
  idleStreams.push_back(s);
}

QX_EXPORT void *mgpuMemAlloc(uint64_t bytes, void *stream,
                             bool /*isHostShared*/) {
  if (trace)
    std::fprintf(stderr, "qx-gpu: mgpuMemAlloc\n");
  std::lock_guard<std::mutex> lock(mutex);
  if (!bytes)
    return nullptr;
  auto cached = poolFree.find(size_t(bytes));
  if (cached != poolFree.end()) {
    CUdeviceptr p = cached->second;
    poolFree.erase(cached);
    poolCached -= size_t(bytes);
    noteTaken(p);
    return reinterpret_cast<void *>(p);
  }
  auto pending = poolPending.find(static_cast<CUstream>(stream));
  if (pending != poolPending.end())
    for (CUdeviceptr &p : pending->second)
      if (poolSizes[p] == size_t(bytes)) {
        CUdeviceptr reused = p;
        p = pending->second.back();
        pending->second.pop_back();
        poolCached -= size_t(bytes);
        noteTaken(reused);
        return reinterpret_cast<void *>(reused);
      }
  CUdeviceptr p = 0;
  if (call("cuMemAlloc", &Driver::cuMemAlloc, &p, size_t(bytes))) {
    poolSizes[p] = size_t(bytes);
    noteTaken(p);
  }
  return reinterpret_cast<void *>(p);
}

QX_EXPORT void mgpuMemFree(void *ptr, void *stream) {
  if (trace)
    std::fprintf(stderr, "qx-gpu: mgpuMemFree\n");
  std::lock_guard<std::mutex> lock(mutex);
  if (!ptr)
    return;
  auto p = reinterpret_cast<CUdeviceptr>(ptr);
  if (heldBlocks.count(p))
    return; // a captured graph's: it stays with the graph
  auto known = poolSizes.find(p);
  if (holding && holdTaken.count(p) && known != poolSizes.end()) {
    // Inside the capture: reusable in stream order, never dropped.
    poolCached += known->second;
    poolPending[static_cast<CUstream>(stream)].push_back(p);
    return;
  }
  if (known != poolSizes.end() && (poolCached + known->second <= kPoolBytes ||
                                   evictCached(known->second))) {
    poolCached += known->second;
    if (stream)
      poolPending[static_cast<CUstream>(stream)].push_back(p);
    else
      poolFree.emplace(known->second, p);
    return;
  }
  if (known != poolSizes.end())
    poolSizes.erase(known);
  // Not cached: the block may still be in use by queued work.
  if (stream)
    call("cuStreamSynchronize", &Driver::cuStreamSynchronize,
         static_cast<CUstream>(stream));
  call("cuMemFree", &Driver::cuMemFree, p);
}

/// Device copies of the model's constant globals (weights, norm scales,
/// biases), made on first use and kept for the life of the process: the
/// host data is constant (`memref.global constant`), so a copy keyed by its
/// address and size stays valid. Guarded by `mutex`.
namespace {
std::unordered_map<const void *, std::pair<size_t, CUdeviceptr>> residentCopies;

/// A 1-D memref descriptor (MLIR's C interface).
struct MemRef1D {
  void *allocated, *aligned;
  int64_t offset, size, stride;
};

/// Fills `out` with the resident device copy of `in` (elements of
/// `elementBytes` bytes); a null descriptor and an error on failure.
void residentCopy(MemRef1D *out, const MemRef1D *in, size_t elementBytes) {
  std::lock_guard<std::mutex> lock(mutex);
  *out = MemRef1D{nullptr, nullptr, 0, in->size, 1};
  const char *host =
      static_cast<const char *>(in->aligned) + in->offset * elementBytes;
  size_t bytes = size_t(in->size) * elementBytes;
  auto found = residentCopies.find(host);
  CUdeviceptr device = 0;
  if (found != residentCopies.end() && found->second.first == bytes) {
    device = found->second.second;
  } else {
    if (!bytes || !call("cuMemAlloc", &Driver::cuMemAlloc, &device, bytes))
      return;
    if (!call("cuMemcpyHtoD", &Driver::cuMemcpyHtoD, device,
              static_cast<const void *>(host), bytes)) {
      driver.cuMemFree(device);
      return;
    }
    residentCopies[host] = {bytes, device};
  }
  out->allocated = out->aligned = reinterpret_cast<void *>(device);
}
} // namespace

/// The resident device copies of constant globals that generated host code
/// asks for (quant-xform-gpu-host-buffers), per element type.
QX_EXPORT void _mlir_ciface_qxGpuConstantF32(MemRef1D *out,
                                             const MemRef1D *in) {
  residentCopy(out, in, 4);
}
QX_EXPORT void _mlir_ciface_qxGpuConstantI8(MemRef1D *out, const MemRef1D *in) {
  residentCopy(out, in, 1);
}
QX_EXPORT void _mlir_ciface_qxGpuConstantI32(MemRef1D *out,
                                             const MemRef1D *in) {
  residentCopy(out, in, 4);
}

/// The weight table of a model compiled with weights as data
/// (quant-xform-gpu-weights-as-data): [layout, n, address 0, bytes 0, ...,
/// address n-1, bytes n-1], host memory filled by the caller from the
/// model's weight file (quant_xform/cuda.py). Fills `out` with weight
/// `index`'s device buffer after checking the table against what the
/// compiled code expects; a null descriptor and an error otherwise.
namespace {
void weightFromTable(MemRef1D *out, const MemRef1D *table, int64_t index,
                     int64_t elements, int64_t layout, size_t elementBytes,
                     const char *type) {
  std::lock_guard<std::mutex> lock(mutex);
  *out = MemRef1D{nullptr, nullptr, 0, elements, 1};
  const int64_t *t =
      table && table->aligned
          ? static_cast<const int64_t *>(table->aligned) + table->offset
          : nullptr;
  char text[256];
  if (!t || table->size < 2) {
    fail("the model reads its weights from a weight table and none was "
         "passed (load the artifact with quant_xform.cuda.load, which "
         "reads its weight file)");
    return;
  }
  if (t[0] != layout) {
    std::snprintf(text, sizeof(text),
                  "the weight table is for weight layout %016llx, the "
                  "compiled model has layout %016llx: the weight file does "
                  "not belong to this model",
                  static_cast<unsigned long long>(t[0]),
                  static_cast<unsigned long long>(layout));
    fail(text);
    return;
  }
  int64_t n = t[1];
  if (index < 0 || index >= n || table->size < 2 + 2 * n) {
    std::snprintf(text, sizeof(text),
                  "weight %lld is not in the weight table (it holds %lld)",
                  static_cast<long long>(index), static_cast<long long>(n));
    fail(text);
    return;
  }
  int64_t address = t[2 + 2 * index], bytes = t[3 + 2 * index];
  if (bytes != elements * static_cast<int64_t>(elementBytes) || !address) {
    std::snprintf(text, sizeof(text),
                  "weight %lld: the table holds %lld bytes at %s, the "
                  "compiled model reads %lld %s elements",
                  static_cast<long long>(index), static_cast<long long>(bytes),
                  address ? "a device address" : "no address",
                  static_cast<long long>(elements), type);
    fail(text);
    return;
  }
  out->allocated = out->aligned = reinterpret_cast<void *>(address);
}
} // namespace

/// Weight `index` of the weight table (see weightFromTable), per element
/// type.
QX_EXPORT void _mlir_ciface_qxGpuWeightF32(MemRef1D *out, const MemRef1D *table,
                                           int64_t index, int64_t elements,
                                           int64_t layout) {
  weightFromTable(out, table, index, elements, layout, 4, "f32");
}
QX_EXPORT void _mlir_ciface_qxGpuWeightI8(MemRef1D *out, const MemRef1D *table,
                                          int64_t index, int64_t elements,
                                          int64_t layout) {
  weightFromTable(out, table, index, elements, layout, 1, "i8");
}
QX_EXPORT void _mlir_ciface_qxGpuWeightI32(MemRef1D *out, const MemRef1D *table,
                                           int64_t index, int64_t elements,
                                           int64_t layout) {
  weightFromTable(out, table, index, elements, layout, 4, "i32");
}

/// Copies in the order of `stream` (after its queued work; a copy to
/// pageable host memory returns when it is done), as upstream's wrappers.
QX_EXPORT void mgpuMemcpy(void *dst, void *src, size_t bytes, void *stream) {
  if (trace)
    std::fprintf(stderr, "qx-gpu: mgpuMemcpy\n");
  std::lock_guard<std::mutex> lock(mutex);
  call("cuMemcpyAsync", &Driver::cuMemcpyAsync,
       reinterpret_cast<CUdeviceptr>(dst), reinterpret_cast<CUdeviceptr>(src),
       bytes, static_cast<CUstream>(stream));
}

/// Fills in the order of `stream`.
QX_EXPORT void mgpuMemset32(void *dst, unsigned value, size_t count,
                            void *stream) {
  if (trace)
    std::fprintf(stderr, "qx-gpu: mgpuMemset32\n");
  std::lock_guard<std::mutex> lock(mutex);
  call("cuMemsetD32Async", &Driver::cuMemsetD32Async,
       reinterpret_cast<CUdeviceptr>(dst), value, count,
       static_cast<CUstream>(stream));
}

/// Fills `map` (128 bytes, CUtensorMap) for TMA copies of boxes of
/// `boxRows` rows × `boxBytes` bytes out of the row-major int8 matrix at
/// `base` (`rows` rows of `cols` bytes): swizzled by 128 or 64 bytes (the
/// box width), elements past the matrix read as zeros. What generated host
/// code calls before launching a wgmma kernel that loads through TMA. On a
/// bad matrix (an address not 16-byte aligned, a row length not a multiple
/// of 16, a box over 256 rows) or a driver without TMA, the error is
/// recorded and the map zeroed (the launch then does nothing).
QX_EXPORT void qxGpuEncodeTensorMap(void *map, void *base, int64_t rows,
                                    int64_t cols, int64_t boxRows,
                                    int64_t boxBytes) {
  if (trace)
    std::fprintf(stderr, "qx-gpu: qxGpuEncodeTensorMap\n");
  std::lock_guard<std::mutex> lock(mutex);
  std::memset(map, 0, 128);
  if (!init())
    return;
  if (!driver.cuTensorMapEncodeTiled) {
    fail("the CUDA driver has no cuTensorMapEncodeTiled (TMA needs CUDA "
         "12 or later)");
    return;
  }
  if (reinterpret_cast<uintptr_t>(base) % 16 != 0 || cols % 16 != 0 ||
      rows < 1 || boxRows < 1 || boxRows > 256 ||
      (boxBytes != 64 && boxBytes != 128)) {
    fail("qxGpuEncodeTensorMap: a TMA matrix needs a 16-byte aligned "
         "address, rows of a multiple of 16 bytes and boxes of 1-256 rows "
         "of 64 or 128 bytes (got " +
         std::to_string(rows) + " x " + std::to_string(cols) + ", box " +
         std::to_string(boxRows) + " x " + std::to_string(boxBytes) + ")");
    return;
  }
  // CU_TENSOR_MAP_DATA_TYPE_UINT8 = 0, INTERLEAVE_NONE = 0,
  // SWIZZLE_64B = 2 / 128B = 3, L2_PROMOTION_L2_128B = 2, FLOAT_OOB_FILL_NONE
  // = 0 (zeros).
  alignas(64) unsigned char encoded[128];
  const uint64_t dims[2] = {uint64_t(cols), uint64_t(rows)};
  const uint64_t strides[1] = {uint64_t(cols)};
  const unsigned box[2] = {unsigned(boxBytes), unsigned(boxRows)};
  const unsigned elementStrides[2] = {1, 1};
  CUresult r = driver.cuTensorMapEncodeTiled(encoded, 0, 2, base, dims, strides,
                                             box, elementStrides, 0,
                                             boxBytes == 128 ? 3 : 2, 2, 0);
  if (r != 0) {
    failCall("cuTensorMapEncodeTiled", r);
    return;
  }
  std::memcpy(map, encoded, sizeof(encoded));
}

//===----------------------------------------------------------------------===//
// Helpers for callers of generated GPU code
//===----------------------------------------------------------------------===//

/// The first recorded error ("error: ..."), or null when none.
QX_EXPORT const char *qxGpuLastError() {
  std::lock_guard<std::mutex> lock(mutex);
  return lastError.empty() ? nullptr : lastError.c_str();
}

/// Forgets the recorded error (e.g. after reporting it).
QX_EXPORT void qxGpuClearError() {
  std::lock_guard<std::mutex> lock(mutex);
  lastError.clear();
}

/// Whether a CUDA device can be used (loads the driver on first call).
QX_EXPORT int qxGpuAvailable() {
  std::lock_guard<std::mutex> lock(mutex);
  return init() ? 1 : 0;
}

/// Device memory of `bytes` bytes (null and an error on failure).
QX_EXPORT void *qxGpuMalloc(size_t bytes) {
  std::lock_guard<std::mutex> lock(mutex);
  CUdeviceptr p = 0;
  if (bytes)
    call("cuMemAlloc", &Driver::cuMemAlloc, &p, bytes);
  return reinterpret_cast<void *>(p);
}

/// Frees memory from qxGpuMalloc.
QX_EXPORT void qxGpuFree(void *p) {
  std::lock_guard<std::mutex> lock(mutex);
  if (p)
    call("cuMemFree", &Driver::cuMemFree, reinterpret_cast<CUdeviceptr>(p));
}

/// Host → device copy; returns 0 on success.
QX_EXPORT int qxGpuCopyToDevice(void *dst, const void *src, size_t bytes) {
  if (trace)
    std::fprintf(stderr, "qx-gpu: qxGpuCopyToDevice\n");
  std::lock_guard<std::mutex> lock(mutex);
  return call("cuMemcpyHtoD", &Driver::cuMemcpyHtoD,
              reinterpret_cast<CUdeviceptr>(dst), src, bytes)
             ? 0
             : 1;
}

/// Device → host copy; returns 0 on success.
QX_EXPORT int qxGpuCopyToHost(void *dst, const void *src, size_t bytes) {
  std::lock_guard<std::mutex> lock(mutex);
  return call("cuMemcpyDtoH", &Driver::cuMemcpyDtoH, dst,
              reinterpret_cast<CUdeviceptr>(src), bytes)
             ? 0
             : 1;
}

/// Waits for all work on the device; returns 0 on success. Every block
/// freed by generated code is then free for any stream.
QX_EXPORT int qxGpuSynchronize() {
  std::lock_guard<std::mutex> lock(mutex);
  if (!call("cuCtxSynchronize", &Driver::cuCtxSynchronize))
    return 1;
  while (!poolPending.empty())
    releasePending(poolPending.begin()->first);
  return 0;
}

/// Starts noting the scratch blocks of generated calls, for a CUDA graph
/// about to be captured (see `holding`). Returns 0, or 1 when a hold is
/// already open.
QX_EXPORT int qxGpuHoldScratch() {
  std::lock_guard<std::mutex> lock(mutex);
  if (holding)
    return 1;
  holding = true;
  holdTaken.clear();
  return 0;
}

/// Ends the hold: the blocks noted since qxGpuHoldScratch leave the pool
/// and belong to the returned set (0 when no hold was open).
QX_EXPORT int64_t qxGpuEndHoldScratch() {
  std::lock_guard<std::mutex> lock(mutex);
  if (!holding)
    return 0;
  holding = false;
  auto isTaken = [](CUdeviceptr p) { return holdTaken.count(p) != 0; };
  for (auto it = poolFree.begin(); it != poolFree.end();)
    if (isTaken(it->second)) {
      poolCached -= it->first;
      it = poolFree.erase(it);
    } else {
      ++it;
    }
  for (auto &[stream, blocks] : poolPending)
    for (size_t i = 0; i < blocks.size();)
      if (isTaken(blocks[i])) {
        poolCached -= poolSizes[blocks[i]];
        blocks[i] = blocks.back();
        blocks.pop_back();
      } else {
        ++i;
      }
  int64_t id = nextHeldSet++;
  std::vector<CUdeviceptr> &set = heldSets[id];
  set.assign(holdTaken.begin(), holdTaken.end());
  heldBlocks.insert(set.begin(), set.end());
  holdTaken.clear();
  return id;
}

/// Gives a held set back to the pool, once its graph will not run again
/// (its work finished: call after a synchronize).
QX_EXPORT void qxGpuReleaseScratch(int64_t id) {
  std::lock_guard<std::mutex> lock(mutex);
  auto set = heldSets.find(id);
  if (set == heldSets.end())
    return;
  for (CUdeviceptr p : set->second) {
    heldBlocks.erase(p);
    poolFree.emplace(poolSizes[p], p);
    poolCached += poolSizes[p];
  }
  heldSets.erase(set);
}

/// Makes generated functions called on this thread asynchronous: they
/// queue their work on `stream` (a CUstream, e.g. PyTorch's current
/// stream; null: the legacy default stream) and return without waiting.
/// Their results are ready once that stream's work is (qxGpuSynchronize,
/// or an event or synchronize on the stream); errors of the queued work
/// are reported by the next call that waits.
QX_EXPORT void qxGpuSetStream(void *stream) {
  callStream = CallStream{true, static_cast<CUstream>(stream)};
}

/// Makes generated functions called on this thread synchronous again (the
/// default): each runs on a stream of its own and waits for it.
QX_EXPORT void qxGpuSetSynchronous() { callStream = CallStream{}; }

/// Median-free helper for timing: runs `fn(arg)` `reps` times between two
/// events and returns the milliseconds per run (negative on error). The
/// events are on the legacy default stream, which orders with the streams
/// of synchronous generated functions, or on the stream of qxGpuSetStream.
QX_EXPORT float qxGpuElapsedMs(void (*fn)(void *), void *arg, int reps) {
  CUevent start = nullptr, stop = nullptr;
  CUstream on = callStream.async ? callStream.stream : nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (!call("cuEventCreate", &Driver::cuEventCreate, &start, 0u) ||
        !call("cuEventCreate", &Driver::cuEventCreate, &stop, 0u) ||
        !call("cuEventRecord", &Driver::cuEventRecord, start, on))
      return -1.0f;
  }
  for (int i = 0; i < reps; ++i)
    fn(arg);
  std::lock_guard<std::mutex> lock(mutex);
  float ms = -1.0f;
  if (call("cuEventRecord", &Driver::cuEventRecord, stop, on) &&
      call("cuEventSynchronize", &Driver::cuEventSynchronize, stop) &&
      call("cuEventElapsedTime", &Driver::cuEventElapsedTime, &ms, start, stop))
    ms /= reps;
  driver.cuEventDestroy(start);
  driver.cuEventDestroy(stop);
  return ms;
}
