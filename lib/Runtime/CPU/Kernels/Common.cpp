//===- Common.cpp - The kernels' error hook -------------------------------===//
//
// xfk_fail: records a kernel's error for the runtime to report.
//
//===----------------------------------------------------------------------===//

#include "Common.h"

#include "RuntimeError.h"

using namespace xformer::runtime;
using namespace xformer::runtime::cpu;
using namespace xformer::runtime::cpu::kernels;

extern "C" {

int32_t xfk_fail(xfk_frame *, int32_t status, const char *message) {
  setLastError(message);
  return status;
}

} // extern "C"
