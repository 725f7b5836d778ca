//===- xformer-gguf-fuzz.cpp - libFuzzer target over the GGUF reader ------===//
//
// Feeds arbitrary bytes to the GGUF reader; a file it accepts has every
// tensor's first and last byte read and its first row (up to 4096
// elements) decoded from its block format, so an accepted file whose
// offsets, sizes or types were not checked shows up as a sanitizer report.
// Errors are expected; crashes, hangs and sanitizer reports are bugs.
//
//   xformer-gguf-fuzz corpus/ -max_total_time=60
//
//===----------------------------------------------------------------------===//

#include "xformer/Runtime/GGMLFormats.h"
#include "xformer/Runtime/GGUF.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

using namespace xformer::runtime;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string error;
  std::unique_ptr<GGUFFile> f = GGUFFile::parse(data, size, "fuzz.gguf", error);
  if (!f)
    return 0;
  volatile uint8_t sink = 0;
  std::vector<float> row;
  for (const GGUFTensor &t : f->tensors()) {
    if (t.bytes == 0)
      continue;
    const uint8_t *p = static_cast<const uint8_t *>(f->data(t));
    sink = sink ^ p[0] ^ p[t.bytes - 1];
    const GGMLTypeTraits traits = *ggmlTypeTraits(uint32_t(t.type));
    const int64_t n = std::min<int64_t>(t.dims[0], 4096) /
                      traits.blockElements * traits.blockElements;
    row.resize(size_t(n));
    if (n && !dequantizeRow(t.type, p, row.data(), n))
      __builtin_trap(); // a whole number of blocks of a type it read
  }
  (void)sink;
  return 0;
}
