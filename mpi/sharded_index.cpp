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

// n-row lists holding local's lists (one per entry of `rows`) at those rows, the others empty.
TopK spread_rows(const TopK& local, const std::vector<int64_t>& rows, int64_t n) {
  TopK all(n, local.k);
  const auto k = static_cast<std::ptrdiff_t>(local.k);
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto from = static_cast<std::ptrdiff_t>(i) * k, to = rows[i] * k;
    std::copy_n(local.doc.begin() + from, k, all.doc.begin() + to);
    std::copy_n(local.score.begin() + from, k, all.score.begin() + to);
    std::copy_n(local.tie.begin() + from, k, all.tie.begin() + to);
  }
  return all;
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

TopK ShardedIndex::search(const SearchQueries& queries, int64_t k, int root) {
  const Placement& p = *placement_;
  local_->share_statistics(queries, [&](std::vector<double>& v) {
    p.group->allreduce_sum_double(v.data(), static_cast<int64_t>(v.size()));
  });
  if (p.groups == 1) return gather_topk(*p.world, local_->search(queries, k), root);
  // My group's query blocks, searched together (the same products as one search of all).
  const std::vector<int64_t> rows = group_rows(p.group_index, p.groups, queries.n);
  const PickedQueries mine = pick(queries, rows);
  return gather_topk(*p.world, spread_rows(local_->search(mine.queries, k), rows, queries.n), root);
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
