//===- RuntimeError.h - The runtime's per-thread last error ------*- C++ -*-===//

#ifndef XFORMER_LIB_RUNTIME_RUNTIMEERROR_H
#define XFORMER_LIB_RUNTIME_RUNTIMEERROR_H

#include <string>

namespace xformer::runtime {
void setLastError(const std::string &message);
const char *lastError();
} // namespace xformer::runtime

#endif // XFORMER_LIB_RUNTIME_RUNTIMEERROR_H
