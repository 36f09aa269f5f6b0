#include <gtest/gtest.h>

#include <c10/util/Half.h>

#include <cmath>
#include <random>

#include "common/error.h"
#include "h5data/h5_file.h"
#include "tests/test_support.h"

namespace rr {
namespace {

using test::TempDir;

TEST(H5File, TypedRoundTripsAndAttributes) {
  TempDir t;
  {
    auto f = h5::File::create(t / "r.h5");
    f.write_strings("/datasets/cran/corpus_ids", {"d1", "caf\xc3\xa9", ""});
    f.write_int64("/a/i64", {1, -2, 3, 4}, 2);
    f.write_int32("/a/i32", {7});
    f.write_float("/a/f", {0.5f, 1.5f});
    f.write_double("/a/d", {1e-300});
    f.write_strings("/empty", {});
    f.set_attr("/", "config", std::string("{\"seed\": 1}"));
    f.set_attr("/a", "ranks", int64_t{4});
    f.set_attr("/a", "names", std::vector<std::string>{"x", "y"});
  }
  auto f = h5::File::open(t / "r.h5", false);
  EXPECT_EQ(f.read_strings("/datasets/cran/corpus_ids"), (std::vector<std::string>{"d1", "caf\xc3\xa9", ""}));
  EXPECT_EQ(f.read_int64("/a/i64"), (std::vector<int64_t>{1, -2, 3, 4}));
  EXPECT_EQ(f.shape("/a/i64"), (std::pair<int64_t, int64_t>{2, 2}));
  EXPECT_EQ(f.read_int32("/a/i32"), std::vector<int32_t>{7});
  EXPECT_EQ(f.read_float("/a/f"), (std::vector<float>{0.5f, 1.5f}));
  EXPECT_EQ(f.read_double("/a/d"), std::vector<double>{1e-300});
  EXPECT_TRUE(f.read_strings("/empty").empty());
  EXPECT_EQ(f.attr_string("/", "config"), "{\"seed\": 1}");
  EXPECT_EQ(f.attr_int64("/a", "ranks"), 4);
  EXPECT_EQ(f.attr_strings("/a", "names"), (std::vector<std::string>{"x", "y"}));
  EXPECT_TRUE(f.exists("/a/f"));
  EXPECT_FALSE(f.exists("/nope/deeper"));
  EXPECT_EQ(f.members("/a"), (std::vector<std::string>{"d", "f", "i32", "i64"}));
}

TEST(H5File, MatricesInRowBlocksFloat32AndFloat16) {
  TempDir t;
  std::mt19937 rng(3);
  std::normal_distribution<float> g;
  std::vector<float> m(50 * 7);
  for (auto& x : m) x = g(rng);
  {
    auto f = h5::File::create(t / "m.h5");
    f.create_matrix("/index/x/corpus", 50, 7, h5::Storage::Float32, 16);
    f.create_matrix("/index/x/half", 50, 7, h5::Storage::Float16, 16);
    for (int64_t r = 0; r < 50; r += 20) {
      int64_t n = std::min<int64_t>(20, 50 - r);
      f.write_rows("/index/x/corpus", r, n, m.data() + r * 7);
      f.write_rows("/index/x/half", r, n, m.data() + r * 7);
    }
    EXPECT_THROW(f.write_rows("/index/x/corpus", 45, 10, m.data()), Error);
  }
  auto f = h5::File::open(t / "m.h5", false);
  std::vector<float> back(50 * 7), half(50 * 7);
  f.read_rows("/index/x/corpus", 0, 50, back.data());
  EXPECT_EQ(back, m);
  EXPECT_EQ(f.storage("/index/x/half"), h5::Storage::Float16);
  f.read_rows("/index/x/half", 0, 50, half.data());
  for (size_t i = 0; i < m.size(); ++i) EXPECT_EQ(half[i], static_cast<float>(c10::Half(m[i]))) << i;
}

TEST(H5File, HalfConversionMatchesTorchEverywhere) {
  std::mt19937 rng(9);
  std::vector<float> probe = {0.f,   -0.f,  1.f,   65504.f,  65520.f,  1e6f,
                              6e-8f, 3e-8f, 1e-5f, INFINITY, -INFINITY};
  std::uniform_int_distribution<uint32_t> bits;
  for (int i = 0; i < 200000; ++i) {
    uint32_t b = bits(rng);
    float f;
    std::memcpy(&f, &b, 4);
    if (!std::isnan(f)) probe.push_back(f);
  }
  for (float f : probe) {
    uint16_t ours = h5::float_to_half(f);
    EXPECT_EQ(ours, c10::Half(f).x) << f;
    EXPECT_EQ(h5::half_to_float(ours), static_cast<float>(c10::Half(f))) << f;
  }
  EXPECT_TRUE(std::isnan(h5::half_to_float(h5::float_to_half(NAN))));
}

TEST(H5File, CopyMoveRemoveAndExternalLinks) {
  TempDir t;
  {
    auto a = h5::File::create(t / "index.h5");
    a.write_float("/index/ds/corpus", {1, 2, 3, 4}, 2);
  }
  {
    auto src = h5::File::open(t / "index.h5", false);
    auto b = h5::File::create(t / "b.h5");
    b.copy_from(src, "/index");
    b.move("/index/ds/corpus", "/index/ds/renamed");
    b.external_link("/linked", "index.h5", "/index");
    b.write_float("/gone", {1});
    b.remove("/gone");
  }
  auto b = h5::File::open(t / "b.h5", false);
  EXPECT_EQ(b.read_float("/index/ds/renamed"), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_FALSE(b.exists("/index/ds/corpus"));
  EXPECT_FALSE(b.exists("/gone"));
  EXPECT_EQ(b.read_float("/linked/ds/corpus"), (std::vector<float>{1, 2, 3, 4}));
}

TEST(H5File, CorruptAndMissingFilesAreClearErrors) {
  TempDir t;
  test::write_file(t / "bad.h5", "this is not hdf5");
  try {
    h5::File::open(t / "bad.h5", false);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.h5"), std::string::npos);
  }
  EXPECT_THROW(h5::File::open(t / "none.h5", false), Error);
  {
    auto f = h5::File::create(t / "ok.h5");
    f.write_float("/x", std::vector<float>(100000, 1.f));
  }
  std::filesystem::resize_file(t / "ok.h5", std::filesystem::file_size(t / "ok.h5") / 2);
  EXPECT_THROW(
      {
        auto f = h5::File::open(t / "ok.h5", false);
        f.read_float("/x");
      },
      Error);
}

}  // namespace
}  // namespace rr
