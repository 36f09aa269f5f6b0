// Identities for "is this output up to date?": a file's size and modification time, and a short stable hash
// of any text (a canonical JSON dump of everything an output depends on).
#pragma once

#include <filesystem>
#include <string>

namespace rr {

// "<size>:<mtime>", or "" when the file is absent.
std::string file_identity(const std::filesystem::path& path);

// 16 hex digits of a seeded 64-bit hash of the text.
std::string fingerprint(const std::string& text);

}  // namespace rr
