// Any bytes as a pytorch_model.bin (torch.save zip + pickle, run by rr's state-dict unpickler): tensors or
// an rr::Error; never a crash, never code run from the pickle (only the globals of a state dict resolve).
#include "common/error.h"
#include "model/pytorch_bin.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto path = rr::fuzz::scratch("pytorch_model.bin", data, size);
  try {
    rr::read_pytorch_bin(path);
  } catch (const rr::Error&) {
  }
  return 0;
}
