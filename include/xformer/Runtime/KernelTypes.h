/*===- KernelTypes.h - What the CPU and CUDA kernel libraries share -------===*
 *
 * The operation codes, the attention arguments and the error hook that
 * generated model code passes to either kernel library
 * (xformer/Runtime/CPU/Kernels.h, xformer/Runtime/CUDA/Kernels.cuh). The
 * orchestration the compiler emits is the same for both targets; only the
 * kernels behind these names differ.
 *
 *===----------------------------------------------------------------------===*/

#ifndef XFORMER_RUNTIME_KERNELTYPES_H
#define XFORMER_RUNTIME_KERNELTYPES_H

#include "xformer/Runtime/ModelABI.h"

#ifdef __cplusplus
extern "C" {
#endif

enum xfk_binary_op {
  XFK_ADD, XFK_SUB, XFK_MUL, XFK_DIV, XFK_AND, XFK_OR,
  XFK_EQ, XFK_NE, XFK_LT, XFK_LE, XFK_GT, XFK_GE
};
enum xfk_unary_op {
  XFK_GELU_ERF, XFK_GELU_TANH, XFK_RELU, XFK_SILU, XFK_TANH, XFK_NOT
};
enum xfk_mask_kind {
  XFK_MASK_BIDIRECTIONAL, XFK_MASK_CAUSAL, XFK_MASK_PREFIX_LM,
  XFK_MASK_SLIDING_WINDOW, XFK_MASK_CROSS, XFK_MASK_CUSTOM
};

/* Records an error for the runtime to report; returns `status`. */
int32_t xfk_fail(xfk_frame *f, int32_t status, const char *message);

/* Rotary frequency scaling (Hugging Face's rope_type) of xfk_rope_scaled. */
enum { XFK_ROPE_SCALING_NONE = 0, XFK_ROPE_SCALING_LINEAR = 1,
       XFK_ROPE_SCALING_LLAMA3 = 2 };

typedef struct xfk_attention_args {
  const float *q, *k, *v;
  float *out;
  int64_t batch, heads, kv_heads, q_len, kv_len, head_dim, v_head_dim;
  float scale;
  int32_t mask_kind; /* xfk_mask_kind */
  int64_t window, prefix;
  int32_t documents;
  const void *q_lengths, *kv_lengths, *prefix_lengths, *segment_ids;
  int32_t q_lengths_dtype, kv_lengths_dtype, prefix_lengths_dtype,
      segment_ids_dtype;
  const uint8_t *mask; /* custom: [batch or 1, heads or 1, q_len, kv_len] */
  int64_t mask_batch_stride, mask_head_stride;
  const float *bias; /* [batch or 1, heads or 1, q_len, kv_len] */
  int64_t bias_batch_stride, bias_head_stride;
} xfk_attention_args;
#ifdef __cplusplus
}

#include "xformer/Runtime/xformer.h"

#include <string>

/* One sequence's cache append against the plan: `len` positions of a chunk
 * of `n` at position `start`. The same checks and messages on both
 * targets; returns 0, or the status xfk_fail recorded. */
inline int32_t xfk_check_cache_append(xfk_frame *f, const xfm_cache_desc *c,
                                      int64_t b, int64_t start, int64_t len,
                                      int64_t n) {
  if (len < 0 || len > n || start < 0) {
    std::string msg = std::string(c->name) + ": sequence " +
                      std::to_string(b) + " appends " + std::to_string(len) +
                      " positions at " + std::to_string(start) +
                      " (chunk of " + std::to_string(n) + ")";
    return xfk_fail(f, XF_ERROR_INVALID_ARGUMENT, msg.c_str());
  }
  if (len > 0 && c->kind != XFM_CACHE_RING && start + len > c->capacity) {
    std::string msg = std::string(c->name) + ": sequence " +
                      std::to_string(b) + " needs " +
                      std::to_string(start + len) +
                      " cached positions; the plan holds " +
                      std::to_string(c->capacity);
    return xfk_fail(f, XF_ERROR_CAPACITY, msg.c_str());
  }
  return 0;
}
#endif

#endif /* XFORMER_RUNTIME_KERNELTYPES_H */
