// The BM25 formula (Robertson; Lucene's idf), in one place for every BM25 in rr (search/bm25.h over words,
// train/piece_bm25.h over a vocabulary's pieces):
//
//   score(q, d) = sum over the terms t of q, each occurrence  idf(t) * tf(t,d) * (k1 + 1) / (tf(t,d) + K(d))
//   idf(t)      = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))           (Lucene's; never negative)
//   K(d)        = k1 * (1 - b + b * |d| / avgdl)
//
// N documents; df(t) documents containing t; tf(t,d) occurrences of t in d; |d| the length of d in terms;
// avgdl = sum |d| / N. Lucene >= 8 drops the constant (k1 + 1): same rankings. Every value in double.
#pragma once

#include <cmath>

namespace rr {

struct Bm25Params {
  double k1 = 0.9;  // Anserini / Pyserini defaults (BEIR's)
  double b = 0.4;
};

inline double bm25_idf(double documents, double df) {
  return std::log(1.0 + (documents - df + 0.5) / (df + 0.5));
}

// K(d) for a document of `length` terms.
inline double bm25_length_norm(const Bm25Params& p, double length, double avgdl) {
  return p.k1 * (1.0 - p.b + p.b * length / avgdl);
}

// One occurrence's contribution: idf(t) * tf * (k1 + 1) / (tf + K(d)).
inline double bm25_term(const Bm25Params& p, double idf, double tf, double norm) {
  return idf * tf * (p.k1 + 1.0) / (tf + norm);
}

}  // namespace rr
