// Any bytes as a .safetensors file: entries or an rr::Error (truncation, bad header, bad dtype, bad offsets).
#include "common/error.h"
#include "model/safetensors_format.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto path = rr::fuzz::scratch("model.safetensors", data, size);
  try {
    rr::parse_safetensors(path);
  } catch (const rr::Error&) {
  }
  return 0;
}
