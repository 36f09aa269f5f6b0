#include "mpi/sharded_index.h"

#include "common/error.h"
#include "mpi/distributed_topk.h"

namespace rr::mpi {

namespace {

// The rows of n queries that group g of `groups` searches: its query blocks (block b: group b % groups).
std::vector<int64_t> group_rows(int g, int groups, int64_t n) {
  std::vector<int64_t> rows;
  for (int64_t b = 0; b * kQueryBlock < n; ++b)
    if (b % groups == g)
      for (int64_t i = b * kQueryBlock; i < std::min(n, (b + 1) * kQueryBlock); ++i) rows.push_back(i);
  return rows;
}

// Some rows of a set of queries, copied together.
struct PickedQueries {
  std::vector<float> vectors;
  std::vector<std::string> texts;
  SearchQueries queries;
};

PickedQueries pick(const SearchQueries& q, const std::vector<int64_t>& rows) {
  PickedQueries out;
  for (const int64_t r : rows) {
    if (q.vectors) out.vectors.insert(out.vectors.end(), q.vectors + r * q.dim, q.vectors + (r + 1) * q.dim);
    if (q.texts) out.texts.push_back(q.texts[r]);
  }
  out.queries = {q.vectors ? out.vectors.data() : nullptr, q.dim, q.texts ? out.texts.data() : nullptr,
                 static_cast<int64_t>(rows.size())};
  return out;
}

}  // namespace

ShardedIndex::ShardedIndex(const Comm& world, const SearchLayout& layout, int64_t rows) {
  auto p = std::make_shared<Placement>();
  p->world = &world;
  p->groups = layout.groups;
  p->rows = rows;
  const int P = world.size(), rank = world.rank();
  p->group_index = static_cast<int>(static_cast<int64_t>(rank) * layout.groups / P);
  p->group = std::make_shared<const Comm>(world.split(p->group_index, rank));
  p->shard = shard_of(rows, p->group->rank(), p->group->size(), layout.align);
  placement_ = std::move(p);
}

void ShardedIndex::attach(std::unique_ptr<Index> local) {
  RR_CHECK(local->first_row() == shard().begin && local->ntotal() == shard().size(), Runtime,
           "sharded index: a local index of rows [{}, {}) for the shard [{}, {})", local->first_row(),
           local->first_row() + local->ntotal(), shard().begin, shard().end);
  local_ = std::move(local);
}

ShardedIndex ShardedIndex::with_local(std::unique_ptr<Index> local) const {
  ShardedIndex out(placement_);
  out.attach(std::move(local));
  return out;
}

ShardedIndex::OwnedLists ShardedIndex::search_owned(const SearchQueries& queries, int64_t k) {
  const Placement& p = *placement_;
  local_->share_statistics(queries, [&](std::vector<double>& v) {
    p.group->allreduce_sum_double(v.data(), static_cast<int64_t>(v.size()));
  });
  // My group's query blocks, searched together (the same products as one search of all).
  const std::vector<int64_t> searched = group_rows(p.group_index, p.groups, queries.n);
  const PickedQueries picked = pick(queries, searched);
  const TopK local = local_->search(picked.queries, k);
  // Where each searched row's list is in `local` (-1: another group searched it).
  std::vector<int64_t> at(static_cast<size_t>(queries.n), -1);
  for (size_t i = 0; i < searched.size(); ++i) at[static_cast<size_t>(searched[i])] = static_cast<int64_t>(i);
  OwnedLists out;
  const int P = p.world->size();
  for (int owner = 0; owner < P; ++owner) {
    const int64_t lo = queries.n * owner / P, hi = queries.n * (owner + 1) / P;
    TopK part(hi - lo, k);  // other groups' rows stay empty
    for (int64_t row = lo; row < hi; ++row) {
      const int64_t from = at[static_cast<size_t>(row)];
      if (from < 0) continue;
      std::copy_n(local.doc.begin() + from * k, k, part.doc.begin() + (row - lo) * k);
      std::copy_n(local.score.begin() + from * k, k, part.score.begin() + (row - lo) * k);
      std::copy_n(local.tie.begin() + from * k, k, part.tie.begin() + (row - lo) * k);
    }
    TopK merged = gather_topk(*p.world, part, owner);
    if (owner != p.world->rank()) continue;
    for (int64_t row = lo; row < hi; ++row) out.rows.push_back(row);
    out.top = std::move(merged);
  }
  return out;
}

TopK ShardedIndex::search_own(const SearchQueries& mine, int64_t k) {
  RR_CHECK(mine.dim > 0 && !local_->lexical(), Runtime, "sharded index: search_own takes query vectors");
  const Comm& group = *placement_->group;
  std::vector<int64_t> counts;
  const std::vector<float> all =
      group.allgatherv(std::vector<float>(mine.vectors, mine.vectors + mine.n * mine.dim), &counts);
  const SearchQueries together{all.data(), mine.dim, nullptr, static_cast<int64_t>(all.size()) / mine.dim};
  const TopK local = local_->search(together, k);
  TopK own(0, k);
  int64_t offset = 0;
  for (int member = 0; member < group.size(); ++member) {
    const int64_t n = counts[member] / mine.dim;
    if (n == 0) continue;  // every rank knows the counts: all skip alike
    TopK merged = gather_topk(group, local.rows(offset, n), member);
    if (member == group.rank()) own = std::move(merged);
    offset += n;
  }
  return own;
}

}  // namespace rr::mpi
