//===- TokenizerTest.cpp - tokenizer.json loading and bad input -----------===//
//
// Small hand-made tokenizer files whose results follow from the algorithms
// by hand (the comparison with the Hugging Face library on real files is
// test/e2e/tokenizer.test); here under the sanitizers too, the malformed
// files and text that must fail cleanly.
//
//===----------------------------------------------------------------------===//

#include "xformer/Tokenizer/Tokenizer.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

using xformer::tokenizer::Tokenizer;

namespace {

std::string writeFile(const std::string &name, const std::string &text) {
  std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

const char *kWordPiece = R"({
  "added_tokens": [{"id": 1, "content": "[CLS]", "special": true},
                   {"id": 2, "content": "[SEP]", "special": true}],
  "normalizer": {"type": "BertNormalizer", "lowercase": true},
  "pre_tokenizer": {"type": "BertPreTokenizer"},
  "post_processor": {"type": "TemplateProcessing",
    "single": [{"SpecialToken": {"id": "[CLS]"}}, {"Sequence": {"id": "A"}},
               {"SpecialToken": {"id": "[SEP]"}}],
    "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [1]},
                       "[SEP]": {"id": "[SEP]", "ids": [2]}}},
  "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
  "model": {"type": "WordPiece", "unk_token": "[UNK]",
    "vocab": {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "hello": 3, "world": 4,
              "##s": 5, ",": 6, "!": 7, "cafe": 8}}
})";

/// The library's own documented example of the delimiter behaviours:
/// "the-final--countdown" split on '-'. A WordLevel model gives each
/// expected piece an id, so the ids spell the pieces.
TEST(Tokenizer, SplitBehaviorsByHand) {
  const char *vocab = R"("vocab": {"[UNK]": 0, "the": 1, "final": 2,
      "countdown": 3, "-": 4, "the-": 5, "final-": 6, "-final": 7,
      "-countdown": 8, "--": 9})";
  struct Case {
    const char *behavior;
    std::vector<int64_t> ids;
  } cases[] = {
      {"Removed", {1, 2, 3}},
      {"Isolated", {1, 4, 2, 4, 4, 3}},
      {"MergedWithPrevious", {5, 6, 4, 3}},
      {"MergedWithNext", {1, 7, 4, 8}},
      {"Contiguous", {1, 4, 2, 9, 3}},
  };
  for (const Case &c : cases) {
    std::string json =
        std::string(
            R"({"model": {"type": "WordLevel", "unk_token": "[UNK]", )") +
        vocab + R"(}, "pre_tokenizer": {"type": "Split", "pattern": )" +
        R"({"String": "-"}, "invert": false, "behavior": ")" + c.behavior +
        R"("}})";
    std::string error;
    auto tok = Tokenizer::load(
        writeFile(std::string("split-") + c.behavior + ".json", json), error);
    ASSERT_TRUE(tok) << error;
    std::vector<int64_t> ids;
    ASSERT_TRUE(tok->encode("the-final--countdown", false, ids, error));
    EXPECT_EQ(ids, c.ids) << c.behavior;
  }
}

TEST(Tokenizer, WordPieceByHand) {
  std::string error;
  auto tok = Tokenizer::load(writeFile("wp.json", kWordPiece), error);
  ASSERT_TRUE(tok) << error;
  std::vector<int64_t> ids;
  // Lowercased, accents stripped, punctuation split off, "worlds" ->
  // "world" "##s", "xyz" unknown.
  ASSERT_TRUE(tok->encode("Hello, Worlds! CAF\xC3\x89 xyz", true, ids, error));
  EXPECT_EQ(ids, (std::vector<int64_t>{1, 3, 6, 4, 5, 7, 8, 0, 2}));
  ASSERT_TRUE(tok->encode("hello", false, ids, error));
  EXPECT_EQ(ids, (std::vector<int64_t>{3}));
  std::string text;
  ASSERT_TRUE(tok->decode({1, 3, 6, 4, 5, 7, 2}, true, text, error));
  EXPECT_EQ(text, "hello, worlds!");
  ASSERT_TRUE(tok->decode({1, 3, 2}, false, text, error));
  EXPECT_EQ(text, "[CLS] hello [SEP]");
  EXPECT_EQ(tok->tokenToId("world"), 4);
  EXPECT_EQ(tok->tokenToId("[SEP]"), 2);
  EXPECT_FALSE(tok->tokenToId("nope"));
  EXPECT_EQ(tok->vocabSize(), 9);
}

TEST(Tokenizer, BadTextAndIds) {
  std::string error;
  auto tok = Tokenizer::load(writeFile("wp2.json", kWordPiece), error);
  ASSERT_TRUE(tok) << error;
  std::vector<int64_t> ids;
  EXPECT_FALSE(tok->encode("ok \xFF\xFE", true, ids, error));
  EXPECT_NE(error.find("not valid UTF-8"), std::string::npos) << error;
  EXPECT_FALSE(tok->encode("\xC3", true, ids, error)); // cut short
  std::string text;
  EXPECT_FALSE(tok->decode({3, 9}, true, text, error));
  EXPECT_NE(error.find("token id 9 is not in the vocabulary"),
            std::string::npos)
      << error;
  EXPECT_FALSE(tok->decode({-1}, true, text, error));
  ASSERT_TRUE(tok->encode("", true, ids, error));
  EXPECT_EQ(ids, (std::vector<int64_t>{1, 2}));
}

TEST(Tokenizer, ByteLevelBpeByHand) {
  // Bytes of "ab ab": 'a' 'b' 'Ġ' (the space) 'a' 'b'; the merges make
  // "ab" (rank 0), then "Ġab" (rank 1).
  const char *json = R"({
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false,
                      "use_regex": true},
    "decoder": {"type": "ByteLevel"},
    "model": {"type": "BPE",
      "vocab": {"a": 0, "b": 1, "\u0120": 2, "ab": 3, "\u0120ab": 4},
      "merges": ["a b", "\u0120 ab"]}
  })";
  std::string error;
  auto tok = Tokenizer::load(writeFile("bpe.json", json), error);
  ASSERT_TRUE(tok) << error;
  std::vector<int64_t> ids;
  ASSERT_TRUE(tok->encode("ab ab", true, ids, error));
  EXPECT_EQ(ids, (std::vector<int64_t>{3, 4}));
  // A character outside the vocab with no unk_token is dropped (as the
  // Hugging Face library does).
  ASSERT_TRUE(tok->encode("abc", true, ids, error));
  EXPECT_EQ(ids, (std::vector<int64_t>{3}));
  std::string text;
  ASSERT_TRUE(tok->decode({3, 4, 2}, true, text, error));
  EXPECT_EQ(text, "ab ab ");
}

TEST(Tokenizer, UnigramByHand) {
  // Metaspace turns "ab ab" into the words "_ab" "_ab" (_ = U+2581). Each
  // is "_ab" (-3.5) rather than "_" "ab" (-4) or "_" "a" "b" (-5). "x" and
  // "y" have no piece: each costs the lowest score less 10 and the two
  // become one unk.
  const char *json = R"({
    "pre_tokenizer": {"type": "Metaspace", "replacement": "▁",
                      "prepend_scheme": "always", "split": true},
    "decoder": {"type": "Metaspace", "replacement": "▁",
                "prepend_scheme": "always"},
    "model": {"type": "Unigram", "unk_id": 0,
      "vocab": [["<unk>", 0.0], ["▁", -1.0], ["a", -2.0], ["b", -2.0],
                ["ab", -3.0], ["▁ab", -3.5], ["c", -5.0]]}
  })";
  std::string error;
  auto tok = Tokenizer::load(writeFile("unigram.json", json), error);
  ASSERT_TRUE(tok) << error;
  std::vector<int64_t> ids;
  ASSERT_TRUE(tok->encode("ab ab", true, ids, error));
  EXPECT_EQ(ids, (std::vector<int64_t>{5, 5}));
  ASSERT_TRUE(tok->encode("xyab", true, ids, error));
  EXPECT_EQ(ids, (std::vector<int64_t>{1, 0, 4}));
  ASSERT_TRUE(tok->encode("cab", true, ids, error));
  EXPECT_EQ(ids, (std::vector<int64_t>{1, 6, 4}));
  std::string text;
  // The first token's replacement character is dropped, the others are
  // spaces.
  ASSERT_TRUE(tok->decode({5, 5, 1, 2}, true, text, error));
  EXPECT_EQ(text, "ab ab a");
}

TEST(Tokenizer, ByteFallbackDecoderByHand) {
  // <0xC3> <0xA9> is "é"; a lone <0xC3> is not UTF-8 and reads as U+FFFD.
  const char *json = R"({
    "decoder": {"type": "Sequence", "decoders": [
      {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
      {"type": "ByteFallback"}, {"type": "Fuse"},
      {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
    "model": {"type": "BPE", "byte_fallback": true, "merges": [],
      "vocab": {"<0xC3>": 0, "<0xA9>": 1, "▁caf": 2}}
  })";
  std::string error;
  auto tok = Tokenizer::load(writeFile("bytefallback.json", json), error);
  ASSERT_TRUE(tok) << error;
  std::string text;
  ASSERT_TRUE(tok->decode({2, 0, 1, 2, 0}, true, text, error));
  EXPECT_EQ(text, "caf\xC3\xA9 caf\xEF\xBF\xBD");
  std::vector<int64_t> ids;
  ASSERT_TRUE(tok->encode("\xC3\xA9", true, ids, error)); // bytes of é
  EXPECT_EQ(ids, (std::vector<int64_t>{0, 1}));
}

TEST(Tokenizer, CatastrophicRegexFailsInsteadOfHanging) {
  // (a+)+b backtracks exponentially on a run of a's with no b: the match
  // runs into its time limit and encoding fails with the reason.
  const char *json = R"({
    "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(a+)+b"},
                      "behavior": "Isolated", "invert": false},
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": []}
  })";
  std::string error;
  auto tok = Tokenizer::parse(json, "evil.json", error);
  ASSERT_TRUE(tok) << error;
  std::vector<int64_t> ids;
  ASSERT_TRUE(tok->encode("aab", true, ids, error)) << error;
  EXPECT_EQ(ids, (std::vector<int64_t>{0, 0, 1}));
  EXPECT_FALSE(tok->encode(std::string(60, 'a') + "c", true, ids, error));
  EXPECT_NE(error.find("U_REGEX_TIME_OUT"), std::string::npos) << error;
  EXPECT_TRUE(ids.empty());
}

TEST(Tokenizer, MalformedFilesAreRefused) {
  struct Case {
    const char *json, *message;
  } cases[] = {
      {"[1, 2]", "not a JSON object"},
      {"{\"model\": 3}", "model has no type"},
      {"{\"model\": {\"type\": \"WordPiece\"}}", "no vocab object"},
      {"{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": \"x\"}}}",
       "vocab entry 'a' has no valid id"},
      {"{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0}}}",
       "unk_token '[UNK]' is not in the vocab"},
      {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, "
       "\"merges\": [\"a b\"]}}",
       "names a token that is not in the vocab"},
      {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, "
       "\"merges\": [17]}}",
       "is not two tokens"},
      {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, "
       "\"merges\": []}, \"normalizer\": {\"type\": \"Bogus\"}}",
       "unsupported normalizer 'Bogus'"},
      {"{\"model\": {\"type\": \"WordLevel\", \"vocab\": {\"a\": 0}}, "
       "\"pre_tokenizer\": {\"type\": \"CharDelimiterSplit\", "
       "\"delimiter\": \"ab\"}}",
       "CharDelimiterSplit needs a one-character delimiter"},
      {"{\"model\": {\"type\": \"WordLevel\", \"vocab\": {\"a\": 0}}, "
       "\"pre_tokenizer\": {\"type\": \"Split\", "
       "\"pattern\": {\"String\": \"-\"}}}",
       "pre_tokenizer Split has no behavior"},
      {"{\"model\": {\"type\": \"WordLevel\", \"vocab\": {\"a\": 0}}, "
       "\"pre_tokenizer\": {\"type\": \"Split\", "
       "\"pattern\": {\"String\": \"-\"}, \"behavior\": \"Sideways\"}}",
       "unsupported pre_tokenizer Split behavior 'Sideways'"},
      {"{\"model\": {\"type\": \"WordLevel\", \"vocab\": []}}",
       "model has no vocab object"},
      // A post-processor id past the vocabulary (found by the fuzzer).
      {"{\"model\": {\"type\": \"WordLevel\", \"vocab\": {\"a\": 0}, "
       "\"unk_token\": \"a\"}, \"post_processor\": {\"type\": "
       "\"BertProcessing\", \"cls\": [\"[CLS]\", 11], \"sep\": [\"a\", 0]}}",
       "post_processor id 11 is outside the vocabulary (1 ids)"},
      {"{\"model\": {\"type\": \"WordLevel\", \"vocab\": {\"a\": 0}, "
       "\"unk_token\": \"a\"}, \"post_processor\": {\"type\": "
       "\"BertProcessing\", \"cls\": [\"a\", 0], \"sep\": [\"b\", -1]}}",
       "post_processor id -1 is outside the vocabulary"},
      {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, "
       "\"merges\": []}, \"normalizer\": {\"type\": \"Precompiled\", "
       "\"precompiled_charsmap\": \"%%%\"}}",
       "precompiled_charsmap is not base64"},
      {"{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\"]]}}",
       "is not a [piece, score] pair"},
      {"{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}",
       "Unigram model has an empty vocab"},
      {"{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\", 0]]}, "
       "\"pre_tokenizer\": {\"type\": \"Metaspace\", "
       "\"prepend_scheme\": \"sometimes\"}}",
       "unsupported Metaspace prepend_scheme \"sometimes\""},
      {"{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\", 0]]}, "
       "\"pre_tokenizer\": {\"type\": \"Metaspace\", "
       "\"replacement\": \"ab\"}}",
       "Metaspace replacement must be one character"},
      {"{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\", 0]]}, "
       "\"decoder\": {\"type\": \"Strip\", \"content\": \" \", "
       "\"start\": -1}}",
       "decoder Strip field 'start' must be a count"},
      {"{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\", 0]]}, "
       "\"decoder\": {\"type\": \"Replace\", \"content\": \" \"}}",
       "decoder Replace has no String or Regex pattern"},
      {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, "
       "\"merges\": []}, \"pre_tokenizer\": {\"type\": \"Split\", "
       "\"pattern\": {\"Regex\": \"(\"}, \"behavior\": \"Isolated\"}}",
       "does not compile"},
      {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 99999999}, "
       "\"merges\": []}}",
       "not a plausible vocabulary"},
      {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, "
       "\"merges\": []}, \"decoder\": {\"type\": \"Bogus\"}}",
       "unsupported decoder 'Bogus'"},
      {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, "
       "\"merges\": []}, \"pre_tokenizer\": {\"type\": \"FixedLength\", "
       "\"length\": -3}}",
       "FixedLength length must be a positive count"},
  };
  int n = 0;
  for (const Case &c : cases) {
    std::string error;
    auto tok = Tokenizer::load(
        writeFile("bad" + std::to_string(n++) + ".json", c.json), error);
    EXPECT_FALSE(tok) << c.json;
    EXPECT_NE(error.find(c.message), std::string::npos)
        << c.json << " -> " << error;
  }
  std::string error;
  EXPECT_FALSE(Tokenizer::load(::testing::TempDir() + "/missing.json", error));
  EXPECT_NE(error.find("cannot be read"), std::string::npos) << error;
}

} // namespace
