//===- InitAll.h - Register xformer and the dialects it uses -----*- C++ -*-===//

#ifndef XFORMER_INITALL_H
#define XFORMER_INITALL_H

#include "mlir/IR/DialectRegistry.h"

namespace mlir::xformer {

/// Registers the xformer dialect and the upstream dialects that model IR and
/// the pipelines use (func, arith, tensor).
void registerAllDialects(DialectRegistry &registry);

/// Registers xformer's passes and the upstream passes its pipelines use.
void registerAllPasses();

} // namespace mlir::xformer

#endif // XFORMER_INITALL_H
