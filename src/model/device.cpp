#include "model/device.h"

#include <ATen/Context.h>

#include "common/error.h"

namespace rr {

c10::Device parse_device(const std::string& name, int local_rank) {
  if (name == "cpu") return c10::Device(c10::kCPU);
  if (name.rfind("cuda", 0) != 0) RR_THROW(Usage, "--device '{}': expected cpu, cuda or cuda:<index>", name);
  if (!at::hasCUDA())
    RR_THROW(Usage,
             "--device {}: this build of LibTorch has no CUDA support (Debian's is CPU-only); rebuild rr "
             "against a CUDA LibTorch with -DTorch_DIR=..., or use --device cpu",
             name);
  const int count = static_cast<int>(at::getNumGPUs());
  if (count == 0) RR_THROW(Usage, "--device {}: no GPU visible", name);
  if (name == "cuda") return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(local_rank % count));
  int index = -1;
  try {
    c10::Device d(name);
    index = d.index();
  } catch (const std::exception&) {
  }
  if (index < 0 || index >= count)
    RR_THROW(Usage, "--device {}: expected cuda:0 .. cuda:{}", name, count - 1);
  return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
}

}  // namespace rr
