#include "common/sha256.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "common/error.h"
#include "tests/test_support.h"

namespace rr {
namespace {

// FIPS 180-2's test vectors, and a file larger than one read buffer (as `sha256sum` computes it).
TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_text(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_text("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_text("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, FileStreamedAcrossBuffers) {
  test::TempDir dir;
  const auto path = dir.path() / "a.bin";
  {
    std::ofstream out(path, std::ios::binary);
    const std::string block(1000, 'a');
    for (int i = 0; i < 1000; ++i) out << block;  // one million 'a' (FIPS 180-2's third vector)
  }
  EXPECT_EQ(sha256_file(path), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  try {
    sha256_file(dir.path() / "missing");
    FAIL() << "a missing file was hashed";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 2);
    EXPECT_NE(std::string(e.what()).find("missing"), std::string::npos);
  }
}

}  // namespace
}  // namespace rr
