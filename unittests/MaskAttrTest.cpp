//===- MaskAttrTest.cpp - #xformer.mask parsing, printing, semantics ------===//

#include "xformer/IR/XformerAttrs.h"
#include "xformer/IR/XformerDialect.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include "gtest/gtest.h"

using namespace mlir;
using namespace mlir::xformer;

namespace {

class MaskAttrTest : public ::testing::Test {
protected:
  MaskAttrTest() { context.loadDialect<XformerDialect>(); }

  MaskAttr parse(StringRef text) {
    return llvm::dyn_cast_or_null<MaskAttr>(parseAttribute(text, &context));
  }

  std::string print(Attribute attr) {
    std::string out;
    llvm::raw_string_ostream os(out);
    attr.print(os);
    return out;
  }

  MLIRContext context;
};

TEST_F(MaskAttrTest, RoundTripsEveryKind) {
  for (StringRef text :
       {"#xformer.mask<bidirectional>", "#xformer.mask<causal>",
        "#xformer.mask<prefix_lm, prefix = 16>",
        "#xformer.mask<prefix_lm, prefix = ?>",
        "#xformer.mask<sliding_window, window = 4096>",
        "#xformer.mask<cross>", "#xformer.mask<custom>"}) {
    MaskAttr attr = parse(text);
    ASSERT_TRUE(attr) << text.str();
    EXPECT_EQ(print(attr), text.str());
  }
}

TEST_F(MaskAttrTest, SpecCarriesParameters) {
  mask::Spec window = parse("#xformer.mask<sliding_window, window = 3>").getSpec();
  EXPECT_EQ(window.kind, mask::Kind::SlidingWindow);
  EXPECT_EQ(window.window, 3);

  MaskAttr dyn = parse("#xformer.mask<prefix_lm, prefix = ?>");
  EXPECT_TRUE(dyn.hasDynamicPrefix());
  EXPECT_EQ(dyn.getSpec(/*runtimePrefix=*/7).prefix, 7);

  MaskAttr fixed = parse("#xformer.mask<prefix_lm, prefix = 5>");
  EXPECT_FALSE(fixed.hasDynamicPrefix());
  EXPECT_EQ(fixed.getSpec(/*runtimePrefix=*/7).prefix, 5);
}

TEST_F(MaskAttrTest, RejectsInvalidParameters) {
  // Silence the diagnostics; parse returns null on error.
  ScopedDiagnosticHandler quiet(&context, [](Diagnostic &) { return success(); });
  EXPECT_FALSE(parse("#xformer.mask<sliding_window, window = 0>"));
  EXPECT_FALSE(parse("#xformer.mask<sliding_window>"));
  EXPECT_FALSE(parse("#xformer.mask<prefix_lm, prefix = 0>"));
  EXPECT_FALSE(parse("#xformer.mask<causal, window = 4>"));
  EXPECT_FALSE(parse("#xformer.mask<bidirectional, prefix = 4>"));
  EXPECT_FALSE(parse("#xformer.mask<diagonal>"));
  EXPECT_FALSE(parse("#xformer.mask<sliding_window, window = 2, window = 3>"));
  EXPECT_FALSE(parse("#xformer.mask<causal, stride = 2>"));
}

TEST_F(MaskAttrTest, BuilderDefaultsParameters) {
  MaskAttr causal = MaskAttr::get(&context, MaskKind::causal);
  EXPECT_EQ(print(causal), "#xformer.mask<causal>");
  EXPECT_EQ(causal.getSpec().kind, mask::Kind::Causal);
}

} // namespace
