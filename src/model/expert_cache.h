// Expert query models loaded on first use and kept up to a capacity, the least recently used dropped beyond
// it: a rank holds at most `capacity` experts whatever T is. Memory: capacity x one adapter (BERT-base, r 8
// on query and value: 12 x 2 x 8 x (768 + 768) x 4 B = 1.18 MB), plus the handles a caller still holds. One
// query block routes to at most its 256 queries' experts, so the default capacity of 256 never reloads
// within a block: 1,000 BERT-base experts need 0.30 GB on a rank instead of 1.18 GB.
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <unordered_map>
#include <vector>

#include "model/query_model.h"
#include "model/text_encoder.h"

namespace rr {

class ExpertCache {
 public:
  using Loader = std::function<std::unique_ptr<QueryModel>(int32_t expert)>;
  // Experts 0 .. experts-1, each made by load(e) when first asked for (again after it was dropped).
  ExpertCache(int32_t experts, size_t capacity, Loader load);

  int32_t size() const { return experts_; }
  size_t capacity() const { return capacity_; }
  // Expert e's model, loaded if it is not held; the handle keeps it alive after the cache drops it.
  std::shared_ptr<const QueryModel> get(int32_t e);
  size_t held() const { return held_.size(); }
  int64_t held_bytes() const;  // the weights of the experts held
  int64_t loads() const { return loads_; }

 private:
  using Recency = std::list<int32_t>;  // most recent first
  struct Held {
    std::shared_ptr<const QueryModel> model;
    Recency::iterator position;
  };
  int32_t experts_;
  size_t capacity_;
  Loader load_;
  Recency recency_;
  std::unordered_map<int32_t, Held> held_;
  int64_t loads_ = 0;
};

// encode_ids of texts whose row i is embedded by expert row_expert[i] (-1: the base) in mixed-expert batches,
// taking from the cache only the experts these rows name (at most one per row).
at::Tensor encode_routed(const BertEncoder& base, const TokenIds& ids, const EncodeParams& params,
                         ExpertCache& experts, const std::vector<int32_t>& row_expert);

}  // namespace rr
