//===- qx_gpu_runtime.h - helpers for callers of generated GPU code -------===//
//
// What a C or C++ program that calls code from `xform-aot --target=gpu`
// uses of libqx_cuda_runtime.so (runtime/CudaRuntime.cpp) besides the
// mgpu* ABI the generated code calls itself: device memory, copies, the
// sticky error, timing. No function aborts: errors are recorded and read
// with qxGpuLastError().
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_RUNTIME_QX_GPU_RUNTIME_H
#define QUANT_XFORM_RUNTIME_QX_GPU_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The first recorded error ("error: ..."), or null when none.
const char *qxGpuLastError(void);
/// Forgets the recorded error.
void qxGpuClearError(void);
/// Whether a CUDA device can be used (loads the driver on first call).
int qxGpuAvailable(void);
/// Device memory of `bytes` bytes (null and an error on failure).
void *qxGpuMalloc(size_t bytes);
/// Frees memory from qxGpuMalloc.
void qxGpuFree(void *p);
/// Host → device copy; 0 on success.
int qxGpuCopyToDevice(void *dst, const void *src, size_t bytes);
/// Device → host copy; 0 on success.
int qxGpuCopyToHost(void *dst, const void *src, size_t bytes);
/// Waits for all work on the device; 0 on success.
int qxGpuSynchronize(void);
/// CUDA graphs: a captured graph replays its kernels on the scratch blocks
/// they had at capture. Open a hold before the capture (1: one is already
/// open), end it after: the blocks used meanwhile leave the pool as one set
/// (its id; 0 without a hold), which goes back with qxGpuReleaseScratch once
/// the graph will not run again. Warm the calls up before the capture, so
/// that no device memory is allocated while capturing.
int qxGpuHoldScratch(void);
int64_t qxGpuEndHoldScratch(void);
void qxGpuReleaseScratch(int64_t id);
/// Makes generated functions called on this thread asynchronous: they queue
/// their work on `stream` (a CUstream; null: the legacy default stream) and
/// return without waiting; results are ready once the stream's work is
/// (qxGpuSynchronize), and errors of queued work are reported then.
void qxGpuSetStream(void *stream);
/// Back to synchronous calls (the default): each generated function runs on
/// a stream of its own and waits for it before it returns.
void qxGpuSetSynchronous(void);
/// Fills the 128-byte CUtensorMap `map` for TMA copies of `boxRows` ×
/// `boxBytes` (64 or 128) boxes out of the row-major int8 matrix `base`
/// (`rows` × `cols` bytes; swizzled by the box width, zeros past the
/// edges). Called by generated host code before a TMA kernel's launch; an
/// error is recorded (and the map zeroed) for a matrix TMA cannot read.
void qxGpuEncodeTensorMap(void *map, void *base, int64_t rows, int64_t cols,
                          int64_t boxRows, int64_t boxBytes);
/// Runs `fn(arg)` `reps` times between two events (on the stream of
/// qxGpuSetStream, else the legacy default stream); milliseconds per run
/// (negative on error).
float qxGpuElapsedMs(void (*fn)(void *), void *arg, int reps);

#ifdef __cplusplus
}
#endif

#endif
