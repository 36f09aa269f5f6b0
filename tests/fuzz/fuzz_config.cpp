// Any bytes as an experiment config (and as a --set override): an Experiment or an rr::Error naming the key.
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "config/experiment.h"
#include "data/json_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  nlohmann::json doc =
      nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false, /*ignore_comments=*/true);
  if (!doc.is_discarded()) {
    try {
      rr::Experiment::parse(doc, "fuzz.json");
    } catch (const rr::Error&) {
    }
  }
  try {
    nlohmann::json base = {{"datasets", {{{"name", "a"}}}}};
    rr::apply_override(base, text);
    rr::Experiment::parse(base, "fuzz.json");
  } catch (const rr::Error&) {
  }
  return 0;
}
