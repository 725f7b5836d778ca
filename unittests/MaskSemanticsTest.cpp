//===- MaskSemanticsTest.cpp - mask::isVisible against truth tables -------===//
//
// Each table below is written by hand from the definition of the mask kinds
// (row i = query index, column j = key index, 1 = visible), independently of
// the implementation. The exhaustive tests then check that the key ranges
// the kernels iterate agree with isVisible() for every small size.
//
//===----------------------------------------------------------------------===//

#include "xformer/Semantics/MaskSemantics.h"

#include "gtest/gtest.h"

#include <string>
#include <vector>

using namespace mlir::xformer::mask;

namespace {

/// Renders isVisible for a q_len x kv_len grid as rows of 0/1.
std::vector<std::string> render(const Spec &spec, int64_t qLen, int64_t kvLen) {
  std::vector<std::string> rows;
  for (int64_t i = 0; i < qLen; ++i) {
    std::string row;
    for (int64_t j = 0; j < kvLen; ++j)
      row += isVisible(spec, i, j, qLen, kvLen) ? '1' : '0';
    rows.push_back(row);
  }
  return rows;
}

Spec make(Kind kind, int64_t window = 0, int64_t prefix = 0) {
  Spec s;
  s.kind = kind;
  s.window = window;
  s.prefix = prefix;
  return s;
}

using Table = std::vector<std::string>;

TEST(MaskTruthTable, Bidirectional) {
  EXPECT_EQ(render(make(Kind::Bidirectional), 3, 3),
            (Table{"111", "111", "111"}));
}

TEST(MaskTruthTable, CausalSquare) {
  EXPECT_EQ(render(make(Kind::Causal), 4, 4),
            (Table{"1000", "1100", "1110", "1111"}));
}

TEST(MaskTruthTable, CausalChunkAtOffset) {
  // Two queries at positions 3 and 4 over five keys.
  EXPECT_EQ(render(make(Kind::Causal), 2, 5), (Table{"11110", "11111"}));
}

TEST(MaskTruthTable, CausalDecodeStep) {
  // One query at position kv_len - 1 sees every cached key.
  EXPECT_EQ(render(make(Kind::Causal), 1, 5), (Table{"11111"}));
}

TEST(MaskTruthTable, CausalMoreQueriesThanKeys) {
  // Queries sit at positions -2, -1, 0, 1, 2: the first two see nothing.
  EXPECT_EQ(render(make(Kind::Causal), 5, 3),
            (Table{"000", "000", "100", "110", "111"}));
}

TEST(MaskTruthTable, SlidingWindowTwo) {
  EXPECT_EQ(render(make(Kind::SlidingWindow, 2), 5, 5),
            (Table{"10000", "11000", "01100", "00110", "00011"}));
}

TEST(MaskTruthTable, SlidingWindowOneIsDiagonal) {
  EXPECT_EQ(render(make(Kind::SlidingWindow, 1), 4, 4),
            (Table{"1000", "0100", "0010", "0001"}));
}

TEST(MaskTruthTable, SlidingWindowDecode) {
  // Window 3, query at position 5 over six keys: keys 3, 4, 5.
  EXPECT_EQ(render(make(Kind::SlidingWindow, 3), 1, 6), (Table{"000111"}));
}

TEST(MaskTruthTable, SlidingWindowChunk) {
  // Window 3, queries at positions 4 and 5.
  EXPECT_EQ(render(make(Kind::SlidingWindow, 3), 2, 6),
            (Table{"001110", "000111"}));
}

TEST(MaskTruthTable, PrefixLM) {
  // Prefix 2: the first two keys are visible to all; then causal.
  EXPECT_EQ(render(make(Kind::PrefixLM, 0, 2), 5, 5),
            (Table{"11000", "11000", "11100", "11110", "11111"}));
}

TEST(MaskTruthTable, PrefixLMPrefixThree) {
  EXPECT_EQ(render(make(Kind::PrefixLM, 0, 3), 4, 4),
            (Table{"1110", "1110", "1110", "1111"}));
}

TEST(MaskTruthTable, PrefixLMChunk) {
  // Prefix 3, queries at positions 3 and 4 over five keys.
  EXPECT_EQ(render(make(Kind::PrefixLM, 0, 3), 2, 5),
            (Table{"11110", "11111"}));
}

TEST(MaskTruthTable, PrefixZeroIsCausal) {
  EXPECT_EQ(render(make(Kind::PrefixLM, 0, 0), 4, 4),
            (Table{"1000", "1100", "1110", "1111"}));
}

TEST(MaskTruthTable, PrefixCoveringEverythingIsBidirectional) {
  EXPECT_EQ(render(make(Kind::PrefixLM, 0, 3), 3, 3),
            (Table{"111", "111", "111"}));
}

TEST(MaskTruthTable, Cross) {
  EXPECT_EQ(render(make(Kind::Cross), 2, 4), (Table{"1111", "1111"}));
}

TEST(MaskTruthTable, PaddingIsNeverVisible) {
  Spec causal = make(Kind::Causal);
  EXPECT_FALSE(isVisible(causal, 0, 3, 4, 3)); // key past kv_len
  EXPECT_FALSE(isVisible(causal, 4, 0, 4, 4)); // query past q_len
  EXPECT_FALSE(isVisible(causal, -1, 0, 4, 4));
  EXPECT_FALSE(isVisible(causal, 0, -1, 4, 4));
  EXPECT_FALSE(isVisible(make(Kind::Bidirectional), 0, 0, 0, 0));
}

TEST(MaskTruthTable, PositionAlignment) {
  EXPECT_EQ(queryPosition(0, 1, 10), 9);  // decode step
  EXPECT_EQ(queryPosition(0, 4, 4), 0);   // one-shot prefill
  EXPECT_EQ(queryPosition(1, 4, 12), 9);  // chunk at offset 8
}

/// Every kind with every parameter, over all sizes up to 9 x 9.
std::vector<Spec> allSpecs(int64_t maxParam) {
  std::vector<Spec> specs = {make(Kind::Bidirectional), make(Kind::Causal),
                             make(Kind::Cross), make(Kind::Custom)};
  for (int64_t w = 1; w <= maxParam; ++w)
    specs.push_back(make(Kind::SlidingWindow, w));
  for (int64_t p = 0; p <= maxParam; ++p)
    specs.push_back(make(Kind::PrefixLM, 0, p));
  return specs;
}

TEST(MaskExhaustive, KeyRangeAgreesWithVisibility) {
  for (const Spec &spec : allSpecs(10)) {
    if (spec.kind == Kind::Custom)
      continue;
    for (int64_t qLen = 0; qLen <= 9; ++qLen)
      for (int64_t kvLen = 0; kvLen <= 9; ++kvLen)
        for (int64_t i = 0; i < qLen; ++i) {
          KeyRange range = visibleKeys(spec, i, qLen, kvLen);
          for (int64_t j = 0; j < kvLen; ++j) {
            bool inRange = j >= range.first && j < range.last;
            ASSERT_EQ(inRange, isVisible(spec, i, j, qLen, kvLen))
                << "kind " << static_cast<int>(spec.kind) << " window "
                << spec.window << " prefix " << spec.prefix << " q " << qLen
                << " kv " << kvLen << " i " << i << " j " << j;
          }
        }
  }
}

TEST(MaskExhaustive, KindRelations) {
  for (int64_t qLen = 1; qLen <= 8; ++qLen)
    for (int64_t kvLen = qLen; kvLen <= 8; ++kvLen)
      for (int64_t i = 0; i < qLen; ++i)
        for (int64_t j = 0; j < kvLen; ++j) {
          bool causal = isVisible(make(Kind::Causal), i, j, qLen, kvLen);
          // A window at least as long as the sequence is causal.
          EXPECT_EQ(causal, isVisible(make(Kind::SlidingWindow, kvLen), i, j,
                                      qLen, kvLen));
          // Prefix 0 is causal; every prefix contains causal.
          EXPECT_EQ(causal,
                    isVisible(make(Kind::PrefixLM, 0, 0), i, j, qLen, kvLen));
          for (int64_t p = 0; p <= kvLen; ++p)
            if (causal)
              EXPECT_TRUE(
                  isVisible(make(Kind::PrefixLM, 0, p), i, j, qLen, kvLen));
          // A window only removes keys from causal.
          for (int64_t w = 1; w <= kvLen; ++w)
            if (isVisible(make(Kind::SlidingWindow, w), i, j, qLen, kvLen))
              EXPECT_TRUE(causal);
          // No positional kind sees the future.
          int64_t p = queryPosition(i, qLen, kvLen);
          if (j > p) {
            EXPECT_FALSE(causal);
            EXPECT_FALSE(
                isVisible(make(Kind::SlidingWindow, 3), i, j, qLen, kvLen));
          }
        }
}

TEST(MaskExhaustive, CanSeeFuture) {
  EXPECT_TRUE(canSeeFuture(Kind::Bidirectional));
  EXPECT_TRUE(canSeeFuture(Kind::Custom));
  EXPECT_TRUE(canSeeFuture(Kind::PrefixLM));
  EXPECT_FALSE(canSeeFuture(Kind::Causal));
  EXPECT_FALSE(canSeeFuture(Kind::SlidingWindow));
}

} // namespace
