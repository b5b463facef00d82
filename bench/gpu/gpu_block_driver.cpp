//===- gpu_block_driver.cpp - run an AOT-compiled GPU model on a device --===//
//
// A plain C++ program (no MLIR) that calls a model compiled by
// `xform-aot --target=gpu`: qx_model(const float *x, float *y) on device
// buffers, x: ROWS×COLS, y: ROWS×OUT_COLS. It makes a deterministic input
// (never zeros), runs the model once, writes input and output as .npy files
// (compared with the reference evaluator by `xform-run --compare-npy`
// where MLIR is installed), then times REPS more runs (median of
// event-timed calls after warm-up). Exit 1 on any CUDA error.
//
//   c++ -include model.h -DROWS=16 -DCOLS=32 -DOUT_COLS=32 \
//       gpu_block_driver.cpp model.o -lqx_cuda_runtime
//   ./a.out x.npy y.npy
//
//===----------------------------------------------------------------------===//

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

extern "C" {
const char *qxGpuLastError();
int qxGpuAvailable();
void *qxGpuMalloc(size_t);
void qxGpuFree(void *);
int qxGpuCopyToDevice(void *, const void *, size_t);
int qxGpuCopyToHost(void *, const void *, size_t);
float qxGpuElapsedMs(void (*fn)(void *), void *arg, int reps);
}

namespace {

bool writeNpy(const char *path, const std::vector<float> &v, int rows,
              int cols) {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" +
                     std::to_string(rows) + ", " + std::to_string(cols) +
                     "), }";
  size_t total = 10 + dict.size() + 1;
  dict += std::string((64 - total % 64) % 64, ' ') + "\n";
  FILE *f = std::fopen(path, "wb");
  if (!f)
    return false;
  unsigned short len = static_cast<unsigned short>(dict.size());
  std::fwrite("\x93NUMPY\x01\x00", 1, 8, f);
  std::fwrite(&len, 2, 1, f);
  std::fwrite(dict.data(), 1, dict.size(), f);
  std::fwrite(v.data(), sizeof(float), v.size(), f);
  return std::fclose(f) == 0;
}

bool ok(const char *what) {
  if (const char *e = qxGpuLastError()) {
    std::fprintf(stderr, "error: %s (%s)\n", e, what);
    return false;
  }
  return true;
}

struct Buffers {
  float *x, *y;
};

} // namespace

int main(int argc, char **argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s x.npy y.npy\n", argv[0]);
    return 2;
  }
  if (!qxGpuAvailable()) {
    std::fprintf(stderr, "error: no usable CUDA device: %s\n",
                 qxGpuLastError() ? qxGpuLastError() : "unknown");
    return 1;
  }
  std::vector<float> x(ROWS * COLS), y(ROWS * OUT_COLS);
  uint32_t state = 12345;
  for (float &v : x) {
    state = state * 1664525u + 1013904223u;
    v = static_cast<float>(static_cast<int32_t>(state >> 8) % 2000) / 500.0f;
  }
  Buffers d{static_cast<float *>(qxGpuMalloc(x.size() * sizeof(float))),
            static_cast<float *>(qxGpuMalloc(y.size() * sizeof(float)))};
  if (!d.x || !d.y || !ok("allocating") ||
      qxGpuCopyToDevice(d.x, x.data(), x.size() * sizeof(float)) != 0) {
    ok("copying the input");
    return 1;
  }
  qx_model(d.x, d.y);
  if (!ok("running the model") ||
      qxGpuCopyToHost(y.data(), d.y, y.size() * sizeof(float)) != 0) {
    ok("copying the output");
    return 1;
  }
  if (!writeNpy(argv[1], x, ROWS, COLS) ||
      !writeNpy(argv[2], y, ROWS, OUT_COLS)) {
    std::fprintf(stderr, "error: cannot write %s / %s\n", argv[1], argv[2]);
    return 1;
  }
  auto run = [](void *p) {
    auto *b = static_cast<Buffers *>(p);
    qx_model(b->x, b->y);
  };
  std::vector<float> times;
  for (int r = 0; r < 23; ++r) {
    float ms = qxGpuElapsedMs(run, &d, 1);
    if (ms < 0 || !ok("timing"))
      return 1;
    if (r >= 3)
      times.push_back(ms);
  }
  std::sort(times.begin(), times.end());
  std::printf("model %dx%d -> %dx%d: median %.4f ms over %zu runs\n", ROWS,
              COLS, ROWS, OUT_COLS, times[times.size() / 2], times.size());
  qxGpuFree(d.x);
  qxGpuFree(d.y);
  return 0;
}
