/*===- ModelABI.h - The contract between a compiled model and the runtime -===*
 *
 * A library produced by `xformer-compile` exports one symbol,
 * `xformer_model`, returning an `xfm_model_desc`: the ABI version it was
 * built for, its weights (name, dtype, shape: checked against the
 * safetensors file when the model is opened), its KV caches (from
 * --xformer-plan-kv-cache) and its entry points (forward, encode, prefill,
 * decode) with their static argument and result shapes. CPU code calls the
 * kernels declared in xformer/Runtime/CPU/Kernels.h; CUDA code carries its
 * kernels (xformer/Runtime/CUDA/Kernels.cuh) and the device operations the
 * runtime uses to place weights, caches, inputs and outputs on the GPU.
 *
 * Plain C so that generated code and other languages can read it.
 *
 *===----------------------------------------------------------------------===*/

#ifndef XFORMER_RUNTIME_MODELABI_H
#define XFORMER_RUNTIME_MODELABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever a struct below or a kernel signature changes: the runtime
 * refuses a library built for another version. */
#define XFORMER_MODEL_ABI_VERSION 7

/* XFM_BF16 is a storage type: the weights of linear layers in the bf16 mode
 * (--xformer-narrow-weights), 16-bit words holding a float's top half, and
 * embedding tables stored so (GGUF BF16). XFM_F16 likewise holds IEEE
 * half-precision words (GGUF F16) of linear weights and embedding tables.
 * XFM_GGML + n is a weight in ggml's block format of type number n
 * (!xformer.ggml<...>): its shape is the logical [rows, cols], its bytes
 * those of a GGUF tensor of that type (rows of cols / block elements
 * blocks). */
enum xfm_dtype {
  XFM_F32 = 0,
  XFM_I64 = 1,
  XFM_I32 = 2,
  XFM_BOOL = 3,
  XFM_BF16 = 4,
  XFM_F16 = 5,
  XFM_GGML = 64,
  XFM_Q4_0 = XFM_GGML + 2,
  XFM_Q4_1 = XFM_GGML + 3,
  XFM_Q5_0 = XFM_GGML + 6,
  XFM_Q5_1 = XFM_GGML + 7,
  XFM_Q8_0 = XFM_GGML + 8,
  XFM_Q2_K = XFM_GGML + 10,
  XFM_Q3_K = XFM_GGML + 11,
  XFM_Q4_K = XFM_GGML + 12,
  XFM_Q5_K = XFM_GGML + 13,
  XFM_Q6_K = XFM_GGML + 14
};
enum xfm_model_kind {
  XFM_ENCODER = 0,
  XFM_DECODER = 1,
  XFM_ENCODER_DECODER = 2
};
enum xfm_target { XFM_TARGET_CPU = 0, XFM_TARGET_CUDA = 1 };
enum xfm_cache_kind { XFM_CACHE_SELF = 0, XFM_CACHE_RING = 1, XFM_CACHE_CROSS = 2 };

typedef struct xfm_tensor_desc {
  const char *name;
  int32_t dtype; /* xfm_dtype */
  int32_t rank;
  const int64_t *shape;
} xfm_tensor_desc;

/* What a generated function works in. */
typedef struct xfk_frame {
  void *runtime;              /* the runtime's state (errors) */
  const void *const *weights; /* one pointer per xfm_model_desc weight, then
                                 one per fused weight */
  char *scratch;              /* scratch_bytes of 64-byte aligned memory */
  char *arena;                /* the KV cache arena (arena_bytes) */
  int64_t *cache_fill;        /* [num_caches][max_batch]: positions written */
  /* [max_batch], on the host: the sequences of this call. A cache append
   * writes nothing for a row whose entry is 0 (a sequence left out of the
   * call keeps its cache untouched); null: every row. */
  const uint8_t *active;
} xfk_frame;

typedef int32_t (*xfm_entry)(xfk_frame *frame, const void *const *inputs,
                             void *const *outputs);

typedef struct xfm_function_desc {
  const char *name;
  xfm_entry entry;
  int32_t num_inputs;
  const xfm_tensor_desc *inputs;
  int32_t num_outputs;
  const xfm_tensor_desc *outputs;
  int64_t scratch_bytes;
  /* Rows of the embedding table that input #0 (token ids) indexes; 0 when
   * no embedding reads it directly. The runtime checks every id of a call
   * against it before running anything. */
  int64_t token_vocab;
} xfm_function_desc;

typedef struct xfm_cache_desc {
  const char *name;
  int32_t kind; /* xfm_cache_kind */
  int64_t kv_heads, head_dim, capacity, window;
  int64_t offset; /* bytes into the arena: keys, then values */
  int64_t bytes;
} xfm_cache_desc;

/* How the runtime reaches a device model's memory. Every function returns 0
 * or writes a message of at most `n` bytes into `error` and returns non-zero.
 * Pointers handed to a model's entry points (weights, scratch, arena,
 * inputs, outputs) are device pointers; `cache_fill` stays on the host. */
typedef struct xfm_device_ops {
  const char *name; /* "cuda" */
  int32_t (*init)(char *error, int64_t n);
  int32_t (*alloc)(void **p, int64_t bytes, char *error, int64_t n);
  void (*free)(void *p);
  int32_t (*to_device)(void *dst, const void *src, int64_t bytes,
                       char *error, int64_t n);
  int32_t (*to_host)(void *dst, const void *src, int64_t bytes, char *error,
                     int64_t n);
  int32_t (*zero)(void *p, int64_t bytes, char *error, int64_t n);
} xfm_device_ops;

/* A weight the runtime builds once, on open, by joining weights of the table
 * along one axis (xformer-fuse-projections: the query, key and value
 * projections' weights; gate and up): `tensor` is the result (its name
 * joins the parts' with '+'), `parts` index xfm_model_desc.weights, all of
 * the result's dtype and rank and agreeing on every dimension but `axis`
 * (0 for ggml blocks). Generated code reads fused weight k as
 * weights[num_weights + k]. `parts_unread`: no code reads the parts but
 * through this weight, so the runtime frees the copies it made of them
 * (their weights[] entries become null). */
typedef struct xfm_fused_weight_desc {
  xfm_tensor_desc tensor;
  int32_t axis;
  int32_t num_parts;
  const int32_t *parts;
  int32_t parts_unread;
} xfm_fused_weight_desc;

typedef struct xfm_model_desc {
  int32_t abi_version;
  const char *compiler_version;
  int32_t model_kind; /* xfm_model_kind */
  int32_t num_weights;
  const xfm_tensor_desc *weights;
  int32_t num_functions;
  const xfm_function_desc *functions;
  int32_t num_caches;
  const xfm_cache_desc *caches;
  int64_t arena_bytes;
  int64_t max_batch;   /* sequences the caches hold */
  int64_t max_seq_len; /* positions a self cache holds */
  int32_t target;                /* xfm_target */
  const xfm_device_ops *device;  /* null for the CPU */
  int32_t num_fused_weights;
  const xfm_fused_weight_desc *fused_weights;
} xfm_model_desc;

typedef const xfm_model_desc *(*xfm_describe_fn)(void);
#define XFORMER_MODEL_SYMBOL "xformer_model"

#ifdef __cplusplus
}
#endif

#endif /* XFORMER_RUNTIME_MODELABI_H */
