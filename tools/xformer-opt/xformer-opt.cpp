//===- xformer-opt.cpp - The xformer optimizer driver ---------------------===//
//
// Parses, verifies, transforms and prints xformer model IR:
//   xformer-opt model.mlir --xformer-fuse-attention
//
//===----------------------------------------------------------------------===//

#include "xformer/InitAll.h"
#include "xformer/Support/Nesting.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::xformer::registerAllDialects(registry);
  mlir::xformer::registerAllPasses();
  auto [input, output] = mlir::registerAndParseCLIOptions(
      argc, argv, "xformer optimizer driver\n", registry);
  // The parser recurses per nesting level: refuse input nested deeper than
  // any model before it can overflow the stack.
  std::string error;
  std::unique_ptr<llvm::MemoryBuffer> file =
      mlir::openInputFile(input, &error);
  if (!file) {
    llvm::errs() << "xformer-opt: " << error << "\n";
    return 1;
  }
  mlir::xformer::NestingError deep;
  if (mlir::xformer::tooDeep(file->getBuffer(), /*mlir=*/true, deep)) {
    llvm::errs() << (input == "-" ? "<stdin>" : input) << ":"
                 << deep.message() << ": not model IR\n";
    return 1;
  }
  auto out = mlir::openOutputFile(output, &error);
  if (!out) {
    llvm::errs() << "xformer-opt: " << error << "\n";
    return 1;
  }
  mlir::MlirOptMainConfig config = mlir::MlirOptMainConfig::createFromCLOptions();
  if (mlir::failed(mlir::MlirOptMain(out->os(), std::move(file), registry,
                                     config)))
    return 1;
  out->keep();
  return 0;
}
