#include "train/training_data.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "common/error.h"
#include "common/stable_hash.h"

namespace rr {

std::vector<int32_t> random_crop(const std::vector<int32_t>& body, double min_ratio, double max_ratio,
                                 int64_t max_length, int32_t cls_id, int32_t sep_id, std::mt19937_64& rng) {
  std::vector<int32_t> out = {cls_id};
  const int64_t n = static_cast<int64_t>(body.size());
  if (n > 0) {
    std::uniform_real_distribution<double> ratio(min_ratio, max_ratio);
    int64_t len =
        std::max<int64_t>(1, static_cast<int64_t>(std::llround(ratio(rng) * static_cast<double>(n))));
    len = std::min({len, n, max_length - 2});
    std::uniform_int_distribution<int64_t> start(0, n - len);
    int64_t s = start(rng);
    out.insert(out.end(), body.begin() + s, body.begin() + s + len);
  }
  out.push_back(sep_id);
  return out;
}

std::vector<BatchItem> sample_batch(const std::vector<DatasetTraining>& data, const SamplerParams& p,
                                    uint64_t seed, int64_t step) {
  RR_CHECK(!data.empty(), Runtime, "sample_batch: no training data");
  std::mt19937_64 rng(stable_hash(std::to_string(step), seed));
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::set<std::pair<int, int64_t>> used;
  std::vector<BatchItem> batch;
  const int64_t max_tries = p.batch_size * 20;
  for (int64_t tries = 0; static_cast<int64_t>(batch.size()) < p.batch_size && tries < max_tries; ++tries) {
    BatchItem item;
    item.dataset = static_cast<int>(std::uniform_int_distribution<size_t>(0, data.size() - 1)(rng));
    const DatasetTraining& d = data[item.dataset];
    const bool pseudo_available = !d.titles.empty() || !d.crop_docs.empty();
    const bool judged = !d.judged.empty() && (!pseudo_available || unit(rng) < p.judged_share);
    if (judged) {
      const auto& ex = d.judged[std::uniform_int_distribution<size_t>(0, d.judged.size() - 1)(rng)];
      item.tokens = ex.tokens;
      item.doc = ex.doc;
    } else if (pseudo_available) {
      // Titles and crops in proportion to how many documents give each.
      const size_t total = d.titles.size() + d.crop_docs.size();
      size_t pick = std::uniform_int_distribution<size_t>(0, total - 1)(rng);
      if (pick < d.titles.size()) {
        item.tokens = d.titles[pick].tokens;
        item.doc = d.titles[pick].doc;
      } else {
        pick -= d.titles.size();
        item.tokens = random_crop(d.crop_sources[pick], p.crop_min, p.crop_max, p.max_query_length, p.cls_id,
                                  p.sep_id, rng);
        item.doc = d.crop_docs[pick];
      }
    } else {
      continue;
    }
    if (!used.insert({item.dataset, item.doc}).second) continue;
    batch.push_back(std::move(item));
  }
  RR_CHECK(!batch.empty(), Runtime, "no training examples (no judged queries and no pseudo-queries)");
  return batch;
}

}  // namespace rr
