#include "model/full_model.h"

namespace rr {

int64_t FullModel::weight_bytes() const {
  int64_t bytes = 0;
  for (const auto& [name, w] : model_.params()) bytes += w.nbytes();
  return bytes;
}

std::map<std::string, at::Tensor> FullModel::trainable() {
  return {model_.params().begin(), model_.params().end()};
}

QueryModelKind full_query_model() {
  // Tried last, and takes any directory: BertEncoder::load names what is missing.
  return {"full", [](const std::filesystem::path&) { return true; },
          [](const std::filesystem::path& dir, const BertEncoder& base) -> std::unique_ptr<QueryModel> {
            BertEncoder full = BertEncoder::load(dir);
            full.to(base.device());
            return std::make_unique<FullModel>(std::move(full));
          }};
}

}  // namespace rr
