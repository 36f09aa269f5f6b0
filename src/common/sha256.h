// SHA-256 (OpenSSL), as lowercase hex: the content checksums of the inputs a result was computed from (the
// results' /provenance), comparable with `sha256sum`.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace rr {

// The file's checksum, streamed in 1 MiB reads (constant memory for any size); Input error naming the file
// when it cannot be read.
std::string sha256_file(const std::filesystem::path& path);
std::string sha256_text(std::string_view text);

}  // namespace rr
