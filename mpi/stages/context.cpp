#include "mpi/stages/context.h"

#include "common/error.h"

namespace rr::stages {

Context make_context(const std::filesystem::path& config, const std::vector<std::string>& overrides) {
  Experiment exp = Experiment::load(config, overrides);
  std::error_code ec;
  std::filesystem::create_directories(exp.output(), ec);
  RR_CHECK(!ec, Usage, "{}: 'output_dir' = '{}' cannot be created: {}", config.string(),
           exp.output().string(), ec.message());
  // The device is the stage's to choose (stage.cpp: one-task stages run on the CPU).
  return Context{std::move(exp), mpi::Comm::world(), c10::Device(c10::kCPU)};
}

}  // namespace rr::stages
