#include "model/expert_cache.h"

#include <algorithm>

#include "common/error.h"

namespace rr {

ExpertCache::ExpertCache(int32_t experts, size_t capacity, Loader load)
    : experts_(experts), capacity_(capacity), load_(std::move(load)) {
  RR_CHECK(capacity_ > 0, Usage, "expert cache: the capacity must be at least one expert");
}

std::shared_ptr<const QueryModel> ExpertCache::get(int32_t e) {
  RR_CHECK(e >= 0 && e < experts_, Runtime, "expert cache: expert {} of {}", e, experts_);
  const auto it = held_.find(e);
  if (it != held_.end()) {
    recency_.splice(recency_.begin(), recency_, it->second.position);
    return it->second.model;
  }
  if (held_.size() == capacity_) {  // drop the least recently used
    held_.erase(recency_.back());
    recency_.pop_back();
  }
  std::shared_ptr<const QueryModel> model = load_(e);
  ++loads_;
  recency_.push_front(e);
  held_.emplace(e, Held{model, recency_.begin()});
  return model;
}

int64_t ExpertCache::held_bytes() const {
  int64_t bytes = 0;
  for (const auto& [e, h] : held_) bytes += h.model->weight_bytes();
  return bytes;
}

at::Tensor encode_routed(const BertEncoder& base, const TokenIds& ids, const EncodeParams& params,
                         ExpertCache& experts, const std::vector<int32_t>& row_expert) {
  RR_CHECK(row_expert.size() == ids.size(), Runtime, "encode: {} texts but {} expert choices", ids.size(),
           row_expert.size());
  std::vector<int32_t> used;  // the experts named, ascending
  for (const int32_t e : row_expert)
    if (e >= 0) used.push_back(e);
  std::sort(used.begin(), used.end());
  used.erase(std::unique(used.begin(), used.end()), used.end());
  std::vector<std::shared_ptr<const QueryModel>> handles;
  std::vector<const QueryModel*> models;
  for (const int32_t e : used) models.push_back(handles.emplace_back(experts.get(e)).get());
  std::vector<int32_t> local;  // each row's index into `models`
  for (const int32_t e : row_expert)
    local.push_back(
        e < 0 ? -1 : static_cast<int32_t>(std::lower_bound(used.begin(), used.end(), e) - used.begin()));
  return encode_ids(base, ids, params, models, local);
}

}  // namespace rr
