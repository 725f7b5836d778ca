//===- BroadcastTest.cpp - NumPy broadcasting rules -----------------------===//

#include "xformer/IR/XformerTraits.h"

#include "mlir/IR/BuiltinTypes.h"

#include "gtest/gtest.h"

using namespace mlir;
using namespace mlir::xformer;

namespace {

constexpr int64_t kDyn = ShapedType::kDynamic;

TEST(Broadcast, AlignsTrailingDimensions) {
  auto r = broadcastShapes({2, 12, 8, 8}, {8, 8});
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (SmallVector<int64_t>{2, 12, 8, 8}));
}

TEST(Broadcast, StretchesOnes) {
  auto r = broadcastShapes({1, 8}, {8, 1});
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (SmallVector<int64_t>{8, 8}));
}

TEST(Broadcast, ScalarBroadcastsToAnything) {
  auto r = broadcastShapes({}, {3, 4});
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (SmallVector<int64_t>{3, 4}));
}

TEST(Broadcast, DynamicDimensions) {
  // A dynamic size against 4 can only be 1 or 4: the result is 4.
  auto r = broadcastShapes({kDyn, 8}, {4, 1});
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (SmallVector<int64_t>{4, 8}));
  // Against 1 it stays dynamic.
  auto d = broadcastShapes({kDyn, 8}, {1, 8});
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, (SmallVector<int64_t>{kDyn, 8}));
}

TEST(Broadcast, RejectsMismatch) {
  std::string why;
  EXPECT_FALSE(broadcastShapes({2, 3}, {4, 3}, &why));
  EXPECT_NE(why.find("dimension 0"), std::string::npos) << why;
}

TEST(Broadcast, BroadcastableTo) {
  EXPECT_TRUE(isBroadcastableTo({1, 1, 8, 8}, {2, 12, 8, 8}));
  EXPECT_TRUE(isBroadcastableTo({8}, {2, 8}));
  EXPECT_FALSE(isBroadcastableTo({2, 8}, {8}));
  EXPECT_FALSE(isBroadcastableTo({3, 8}, {2, 8}));
  EXPECT_EQ(shapeToString({2, kDyn, 768}), "[2, ?, 768]");
}

} // namespace
