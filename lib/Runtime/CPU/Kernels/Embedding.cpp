//===- Embedding.cpp - Embeddings and positions ---------------------------===//
//
// Table lookups (f32 rows, or rows decoded from bf16, f16 and ggml
// blocks), with every id checked against the table, and position ids.
//
//===----------------------------------------------------------------------===//

#include "Common.h"

#include "xformer/Runtime/GGMLFormats.h"

#include <cstring>
#include <optional>
#include <string>

using namespace xformer::runtime;
using namespace xformer::runtime::cpu;
using namespace xformer::runtime::cpu::kernels;

namespace {

/// Reads id `i` into `id`; a failure of the frame if it is outside the
/// table.
int32_t embeddingId(xfk_frame *f, int64_t vocab, const void *ids,
                    int32_t idsDtype, int64_t i, const char *what,
                    int64_t &id) {
  id = readIndex(ids, idsDtype, i);
  if (id >= 0 && id < vocab)
    return 0;
  std::string msg = std::string(what) + ": id " + std::to_string(id) +
                    " at index " + std::to_string(i) + " is outside [0, " +
                    std::to_string(vocab) + ")";
  return xfk_fail(f, XF_ERROR_OUT_OF_RANGE, msg.c_str());
}

} // namespace

extern "C" {

int32_t xfk_embedding(xfk_frame *f, const float *table, int64_t vocab,
                      int64_t dim, const void *ids, int32_t idsDtype,
                      int64_t n, float *out, const char *what) {
  for (int64_t i = 0; i < n; ++i) {
    int64_t id;
    if (int32_t status = embeddingId(f, vocab, ids, idsDtype, i, what, id))
      return status;
    std::memcpy(out + i * dim, table + id * dim, dim * sizeof(float));
  }
  return 0;
}

int32_t xfk_embedding_ggml(xfk_frame *f, const void *table, int32_t ggmlType,
                           int64_t vocab, int64_t dim, const void *ids,
                           int32_t idsDtype, int64_t n, float *out,
                           const char *what) {
  const std::optional<GGMLTypeTraits> traits = ggmlTypeTraits(uint32_t(ggmlType));
  if (!traits || dim % traits->blockElements != 0)
    return xfk_fail(f, XF_ERROR_INTERNAL,
                    (std::string(what) + ": no rows of " + std::to_string(dim) +
                     " elements in ggml type " + std::to_string(ggmlType))
                        .c_str());
  const int64_t rowBytes = dim / traits->blockElements * traits->blockBytes;
  const uint8_t *rows = static_cast<const uint8_t *>(table);
  for (int64_t i = 0; i < n; ++i) {
    int64_t id;
    if (int32_t status = embeddingId(f, vocab, ids, idsDtype, i, what, id))
      return status;
    dequantizeRow(traits->type, rows + id * rowBytes, out + i * dim, dim);
  }
  return 0;
}

int32_t xfk_positions(xfk_frame *, int32_t dtype, int64_t n, void *y) {
  for (int64_t i = 0; i < n; ++i) {
    if (dtype == XFM_I32)
      static_cast<int32_t *>(y)[i] = int32_t(i);
    else
      static_cast<int64_t *>(y)[i] = i;
  }
  return 0;
}

} // extern "C"
