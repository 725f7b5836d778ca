//===- xformer-translate.cpp - Model IR to C++ ----------------------------===//
//
// The emitters as registered translations, for lit tests and by hand:
//   xformer-opt model.mlir --xformer-cpu-pipeline | xformer-translate --xformer-to-cpp
// prints what `xformer-compile --emit=source` prints.
//
//===----------------------------------------------------------------------===//

#include "xformer/Target/Cpp/ModelToCpp.h"

#include "mlir/Tools/mlir-translate/MlirTranslateMain.h"

int main(int argc, char **argv) {
  mlir::xformer::registerToCppTranslations();
  return mlir::failed(
      mlir::mlirTranslateMain(argc, argv, "xformer translation driver"));
}
