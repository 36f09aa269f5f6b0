#include "common/sha256.h"

#include <openssl/evp.h>

#include <fstream>
#include <memory>
#include <vector>

#include "common/error.h"

namespace rr {

namespace {

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    RR_CHECK(ctx_ && EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) == 1, Runtime,
             "OpenSSL: cannot start a SHA-256");
  }
  void update(const void* data, size_t n) {
    RR_CHECK(EVP_DigestUpdate(ctx_.get(), data, n) == 1, Runtime, "OpenSSL: SHA-256 update failed");
  }
  std::string hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    RR_CHECK(EVP_DigestFinal_ex(ctx_.get(), digest, &n) == 1, Runtime, "OpenSSL: SHA-256 final failed");
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < n; ++i) {
      out += kHex[digest[i] >> 4];
      out += kHex[digest[i] & 15];
    }
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx_;
};

}  // namespace

std::string sha256_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  RR_CHECK(in, Input, "{}: cannot be read to compute its checksum", path.string());
  Sha256 sha;
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    if (in.gcount() > 0) sha.update(buffer.data(), static_cast<size_t>(in.gcount()));
  }
  RR_CHECK(in.eof(), Input, "{}: read failed while computing its checksum", path.string());
  return sha.hex();
}

std::string sha256_text(std::string_view text) {
  Sha256 sha;
  sha.update(text.data(), text.size());
  return sha.hex();
}

}  // namespace rr
