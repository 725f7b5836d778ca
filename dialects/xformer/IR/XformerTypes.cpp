//===- XformerTypes.cpp - xformer types -----------------------------------===//

#include "xformer/IR/XformerTypes.h"
#include "xformer/IR/XformerDialect.h"
#include "xformer/Support/GGMLBlocks.h"

#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::xformer;

#define GET_TYPEDEF_CLASSES
#include "xformer/IR/XformerTypes.cpp.inc"

void XformerDialect::registerTypes() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "xformer/IR/XformerTypes.cpp.inc"
      >();
}

namespace {
/// Every GGMLFormat case is numbered as ggml numbers the type, so the
/// layout table has it.
const ::xformer::GGMLBlockLayout &layoutOf(GGMLFormat format) {
  return *::xformer::ggmlBlockLayout(static_cast<uint32_t>(format));
}
} // namespace

int64_t GGMLType::getBlockElements() const {
  return layoutOf(getFormat()).blockElements;
}

int64_t GGMLType::getBlockBytes() const {
  return layoutOf(getFormat()).blockBytes;
}

StringRef GGMLType::getGGMLName() const { return layoutOf(getFormat()).name; }
