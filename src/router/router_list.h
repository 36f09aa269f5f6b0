// The routers, one line each, in Table 1 row order: name (configs, results files), label (the report; "{}"
// stands for the expert of a per-expert router), per expert, factory (in the router's own file).
// Adding a router: its file, and one line here.
#pragma once

#define RR_ROUTERS(X)                                                                                        \
  X("bm25", "BM25", false, make_bm25_router)                                                                 \
  X("base", "Base encoder (no expert)", false, make_base_router)                                             \
  X("single", "Single expert: {}", true, make_single_router)                                                 \
  X("multitask", "Multi-task", false, make_multitask_router)                                                 \
  X("random", "Random router (uniform over experts)", false, make_random_router)                             \
  X("dataset", "DatasetRouter", false, make_dataset_router)                                                  \
  X("expert-classifier", "ExpertClassifierRouter", false, make_expert_classifier_router)                     \
  X("classification-head", "ClassificationHeadRouter", false, make_classification_head_router)               \
  X("pilot-mean", "**RouterRetriever** (pilot mean)", false, make_pilot_mean_router)                         \
  X("pilot-max", "RouterRetriever (pilot max, released code)", false, make_pilot_max_router)                 \
  X("top-k-mix", "Top-k soft mixture", false, make_top_k_mix_router)                                         \
  X("dataset-oracle", "DatasetOracle", false, make_dataset_oracle)                                           \
  X("instance-oracle", "InstanceOracle", false, make_instance_oracle)
