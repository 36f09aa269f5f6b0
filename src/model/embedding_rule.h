// How a model's token states become one vector per text, and where a model directory says so.
#pragma once

#include <cstdint>
#include <filesystem>

namespace rr {

enum class Pooling { Mean, Cls };

struct EmbeddingOptions {
  Pooling pooling = Pooling::Mean;
  bool normalize = false;  // L2-normalise the pooled vectors (Contriever: no)
};

// A model directory's own rule, in sentence-transformers' files (what e5, bge, gte and rr's cosine-trained
// bases ship): modules.json lists a Pooling module (its config.json: mean or CLS tokens) and, when vectors
// are compared by cosine, a Normalize module. No modules.json: mean pooling, unnormalised (Contriever). Other
// pooling modes and modules rr cannot apply (Dense, ...) are Input errors naming the file and field.
EmbeddingOptions read_embedding_rule(const std::filesystem::path& dir);
// Writes modules.json, 1_Pooling/config.json and (normalize) 2_Normalize/ into `dir`.
void write_embedding_rule(const std::filesystem::path& dir, const EmbeddingOptions& rule,
                          int64_t hidden_size);

}  // namespace rr
