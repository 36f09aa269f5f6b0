#include "mpi/stages/context.h"

#include "common/error.h"
#include "model/device.h"

namespace rr::stages {

Context make_context(const std::filesystem::path& config, const std::vector<std::string>& overrides) {
  Experiment exp = Experiment::load(config, overrides);
  std::error_code ec;
  std::filesystem::create_directories(exp.output(), ec);
  RR_CHECK(!ec, Usage, "{}: 'output_dir' = '{}' cannot be created: {}", config.string(),
           exp.output().string(), ec.message());
  mpi::Comm world = mpi::Comm::world();
  c10::Device device = parse_device(exp.device, mpi::Environment::node_placement().rank);
  return Context{std::move(exp), std::move(world), device};
}

}  // namespace rr::stages
