#include "model/query_model.h"

#include <fmt/ranges.h>

#include "common/error.h"
#include "model/query_model_list.h"

namespace rr {

#define RR_DECLARE_QUERY_MODEL(id) QueryModelKind id##_query_model();
RR_QUERY_MODELS(RR_DECLARE_QUERY_MODEL)
#undef RR_DECLARE_QUERY_MODEL

const std::vector<QueryModelKind>& query_model_kinds() {
#define RR_QUERY_MODEL_KIND(id) id##_query_model(),
  static const std::vector<QueryModelKind> kinds = {RR_QUERY_MODELS(RR_QUERY_MODEL_KIND)};
#undef RR_QUERY_MODEL_KIND
  return kinds;
}

std::unique_ptr<QueryModel> load_query_model(const std::filesystem::path& dir, const BertEncoder& base) {
  std::vector<std::string> names;
  for (const auto& kind : query_model_kinds()) {
    if (kind.recognises(dir)) return kind.load(dir, base);
    names.push_back(kind.name);
  }
  RR_THROW(Input, "{}: not a query model directory of any kind ({})", dir.string(), fmt::join(names, ", "));
}

}  // namespace rr
