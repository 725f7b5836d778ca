//===- BlockSparsityTest.cpp - Tile classification vs brute force ---------===//
//
// classifyTile against per-element evaluation of isVisible on 200,000
// random cases: every kind, query length != key length, decode (one query),
// prefill chunks at an offset, lengths not divisible by the tile.
//
//===----------------------------------------------------------------------===//

#include "xformer/Semantics/BlockSparsity.h"

#include "gtest/gtest.h"

#include <random>

using namespace mlir::xformer::mask;

namespace {

TileClass bruteForce(const Spec &spec, int64_t qt, int64_t kt, int64_t bq,
                     int64_t bk, int64_t qLen, int64_t kvLen) {
  bool any = false, all = true;
  for (int64_t i = qt * bq; i < qt * bq + bq; ++i)
    for (int64_t j = kt * bk; j < kt * bk + bk; ++j) {
      bool v = isVisible(spec, i, j, qLen, kvLen);
      any |= v;
      all &= v;
    }
  if (!any)
    return TileClass::Empty;
  return all ? TileClass::Full : TileClass::Partial;
}

const char *name(TileClass c) {
  return c == TileClass::Empty ? "empty"
         : c == TileClass::Full ? "full"
                                : "partial";
}

TEST(BlockSparsity, MatchesBruteForceOnRandomCases) {
  std::mt19937_64 rng(20261123);
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  const Kind kinds[] = {Kind::Bidirectional, Kind::Causal, Kind::PrefixLM,
                        Kind::SlidingWindow, Kind::Cross};
  int64_t counts[3] = {0, 0, 0};
  int64_t decode = 0, chunked = 0, ragged = 0;
  for (int n = 0; n < 200000; ++n) {
    Spec spec;
    spec.kind = kinds[uniform(0, 4)];
    spec.window = uniform(1, 40);
    spec.prefix = uniform(0, 40);
    int64_t kvLen = uniform(0, 70);
    int64_t shape = uniform(0, 3);
    int64_t qLen = shape == 0   ? 1                      // decode step
                   : shape == 1 ? uniform(1, kvLen + 1)  // chunk at an offset
                   : shape == 2 ? kvLen                  // one-shot prefill
                                : uniform(0, 70);        // anything
    decode += qLen == 1;
    chunked += qLen > 1 && qLen < kvLen;
    int64_t bq = uniform(1, 16), bk = uniform(1, 16);
    ragged += (qLen % bq) != 0 || (kvLen % bk) != 0;
    int64_t qt = uniform(0, numTiles(qLen, bq));
    int64_t kt = uniform(0, numTiles(kvLen, bk));
    TileClass got = classifyTile(spec, qt, kt, bq, bk, qLen, kvLen);
    TileClass want = bruteForce(spec, qt, kt, bq, bk, qLen, kvLen);
    ++counts[static_cast<int>(want)];
    ASSERT_EQ(got, want) << "kind " << static_cast<int>(spec.kind)
                         << " window " << spec.window << " prefix "
                         << spec.prefix << " q " << qLen << " kv " << kvLen
                         << " tile " << bq << "x" << bk << " at (" << qt
                         << ", " << kt << "): got " << name(got)
                         << ", want " << name(want);
  }
  // The sample covers every class and every shape of interest.
  EXPECT_GT(counts[0], 10000);
  EXPECT_GT(counts[1], 10000);
  EXPECT_GT(counts[2], 10000);
  EXPECT_GT(decode, 10000);
  EXPECT_GT(chunked, 10000);
  EXPECT_GT(ragged, 10000);
}

TEST(BlockSparsity, DocumentsMatchBruteForce) {
  std::mt19937_64 rng(7);
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  const Kind kinds[] = {Kind::Bidirectional, Kind::Causal, Kind::PrefixLM,
                        Kind::SlidingWindow};
  int64_t counts[3] = {0, 0, 0};
  for (int n = 0; n < 50000; ++n) {
    Spec spec;
    spec.kind = kinds[uniform(0, 3)];
    spec.window = uniform(1, 20);
    spec.prefix = uniform(0, 20);
    spec.documents = true;
    int64_t kvLen = uniform(1, 40);
    int64_t qLen = uniform(0, 1) ? kvLen : uniform(1, kvLen);
    // Random contiguous documents with distinct, unordered ids.
    std::vector<int64_t> seg(kvLen), start(kvLen), end(kvLen);
    int64_t run = 0, salt = uniform(0, 100);
    for (int64_t p = 0; p < kvLen; ++p) {
      if (p && uniform(0, 3) == 0)
        ++run;
      seg[p] = (run * 37 + salt) % 101 - 50;
    }
    for (int64_t p = 0; p < kvLen; ++p)
      start[p] = p && seg[p - 1] == seg[p] ? start[p - 1] : p;
    for (int64_t p = kvLen - 1; p >= 0; --p)
      end[p] = p + 1 < kvLen && seg[p + 1] == seg[p] ? end[p + 1] : p + 1;
    int64_t bq = uniform(1, 8), bk = uniform(1, 8);
    int64_t qt = uniform(0, numTiles(qLen, bq));
    int64_t kt = uniform(0, numTiles(kvLen, bk));
    bool any = false, all = true;
    for (int64_t i = qt * bq; i < qt * bq + bq; ++i)
      for (int64_t j = kt * bk; j < kt * bk + bk; ++j) {
        bool v = i < qLen && j < kvLen &&
                 isVisibleInDocuments(spec, i, j, qLen, kvLen, seg.data());
        any |= v;
        all &= v;
      }
    TileClass want = !any ? TileClass::Empty
                     : all ? TileClass::Full
                           : TileClass::Partial;
    ++counts[static_cast<int>(want)];
    ASSERT_EQ(classifyTileInDocuments(spec, qt, kt, bq, bk, qLen, kvLen,
                                      start.data(), end.data()),
              want)
        << "kind " << static_cast<int>(spec.kind) << " q " << qLen << " kv "
        << kvLen << " tile " << bq << "x" << bk << " at " << qt << "," << kt;
  }
  EXPECT_GT(counts[0], 1000);
  EXPECT_GT(counts[1], 1000);
  EXPECT_GT(counts[2], 1000);
}

TEST(BlockSparsity, CustomIsPartialWhereInBounds) {
  Spec custom;
  custom.kind = Kind::Custom;
  EXPECT_EQ(classifyTile(custom, 0, 0, 4, 4, 8, 8), TileClass::Partial);
  EXPECT_EQ(classifyTile(custom, 2, 0, 4, 4, 8, 8), TileClass::Empty);
}

TEST(BlockSparsity, CausalDoesAboutHalfTheWork) {
  Spec causal;
  causal.kind = Kind::Causal;
  Spec full;
  full.kind = Kind::Bidirectional;
  // 4096 x 4096 in 64 x 64 tiles: 64 * 65 / 2 tiles run, 64 of them masked.
  TileCounts c = countTiles(causal, 64, 64, 4096, 4096);
  EXPECT_EQ(c.full, 64 * 63 / 2);
  EXPECT_EQ(c.partial, 64);
  EXPECT_EQ(c.empty, 64 * 63 / 2);
  TileCounts f = countTiles(full, 64, 64, 4096, 4096);
  EXPECT_EQ(f.full, 64 * 64);
  EXPECT_EQ(countVisiblePairs(causal, 4096, 4096), 4096LL * 4097 / 2);
}

TEST(BlockSparsity, SlidingWindowTilesAreBanded) {
  Spec window;
  window.kind = Kind::SlidingWindow;
  window.window = 128;
  // Window 128 with 64-wide tiles: each query tile touches at most 3 key
  // tiles, whatever the length.
  TileCounts c = countTiles(window, 64, 64, 8192, 8192);
  EXPECT_LE(c.full + c.partial, 3 * 128);
  EXPECT_EQ(c.full + c.partial + c.empty, 128 * 128);
}

} // namespace
