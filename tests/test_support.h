// Helpers shared by the test programs: where ../shared is, temporary folders, running the executable.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <initializer_list>
#include <string>

#include "common/error.h"

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

// Expects fn to throw rr::Error of `kind` whose message contains every fragment (file, line, field...).
void expect_error(ErrorKind kind, const std::function<void()>& fn,
                  std::initializer_list<std::string> fragments);
inline void expect_input_error(const std::function<void()>& fn,
                               std::initializer_list<std::string> fragments) {
  expect_error(ErrorKind::Input, fn, fragments);
}

}  // namespace rr::test

// Skips the current test with a clear message when ../shared is absent (a fresh clone elsewhere).
#define RR_REQUIRE_SHARED()                                                                      \
  do {                                                                                           \
    if (::rr::test::shared_dir().empty())                                                        \
      GTEST_SKIP() << "../shared (fixtures and data) is absent; set RR_SHARED to run this test"; \
  } while (0)
