/*===- Kernels.h - CPU kernels called by generated model code ------------===*
 *
 * Each xformer op the CPU target lowers becomes one call below, with the
 * static shapes of the op baked into the call by the code generator. Every
 * kernel returns 0, or a non-zero xf_status after recording a message with
 * the frame's runtime (token id outside the vocabulary, a write past a KV
 * cache's capacity, ...). Tensors are contiguous row-major.
 *
 *===----------------------------------------------------------------------===*/

#ifndef XFORMER_RUNTIME_CPU_KERNELS_H
#define XFORMER_RUNTIME_CPU_KERNELS_H

#include "xformer/Runtime/KernelTypes.h"

#ifdef __cplusplus
extern "C" {
#endif


int32_t xfk_embedding(xfk_frame *f, const float *table, int64_t vocab,
                      int64_t dim, const void *ids, int32_t ids_dtype,
                      int64_t n, float *out, const char *what);
int32_t xfk_linear(xfk_frame *f, const float *x, const float *w,
                   const float *bias, float *y, int64_t rows, int64_t in,
                   int64_t out, int32_t weight_transposed);
/* y = act(x W^T + bias) + residual in one GEMM (oneDNN post-ops); act is
 * -1 (none) or an xfk_unary_op other than XFK_NOT; residual may be null. */
int32_t xfk_linear_fused(xfk_frame *f, const float *x, const float *w,
                         const float *bias, float *y, int64_t rows,
                         int64_t in, int64_t out, int32_t weight_transposed,
                         int32_t act, const float *residual);
/* The bf16 mode's linear: w holds bf16 words (XFM_BF16); x is rounded to
 * bf16, products are summed in f32, bias, act and residual as above. */
int32_t xfk_linear_bf16_fused(xfk_frame *f, const float *x, const uint16_t *w,
                              const float *bias, float *y, int64_t rows,
                              int64_t in, int64_t out,
                              int32_t weight_transposed, int32_t act,
                              const float *residual);
/* A linear over an f16 weight (XFM_F16, GGUF F16), [out, in]: each product
 * is the f16 value times x in f32, summed in f32; bias, act and residual as
 * above. */
int32_t xfk_linear_f16_fused(xfk_frame *f, const float *x, const uint16_t *w,
                             const float *bias, float *y, int64_t rows,
                             int64_t in, int64_t out, int32_t weight_transposed,
                             int32_t act, const float *residual);
/* The linear over a weight in ggml blocks: w is [out, in] stored as ggml
 * stores type number `ggml_type` (XFM_GGML_* - XFM_GGML); x is quantized to
 * 16 bits per block of 32 for Q8_0, Q4_0, Q4_1, Q4_K and Q6_K (integer dot
 * products),
 * other formats' rows are decoded to f32. Bias, act, residual as above. */
int32_t xfk_linear_ggml_fused(xfk_frame *f, const float *x, const void *w,
                              int32_t ggml_type, const float *bias, float *y,
                              int64_t rows, int64_t in, int64_t out,
                              int32_t act, const float *residual);
/* An embedding over a table in ggml blocks (or ggml's F16 and BF16 types,
 * 1 and 30): each looked-up row decoded to f32 as ggml decodes it. */
int32_t xfk_embedding_ggml(xfk_frame *f, const void *table, int32_t ggml_type,
                           int64_t vocab, int64_t dim, const void *ids,
                           int32_t ids_dtype, int64_t n, float *out,
                           const char *what);
/* c[batch..., m, n] = a[batch..., m, k] @ b[batch..., k, n] (or b^T when
 * transpose_rhs, b[..., n, k]); batch dimensions broadcast. `a_batch` and
 * `b_batch` are the operands' batch shapes padded to `rank`. */
int32_t xfk_matmul(xfk_frame *f, const float *a, const float *b, float *c,
                   int32_t rank, const int64_t *a_batch,
                   const int64_t *b_batch, const int64_t *c_batch, int64_t m,
                   int64_t k, int64_t n, int32_t transpose_rhs);
/* NumPy broadcasting; shapes padded to `rank`. dtype is the operands'. */
int32_t xfk_binary(xfk_frame *f, int32_t op, int32_t dtype, const void *a,
                   const int64_t *a_shape, const void *b,
                   const int64_t *b_shape, void *out,
                   const int64_t *out_shape, int32_t rank);
int32_t xfk_unary(xfk_frame *f, int32_t op, const void *x, void *y, int64_t n);
int32_t xfk_cast(xfk_frame *f, int32_t from, int32_t to, const void *x,
                 void *y, int64_t n);
int32_t xfk_broadcast(xfk_frame *f, int32_t elem_bytes, const void *x,
                      const int64_t *x_shape, void *y, const int64_t *y_shape,
                      int32_t rank);
int32_t xfk_select(xfk_frame *f, int32_t elem_bytes, const uint8_t *cond,
                   const int64_t *c_shape, const void *t,
                   const int64_t *t_shape, const void *e,
                   const int64_t *e_shape, void *out, const int64_t *o_shape,
                   int32_t rank);
int32_t xfk_masked_fill(xfk_frame *f, const float *x, const int64_t *x_shape,
                        const uint8_t *mask, const int64_t *m_shape,
                        float value, float *out, const int64_t *o_shape,
                        int32_t rank);
int32_t xfk_layer_norm(xfk_frame *f, const float *x, const float *gamma,
                       const float *beta, float *y, int64_t rows,
                       int64_t dim, float eps);
int32_t xfk_rms_norm(xfk_frame *f, const float *x, const float *gamma,
                     float *y, int64_t rows, int64_t dim, float eps);
int32_t xfk_softmax(xfk_frame *f, const float *x, float *y, int64_t outer,
                    int64_t axis, int64_t inner);
int32_t xfk_transpose(xfk_frame *f, int32_t elem_bytes, const void *x,
                      const int64_t *x_shape, const int64_t *perm, void *y,
                      int32_t rank);
int32_t xfk_slice(xfk_frame *f, int32_t elem_bytes, const void *x,
                  const int64_t *x_shape, const int64_t *offsets, void *y,
                  const int64_t *y_shape, int32_t rank);
/* Copies x[outer, inner] into y[outer, y_inner] at column `at`. */
int32_t xfk_concat_part(xfk_frame *f, int32_t elem_bytes, const void *x,
                        int64_t outer, int64_t inner, void *y,
                        int64_t y_inner, int64_t at);
/* y[b, ...] = x[b, pos[b], ...]; zeros where pos[b] is outside [0, seq). */
int32_t xfk_gather_positions(xfk_frame *f, int32_t elem_bytes, const void *x,
                             int64_t batch, int64_t seq, int64_t inner,
                             const void *pos, int32_t pos_dtype, void *y);
int32_t xfk_positions(xfk_frame *f, int32_t dtype, int64_t n, void *y);
int32_t xfk_rope(xfk_frame *f, int32_t interleaved, const float *x, float *y,
                 int64_t batch, int64_t heads, int64_t seq, int64_t head_dim,
                 int64_t rotary_dim, const void *pos, int32_t pos_dtype,
                 int32_t pos_per_batch, double theta);
int32_t xfk_rope_scaled(xfk_frame *f, int32_t interleaved, const float *x,
                        float *y, int64_t batch, int64_t heads, int64_t seq,
                        int64_t head_dim, int64_t rotary_dim, const void *pos,
                        int32_t pos_dtype, int32_t pos_per_batch, double theta,
                        int32_t scaling, double factor,
                        double low_freq_factor, double high_freq_factor,
                        int64_t original_max_positions);
int32_t xfk_relative_position_bias(xfk_frame *f, const float *table,
                                   int64_t heads, const void *q_pos,
                                   int32_t q_dtype, int64_t q_batch,
                                   int64_t q_len, const void *k_pos,
                                   int32_t k_dtype, int64_t k_len,
                                   int64_t num_buckets, int64_t max_distance,
                                   int32_t bidirectional, float *out);

int32_t xfk_attention(xfk_frame *f, const xfk_attention_args *args);

/* Writes k/v [batch, kv_heads, n, head_dim] at positions start[b] ... of
 * cache `cache` (lengths[b] of them when given). */
int32_t xfk_cache_append(xfk_frame *f, const xfm_cache_desc *cache,
                         int32_t cache_index, int64_t max_batch,
                         const float *k, const float *v, int64_t batch,
                         int64_t n, const void *start, int32_t start_dtype,
                         const void *lengths, int32_t lengths_dtype);
/* The keys and values of the first `batch` sequences in position order:
 * self and cross caches are read in place; a ring is unrolled into
 * `k_out`/`v_out`. Returns the pointers through `k`/`v`. */
int32_t xfk_cache_read(xfk_frame *f, const xfm_cache_desc *cache,
                       int32_t cache_index, int64_t max_batch, int64_t batch,
                       float *k_out, float *v_out, const float **k,
                       const float **v);

#ifdef __cplusplus
}
#endif

#endif /* XFORMER_RUNTIME_CPU_KERNELS_H */
