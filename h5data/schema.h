// Every path and attribute name of rr's results files, in one place. This comment is the results and index
// schema of docs/architecture.md (copied there by scripts/architecture_sections.py; a test keeps the two
// equal and checks that every path named below in this file appears in it).
//
// <output_dir>/results.h5   small results, rewritten atomically by each stage (copy, add, rename); the bulky
//   objects marked [part] are external links into <output_dir>/results.parts/ (h5data/results_update.h):
//   /meta                      attrs config (JSON), version, ranks, seed: the last stage recorded
//   /meta/<stage>              the same per stage, and attr fingerprint: the inputs it completed for
//   /provenance                attrs of the last stage recorded (mpi/stages/provenance.h): version,
//   git_commit,
//                              git_dirty, config (canonical JSON), config_sha256, stage, recorded_utc, hosts,
//                              ranks, threads, device, precision, training_precision, libtorch, mpi, hdf5
//   /provenance/inputs/{owner, name, path, sha256 [F] strings, size, mtime [F] int64}  every input file
//   /experts                   [T] expert names in configured order
//   /datasets/<ds>/corpus_ids  [N] [part] document ids by corpus row
//   /datasets/<ds>/query_ids/<split>  [Q] query ids of a split (train: score's rows; test: evaluate's)
//   /index                     external link to index.h5:/index
//   /scores/<ds>               [Q x T] [part] per-instance nDCG@10 of each training query under each expert,
//                              attr experts ([Q] when T = 1: File::write stores an n x 1 matrix as 1-D)
//   /score_columns/<ds>/<expert>  [Q] [part] the columns, attr fingerprint: adding an expert scores only its
//                              own
//   /train_queries/<ds>/base   [Q x H] [part] base embeddings of the training queries (pilot's input)
//   /pilots/{emb [P x H], expert [P], dataset [P], count [P]}  attrs experts, datasets
//   /router_states/<method>/<key>  the fitted state of each router that learns (written by pilot, read by
//                              evaluate): classifier weights, the dataset router's instances, the pilots;
//                              stored flat, attr shape [dims] (strings)
//   /routers/{name, label}     [R] the evaluated routers in Table 1 order with their row labels
//   /routing/<ds>/<router>     [Q'] chosen expert index per test query (-1: base / not applicable)
//   /runs/<ds>/<router>/{doc [Q' x store_k] int64 corpus row (-1: none), score [Q' x store_k] float32} [part]
//   /metrics/<ds>/<router>/{per_query [Q' x M] float64, mean [M]}  attr measures [M] (trec_eval names)
//   /training/<model>/{steps, loss, lr, eval_steps, dev_ndcg10}  training curves, attr best_step
// <output_dir>/index.h5     the corpus index, written collectively by all ranks in place, resumable:
//   /index/<ds>/corpus         [N x d] float32, float16 or bfloat16, chunked; group attrs fingerprint,
//                              complete
//   /index/<ds>/blocks_done    [B] int32: 1 for each committed corpus block of evaluation.corpus_block rows
// <output_dir>/corpora/<ds>.h5  a corpus's offset index (h5data/corpus_map.h), attr fingerprint on /:
//   /ids [N], /tie [N] int64 (tie keys), /offsets [N + 1] int64 (byte offsets in corpus.jsonl), /lines [N]
// <output_dir>/units/<stage>/<ds>/<unit>.h5  one committed unit (mpi/stages/ledger.h): the objects it adds to
//   results.h5 at their schema paths, attr fingerprint
#pragma once

#include <string>

namespace rr::schema {

inline constexpr const char* kResultsFile = "results.h5";
inline constexpr const char* kIndexFile = "index.h5";

inline constexpr const char* kMeta = "/meta";
inline constexpr const char* kAttrConfig = "config";
inline constexpr const char* kAttrVersion = "version";
inline constexpr const char* kAttrRanks = "ranks";
inline constexpr const char* kAttrSeed = "seed";
inline constexpr const char* kAttrFingerprint = "fingerprint";
inline constexpr const char* kAttrMeasures = "measures";
inline constexpr const char* kAttrExperts = "experts";
inline constexpr const char* kAttrComplete = "complete";

inline constexpr const char* kProvenance = "/provenance";
inline constexpr const char* kProvenanceInputs = "/provenance/inputs";

inline constexpr const char* kExperts = "/experts";
inline constexpr const char* kIndexRoot = "/index";
inline constexpr const char* kPilotEmb = "/pilots/emb";
inline constexpr const char* kPilotExpert = "/pilots/expert";
inline constexpr const char* kPilotDataset = "/pilots/dataset";
inline constexpr const char* kPilotCount = "/pilots/count";
inline constexpr const char* kPilots = "/pilots";
inline constexpr const char* kRouterNames = "/routers/name";
inline constexpr const char* kRouterStates = "/router_states";
inline constexpr const char* kRouterLabels = "/routers/label";

inline std::string stage_meta(const std::string& stage) {
  return std::string(kMeta) + "/" + stage;
}
inline std::string corpus_ids(const std::string& ds) {
  return "/datasets/" + ds + "/corpus_ids";
}
inline std::string query_ids(const std::string& ds, const std::string& split) {
  return "/datasets/" + ds + "/query_ids/" + split;
}
inline std::string index_group(const std::string& ds) {
  return std::string(kIndexRoot) + "/" + ds;
}
inline std::string index(const std::string& ds) {
  return index_group(ds) + "/corpus";
}
inline std::string index_blocks_done(const std::string& ds) {
  return index_group(ds) + "/blocks_done";
}
inline std::string scores(const std::string& ds) {
  return "/scores/" + ds;
}
inline std::string score_column(const std::string& ds, const std::string& expert) {
  return "/score_columns/" + ds + "/" + expert;
}
inline std::string train_query_base(const std::string& ds) {
  return "/train_queries/" + ds + "/base";
}
inline std::string routing(const std::string& ds, const std::string& router) {
  return "/routing/" + ds + "/" + router;
}
inline std::string run_doc(const std::string& ds, const std::string& router) {
  return "/runs/" + ds + "/" + router + "/doc";
}
inline std::string run_score(const std::string& ds, const std::string& router) {
  return "/runs/" + ds + "/" + router + "/score";
}
inline std::string metrics(const std::string& ds, const std::string& router) {
  return "/metrics/" + ds + "/" + router;
}
inline std::string metrics_per_query(const std::string& ds, const std::string& router) {
  return metrics(ds, router) + "/per_query";
}
inline std::string metrics_mean(const std::string& ds, const std::string& router) {
  return metrics(ds, router) + "/mean";
}
inline std::string router_state(const std::string& method) {
  return std::string(kRouterStates) + "/" + method;
}
inline std::string training_curve(const std::string& model) {
  return "/training/" + model;
}

}  // namespace rr::schema
