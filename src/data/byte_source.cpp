#include "data/byte_source.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>

#include "common/error.h"

namespace rr {

bool ByteSource::is_gzip(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[2] = {0, 0};
  in.read(magic, 2);
  return in.gcount() == 2 && static_cast<unsigned char>(magic[0]) == 0x1f &&
         static_cast<unsigned char>(magic[1]) == 0x8b;
}

ByteSource::ByteSource(const std::filesystem::path& path) : path_(path) {
  if (path.extension() == ".gz" || path.extension() == ".dz") {
    gz_ = gzopen(path.c_str(), "rb");
    if (!gz_) RR_THROW(Input, "{}: cannot open file: {}", path.string(), std::strerror(errno));
    gzbuffer(static_cast<gzFile>(gz_), 1 << 20);
  } else {
    in_.open(path, std::ios::binary);
    if (!in_) RR_THROW(Input, "{}: cannot open file: {}", path.string(), std::strerror(errno));
  }
}

ByteSource::~ByteSource() {
  if (gz_) gzclose(static_cast<gzFile>(gz_));
}

void ByteSource::skip(int64_t n) {
  RR_CHECK(!gz_, Runtime, "{}: cannot seek in a gzip stream", path_.string());
  in_.seekg(n);
  if (!in_) RR_THROW(Input, "{}: cannot seek to byte {}", path_.string(), n);
}

size_t ByteSource::read(char* out, size_t n) {
  if (!gz_) {
    in_.read(out, static_cast<std::streamsize>(n));
    if (in_.bad()) RR_THROW(Runtime, "{}: read error", path_.string());
    return static_cast<size_t>(in_.gcount());
  }
  auto* gz = static_cast<gzFile>(gz_);
  size_t got = 0;
  while (got < n) {
    const int r = gzread(gz, out + got, static_cast<unsigned>(std::min<size_t>(n - got, size_t{1} << 30)));
    if (r == 0) {
      // The end of the data, or a stream cut short: zlib reports a truncated file only here.
      int code = Z_OK;
      const std::string msg = gzerror(gz, &code);  // copied while the handle is alive
      if (code != Z_OK && code != Z_STREAM_END)
        RR_THROW(Input, "{}: corrupt gzip data: {}", path_.string(), msg);
      break;
    }
    if (r < 0) {
      int code = Z_OK;
      const std::string msg = gzerror(gz, &code);
      RR_THROW(Input, "{}: corrupt gzip data: {}", path_.string(), msg);
    }
    got += static_cast<size_t>(r);
  }
  return got;
}

std::string ByteSource::read_all() {
  std::string out;
  char buf[1 << 16];
  for (size_t n; (n = read(buf, sizeof buf)) > 0;) out.append(buf, n);
  return out;
}

}  // namespace rr
