//===- xformer-opt.cpp - The xformer optimizer driver ---------------------===//
//
// Parses, verifies, transforms and prints xformer model IR:
//   xformer-opt model.mlir --xformer-fuse-attention
//
//===----------------------------------------------------------------------===//

#include "xformer/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::xformer::registerAllDialects(registry);
  mlir::xformer::registerAllPasses();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "xformer optimizer driver\n", registry));
}
