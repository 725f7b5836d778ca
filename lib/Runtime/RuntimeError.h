//===- RuntimeError.h - The runtime's per-thread last error ------*- C++ -*-===//

#ifndef XFORMER_LIB_RUNTIME_RUNTIMEERROR_H
#define XFORMER_LIB_RUNTIME_RUNTIMEERROR_H

#include "xformer/Runtime/xformer.h"

#include <string>

namespace xformer::runtime {
void setLastError(const std::string &message);
const char *lastError();

/// Records `message` as the thread's last error and returns `status`.
inline xf_status fail(xf_status status, const std::string &message) {
  setLastError(message);
  return status;
}
} // namespace xformer::runtime

#endif // XFORMER_LIB_RUNTIME_RUNTIMEERROR_H
