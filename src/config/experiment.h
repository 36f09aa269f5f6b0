// The experiment config: one JSON file for every stage (DESIGN.md). Every default lives here, next to its
// field. Unknown keys are errors that list the valid ones; relative paths are relative to the config file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/vector_type.h"
#include "config/slurm_config.h"
#include "data/source_format.h"
#include "data/split.h"
#include "model/lora.h"
#include "router/router_names.h"

namespace rr {

// Training data beyond judged queries: a document's title as a query for its own text (documents without a
// title give two random crops), crops only, or none.
enum class PseudoQueries { Title, Crop, None };

// Where a dataset's training queries come from.
struct TrainSource {
  enum class Kind {
    Auto,    // qrels/<train_split>.tsv when it exists, else the generated queries "gen" when they exist, else
             // none
    Qrels,   // qrels/<train_split>.tsv with queries.jsonl
    Prefix,  // <prefix>-queries.jsonl with <prefix>-qrels/<train_split>.tsv (BEIR's
             // GenericDataLoader(prefix=...); `convert beir-generated` writes "gen", `convert released`
             // writes "released")
    None,
  };
  Kind kind = Kind::Auto;
  std::string prefix;  // Prefix
};

// Where the dev queries that select checkpoints come from.
enum class DevSource {
  Auto,     // Split when qrels/<dev_split>.tsv exists and is not the evaluation split, else HoldOut
  Split,    // qrels/<dev_split>.tsv (refused when dev_split is the evaluation split)
  HoldOut,  // a seeded hold-out of the training queries (left out of training)
  None,
};

struct DatasetConfig {
  std::string name;  // [A-Za-z0-9_.-]+ (an HDF5 path component)
  std::string path;  // the BEIR folder used by every stage (prepare writes it when `source` is set)
  std::shared_ptr<const SourceFormat> source;  // null: `path` is used as it is
  // prepare: split the judged queries of qrels/<qrels>.tsv into train/dev/test by a seeded hash of the
  // query id. train + dev <= 1; the rest is test. dev = 0 takes no dev slice.
  std::string qrels = "test";
  SplitFractions split{0.5, 0.1};
  bool split_queries = true;  // false: use the folder's own qrels/{train,dev,test}.tsv as they are
  std::string train_split = "train", dev_split = "dev", test_split = "test";  // test: the evaluation split
  TrainSource train_source;                // "auto", "qrels", "none" or a generated-queries prefix ("gen")
  DevSource dev_source = DevSource::Auto;  // "auto", "split", "holdout" or "none"
  int64_t dev_holdout = 500;  // HoldOut: this many training queries (at most a tenth of them), chosen by seed
  PseudoQueries pseudo_queries = PseudoQueries::Title;  // "title", "crop" or "none"
  int64_t max_pseudo_queries = 20000;                   // per dataset, sampled deterministically
  bool evaluate = true;  // evaluated by `evaluate` (zero-shot datasets need no expert)
  // Expected SHA-256 (64 lowercase hex digits) of input files by the name the results' provenance gives them
  // ("qrels/test.tsv", "cranqrel"): every stage and `check` verify them; a mismatch is an input error.
  std::map<std::string, std::string> checksums;
};

struct ExpertConfig {
  std::string name;                   // [A-Za-z0-9_.-]+
  std::vector<std::string> datasets;  // training datasets (default: the dataset with the expert's name)
  std::string adapter;                // PEFT directory; default <output_dir>/experts/<name>
};

// Contrastive training of a LoRA adapter on the query side (the paper's expert recipe by default).
struct TrainingConfig {
  LoraConfig lora;           // r 8, alpha 32, dropout 0.1, targets query,value
  int64_t steps = 1000;      // optimizer steps
  int64_t batch_size = 64;   // pairs per step, all ranks of the expert's group together
  int64_t accumulation = 1;  // micro-batches per step (each batch_size / accumulation pairs)
  double lr = 1e-4;          // AdamW peak learning rate
  double weight_decay = 0.01;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double warmup_ratio = 0.1;      // linear warm-up over this share of steps, then linear decay to 0
  double grad_clip = 1.0;         // max global gradient norm (0: off)
  double temperature = 0.05;      // InfoNCE temperature on dot products
  int64_t max_query_length = 64;  // tokens, [CLS]/[SEP] included
  int64_t max_doc_length = 256;
  double judged_share = 0.5;  // share of each batch drawn from judged training queries (rest pseudo)
  int64_t eval_every = 50;    // steps between dev evaluations (0: none; the last step is kept)
  int64_t patience = 0;       // stop after this many evaluations without improvement (0: never)
  double min_dev_gain = 0.0;  // a checkpoint becomes the best only if its dev nDCG@10 beats the best so far
                              // (at first the base alone) by more than this: small dev slices are noisy
  int64_t checkpoint_every = 100;   // steps between resumable checkpoints (and at the end)
  int64_t dev_corpus_max = 200000;  // rows of a dataset's index a trainer loads beyond the documents it
                                    // trains on (the dev search's corpus): all of a corpus up to this size;
                                    // above, the dev-judged documents and a seeded sample (docs/scaling.md)
  bool bf16 = false;                // bfloat16 autocast where the device supports it
  bool model_dropout = true;        // the base's own dropout (hidden, attention) while training
  bool full_finetune = false;       // multitask only: train every weight instead of an adapter
};

// rr's own base encoder, trained from scratch by contrastive learning on pairs made from the corpora alone.
// The defaults are the recipe chosen for transfer by leave-one-out over eight judged collections
// (experiments/README.md, "Base recipe trials"): ~9 min of `train base` on 2 cores with bf16.
struct BaseTrainingConfig {
  int64_t vocab_size = 30000;  // WordPiece vocabulary learned from the corpora by `rr vocab`
  int64_t hidden_size = 256, layers = 1, heads = 4, intermediate_size = 512, max_positions = 512;
  int64_t steps = 720;
  int64_t batch_size = 256;
  double lr = 1e-3, weight_decay = 0.01, warmup_ratio = 0.05, grad_clip = 1.0, temperature = 0.05;
  double crop_min = 0.1, crop_max = 0.5;  // crop length as a share of the document's tokens
  int64_t max_length = 128;               // tokens per crop, [CLS]/[SEP] included
  double word_deletion = 0.0;             // probability of dropping each token of a crop
  // Each document of a batch gives one positive pair, the first of these kinds that applies, else two
  // independent crops (Contriever):
  // - title pair, with probability title_pairs when it has a title: (its title, a crop of its text);
  double title_pairs = 0.5;
  // - lexical (BM25-imitation, SPAR) pair, with probability lexical_pairs: a span of lexical_span_min..max of
  //   its pieces as the query, the whole document that BM25 over the corpus's pieces ranks first as positive;
  double lexical_pairs = 0.5;
  int64_t lexical_span_min = 4, lexical_span_max = 16;
  // - inverse cloze pair (train/inverse_cloze.h), with probability sentence_pairs when it has two or more
  //   sentences: one sentence of at least lexical_span_min pieces, and the text around it without it.
  double sentence_pairs = 1.0;
  bool normalize = true;  // cosine similarity in the loss; the saved base then normalises its embeddings
                          // (sentence-transformers' modules.json), so every search compares by cosine too
  bool bf16 = true;
  double max_minutes = 0;  // stop early after this long (0: no limit; breaks exact reproducibility)
  int64_t checkpoint_every = 200;
};

struct BaseModelConfig {
  std::string path;    // an HF model directory (e.g. facebook/contriever); default <output_dir>/base
  bool train = false;  // true: `rr train base` makes it (vocabulary and weights)
  BaseTrainingConfig training;
};

struct RoutingConfig {
  TieRule tie_rule = TieRule::First;       // per-instance best expert ties: "first" (released code) or "skip"
  int64_t pilots_per_group = 1;            // k-means centroids per (dataset, expert) group (1: the centroid)
  int64_t dataset_router_instances = 100;  // DatasetRouter: labelled instances per training dataset
  int64_t top_k_mix = 2;                   // the soft mixture fuses this many best-routed experts
  std::vector<std::string> routers = router_names();  // Table 1 rows (router/router_list.h); default: all
};

struct EvaluationConfig {
  int64_t k = 1000;                  // hits kept per query for the measures
  int64_t store_k = 100;             // hits stored in the results file per query
  bool ignore_identical_ids = true;  // BEIR's rule
  bool write_trec_runs = false;      // also <output_dir>/runs/<dataset>.<router>.trec
  int64_t corpus_block = 4096;       // exact-search and encode block (rows): MS MARCO 2,159 blocks, balanced
                                     // to 84% on 512 ranks (16,384: 53%); every shipped corpus is one block
  bool float16_index = false;        // store the corpus index as float16 (else as `precision`: fp32 or bf16)
  bool bf16 = false;  // "precision": "bf16" (default "fp32"): every encode (index, queries) with bf16 matrix
                      // products (model/text_encoder.h); needs fast bf16 on the device
  int64_t max_doc_length = 256, max_query_length = 64;
  int64_t batch_size = 64;
  int64_t token_budget = 16384;
  double bm25_k1 = 0.9, bm25_b = 0.4;  // BEIR/Anserini defaults
  // Which single experts run on which dataset: "all" (each expert on every dataset: T searches per dataset,
  // what the oracles choose among), "own" (each expert on the datasets it was trained on), "none". The
  // oracles choose among the singles that ran on a dataset, and are not computed where none did.
  std::string singles = "all";

  // How the index stores its vectors: float16 if float16_index, else bfloat16 with precision "bf16" (half
  // the disk and RAM; the search rescores from these values), else float32.
  VectorType index_type() const {
    return float16_index ? VectorType::Float16 : bf16 ? VectorType::BFloat16 : VectorType::Float32;
  }
};

// "fp32" -> false, "bf16" -> true (EvaluationConfig::bf16, `embed --precision`); anything else is a Usage
// error naming `where`.
bool parse_precision(const std::string& precision, const std::string& where);

struct Experiment {
  std::filesystem::path file;  // where it was read from
  nlohmann::json json;         // the document after overrides (recorded in results)
  std::string name = "experiment";
  uint64_t seed = 13;
  std::string output_dir = "runs/experiment";
  std::string device = "cpu";
  // "" (train here), or the output_dir of another experiment whose experts (<dir>/experts/<name>, unless an
  // expert's "adapter" says otherwise) and multi-task model (<dir>/multitask) this one uses read-only: the
  // train stages check they exist and never train or write them (a zero-shot evaluation of a trained run).
  std::string trained_models;
  // Expert models a rank holds at once (model/expert_cache.h: loaded on first use, least recently used
  // dropped beyond it). 256: the most one query block routes to. Results never depend on it.
  int64_t max_loaded_experts = 256;
  std::vector<DatasetConfig> datasets;
  BaseModelConfig base;
  std::vector<ExpertConfig> experts;
  TrainingConfig expert_training;
  TrainingConfig multitask;  // the multi-task baseline (steps etc. default as for experts)
  bool train_multitask = true;
  RoutingConfig routing;
  EvaluationConfig evaluation;
  SlurmConfig slurm;  // jobs/submit.sh's requests per stage (config/slurm_config.h)

  // Loads, applies "--set key.path=value" overrides, validates. Throws Usage naming file and key.
  static Experiment load(const std::filesystem::path& file, const std::vector<std::string>& overrides = {});
  static Experiment parse(const nlohmann::json& doc, const std::filesystem::path& file);

  const DatasetConfig& dataset(const std::string& name) const;
  const ExpertConfig& expert(const std::string& name) const;
  std::filesystem::path output() const { return output_dir; }
  std::filesystem::path results_file() const { return output() / "results.h5"; }
  std::filesystem::path index_file() const { return output() / "index.h5"; }
  std::filesystem::path base_path() const { return base.path; }
  bool models_read_only() const { return !trained_models.empty(); }
  std::filesystem::path multitask_path() const {
    return (models_read_only() ? std::filesystem::path(trained_models) : output()) / "multitask";
  }
  std::vector<std::string> expert_names() const;
  // The datasets some expert trains on, in the order the experts list them (the multi-task model's data and
  // the routing training set).
  std::vector<std::string> training_datasets() const;
  // The first expert that trains on `dataset`, or -1.
  int32_t expert_of(const std::string& dataset) const;
};

}  // namespace rr
