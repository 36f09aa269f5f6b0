// One exception type and one throw macro for all of rr.
// Kind decides the process exit status (DESIGN.md): Usage and Input exit 2, Runtime exits 1, Stopped 75.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace rr {

enum class ErrorKind {
  Usage,    // bad command line or config
  Input,    // bad input data: the message names the file, line and field
  Runtime,  // anything else (I/O failure, MPI failure, internal invariant)
  Stopped,  // stopped on request (SIGUSR1) after committing its work: rerun to resume (exit status 75)
};

// The exit status of a stage that stopped on request (BSD's EX_TEMPFAIL: "try again"); jobs/stage.sbatch
// requeues the job on it.
inline constexpr int kExitStopped = 75;

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message, const char* file, int line)
      : std::runtime_error(message), kind_(kind), source_(fmt::format("{}:{}", file, line)) {}
  ErrorKind kind() const { return kind_; }
  // Where in rr's source the error was raised ("src/data/beir.cpp:42"), for bug reports.
  const std::string& source() const { return source_; }
  int exit_code() const {
    return kind_ == ErrorKind::Runtime ? 1 : kind_ == ErrorKind::Stopped ? kExitStopped : 2;
  }
  // True when every rank of the job raised this same error together (mpi::collective_try).
  bool agreed() const { return agreed_; }
  Error& set_agreed() {
    agreed_ = true;
    return *this;
  }

 private:
  ErrorKind kind_;
  std::string source_;
  bool agreed_ = false;
};

}  // namespace rr

// RR_THROW(Input, "{}:{}: field '{}' missing", path, line, "text")
#define RR_THROW(KIND, ...) \
  throw ::rr::Error(::rr::ErrorKind::KIND, ::fmt::format(__VA_ARGS__), __FILE__, __LINE__)

// RR_CHECK(n > 0, Usage, "--size must be positive, got {}", n)
#define RR_CHECK(COND, KIND, ...)             \
  do {                                        \
    if (!(COND)) RR_THROW(KIND, __VA_ARGS__); \
  } while (0)
