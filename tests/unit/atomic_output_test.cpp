#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>

#include "common/atomic_output.h"
#include "common/error.h"
#include "tests/test_support.h"

namespace rr {
namespace {

using test::TempDir;

TEST(AtomicOutput, FileAppearsOnlyOnCommit) {
  TempDir t;
  {
    AtomicFile f(t / "sub" / "out.txt");
    f.stream() << "hello";
    EXPECT_FALSE(std::filesystem::exists(t / "sub" / "out.txt"));
    f.commit();
  }
  EXPECT_EQ(test::read_file(t / "sub" / "out.txt"), "hello");
  {
    AtomicFile f(t / "sub" / "out.txt");
    f.stream() << "abandoned";
  }
  EXPECT_EQ(test::read_file(t / "sub" / "out.txt"), "hello");                       // the old output survives
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(t / "sub"), {}), 1);  // no temp left behind
}

TEST(AtomicOutput, TemporaryNamesAreUniquePerCallAndNameTheHost) {
  char host[256] = {};
  ASSERT_EQ(::gethostname(host, sizeof host - 1), 0);
  const auto a = temporary_sibling("/x/results.h5"), b = temporary_sibling("/x/results.h5");
  EXPECT_NE(a, b);
  EXPECT_EQ(a.parent_path(), "/x");
  EXPECT_EQ(a.filename().string().rfind(std::string("results.h5.tmp-") + host + "-", 0), 0u) << a;
}

TEST(AtomicOutput, DirectoryReplacesTheOldOneOnCommit) {
  TempDir t;
  test::write_file(t / "d" / "old", "x");
  {
    AtomicDirectory d(t / "d");
    test::write_file(d.temp_path() / "new", "y");
    EXPECT_TRUE(std::filesystem::exists(t / "d" / "old"));
    d.commit();
  }
  EXPECT_FALSE(std::filesystem::exists(t / "d" / "old"));
  EXPECT_TRUE(std::filesystem::exists(t / "d" / "new"));
}

// A full disk, simulated with RLIMIT_FSIZE: writes past the limit fail (EFBIG) as they would with ENOSPC.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &saved_);
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    rlimit lim = saved_;
    lim.rlim_cur = bytes;
    setrlimit(RLIMIT_FSIZE, &lim);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &saved_);
    std::signal(SIGXFSZ, old_handler_);
  }

 private:
  rlimit saved_;
  void (*old_handler_)(int);
};

TEST(AtomicOutput, FullDiskIsAClearErrorAndKeepsTheOldFile) {
  TempDir t;
  test::write_file(t / "keep.txt", "old");
  {
    FileSizeLimit limit(4096);
    AtomicFile f(t / "keep.txt");
    f.stream() << std::string(1 << 20, 'x');
    try {
      f.commit();
      ADD_FAILURE() << "commit succeeded past the file size limit";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("disk full"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("keep.txt"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(test::read_file(t / "keep.txt"), "old");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(t.path()), {}), 1);
}

}  // namespace
}  // namespace rr
