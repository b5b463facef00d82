//===- gpu_linear_runner.cpp - run AOT-compiled GPU linears on a device --===//
//
// Built by scripts/gpu-build-artifacts.sh against the objects and headers
// that `xform-aot --target=gpu` wrote for each shape (entries.inc lists
// them) and runtime/CudaRuntime.cpp; run on a machine with an NVIDIA GPU.
// For each shape: random s8 activations and weights, positive scales and a
// bias (never zeros), the generated W8A8 linear on the device, checked
// against a CPU oracle (exact i32 dot, then the f32 epilogue in the
// evaluator's order: any difference is an error), then timed (median of
// event-timed runs after warm-up). Exit 1 on any mismatch or CUDA error.
//
//===----------------------------------------------------------------------===//

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

extern "C" {
const char *qxGpuLastError();
int qxGpuAvailable();
void *qxGpuMalloc(size_t);
void qxGpuFree(void *);
int qxGpuCopyToDevice(void *, const void *, size_t);
int qxGpuCopyToHost(void *, const void *, size_t);
int qxGpuSynchronize();
float qxGpuElapsedMs(void (*fn)(void *), void *arg, int reps);
}

#define QX_ENTRY(name, M, N, K, BIAS) /* headers */
#include "entries.inc"
#undef QX_ENTRY

namespace {

bool check(const char *what) {
  if (const char *e = qxGpuLastError()) {
    std::fprintf(stderr, "%s (%s)\n", e, what);
    return false;
  }
  return true;
}

/// One shape: run, compare with the oracle, time.
template <typename Fn>
bool runShape(const char *name, int64_t m, int64_t n, int64_t k, bool bias,
              Fn fn, std::mt19937 &rng) {
  std::uniform_int_distribution<int> i8(-127, 127);
  std::uniform_real_distribution<float> scale(0.001f, 0.01f);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<int8_t> q(m * k), w(n * k);
  std::vector<float> sx(m), sw(n), b(n), y(m * n, NAN), ref(m * n);
  for (auto &v : q)
    v = static_cast<int8_t>(i8(rng));
  for (auto &v : w)
    v = static_cast<int8_t>(i8(rng));
  for (auto &v : sx)
    v = scale(rng);
  for (auto &v : sw)
    v = scale(rng);
  for (auto &v : b)
    v = normal(rng);
  // The oracle: every output for small shapes, 4096 sampled outputs (all
  // rows and columns touched over the samples) for the benchmark sizes.
  std::vector<int64_t> checked;
  if (m * n * k <= (int64_t(1) << 31)) {
    for (int64_t i = 0; i < m * n; ++i)
      checked.push_back(i);
  } else {
    std::uniform_int_distribution<int64_t> pick(0, m * n - 1);
    for (int s = 0; s < 4096; ++s)
      checked.push_back(pick(rng));
  }
  for (int64_t o : checked) {
    int64_t i = o / n, j = o % n;
    int32_t dot = 0;
    for (int64_t kk = 0; kk < k; ++kk)
      dot += int32_t(q[i * k + kk]) * int32_t(w[j * k + kk]);
    float v = sx[i] * (sw[j] * float(dot));
    ref[o] = bias ? v + b[j] : v;
  }
  void *dq = qxGpuMalloc(q.size()), *dw = qxGpuMalloc(w.size());
  void *dsx = qxGpuMalloc(4 * m), *dsw = qxGpuMalloc(4 * n);
  void *db = qxGpuMalloc(4 * n), *dy = qxGpuMalloc(4 * m * n);
  qxGpuCopyToDevice(dq, q.data(), q.size());
  qxGpuCopyToDevice(dw, w.data(), w.size());
  qxGpuCopyToDevice(dsx, sx.data(), 4 * m);
  qxGpuCopyToDevice(dsw, sw.data(), 4 * n);
  qxGpuCopyToDevice(db, b.data(), 4 * n);
  qxGpuCopyToDevice(dy, y.data(), 4 * m * n); // NaN poison
  fn(dq, dsx, dw, dsw, db, dy);
  qxGpuCopyToHost(y.data(), dy, 4 * m * n);
  bool ok = check(name);
  int64_t bad = 0;
  for (int64_t o : checked)
    if (ok && !(y[o] == ref[o]))
      ++bad;
  // CUDA-event timing (qxGpuElapsedMs: events on the legacy default
  // stream, which orders with the call's own stream), one call per sample,
  // median of 20 after 3 warm-up calls.
  struct Call {
    const Fn *fn;
    void *q, *sx, *w, *sw, *b, *y;
  } call{&fn, dq, dsx, dw, dsw, db, dy};
  auto trampoline = [](void *p) {
    auto *c = static_cast<Call *>(p);
    (*c->fn)(c->q, c->sx, c->w, c->sw, c->b, c->y);
  };
  std::vector<double> times;
  for (int r = 0; ok && r < 23; ++r) {
    float ms = qxGpuElapsedMs(trampoline, &call, 1);
    if (ms < 0) {
      ok = false;
      break;
    }
    if (r >= 3)
      times.push_back(ms / 1e3);
  }
  ok = ok && check(name);
  double median = 0;
  if (!times.empty()) {
    std::sort(times.begin(), times.end());
    median = times[times.size() / 2];
  }
  std::printf("%-10s M=%-5lld N=%-5lld K=%-5lld bias=%d  checked=%lld  "
              "mismatches=%lld  median=%.4f ms  %.1f TOPS\n",
              name, (long long)m, (long long)n, (long long)k, int(bias),
              (long long)checked.size(), (long long)bad, median * 1e3,
              median > 0 ? 2.0 * m * n * k / median / 1e12 : 0.0);
  for (void *p : {dq, dw, dsx, dsw, db, dy})
    qxGpuFree(p);
  return ok && bad == 0;
}

} // namespace

int main() {
  std::setvbuf(stdout, nullptr, _IONBF, 0);
  if (!qxGpuAvailable()) {
    std::fprintf(stderr, "%s\n", qxGpuLastError());
    return 1;
  }
  std::mt19937 rng(2026);
  bool ok = true;
#define QX_ENTRY(name, M, N, K, BIAS)                                          \
  ok &= runShape(                                                              \
      #name, M, N, K, BIAS,                                                    \
      [](void *q, void *sx, void *w, void *sw, void *b, void *y) {             \
        QX_CALL_##BIAS(name, q, sx, w, sw, b, y);                              \
      },                                                                       \
      rng);
#define QX_CALL_1(name, q, sx, w, sw, b, y)                                    \
  qx_##name((const int8_t *)q, (const float *)sx, (const int8_t *)w,           \
            (const float *)sw, (const float *)b, (float *)y)
#define QX_CALL_0(name, q, sx, w, sw, b, y)                                    \
  qx_##name((const int8_t *)q, (const float *)sx, (const int8_t *)w,           \
            (const float *)sw, (float *)y)
#include "entries.inc"
  std::printf(ok ? "gpu_linear_runner: all shapes match the oracle\n"
                 : "gpu_linear_runner: FAILED\n");
  return ok ? 0 : 1;
}
