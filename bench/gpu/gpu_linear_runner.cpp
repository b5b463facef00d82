//===- gpu_linear_runner.cpp - run AOT-compiled GPU linears on a device --===//
//
// Built by scripts/gpu-build-artifacts.sh against the objects and headers
// that `xform-aot --target=gpu` wrote for each shape (entries.inc lists
// them) and runtime/CudaRuntime.cpp; run on a machine with an NVIDIA GPU.
// For each shape: random s8 activations (or, for fused and LLM.int8()
// entries, f32 ones with outlier channels that the generated code
// quantizes per token, the LLM.int8() ones without their outlier columns,
// which are added in float) and
// weights, positive scales and a bias (never zeros), the generated W8A8
// linear on the device (for `bf16` entries, with bf16 activations in and
// bf16 results out: the arith.extf / arith.truncf around the linear fused
// into the kernels), checked against a CPU oracle (the evaluator's
// quantize formula, exact i32 dot, then the f32 epilogue in the evaluator's
// order: any difference is an error), then timed (median of event-timed
// runs after warm-up) as the PyTorch anchors are: each call queues its work
// on the stream between the two events and returns (qxGpuSetStream; the
// results of those calls are checked again); and as synchronous calls,
// which wait for their work (`waiting=`). Exit 1 on any mismatch or CUDA
// error.
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

#include "qx_gpu_runtime.h"

#define QX_ENTRY(name, M, N, K, BIAS) /* headers */
#define QX_FUSED_ENTRY(name, M, N, K, BIAS)
#define QX_QUANT_ENTRY(name, M, K, HADAMARD)
#define QX_MIXED_ENTRY(name, M, N, K, BIAS, OUTLIERS)
#define QX_BF16_ENTRY(name, M, N, K, BIAS)
#define QX_BF16_MIXED_ENTRY(name, M, N, K, BIAS, OUTLIERS)
#define QX_BF16_GEMM_ENTRY(name, M, N, K, BIAS)
#define QX_BF16_QUANT_ENTRY(name, M, K)
// A run-time M: qx_<name>_m<M>(args...) calls qx_<name>(M, args...).
#define QX_RUNTIME_M_WRAPPER(name, M)                                          \
  template <typename... A> static inline void qx_##name##_m##M(A... a) {       \
    qx_##name(M, a...);                                                        \
  }
#include "entries.inc"
#undef QX_ENTRY
#undef QX_FUSED_ENTRY
#undef QX_QUANT_ENTRY
#undef QX_MIXED_ENTRY
#undef QX_BF16_ENTRY
#undef QX_BF16_MIXED_ENTRY
#undef QX_BF16_GEMM_ENTRY
#undef QX_BF16_QUANT_ENTRY
#undef QX_RUNTIME_M_WRAPPER

namespace {

/// f32 → bf16 bits, rounded to nearest even (NaN → a quiet NaN), as
/// `cvt.rn.bf16.f32` and `arith.truncf` round.
uint16_t toBf16(float f) {
  if (std::isnan(f))
    return 0x7fc0;
  uint32_t u;
  std::memcpy(&u, &f, 4);
  u += 0x7fff + ((u >> 16) & 1);
  return uint16_t(u >> 16);
}

/// bf16 bits → f32 (exact).
float fromBf16(uint16_t h) {
  uint32_t u = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

bool check(const char *what) {
  if (const char *e = qxGpuLastError()) {
    std::fprintf(stderr, "%s (%s)\n", e, what);
    return false;
  }
  return true;
}

/// The evaluator's symmetric per-token quantize of one row (qmax 127):
/// s = f32(f64(absmax) / 127) (1 for a zero or non-finite absmax), then
/// q = clamp(round_half_even(x / s)) with an f32 division, NaN → 0.
float quantizeRow(const float *x, int64_t k, int8_t *q) {
  float absmax = 0.0f;
  for (int64_t i = 0; i < k; ++i)
    if (!std::isnan(x[i]))
      absmax = std::max(absmax, std::fabs(x[i]));
  double wide = double(absmax);
  float s = wide > 0.0 && std::isfinite(wide) ? float(wide / 127.0) : 1.0f;
  for (int64_t i = 0; i < k; ++i) {
    float r = std::nearbyint(x[i] / s);
    if (std::isnan(r))
      r = 0.0f;
    q[i] = static_cast<int8_t>(std::clamp(r, -127.0f, 127.0f));
  }
  return s;
}

/// CUDA-event timing of `fn(args)`, one call per sample: the median of 20
/// after 3 warm-up calls, in seconds; negative on a CUDA error. With
/// `queued`, as the anchors are timed: the call queues its work on the
/// legacy default stream between the two events and returns
/// (qxGpuSetStream); else each call waits for its own stream before it
/// returns, so that the time also holds the host's launch and wake-up
/// latency.
template <typename Fn>
double medianSeconds(const Fn &fn, void **args, bool queued = true) {
  if (queued)
    qxGpuSetStream(nullptr);
  struct Call {
    const Fn *fn;
    void **args;
  } call{&fn, args};
  auto trampoline = [](void *p) {
    auto *c = static_cast<Call *>(p);
    (*c->fn)(c->args);
  };
  std::vector<double> times;
  for (int r = 0; r < 23; ++r) {
    float ms = qxGpuElapsedMs(trampoline, &call, 1);
    if (ms < 0)
      break;
    if (r >= 3)
      times.push_back(ms / 1e3);
  }
  qxGpuSetSynchronous();
  if (times.size() < 20 || qxGpuSynchronize() != 0)
    return -1.0;
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

/// One shape: run, compare with the oracle, time. `fused`: the function
/// takes f32 activations and quantizes them itself (dynamic_quantize +
/// qlinear); otherwise it takes s8 activations and their scales. With
/// `outliers` > 0 (and `fused`), an LLM.int8() mixed_linear with the
/// outlier columns j·⌊K/outliers⌋ (scripts/gpu-build-artifacts.sh): the
/// int8 part quantizes x without them, then y += x[:, O]·Woᵀ in f32 in the
/// order of the columns. With `bf16`, y is bf16 (the f32 result rounded to
/// nearest even) and, if `fused`, x is bf16 too (the f32 values rounded to
/// bf16 first, so that the oracle sees what the kernel widens).
/// `fn(args)` calls the entry point on the device buffers in `args`.
template <typename Fn>
bool runShape(const char *name, int64_t m, int64_t n, int64_t k, bool bias,
              bool fused, int64_t outliers, bool bf16, Fn fn,
              std::mt19937 &rng) {
  std::uniform_int_distribution<int> i8(-127, 127);
  std::uniform_real_distribution<float> scale(0.001f, 0.01f);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<int8_t> q(m * k), w(n * k);
  std::vector<float> x, sx(m), sw(n), b(n), y(m * n, NAN), ref(m * n);
  std::vector<int64_t> columns;
  std::vector<float> wo(n * outliers);
  for (int64_t j = 0; j < outliers; ++j)
    columns.push_back(j * (k / outliers));
  if (fused) {
    // Activations with outlier channels (every 61st ×20, the LLM.int8()
    // outlier columns ×40), quantized by the oracle as the generated kernel
    // must (x·keep: the outlier columns as zeros).
    x.resize(m * k);
    std::vector<float> keep(k, 1.0f), row(k);
    for (int64_t c : columns)
      keep[c] = 0.0f;
    for (int64_t i = 0; i < m * k; ++i)
      x[i] = normal(rng) * ((i % k) % 61 == 7     ? 20.0f
                            : keep[i % k] == 0.0f ? 40.0f
                                                  : 1.0f);
    if (bf16)
      for (auto &v : x)
        v = fromBf16(toBf16(v));
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t c = 0; c < k; ++c)
        row[c] = x[i * k + c] * keep[c];
      sx[i] = quantizeRow(row.data(), k, &q[i * k]);
    }
    for (auto &v : wo)
      v = normal(rng) * 0.05f;
  } else {
    for (auto &v : q)
      v = static_cast<int8_t>(i8(rng));
    for (auto &v : sx)
      v = scale(rng);
  }
  for (auto &v : w)
    v = static_cast<int8_t>(i8(rng));
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
    if (bias)
      v = v + b[j];
    for (int64_t c = 0; c < outliers; ++c)
      v = v + x[i * k + columns[c]] * wo[j * outliers + c];
    ref[o] = v;
  }
  // Device buffers in the entry point's argument order.
  auto upload = [](const void *data, size_t bytes) {
    void *d = qxGpuMalloc(bytes);
    qxGpuCopyToDevice(d, data, bytes);
    return d;
  };
  std::vector<void *> args;
  std::vector<uint16_t> xh;
  if (bf16 && fused) {
    for (float v : x)
      xh.push_back(toBf16(v));
    args.push_back(upload(xh.data(), 2 * xh.size()));
  } else if (fused) {
    args.push_back(upload(x.data(), 4 * x.size()));
  } else {
    args.push_back(upload(q.data(), q.size()));
    args.push_back(upload(sx.data(), 4 * m));
  }
  args.push_back(upload(w.data(), w.size()));
  args.push_back(upload(sw.data(), 4 * n));
  if (outliers)
    args.push_back(upload(wo.data(), 4 * wo.size()));
  args.push_back(upload(b.data(), 4 * n));
  std::vector<uint16_t> yh(bf16 ? m * n : 0, 0x7fc0);
  void *dy = bf16 ? upload(yh.data(), 2 * m * n)
                  : upload(y.data(), 4 * m * n); // NaN poison
  args.push_back(dy);
  fn(args.data());
  if (bf16)
    qxGpuCopyToHost(yh.data(), dy, 2 * m * n);
  else
    qxGpuCopyToHost(y.data(), dy, 4 * m * n);
  bool ok = check(name);
  int64_t bad = 0;
  auto compare = [&] {
    for (int64_t o : checked)
      if (ok && (bf16 ? yh[o] != toBf16(ref[o]) : !(y[o] == ref[o])))
        ++bad;
  };
  compare();
  double median = ok ? medianSeconds(fn, args.data()) : -1.0;
  // The queued calls' results too (qxGpuSynchronize waited for them).
  std::fill(y.begin(), y.end(), NAN);
  std::fill(yh.begin(), yh.end(), 0x7fc0);
  if (bf16)
    qxGpuCopyToHost(yh.data(), dy, 2 * m * n);
  else
    qxGpuCopyToHost(y.data(), dy, 4 * m * n);
  compare();
  double waited = ok ? medianSeconds(fn, args.data(), false) : -1.0;
  ok = ok && median >= 0 && waited >= 0 && check(name);
  median = std::max(median, 0.0);
  std::printf("%-10s M=%-5lld N=%-5lld K=%-5lld bias=%d%s  checked=%lld  "
              "mismatches=%lld  median=%.4f ms  %.1f TOPS  waiting=%.4f ms\n",
              name, (long long)m, (long long)n, (long long)k, int(bias),
              bf16 ? " bf16" : "", (long long)checked.size(), (long long)bad,
              median * 1e3, median > 0 ? 2.0 * m * n * k / median / 1e12 : 0.0,
              waited * 1e3);
  for (void *p : args)
    qxGpuFree(p);
  return ok && bad == 0;
}

/// The sign of column j in the `hquant` entries of
/// scripts/gpu-build-artifacts.sh (the same formula).
float hadamardSign(int64_t j) { return (j * 7 + 3) % 5 < 2 ? -1.0f : 1.0f; }

/// The online Hadamard rotation of one row as the CPU lowering and the
/// generated kernel compute it: y_j = x_j · f32(sign_j/√B), then
/// butterflies (a + b, a − b) of strides 1, 2, ..., B/2 (B = K & −K).
void hadamardRow(const float *x, int64_t k, float *y) {
  int64_t block = k & -k;
  double norm = 1.0 / std::sqrt(double(block));
  for (int64_t j = 0; j < k; ++j)
    y[j] = x[j] * float(norm * hadamardSign(j));
  for (int64_t stride = 1; stride < block; stride *= 2)
    for (int64_t j = 0; j < k; ++j)
      if (!(j & stride)) {
        float a = y[j], b = y[j + stride];
        y[j] = a + b;
        y[j + stride] = a - b;
      }
}

/// The generated per-token quantize alone (x [M,K] f32 → q s8, s f32),
/// with the online Hadamard rotation in front when `hadamard`, or of bf16
/// x when `bf16`: every value and scale against the oracle, then timed;
/// prints the bytes moved per second (4·M·K read, 2·M·K for bf16;
/// M·K + 4·M written).
template <typename Fn>
bool runQuantize(const char *name, int64_t m, int64_t k, bool hadamard,
                 bool bf16, Fn fn, std::mt19937 &rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(m * k), sx(m), s(m, NAN), rotated(k);
  std::vector<int8_t> ref(m * k), q(m * k, 99);
  std::vector<uint16_t> xh;
  for (int64_t i = 0; i < m * k; ++i)
    x[i] = normal(rng) * ((i % k) % 61 == 7 ? 20.0f : 1.0f);
  if (bf16)
    for (auto &v : x) {
      xh.push_back(toBf16(v));
      v = fromBf16(xh.back());
    }
  for (int64_t i = 0; i < m; ++i) {
    const float *in = &x[i * k];
    if (hadamard) {
      hadamardRow(in, k, rotated.data());
      in = rotated.data();
    }
    sx[i] = quantizeRow(in, k, &ref[i * k]);
  }
  const size_t inBytes = (bf16 ? 2 : 4) * x.size();
  void *args[3] = {qxGpuMalloc(inBytes), qxGpuMalloc(q.size()),
                   qxGpuMalloc(4 * m)};
  qxGpuCopyToDevice(args[0], bf16 ? (const void *)xh.data() : x.data(),
                    inBytes);
  fn(args);
  qxGpuCopyToHost(q.data(), args[1], q.size());
  qxGpuCopyToHost(s.data(), args[2], 4 * m);
  bool ok = check(name);
  int64_t bad = 0;
  // Counts the mismatches; the first wrong value and the first wrong
  // scale of the first call are printed.
  bool shown = false;
  auto compare = [&] {
    int64_t q0 = -1, s0 = -1;
    for (int64_t i = 0; i < m * k; ++i)
      if (q[i] != ref[i]) {
        q0 = q0 < 0 ? i : q0;
        ++bad;
      }
    for (int64_t i = 0; i < m; ++i)
      if (!(s[i] == sx[i])) {
        s0 = s0 < 0 ? i : s0;
        ++bad;
      }
    if (!shown && q0 >= 0)
      std::printf("%s: first mismatch q[%lld, %lld] = %d, expected %d\n", name,
                  (long long)(q0 / k), (long long)(q0 % k), int(q[q0]),
                  int(ref[q0]));
    if (!shown && s0 >= 0)
      std::printf("%s: first mismatch s[%lld] = %.9g, expected %.9g\n", name,
                  (long long)s0, s[s0], sx[s0]);
    shown = true;
  };
  compare();
  double median = ok ? medianSeconds(fn, args) : -1.0;
  // The queued calls' results too.
  std::fill(q.begin(), q.end(), 99);
  std::fill(s.begin(), s.end(), NAN);
  qxGpuCopyToHost(q.data(), args[1], q.size());
  qxGpuCopyToHost(s.data(), args[2], 4 * m);
  compare();
  double waited = ok ? medianSeconds(fn, args, false) : -1.0;
  ok = ok && median >= 0 && waited >= 0 && check(name);
  median = std::max(median, 0.0);
  double bytes = double(inBytes) + 1.0 * m * k + 4.0 * m;
  std::printf("%-10s M=%-5lld K=%-5lld %s  checked=%lld  mismatches=%lld  "
              "median=%.4f ms  %.1f GB/s  waiting=%.4f ms\n",
              name, (long long)m, (long long)k,
              hadamard ? "hadamard+quantize"
              : bf16   ? "bf16 quantize"
                       : "quantize",
              (long long)(m * k + m), (long long)bad, median * 1e3,
              median > 0 ? bytes / median / 1e9 : 0.0, waited * 1e3);
  for (void *p : args)
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
#define QX_RUNTIME_M_WRAPPER(name, M) /* above */
// QX_ENTRY: qlinear on s8 activations (q, sx, w, sw, [b], y);
// QX_FUSED_ENTRY: dynamic_quantize + qlinear on f32 ones (x, w, sw, [b], y).
#define QX_ENTRY(name, M, N, K, BIAS)                                          \
  ok &= runShape(                                                              \
      #name, M, N, K, BIAS, false, 0, false,                                   \
      [](void **a) { QX_CALL_##BIAS(name, a); }, rng);
#define QX_CALL_1(name, a)                                                     \
  qx_##name((const int8_t *)a[0], (const float *)a[1], (const int8_t *)a[2],   \
            (const float *)a[3], (const float *)a[4], (float *)a[5])
#define QX_CALL_0(name, a)                                                     \
  qx_##name((const int8_t *)a[0], (const float *)a[1], (const int8_t *)a[2],   \
            (const float *)a[3], (float *)a[5])
#define QX_FUSED_ENTRY(name, M, N, K, BIAS)                                    \
  ok &= runShape(                                                              \
      #name, M, N, K, BIAS, true, 0, false,                                    \
      [](void **a) { QX_FUSED_CALL_##BIAS(name, a); }, rng);
#define QX_FUSED_CALL_1(name, a)                                               \
  qx_##name((const float *)a[0], (const int8_t *)a[1], (const float *)a[2],    \
            (const float *)a[3], (float *)a[4])
#define QX_FUSED_CALL_0(name, a)                                               \
  qx_##name((const float *)a[0], (const int8_t *)a[1], (const float *)a[2],    \
            (float *)a[4])
// QX_MIXED_ENTRY: LLM.int8() mixed_linear (x, w, sw, wo, [b], y).
#define QX_MIXED_ENTRY(name, M, N, K, BIAS, OUTLIERS)                          \
  ok &= runShape(                                                              \
      #name, M, N, K, BIAS, true, OUTLIERS, false,                             \
      [](void **a) { QX_MIXED_CALL_##BIAS(name, a); }, rng);
#define QX_MIXED_CALL_1(name, a)                                               \
  qx_##name((const float *)a[0], (const int8_t *)a[1], (const float *)a[2],    \
            (const float *)a[3], (const float *)a[4], (float *)a[5])
#define QX_MIXED_CALL_0(name, a)                                               \
  qx_##name((const float *)a[0], (const int8_t *)a[1], (const float *)a[2],    \
            (const float *)a[3], (float *)a[5])
// QX_BF16_ENTRY: the fused W8A8 linear on bf16 x and y (x, w, sw, [b], y);
// QX_BF16_MIXED_ENTRY: the LLM.int8() one (x, w, sw, wo, [b], y).
#define QX_BF16_ENTRY(name, M, N, K, BIAS)                                     \
  ok &= runShape(                                                              \
      #name, M, N, K, BIAS, true, 0, true,                                     \
      [](void **a) { QX_BF16_CALL_##BIAS(name, a); }, rng);
#define QX_BF16_CALL_1(name, a)                                                \
  qx_##name((const uint16_t *)a[0], (const int8_t *)a[1], (const float *)a[2], \
            (const float *)a[3], (uint16_t *)a[4])
#define QX_BF16_CALL_0(name, a)                                                \
  qx_##name((const uint16_t *)a[0], (const int8_t *)a[1], (const float *)a[2], \
            (uint16_t *)a[4])
#define QX_BF16_MIXED_ENTRY(name, M, N, K, BIAS, OUTLIERS)                     \
  ok &= runShape(                                                              \
      #name, M, N, K, BIAS, true, OUTLIERS, true,                              \
      [](void **a) { QX_BF16_MIXED_CALL_##BIAS(name, a); }, rng);
#define QX_BF16_MIXED_CALL_1(name, a)                                          \
  qx_##name((const uint16_t *)a[0], (const int8_t *)a[1], (const float *)a[2], \
            (const float *)a[3], (const float *)a[4], (uint16_t *)a[5])
#define QX_BF16_MIXED_CALL_0(name, a)                                          \
  qx_##name((const uint16_t *)a[0], (const int8_t *)a[1], (const float *)a[2], \
            (const float *)a[3], (uint16_t *)a[5])
// QX_QUANT_ENTRY: dynamic_quantize alone (x, q, s), HADAMARD: with the
// online Hadamard rotation in front.
#define QX_QUANT_ENTRY(name, M, K, HADAMARD)                                   \
  ok &= runQuantize(                                                           \
      #name, M, K, HADAMARD, false,                                            \
      [](void **a) {                                                           \
        qx_##name((const float *)a[0], (int8_t *)a[1], (float *)a[2]);         \
      },                                                                       \
      rng);
// QX_BF16_QUANT_ENTRY: dynamic_quantize of bf16 x alone (x, q, s).
#define QX_BF16_QUANT_ENTRY(name, M, K)                                        \
  ok &= runQuantize(                                                           \
      #name, M, K, false, true,                                                \
      [](void **a) {                                                           \
        qx_##name((const uint16_t *)a[0], (int8_t *)a[1], (float *)a[2]);      \
      },                                                                       \
      rng);
// QX_BF16_GEMM_ENTRY: qlinear on s8 activations, bf16 y (q, sx, w, sw, [b],
// y).
#define QX_BF16_GEMM_ENTRY(name, M, N, K, BIAS)                                \
  ok &= runShape(                                                              \
      #name, M, N, K, BIAS, false, 0, true,                                    \
      [](void **a) { QX_BF16_GEMM_CALL_##BIAS(name, a); }, rng);
#define QX_BF16_GEMM_CALL_1(name, a)                                           \
  qx_##name((const int8_t *)a[0], (const float *)a[1], (const int8_t *)a[2],   \
            (const float *)a[3], (const float *)a[4], (uint16_t *)a[5])
#define QX_BF16_GEMM_CALL_0(name, a)                                           \
  qx_##name((const int8_t *)a[0], (const float *)a[1], (const int8_t *)a[2],   \
            (const float *)a[3], (uint16_t *)a[5])
#include "entries.inc"
  std::printf(ok ? "gpu_linear_runner: all shapes match the oracle\n"
                 : "gpu_linear_runner: FAILED\n");
  return ok ? 0 : 1;
}
