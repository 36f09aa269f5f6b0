#include "mpi/stages/outcome.h"

#include <ATen/ATen.h>

#include "eval/measures.h"
#include "h5data/h5_file.h"
#include "h5data/schema.h"
#include "mpi/stages/ledger.h"

namespace rr::stages {

void commit_outcome(const std::filesystem::path& unit, const Experiment& exp, const DatasetConfig& dataset,
                    const std::vector<std::string>& query_ids, const Outcome& o,
                    const std::string& fingerprint) {
  const std::string& ds = dataset.name;
  const int64_t store_k = exp.evaluation.store_k, Q = static_cast<int64_t>(query_ids.size());
  const MeasureSet& measures = MeasureSet::beir();
  const auto M = static_cast<int64_t>(measures.size());
  at::Tensor docs = at::full({Q, store_k}, -1, at::kLong), scores = at::zeros({Q, store_k}, at::kFloat);
  at::Tensor per = at::empty({Q, M}, at::kDouble);
  for (int64_t i = 0; i < Q; ++i) {
    for (int64_t j = 0; j < std::min(store_k, o.top.k); ++j) {
      docs.data_ptr<int64_t>()[i * store_k + j] = o.top.doc[i * o.top.k + j];
      scores.data_ptr<float>()[i * store_k + j] = o.top.score[i * o.top.k + j];
    }
    for (int64_t m = 0; m < M; ++m) per.data_ptr<double>()[i * M + m] = o.per_query[i][m];
  }
  // The mean in query order, as before units existed (bit-identical sums).
  at::Tensor mean = at::zeros({M}, at::kDouble);
  for (int64_t i = 0; i < Q; ++i)
    for (int64_t m = 0; m < M; ++m) mean.data_ptr<double>()[m] += o.per_query[i][m] / static_cast<double>(Q);
  auto u = unit_file(unit);
  auto& f = u.file();
  f.write_strings(schema::query_ids(ds, dataset.test_split), query_ids);
  f.write(schema::routing(ds, o.name), at::tensor(o.routing, at::kInt));
  f.write(schema::run_doc(ds, o.name), docs);
  f.write(schema::run_score(ds, o.name), scores);
  f.write(schema::metrics_per_query(ds, o.name), per);
  f.write(schema::metrics_mean(ds, o.name), mean);
  f.set_attr(schema::metrics(ds, o.name), schema::kAttrMeasures, measures.names());
  f.set_attr(schema::metrics(ds, o.name), schema::kAttrFingerprint, fingerprint);
  u.commit();
}

Outcome read_outcome(const std::filesystem::path& unit, const std::string& ds, const std::string& method,
                     bool recorded) {
  const auto f = h5::File::open(unit, false);
  Outcome o{method, {}, {}, {}, recorded};
  const at::Tensor routing = f.read(schema::routing(ds, method)).contiguous();
  o.routing.assign(routing.data_ptr<int32_t>(), routing.data_ptr<int32_t>() + routing.numel());
  const at::Tensor docs = f.read_matrix(schema::run_doc(ds, method)).contiguous();  // Q x k ([Q] if k = 1)
  const at::Tensor scores = f.read_matrix(schema::run_score(ds, method)).contiguous();
  const at::Tensor per = f.read_matrix(schema::metrics_per_query(ds, method)).contiguous();
  o.top = TopK(docs.size(0), docs.size(1));
  std::copy_n(docs.data_ptr<int64_t>(), docs.numel(), o.top.doc.begin());
  std::copy_n(scores.data_ptr<float>(), scores.numel(), o.top.score.begin());
  for (int64_t i = 0; i < per.size(0); ++i)
    o.per_query.emplace_back(per.data_ptr<double>() + i * per.size(1),
                             per.data_ptr<double>() + (i + 1) * per.size(1));
  return o;
}

}  // namespace rr::stages
