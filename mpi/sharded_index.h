// A corpus index spread over the ranks of a communicator (search/index.h's Index on each rank): it owns the
// shard layout, the search groups and the merge of the ranks' top-k lists to any root.
//
// Placement (search/search_layout.h): each rank holds whole search units of the corpus. When the corpus has
// fewer units than ranks, groups of consecutive ranks each hold all of it (about one unit per rank) and each
// group searches its own share of the query blocks (block b: group b % groups), so a small corpus keeps every
// rank searching. Results never depend on the rank count: the same products per (query block x corpus
// block), merged exactly (ties included) over one copy of the corpus.
//
// Every call is collective over the communicator the index was made on.
#pragma once

#include <memory>

#include "mpi/comm.h"
#include "search/index.h"
#include "search/search_layout.h"

namespace rr::mpi {

class ShardedIndex {
 public:
  // Where a corpus of `rows` lies on `world` (which must outlive the index): this rank's search group and
  // rows. Collective (splits the communicator into the groups).
  ShardedIndex(const Comm& world, const SearchLayout& layout, int64_t rows);
  // This rank's rows, to read before attach().
  const Shard& shard() const { return placement_->shard; }
  // The local index over shard()'s rows (its first_row() is shard().begin).
  void attach(std::unique_ptr<Index> local);
  // Another index over the same rows and placement (e.g. BM25 beside the dense index).
  ShardedIndex with_local(std::unique_ptr<Index> local) const;
  const Index& local() const { return *local_; }
  int groups() const { return placement_->groups; }
  int64_t rows() const { return placement_->rows; }

  // Each rank brings its own queries (possibly none; vectors only): the ranks of a search group search them
  // all, and each rank receives the global top-k of its own.
  TopK search_own(const SearchQueries& mine, int64_t k);
  // The same n queries on every rank: rank r of P receives the lists of rows [r n / P, (r + 1) n / P) (its
  // own share, merged from every rank's shard), so that each rank can measure its queries there and nothing
  // funnels through one rank. rows: the rank's queries, ascending; top: their lists, in that order.
  struct OwnedLists {
    std::vector<int64_t> rows;
    TopK top;
  };
  OwnedLists search_owned(const SearchQueries& queries, int64_t k);

 private:
  struct Placement {
    const Comm* world = nullptr;
    std::shared_ptr<const Comm> group;  // the ranks holding one copy of the corpus
    int group_index = 0, groups = 1;
    int64_t rows = 0;
    Shard shard;
  };
  explicit ShardedIndex(std::shared_ptr<const Placement> placement) : placement_(std::move(placement)) {}
  std::shared_ptr<const Placement> placement_;
  std::shared_ptr<Index> local_;
};

}  // namespace rr::mpi
