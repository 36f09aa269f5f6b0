#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "data/jsonl_reader.h"
#include "tests/test_support.h"
#include "text/bert_tokenizer.h"
#include "text/wordpiece_trainer.h"

namespace rr {
namespace {

using test::TempDir;

std::map<std::string, std::vector<int32_t>> expected_ids(const std::filesystem::path& path) {
  std::map<std::string, std::vector<int32_t>> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line);
    out[j["id"].get<std::string>()] = j["input_ids"].get<std::vector<int32_t>>();
  }
  return out;
}

// Every text of a fixture gets exactly Hugging Face's ids.
void expect_fixture_ids(const BertTokenizer& tok, const std::filesystem::path& dir, int64_t max_length) {
  auto expected = expected_ids(dir / "expected.jsonl");
  JsonLinesReader reader(dir / "texts.jsonl");
  TextRecord rec;
  size_t n = 0;
  while (reader.next(rec)) {
    ASSERT_TRUE(expected.count(rec.id)) << rec.id;
    EXPECT_EQ(tok.encode(rec.encoder_text(), max_length), expected[rec.id]) << dir << " " << rec.id;
    ++n;
  }
  EXPECT_EQ(n, expected.size());
}

TEST(Tokenizer, IdenticalToHuggingFaceOnEveryFixtureText) {
  RR_REQUIRE_SHARED();
  auto fx = test::shared_dir() / "fixtures";
  // The 4,660-text fixture was made with BertTokenizer(vocab_file, do_lower_case=True).
  expect_fixture_ids(BertTokenizer(test::shared_dir() / "data" / "vocab" / "bert-base-uncased" / "vocab.txt"),
                     fx / "tokenizer-bert-base-uncased", 512);
  // The model fixtures with BertTokenizer.from_pretrained(dir).
  expect_fixture_ids(BertTokenizer::from_directory(fx / "hf-tiny-bert"), fx / "hf-tiny-bert", 32);
  expect_fixture_ids(BertTokenizer::from_directory(fx / "hf-bert-mini"), fx / "hf-bert-mini", 512);
}

class SmallVocab : public ::testing::Test {
 protected:
  void SetUp() override {
    test::write_file(
        tmp_ / "vocab.txt",
        "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nun\n##aff\n##able\nthe\n,\n!\n[\n]\nmask\ncafe\n\xe4\xb8\xad\n"
        "\xcf\x83\n##s\n");
  }
  TempDir tmp_;
};

TEST_F(SmallVocab, WordPieceGreedyLongestMatchAndUnknowns) {
  BertTokenizer tok(tmp_ / "vocab.txt");
  EXPECT_EQ(tok.tokenize("UnAffable, the!"),
            (std::vector<std::string>{"un", "##aff", "##able", ",", "the", "!"}));
  EXPECT_EQ(tok.tokenize("unknownword"), std::vector<std::string>{"[UNK]"});
  EXPECT_EQ(tok.tokenize("Caf\xc3\xa9 cafe\xcc\x81"),
            (std::vector<std::string>{"cafe", "cafe"}));  // accents stripped
  EXPECT_EQ(tok.tokenize("x\xe4\xb8\xadthe"),
            (std::vector<std::string>{"[UNK]", "\xe4\xb8\xad", "the"}));  // CJK split
  EXPECT_EQ(tok.tokenize("the\xe2\x80\x8b\x01the"),
            std::vector<std::string>{"[UNK]"});                               // controls removed: "thethe"
  EXPECT_EQ(tok.tokenize("\xce\xa3"), std::vector<std::string>{"\xcf\x83"});  // Σ lowers to σ
  EXPECT_EQ(tok.tokenize(""), std::vector<std::string>{});
  EXPECT_EQ(tok.tokenize(std::string(101, 'a')), std::vector<std::string>{"[UNK]"});
  EXPECT_EQ(tok.encode("the the the the", 4), (std::vector<int32_t>{2, 8, 8, 3}));  // truncation keeps [SEP]
  EXPECT_THROW(tok.encode("the", 1), Error);
  EXPECT_THROW(tok.encode("bad \xff", 8), Error);
}

TEST_F(SmallVocab, SpecialTokensVerbatimOnlyAndWhereHfFindsThem) {
  BertTokenizer direct(tmp_ / "vocab.txt");
  // A directly constructed BertTokenizer keeps only whitespace-delimited special tokens whole.
  EXPECT_EQ(direct.tokenize("the [MASK] [mask] the[MASK]"),
            (std::vector<std::string>{"the", "[MASK]", "[", "mask", "]", "the", "[", "mask", "]"}));
  test::write_file(tmp_ / "model" / "vocab.txt", test::read_file(tmp_ / "vocab.txt"));
  BertTokenizer pretrained = BertTokenizer::from_directory(tmp_ / "model");
  // from_pretrained() finds them anywhere (its added-tokens trie).
  EXPECT_EQ(pretrained.tokenize("the[MASK]the [mask]"),
            (std::vector<std::string>{"the", "[MASK]", "the", "[", "mask", "]"}));
}

TEST_F(SmallVocab, TokenizerConfigControlsCase) {
  test::write_file(tmp_ / "cased" / "vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nThe\nthe\n");
  test::write_file(tmp_ / "cased" / "tokenizer_config.json", "{\"do_lower_case\": false}");
  BertTokenizer cased = BertTokenizer::from_directory(tmp_ / "cased");
  EXPECT_EQ(cased.tokenize("The the"), (std::vector<std::string>{"The", "the"}));
  test::write_file(tmp_ / "cased" / "tokenizer_config.json", "{not json");
  EXPECT_THROW(BertTokenizer::from_directory(tmp_ / "cased"), Error);
}

TEST_F(SmallVocab, BadVocabularies) {
  test::write_file(tmp_ / "nospecial.txt", "a\nb\n");
  EXPECT_THROW(BertTokenizer(tmp_ / "nospecial.txt"), Error);
  EXPECT_THROW(BertTokenizer(tmp_ / "absent.txt"), Error);
}

TEST(WordPieceTrainer, LearnsADeterministicVocabularyThatTokenizesItsCorpus) {
  std::vector<std::string> corpus = {"the quick brown fox jumps over the lazy dog", "quick quicker quickest",
                                     "the foxes jumped; the dogs slept.", "Caf\xc3\xa9 caf\xc3\xa9s"};
  WordPieceTrainerParams p;
  p.vocab_size = 80;
  p.min_frequency = 1;
  auto train = [&] {
    WordPieceTrainer t(p);
    for (int rep = 0; rep < 3; ++rep)
      for (const auto& c : corpus) t.add_text(c);
    return t.train();
  };
  auto v1 = train();
  EXPECT_EQ(v1, train());
  ASSERT_GE(v1.size(), 5u);
  EXPECT_EQ(std::vector<std::string>(v1.begin(), v1.begin() + 5),
            (std::vector<std::string>{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}));
  EXPECT_LE(v1.size(), 80u);
  EXPECT_NE(std::find(v1.begin(), v1.end(), "##s"), v1.end());
  EXPECT_NE(std::find(v1.begin(), v1.end(), "the"), v1.end());
  TempDir t;
  std::ofstream(t / "vocab.txt") << [&] {
    std::string s;
    for (auto& x : v1) s += x + "\n";
    return s;
  }();
  BertTokenizer tok(t / "vocab.txt");
  for (const auto& c : corpus)
    for (int32_t id : tok.tokenize_ids(c)) EXPECT_NE(id, tok.unk_id()) << c;
}

}  // namespace
}  // namespace rr
