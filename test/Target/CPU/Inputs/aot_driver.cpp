// A plain C++ program (no MLIR) that calls a model compiled by xform-aot:
// qx_model(const float *x, float *y) with x: ROWS×COLS, y: ROWS×OUT_COLS.
// It writes its input and output as .npy files for comparison.
//
//   c++ -include model.h -DROWS=16 -DCOLS=32 -DOUT_COLS=32 aot_driver.cpp model.o
//   ./a.out x.npy y.npy
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

static bool writeNpy(const char *path, const std::vector<float> &v, int rows,
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

int main(int argc, char **argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s x.npy y.npy\n", argv[0]);
    return 2;
  }
  std::vector<float> x(ROWS * COLS), y(ROWS * OUT_COLS);
  uint32_t state = 12345;
  for (float &v : x) {
    state = state * 1664525u + 1013904223u;
    v = static_cast<float>(static_cast<int32_t>(state >> 8) % 2000) / 500.0f;
  }
  qx_model(x.data(), y.data());
  if (!writeNpy(argv[1], x, ROWS, COLS) || !writeNpy(argv[2], y, ROWS, OUT_COLS)) {
    std::fprintf(stderr, "cannot write outputs\n");
    return 1;
  }
  return 0;
}
