//===- gpu_block_driver.cpp - run an AOT-compiled GPU model on a device --===//
//
// A plain C++ program (no MLIR) that calls a model compiled by
// `xform-aot --target=gpu` on device buffers: f32 arguments of the shapes
// QX_IN_SHAPES, one f32 result of shape QX_OUT_SHAPE (with QX_HALF, f16
// arguments and result, made from the same values rounded), called as
// QX_CALL(in, out) (in: the argument pointers). scripts/gpu-build-blocks.sh
// defines these from the header. It makes deterministic inputs (never
// zeros), runs the model once, writes the inputs and the output as .npy
// files (compared with the reference evaluator by `xform-run --compare-npy`
// where MLIR is installed), then times 20 more runs (median of event-timed
// calls after warm-up). Exit 1 on any CUDA error.
//
//   c++ -Iruntime -include model.h -DQX_IN_SHAPES='{{16,32}}'
//   -DQX_OUT_SHAPE='{16,32}' \
//       '-DQX_CALL(in,out)=qx_model(in[0],out)' gpu_block_driver.cpp model.o \
//       -lqx_cuda_runtime
//   ./a.out in0.npy ... out.npy
//
//===----------------------------------------------------------------------===//

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "qx_gpu_runtime.h"

namespace {

#ifdef QX_HALF
// Every argument and the result are f16 (their bits as uint16_t).
using Element = uint16_t;
const char *const kDescr = "<f2";
Element toElement(float v) {
  _Float16 h = static_cast<_Float16>(v);
  Element bits;
  std::memcpy(&bits, &h, sizeof(bits));
  return bits;
}
#else
using Element = float;
const char *const kDescr = "<f4";
Element toElement(float v) { return v; }
#endif

bool writeNpy(const char *path, const std::vector<Element> &v,
              const std::vector<int64_t> &shape) {
  std::string dims;
  for (int64_t d : shape)
    dims += std::to_string(d) + ", ";
  std::string dict = "{'descr': '" + std::string(kDescr) +
                     "', 'fortran_order': False, 'shape': (" + dims + "), }";
  size_t total = 10 + dict.size() + 1;
  dict += std::string((64 - total % 64) % 64, ' ') + "\n";
  FILE *f = std::fopen(path, "wb");
  if (!f)
    return false;
  unsigned short len = static_cast<unsigned short>(dict.size());
  std::fwrite("\x93NUMPY\x01\x00", 1, 8, f);
  std::fwrite(&len, 2, 1, f);
  std::fwrite(dict.data(), 1, dict.size(), f);
  std::fwrite(v.data(), sizeof(Element), v.size(), f);
  return std::fclose(f) == 0;
}

int64_t elements(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

bool ok(const char *what) {
  if (const char *e = qxGpuLastError()) {
    std::fprintf(stderr, "error: %s (%s)\n", e, what);
    return false;
  }
  return true;
}

struct Buffers {
  std::vector<const Element *> in;
  Element *out;
};

} // namespace

int main(int argc, char **argv) {
  const std::vector<std::vector<int64_t>> inShapes = QX_IN_SHAPES;
  const std::vector<int64_t> outShape = QX_OUT_SHAPE;
  if (argc != int(inShapes.size()) + 2) {
    std::fprintf(stderr, "usage: %s", argv[0]);
    for (size_t i = 0; i < inShapes.size(); ++i)
      std::fprintf(stderr, " in%zu.npy", i);
    std::fprintf(stderr, " out.npy\n");
    return 2;
  }
  if (!qxGpuAvailable()) {
    std::fprintf(stderr, "error: no usable CUDA device: %s\n",
                 qxGpuLastError() ? qxGpuLastError() : "unknown");
    return 1;
  }
  uint32_t state = 12345;
  std::vector<std::vector<Element>> inputs;
  Buffers d;
  for (const auto &shape : inShapes) {
    std::vector<Element> x(elements(shape));
    for (Element &v : x) {
      state = state * 1664525u + 1013904223u;
      v = toElement(
          static_cast<float>(static_cast<int32_t>(state >> 8) % 2000) / 500.0f);
    }
    void *p = qxGpuMalloc(x.size() * sizeof(Element));
    if (!p || !ok("allocating") ||
        qxGpuCopyToDevice(p, x.data(), x.size() * sizeof(Element)) != 0) {
      ok("copying an input");
      return 1;
    }
    d.in.push_back(static_cast<const Element *>(p));
    inputs.push_back(std::move(x));
  }
  std::vector<Element> y(elements(outShape));
  d.out = static_cast<Element *>(qxGpuMalloc(y.size() * sizeof(Element)));
  if (!d.out || !ok("allocating"))
    return 1;
  const Element *const *in = d.in.data();
  QX_CALL(in, d.out);
  if (!ok("running the model") ||
      qxGpuCopyToHost(y.data(), d.out, y.size() * sizeof(Element)) != 0) {
    ok("copying the output");
    return 1;
  }
  for (size_t i = 0; i < inputs.size(); ++i)
    if (!writeNpy(argv[1 + i], inputs[i], inShapes[i])) {
      std::fprintf(stderr, "error: cannot write %s\n", argv[1 + i]);
      return 1;
    }
  if (!writeNpy(argv[argc - 1], y, outShape)) {
    std::fprintf(stderr, "error: cannot write %s\n", argv[argc - 1]);
    return 1;
  }
  auto run = [](void *p) {
    auto *b = static_cast<Buffers *>(p);
    const Element *const *in = b->in.data();
    QX_CALL(in, b->out);
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
  std::string dims;
  for (int64_t v : outShape)
    dims += (dims.empty() ? "" : "x") + std::to_string(v);
  std::printf("model -> %s: median %.4f ms over %zu runs\n", dims.c_str(),
              times[times.size() / 2], times.size());
  for (const Element *p : d.in)
    qxGpuFree(const_cast<Element *>(p));
  qxGpuFree(d.out);
  return 0;
}
