// Helpers shared by the test programs: where ../shared is, temporary folders, running the executable.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace rr::test {

// ../shared beside the checkout (or $RR_SHARED); empty path when absent.
std::filesystem::path shared_dir();

// A fresh empty folder under the system temp dir, removed at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

void write_file(const std::filesystem::path& path, const std::string& content);
std::string read_file(const std::filesystem::path& path);

// Runs the routerretriever executable with `args` (shell-quoted by the caller); returns the exit status.
// stdout and stderr are captured into out/err when given.
int run_rr(const std::string& args, std::string* out = nullptr, std::string* err = nullptr);

}  // namespace rr::test

// Skips the current test with a clear message when ../shared is absent (a fresh clone elsewhere).
#define RR_REQUIRE_SHARED()                                                                      \
  do {                                                                                           \
    if (::rr::test::shared_dir().empty())                                                        \
      GTEST_SKIP() << "../shared (fixtures and data) is absent; set RR_SHARED to run this test"; \
  } while (0)
