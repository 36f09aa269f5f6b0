#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "common/error.h"
#include "data/beir.h"
#include "h5data/corpus_map.h"
#include "h5data/h5_file.h"
#include "h5data/results_update.h"
#include "search/topk.h"
#include "tests/test_support.h"

namespace rr {
namespace {

using test::TempDir;

TEST(H5File, TypedRoundTripsAndAttributes) {
  TempDir t;
  {
    auto f = h5::File::create(t / "r.h5");
    f.write_strings("/datasets/cran/corpus_ids", {"d1", "caf\xc3\xa9", ""});
    f.write("/a/i64", at::tensor(std::vector<int64_t>{1, -2, 3, 4}).reshape({2, 2}));
    f.write("/a/i32", at::tensor(std::vector<int32_t>{7}));
    f.write("/a/f", at::tensor(std::vector<float>{0.5f, 1.5f}));
    f.write("/a/d", at::tensor(std::vector<double>{1e-300}));
    f.write("/a/empty", at::zeros({0, 3}, at::kFloat));
    f.write_strings("/empty", {});
    f.set_attr("/", "config", std::string("{\"seed\": 1}"));
    f.set_attr("/a", "ranks", int64_t{4});
    f.set_attr("/a", "names", std::vector<std::string>{"x", "y"});
    EXPECT_THROW(f.write("/a/bool", at::ones({2}, at::kBool)), Error);
  }
  auto f = h5::File::open(t / "r.h5", false);
  EXPECT_EQ(f.read_strings("/datasets/cran/corpus_ids"), (std::vector<std::string>{"d1", "caf\xc3\xa9", ""}));
  const at::Tensor i64 = f.read("/a/i64");
  EXPECT_EQ(i64.scalar_type(), at::kLong);
  EXPECT_TRUE(at::equal(i64, at::tensor(std::vector<int64_t>{1, -2, 3, 4}).reshape({2, 2})));
  EXPECT_EQ(f.shape("/a/i64"), (std::pair<int64_t, int64_t>{2, 2}));
  EXPECT_TRUE(at::equal(f.read("/a/i32"), at::tensor(std::vector<int32_t>{7})));
  EXPECT_TRUE(at::equal(f.read("/a/f"), at::tensor(std::vector<float>{0.5f, 1.5f})));
  EXPECT_EQ(f.read("/a/d").item<double>(), 1e-300);
  EXPECT_EQ(f.read("/a/empty").sizes(), (std::vector<int64_t>{0, 3}));
  EXPECT_TRUE(f.read_strings("/empty").empty());
  EXPECT_EQ(f.attr_string("/", "config"), "{\"seed\": 1}");
  EXPECT_EQ(f.attr_int64("/a", "ranks"), 4);
  EXPECT_EQ(f.attr_strings("/a", "names"), (std::vector<std::string>{"x", "y"}));
  EXPECT_TRUE(f.exists("/a/f"));
  EXPECT_FALSE(f.exists("/nope/deeper"));
  EXPECT_EQ(f.members("/a"), (std::vector<std::string>{"d", "empty", "f", "i32", "i64"}));
  EXPECT_THROW(f.read("/datasets/cran/corpus_ids"), Error);  // strings are not numbers
}

TEST(H5File, MatricesInRowBlocksFloat32AndFloat16) {
  TempDir t;
  const at::Tensor m = at::randn({50, 7}, at::detail::createCPUGenerator(3));
  {
    auto f = h5::File::create(t / "m.h5");
    f.create_matrix("/index/x/corpus", 50, 7, VectorType::Float32, 16);
    f.create_matrix("/index/x/half", 50, 7, VectorType::Float16, 16);
    f.write("/flags", at::zeros({5}, at::kInt));
    for (int64_t r = 0; r < 50; r += 20) {
      const at::Tensor rows = m.slice(0, r, std::min<int64_t>(50, r + 20));
      f.write_rows("/index/x/corpus", r, rows);
      f.write_rows("/index/x/half", r, rows);
    }
    f.write_rows("/flags", 3, at::ones({1}, at::kInt));
    EXPECT_THROW(f.write_rows("/index/x/corpus", 45, m.slice(0, 0, 10)), Error);
  }
  auto f = h5::File::open(t / "m.h5", false);
  EXPECT_TRUE(at::equal(f.read_rows("/index/x/corpus", 0, 50), m));
  EXPECT_EQ(f.storage("/index/x/half"), VectorType::Float16);
  const at::Tensor half = f.read_rows("/index/x/half", 10, 30);
  EXPECT_EQ(half.scalar_type(), at::kHalf);  // kept compact in memory
  EXPECT_TRUE(at::equal(half, m.slice(0, 10, 40).to(at::kHalf)));
  EXPECT_TRUE(at::equal(f.read("/index/x/half"), m.to(at::kHalf).to(at::kFloat)));  // widened when whole
  EXPECT_TRUE(at::equal(f.read("/flags"), at::tensor(std::vector<int32_t>{0, 0, 0, 1, 0})));
  // A row list: runs and single rows, across chunks; fp16 storage widened to float32.
  const std::vector<int64_t> rows{0, 1, 2, 15, 16, 17, 30, 49};
  const at::Tensor picked = m.index_select(0, at::tensor(rows, at::kLong));
  EXPECT_TRUE(at::equal(f.read_row_list("/index/x/corpus", rows), picked));
  EXPECT_TRUE(at::equal(f.read_row_list("/index/x/half", rows), picked.to(at::kHalf).to(at::kFloat)));
  EXPECT_EQ(f.read_row_list("/index/x/corpus", {}).size(0), 0);
  EXPECT_THROW(f.read_row_list("/index/x/corpus", {3, 2}), Error);
  EXPECT_THROW(f.read_row_list("/index/x/corpus", {49, 50}), Error);
}

TEST(H5File, Bfloat16MatrixRoundsToNearestEvenAndWidensThroughHdf5) {
  TempDir t;
  // Large, tiny and negative values exercise bfloat16's 8-bit exponent, which float16 would overflow.
  const at::Tensor m =
      at::randn({40, 9}, at::detail::createCPUGenerator(5)) *
      at::tensor(std::vector<float>{1e-30f, 1e-3f, 1.f, 7.f, 1e3f, 1e30f, -2.f, 0.5f, 3e38f});
  {
    auto f = h5::File::create(t / "b.h5");
    f.create_matrix("/index/x/corpus", 40, 9, VectorType::BFloat16, 16);
    f.write_rows("/index/x/corpus", 0, m.slice(0, 0, 25));
    f.write_rows("/index/x/corpus", 25, m.slice(0, 25, 40));
  }
  auto f = h5::File::open(t / "b.h5", false);
  EXPECT_EQ(f.storage("/index/x/corpus"), VectorType::BFloat16);
  const at::Tensor rounded = m.to(at::kBFloat16);  // round to nearest even
  const at::Tensor rows = f.read_rows("/index/x/corpus", 5, 30);
  EXPECT_EQ(rows.scalar_type(), at::kBFloat16);
  EXPECT_TRUE(at::equal(rows, rounded.slice(0, 5, 35)));
  // HDF5's own conversion of the custom float type to float32 (as h5py's astype does) gives the same values.
  EXPECT_TRUE(at::equal(f.read("/index/x/corpus"), rounded.to(at::kFloat)));
  EXPECT_TRUE(at::equal(f.read_row_list("/index/x/corpus", {0, 17, 39}),
                        rounded.index_select(0, at::tensor(std::vector<int64_t>{0, 17, 39})).to(at::kFloat)));
}

// An n x 1 matrix is stored 1-D (h5py reads a vector) and read_matrix gives it back n x 1.
TEST(H5File, ColumnMatrixStoredAsVectorReadBackAsMatrix) {
  TempDir t;
  const at::Tensor column = at::arange(5, at::kDouble).reshape({5, 1});
  {
    auto f = h5::File::create(t / "c.h5");
    f.write("/c", column);
    f.write("/m", column.repeat({1, 3}));
  }
  const auto f = h5::File::open(t / "c.h5", false);
  EXPECT_EQ(f.read("/c").dim(), 1);
  EXPECT_TRUE(at::equal(f.read_matrix("/c"), column));
  EXPECT_TRUE(at::equal(f.read_matrix("/m"), column.repeat({1, 3})));
}

TEST(H5File, CopyMoveRemoveAndExternalLinks) {
  TempDir t;
  {
    auto a = h5::File::create(t / "index.h5");
    a.write("/index/ds/corpus", at::tensor(std::vector<float>{1, 2, 3, 4}).reshape({2, 2}));
  }
  {
    auto src = h5::File::open(t / "index.h5", false);
    auto b = h5::File::create(t / "b.h5");
    b.copy_from(src, "/index");
    b.move("/index/ds/corpus", "/index/ds/renamed");
    b.external_link("/linked", "index.h5", "/index");
    b.write("/gone", at::ones({1}));
    b.remove("/gone");
  }
  auto b = h5::File::open(t / "b.h5", false);
  const at::Tensor expected = at::tensor(std::vector<float>{1, 2, 3, 4}).reshape({2, 2});
  EXPECT_TRUE(at::equal(b.read("/index/ds/renamed"), expected));
  EXPECT_FALSE(b.exists("/index/ds/corpus"));
  EXPECT_FALSE(b.exists("/gone"));
  EXPECT_TRUE(at::equal(b.read("/linked/ds/corpus"), expected));
}

size_t count_files(const std::filesystem::path& folder) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(folder)) ++n;
  return n;
}

// Bulky objects live in part files linked from results.h5: an update copies the small objects and re-makes
// the links (never copying a part), an abandoned update leaves nothing behind, and parts no longer linked
// (replaced, or left by a killed update) are removed when an update commits.
TEST(ResultsUpdate, PartsAreLinkedKeptAndCollected) {
  TempDir t;
  const auto results = t / "results.h5", parts = t / "results.parts";
  const at::Tensor scores = at::arange(200000, at::kDouble).reshape({100000, 2});
  {
    h5::ResultsUpdate up(results, {"/scores", "/datasets"});
    up.apart("scores", {"/scores"}).write("/scores/a", scores);
    up.apart("ids", {"/datasets/a/corpus_ids", "/datasets/b/corpus_ids"})
        .write_strings("/datasets/a/corpus_ids", {"d1", "d2"});
    up.file().write_strings("/datasets/a/query_ids/test", {"q1"});
    up.commit();
  }
  EXPECT_EQ(count_files(parts), 2u);
  EXPECT_LT(std::filesystem::file_size(results), 64u << 10);  // the 1.6 MB of scores stay in their part
  auto read_back = [&] {
    auto f = h5::File::open(results, false);
    EXPECT_TRUE(at::equal(f.read("/scores/a"), scores));
    EXPECT_EQ(f.read_strings("/datasets/a/corpus_ids"), (std::vector<std::string>{"d1", "d2"}));
    EXPECT_EQ(f.read_strings("/datasets/a/query_ids/test"), std::vector<std::string>{"q1"});
    EXPECT_FALSE(f.exists("/datasets/b/corpus_ids"));  // never written: absent
    return f.external_target("/scores")->first;
  };
  const std::string scores_part = read_back();
  EXPECT_EQ(scores_part.rfind("results.parts/scores-", 0), 0u);
  {
    h5::ResultsUpdate up(results, {"/runs"});
    up.apart("runs", {"/runs"}).write("/runs/a/x/doc", at::ones({2, 3}, at::kLong));
    up.commit();
  }
  EXPECT_EQ(read_back(), scores_part);  // kept as a link, deeper links inside /datasets too
  EXPECT_TRUE(h5::File::open(results, false).external_target("/datasets/a/corpus_ids").has_value());
  EXPECT_EQ(count_files(parts), 3u);
  {
    h5::ResultsUpdate abandoned(results, {"/scores"});
    abandoned.apart("scores", {"/scores"}).write("/scores/a", at::zeros({1, 2}, at::kDouble));
  }
  EXPECT_EQ(count_files(parts), 3u);
  EXPECT_EQ(read_back(), scores_part);
  test::write_file(parts / "scores-killed.h5", "left by a killed update");
  test::write_file(parts / "notes.txt", "not a part: left alone");
  {
    h5::ResultsUpdate up(results, {"/scores"});
    up.apart("scores", {"/scores"}).write("/scores/a", scores);
    up.commit();
  }
  EXPECT_NE(read_back(), scores_part);
  EXPECT_FALSE(std::filesystem::exists(t / scores_part));
  {  // a part gone: reading through its link names it
    h5::File::create(t / "lost.h5").external_link("/scores", scores_part, "/scores");
    const auto lost = h5::File::open(t / "lost.h5", false);
    try {
      lost.read("/scores/a");
      FAIL() << "read through a dangling link";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(scores_part + ", which is missing"), std::string::npos)
          << e.what();
    }
  }
  EXPECT_EQ(count_files(parts), 4u);  // three parts and notes.txt
  EXPECT_EQ(h5::File::open(results, false).external_files().size(), 3u);
  // A commit whose rename fails (the name is taken by a folder) leaves neither its parts nor its temp file.
  std::filesystem::create_directories(t / "taken.h5" / "x");
  {
    h5::ResultsUpdate up(t / "taken.h5", {}, /*keep_old=*/false);
    up.apart("runs", {"/runs"}).write("/runs/a", at::ones({2}));
    EXPECT_THROW(up.commit(), Error);
  }
  EXPECT_EQ(count_files(t / "taken.parts"), 0u);
  for (const auto& e : std::filesystem::directory_iterator(t.path()))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
  // external_files lists a link whose file is missing too (the parts it names are the ones kept).
  {
    auto f = h5::File::create(t / "dangling.h5");
    f.external_link("/x/y", "missing.h5", "/y");
  }
  EXPECT_EQ(h5::File::open(t / "dangling.h5", false).external_files(),
            std::vector<std::string>{"missing.h5"});
}

TEST(H5File, CorruptAndMissingFilesAreClearErrors) {
  TempDir t;
  test::write_file(t / "bad.h5", "this is not hdf5");
  try {
    h5::File::open(t / "bad.h5", false);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.h5"), std::string::npos);
  }
  EXPECT_THROW(h5::File::open(t / "none.h5", false), Error);
  {
    auto f = h5::File::create(t / "ok.h5");
    f.write("/x", at::ones({100000}));
  }
  std::filesystem::resize_file(t / "ok.h5", std::filesystem::file_size(t / "ok.h5") / 2);
  EXPECT_THROW(
      {
        auto f = h5::File::open(t / "ok.h5", false);
        f.read("/x");
      },
      Error);
}

}  // namespace
}  // namespace rr

namespace rr {
namespace {

// The corpus map reads any row range exactly as the whole-file reader does (blank lines, a BOM, escapes and
// multi-byte text included), maps rows to ids and tie keys, and notices a corpus changed behind its back.
TEST(CorpusMap, RowRangesEqualTheWholeCorpus) {
  test::TempDir t;
  std::string text = "\xEF\xBB\xBF";
  for (int i = 0; i < 40; ++i) {
    text += "{\"_id\": \"d" + std::to_string((i * 7) % 40) + "\", \"title\": \"t\\u00e9 " +
            std::to_string(i) + "\", \"text\": \"caf\xC3\xA9 \\\"" + std::to_string(i) + "\\\"\"}\n";
    if (i % 9 == 0) text += "\n  \n";
  }
  test::write_file(t / "corpus.jsonl", text);
  CorpusMap::build(t / "corpus.jsonl", t / "map.h5", "fp1");
  EXPECT_EQ(CorpusMap::recorded_fingerprint(t / "map.h5"), "fp1");
  const auto whole = read_corpus(t / "corpus.jsonl");
  std::vector<std::string> ids;
  for (const auto& d : whole) ids.push_back(d.id);
  const auto tie = tie_keys(ids);
  CorpusMap map(t / "map.h5", t / "corpus.jsonl");
  ASSERT_EQ(map.size(), 40);
  for (auto [lo, hi] :
       std::vector<std::pair<int64_t, int64_t>>{{0, 40}, {0, 1}, {9, 10}, {10, 27}, {39, 40}}) {
    const auto part = map.documents(lo, hi);
    ASSERT_EQ(static_cast<int64_t>(part.size()), hi - lo);
    for (int64_t i = lo; i < hi; ++i) {
      EXPECT_EQ(part[i - lo].id, whole[i].id);
      EXPECT_EQ(part[i - lo].encoder_text(), whole[i].encoder_text());
      EXPECT_EQ(part[i - lo].line, whole[i].line);
    }
    EXPECT_EQ(map.tie_keys(lo, hi - lo), std::vector<int64_t>(tie.begin() + lo, tie.begin() + hi));
  }
  EXPECT_EQ(map.ids({0, 5, 6, 39}), (std::vector<std::string>{ids[0], ids[5], ids[6], ids[39]}));
  // A row list (runs of consecutive rows and single ones) reads exactly those documents.
  const std::vector<int64_t> rows{0, 1, 2, 9, 17, 18, 39};
  const auto listed = map.documents(rows);
  ASSERT_EQ(listed.size(), rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(listed[i].id, whole[rows[i]].id);
    EXPECT_EQ(listed[i].encoder_text(), whole[rows[i]].encoder_text());
    EXPECT_EQ(listed[i].line, whole[rows[i]].line);
  }
  EXPECT_TRUE(map.documents(std::vector<int64_t>{}).empty());
  EXPECT_THROW(map.documents(std::vector<int64_t>{5, 3}), Error);  // not ascending
  EXPECT_THROW(map.documents(std::vector<int64_t>{40}), Error);    // past the end
  // The pass over the ids in chunks sees every id once, in row order, whatever the chunk.
  for (int64_t chunk : {1, 7, 40, 1000}) {
    std::vector<std::string> seen;
    map.for_each_id_chunk(chunk, [&](int64_t row0, const std::vector<std::string>& part) {
      EXPECT_EQ(row0, static_cast<int64_t>(seen.size()));
      EXPECT_LE(static_cast<int64_t>(part.size()), chunk);
      seen.insert(seen.end(), part.begin(), part.end());
    });
    EXPECT_EQ(seen, ids) << "chunk " << chunk;
  }
  test::write_file(t / "corpus.jsonl", text.substr(0, text.size() / 2));  // changed: fewer records
  EXPECT_THROW(map.documents(0, 40), Error);
  test::write_file(t / "dup.jsonl", "{\"_id\": \"a\", \"text\": \"x\"}\n{\"_id\": \"a\", \"text\": \"y\"}\n");
  try {
    CorpusMap::build(t / "dup.jsonl", t / "dup.h5", "fp");
    ADD_FAILURE() << "a duplicate id was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("dup.jsonl:2"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(t / "dup.h5"));
}

}  // namespace
}  // namespace rr
