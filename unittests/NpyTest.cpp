//===- NpyTest.cpp - .npy round trips and malformed files -----------------===//

#include "quant-xform/IO/Npy.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <gtest/gtest.h>

using namespace mlir::quant_xform::io;

namespace {

std::string tempPath(const char *name) {
  llvm::SmallString<128> dir;
  llvm::sys::path::system_temp_directory(true, dir);
  llvm::sys::path::append(dir, std::string("qx-npytest-") + name);
  return std::string(dir);
}

TEST(NpyTest, RoundTripsFloatsAndInts) {
  std::string path = tempPath("rt.npy");
  Tensor f = Tensor::fromFloats({2, 3}, {1.5, -2, 0, 3.25, 1e-3, -7});
  ASSERT_FALSE(bool(writeNpy(path, f)));
  llvm::Expected<Tensor> back = readNpy(path);
  ASSERT_TRUE(bool(back)) << llvm::toString(back.takeError());
  EXPECT_EQ(back->shape(), f.shape());
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(back->getFloat(i), static_cast<float>(f.getFloat(i)));

  Tensor q = Tensor::fromInts({4}, {-127, 0, 5, 127}, DType::I8);
  ASSERT_FALSE(bool(writeNpy(path, q)));
  back = readNpy(path);
  ASSERT_TRUE(bool(back));
  EXPECT_EQ(back->dtype(), DType::I8);
  EXPECT_EQ(back->ints(), q.ints());
  llvm::sys::fs::remove(path);
}

std::string errorOf(llvm::StringRef bytes) {
  llvm::Expected<Tensor> t = parseNpy(bytes, "f.npy");
  return t ? std::string("no error") : llvm::toString(t.takeError());
}

std::string header(const std::string &dict) {
  std::string h = "\x93NUMPY";
  h += '\x01';
  h += '\x00';
  h += static_cast<char>(dict.size());
  h += '\x00';
  return h + dict;
}

TEST(NpyTest, MalformedFilesNameTheProblem) {
  EXPECT_NE(errorOf("hello").find("bad magic"), std::string::npos);
  std::string dict =
      "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }";
  EXPECT_NE(errorOf(header(dict) + std::string(8, '\0')).find("truncated data"),
            std::string::npos);
  EXPECT_NE(errorOf(header(dict).substr(0, 30)).find("truncated header"),
            std::string::npos);
  std::string fortran =
      "{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }";
  EXPECT_NE(errorOf(header(fortran) + std::string(4, '\0')).find("Fortran"),
            std::string::npos);
  std::string bigEndian =
      "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }";
  EXPECT_NE(errorOf(header(bigEndian) + std::string(4, '\0'))
                .find("unsupported dtype"),
            std::string::npos);
  std::string huge = "{'descr': '<f4', 'fortran_order': False, 'shape': "
                     "(100000000000, 100000000000), }";
  EXPECT_NE(errorOf(header(huge)).find("too many elements"), std::string::npos);
}

} // namespace
