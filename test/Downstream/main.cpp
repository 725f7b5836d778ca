// Parses and verifies a fused attention with the installed dialect, and
// evaluates its mask with the installed semantics header.
#include "xformer/IR/XformerDialect.h"
#include "xformer/IR/XformerOps.h"
#include "xformer/Semantics/MaskSemantics.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/raw_ostream.h"

int main() {
  mlir::MLIRContext context;
  context.loadDialect<mlir::xformer::XformerDialect, mlir::func::FuncDialect>();
  const char *ir = R"mlir(
    func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x2x8x16xf32>) -> tensor<1x4x8x16xf32> {
      %o = xformer.attention %q, %k, %k, mask = #xformer.mask<sliding_window, window = 4096>, scale = 0.25
          : tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32> -> tensor<1x4x8x16xf32>
      return %o : tensor<1x4x8x16xf32>
    })mlir";
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(ir, &context);
  if (!module)
    return 1;
  int found = 0;
  module->walk([&](mlir::xformer::AttentionOp op) {
    mlir::Attribute(op.getMask()).print(llvm::outs());
    llvm::outs() << "\n";
    mlir::xformer::mask::Spec spec = op.getMask().getSpec();
    // Position 5000 sees key 905 but not key 904 (window 4096).
    if (mlir::xformer::mask::isVisiblePos(spec, 5000, 905) &&
        !mlir::xformer::mask::isVisiblePos(spec, 5000, 904))
      ++found;
  });
  return found == 1 ? 0 : 1;
}
