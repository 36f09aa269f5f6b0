#include "tests/test_support.h"

#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace rr::test {

namespace fs = std::filesystem;

fs::path shared_dir() {
  if (const char* env = std::getenv("RR_SHARED")) {
    fs::path p(env);
    return fs::is_directory(p / "fixtures") ? p : fs::path();
  }
  fs::path p = fs::path(RR_SOURCE_DIR) / ".." / "shared";
  return fs::is_directory(p / "fixtures") ? fs::canonical(p) : fs::path();
}

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  path_ =
      fs::temp_directory_path() / ("rr-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  fs::remove_all(path_);
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void write_file(const fs::path& path, const std::string& content) {
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int run_rr(const std::string& args, std::string* out, std::string* err) {
  TempDir tmp;
  std::string cmd = std::string(RR_EXECUTABLE) + " " + args + " >" + (tmp / "out").string() + " 2>" +
                    (tmp / "err").string();
  int status = std::system(cmd.c_str());
  if (out) *out = read_file(tmp / "out");
  if (err) *err = read_file(tmp / "err");
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace rr::test

namespace rr::test {

void expect_error(ErrorKind kind, const std::function<void()>& fn,
                  std::initializer_list<std::string> fragments) {
  try {
    fn();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    for (const auto& f : fragments)
      EXPECT_NE(std::string(e.what()).find(f), std::string::npos) << e.what() << " lacks " << f;
  }
}

}  // namespace rr::test
