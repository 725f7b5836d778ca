/*===- xformer.h - The C API of compiled xformer models ------------------===*
 *
 * Open a library produced by `xformer-compile` with its safetensors
 * weights, then run it:
 *
 *   xf_model *m;
 *   if (xf_open("model.so", "model.safetensors", &m) != XF_OK)
 *     fprintf(stderr, "%s\n", xf_last_error());
 *
 * - encoders (BERT): xf_encode -> hidden states [batch, seq, hidden] and,
 *   when the model has one, the pooled embedding [batch, hidden];
 * - decoders (GPT-2, Llama, Mistral): xf_prefill appends a prompt to each
 *   sequence's KV cache and returns the logits of its last token;
 *   xf_decode appends one token per sequence; xf_generate does both with
 *   greedy or sampled decoding;
 * - encoder-decoders (T5, BART): xf_encode_source fills the cross caches,
 *   then xf_prefill / xf_decode / xf_generate run the decoder.
 *
 * Batches may hold fewer sequences than the model was compiled for, and
 * sequences of different lengths (`lengths`). Prompts longer than the
 * compiled chunk are prefilled chunk by chunk. Every call returns an
 * xf_status; on failure xf_last_error() (per thread) names the cause.
 *
 * Contract:
 * - Threads: different models are independent and may run at the same time
 *   from different threads. Calls on one model are serialized (a second
 *   thread waits for the first call to return); its sequences' state is
 *   shared, so interleaving two users' calls on one model is the caller's
 *   business.
 * - A failed call changes nothing: positions and caches are as before it
 *   (arguments and ids are checked before anything runs). The exceptions
 *   are failures after a program ran (a non-finite result, a device
 *   error): a sliding-window (ring) cache it overwrote makes its sequences
 *   refuse calls until xf_reset, and a failed xf_encode_source leaves no
 *   source encoded.
 * - Sequences outside a call (rows at or past `batch`) are never touched.
 * - Files: the library is copied into private memory on open (recompiling
 *   it, even to the same path, does not affect an open model). The weights
 *   are copied too unless XF_OPEN_MMAP is given; then they are read in place
 *   and the file must not change while the model is open (each call checks
 *   its inode, size and modification time and fails with XF_ERROR_IO if it
 *   did; a file truncated during a call can still end the process with
 *   SIGBUS).
 * - fork: a child may use models after the parent ran them (the
 *   runtime's threads, oneDNN's included, restart in the child); no call
 *   may be running in another thread of the parent when it forks.
 *
 *===----------------------------------------------------------------------===*/

#ifndef XFORMER_RUNTIME_XFORMER_H
#define XFORMER_RUNTIME_XFORMER_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum xf_status {
  XF_OK = 0,
  XF_ERROR_IO = 1,               /* a file is missing or unreadable */
  XF_ERROR_VERSION = 2,          /* library built for another runtime ABI */
  XF_ERROR_WEIGHTS = 3,          /* missing, extra, mistyped or misshapen */
  XF_ERROR_INVALID_ARGUMENT = 4, /* null pointer, bad size, wrong model kind */
  XF_ERROR_OUT_OF_RANGE = 5,     /* token id outside the vocabulary */
  XF_ERROR_CAPACITY = 6,         /* more sequences or positions than planned */
  XF_ERROR_NONFINITE = 7,        /* NaN or Inf in weights or results */
  XF_ERROR_INTERNAL = 8,
  XF_ERROR_DEVICE = 9            /* no usable GPU, or a device call failed */
} xf_status;

typedef struct xf_model xf_model;

typedef enum xf_model_kind {
  XF_MODEL_ENCODER = 0,
  XF_MODEL_DECODER = 1,
  XF_MODEL_ENCODER_DECODER = 2
} xf_model_kind;

typedef struct xf_info {
  xf_model_kind kind;
  int64_t max_batch;   /* sequences per call */
  int64_t seq_len;     /* encoder: positions per call */
  int64_t chunk;       /* decoder: prompt positions per prefill step */
  int64_t max_seq_len; /* decoder: positions the KV cache holds */
  int64_t source_len;  /* encoder-decoder: source positions */
  int64_t vocab;       /* decoder: logits per position */
  int64_t hidden;      /* encoder: hidden size */
  int32_t has_pooled;  /* encoder: xf_encode can return a pooled vector */
  int32_t has_token_types;
  int64_t kv_arena_bytes;
  /* decoder compiled with --speculate: tokens one speculative step checks
   * (the drafted tokens plus one); 0 without. */
  int64_t verify_chunk;
} xf_info;

/* The message of the last failed call on this thread ("" if none). */
const char *xf_last_error(void);
const char *xf_status_name(xf_status status);

/* Loads `library` (from xformer-compile), checks its ABI version, maps
 * `weights` (a .safetensors file, or the model.safetensors.index.json of a
 * sharded checkpoint) and checks that it holds exactly the tensors the
 * model uses, with their dtypes and shapes (bf16 and f16 tensors of an f32
 * model are widened exactly). */
xf_status xf_open(const char *library, const char *weights, xf_model **out);

/* xf_open with flags: XF_OPEN_ALLOW_EXTRA_WEIGHTS accepts a weights file
 * holding tensors the model does not use (a full checkpoint). */
#define XF_OPEN_ALLOW_EXTRA_WEIGHTS 1u
/* XF_OPEN_MMAP reads the weights in place from the mapped file instead of
 * copying them (less memory; the file must not change while open). */
#define XF_OPEN_MMAP 2u
xf_status xf_open_ex(const char *library, const char *weights, uint32_t flags,
                     xf_model **out);
void xf_close(xf_model *model);
xf_status xf_get_info(const xf_model *model, xf_info *info);

/* Encoder models. ids and type_ids (may be null) are [batch, seq] with
 * seq <= info.seq_len; lengths [batch] (null: all seq). hidden is
 * [batch, seq, hidden]; pooled (may be null) [batch, hidden]. */
xf_status xf_encode(xf_model *model, const int64_t *ids,
                    const int64_t *type_ids, const int64_t *lengths,
                    int64_t batch, int64_t seq, float *hidden, float *pooled);

/* Forgets every cached position of every sequence. */
xf_status xf_reset(xf_model *model);

/* Encoder-decoder models: encodes the source [batch, seq] into the cross
 * caches and resets the decoder's positions. */
xf_status xf_encode_source(xf_model *model, const int64_t *ids,
                           const int64_t *lengths, int64_t batch,
                           int64_t seq);

/* Appends ids [batch, seq] (lengths[b] of row b; null: all) after each
 * sequence's cached positions; logits [batch, vocab] of each sequence's
 * last new token (rows with length 0 are left untouched). */
xf_status xf_prefill(xf_model *model, const int64_t *ids,
                     const int64_t *lengths, int64_t batch, int64_t seq,
                     float *logits);

/* Appends one token per sequence; logits [batch, vocab]. */
xf_status xf_decode(xf_model *model, const int64_t *tokens, int64_t batch,
                    float *logits);

typedef struct xf_generate_options {
  int64_t max_new_tokens;
  int64_t eos_token_id; /* < 0: none */
  float temperature;    /* <= 0: greedy */
  int64_t top_k;        /* <= 0: all */
  float top_p;          /* >= 1: all */
  uint64_t seed;
  /* Called after each step with the number of steps done (may be null). */
  void (*progress)(void *user, int64_t step, int64_t total);
  void *user;
  /* More end-of-sequence ids (a checkpoint may declare several); null or
   * 0: only eos_token_id. */
  const int64_t *eos_token_ids;
  int64_t num_eos_token_ids;
} xf_generate_options;

void xf_generate_options_init(xf_generate_options *options);

/* Resets the caches, prefills the prompts (decoders) or starts from
 * `decoder_start` (encoder-decoders, after xf_encode_source: the prompt is
 * the decoder's start tokens; every row needs at least one), then decodes.
 * tokens is [batch, max_new_tokens]; counts[b] the tokens generated for
 * sequence b (the EOS token included). When a sequence runs out of cache
 * the call fails with XF_ERROR_CAPACITY, and tokens/counts hold what was
 * generated until then. */
xf_status xf_generate(xf_model *model, const int64_t *ids,
                      const int64_t *lengths, int64_t batch, int64_t seq,
                      const xf_generate_options *options, int64_t *tokens,
                      int64_t *counts);

/* Milliseconds spent in the last xf_prefill / xf_generate prefill, and the
 * decode steps of the last xf_generate. */
typedef struct xf_timings {
  double prefill_ms;
  double decode_ms;
  int64_t decode_steps;
} xf_timings;
xf_status xf_get_timings(const xf_model *model, xf_timings *timings);

/* ---- The serving engine: continuous batching over a model's rows ----
 *
 * An engine drives one decoder or encoder-decoder model's sequences (its
 * compiled max_batch rows) for many requests: requests join and leave
 * between steps; each step encodes the source of every request of an
 * encoder-decoder that just took a row (one call of the encode program:
 * only those rows' cross caches are written), prefills the next chunk of
 * every request still reading its prompt (one call of the prefill
 * program, the rows' lengths apart) and decodes one token of every
 * request generating (one call of the decode program).
 * Each request has its own sampling options, stop tokens, token limit and
 * seed, may be cancelled, and streams its tokens through a callback. A
 * request gets exactly the tokens it gets alone (xf_generate of that
 * request with the same options and seed on the same library): rows are
 * computed independently and a request's chunks are the same.
 *
 * Prefix caching (on by default): when a request ends its row keeps the
 * cache of its prompt, and a later request whose prompt begins with the
 * same tokens takes that row and skips their prefill. Only whole chunks
 * of the prompt are kept and reused (the chunks of a request are then the
 * ones it makes alone), so a hit gives the same tokens, bit for bit, as a
 * miss. A free row's kept prefix is forgotten when a request that shares
 * none of it needs the row (least recently used first); a sliding-window
 * cache that wrapped keeps nothing. An encoder-decoder's row also keeps
 * its source's cross caches: a request with the same source takes that
 * row and skips the encoding (and shares the decoder prefix only then).
 *
 * Speculative decoding (a model compiled with --speculate=K): a request
 * whose context (an encoder-decoder's: its source, then its prompt and
 * tokens) ends with an n-gram that occurred earlier in it drafts the
 * tokens that followed it, and one call of the model's @verify program
 * checks up to K of them: a greedy request keeps the drafted tokens the
 * target picks, plus the target's next token, so its tokens are those of
 * the target alone (up to rounding: @verify computes positions as a
 * prefill chunk does, so a near-tie between two logits can break the
 * other way); a sampled request accepts a drafted token x with
 * probability p(x) and otherwise samples p without x, which keeps the
 * target's distribution (not its exact tokens for a seed).
 *
 * While an engine exists, its model's sequence calls (xf_prefill,
 * xf_decode, xf_generate, xf_reset, xf_encode_source) are refused: the
 * rows are the engine's. */
typedef struct xf_engine xf_engine;

typedef struct xf_engine_params {
  /* Rows in use at once: 0 (the default) for the model's max_batch. */
  int64_t max_sequences;
  /* Requests waiting for a row beyond which xf_engine_submit refuses with
   * XF_ERROR_CAPACITY (default 1024). */
  int64_t max_queued;
  /* Keep and share prompt prefixes between requests (default 1; 0: every
   * request prefills its whole prompt). */
  int32_t prefix_cache;
  /* Speculative decoding when the model has @verify (xformer-compile
   * --speculate=K; default 1, 0: off): up to K tokens a step per request,
   * drafted from the longest n-gram (n <= ngram, default 3) its context
   * ends with that occurred earlier in it (prompt lookup). */
  int32_t speculate;
  int64_t ngram;
  /* Calls compute only the rows in use (default 1) where the library has
   * programs over fewer rows (xformer-compile --row-counts): requests take
   * the lowest free rows and each call runs the smallest program holding
   * its highest row. A row's results are then those of the same kernels
   * on other row counts, which may sum in another order (last-bit
   * differences). 0: every call computes all rows, so a request's results
   * are the same bits whatever else runs. */
  int32_t sized_calls;
} xf_engine_params;

void xf_engine_params_init(xf_engine_params *params);

typedef enum xf_finish_reason {
  XF_FINISH_NONE = 0,      /* more tokens follow */
  XF_FINISH_STOP = 1,      /* an end-of-sequence or stop token (included) */
  XF_FINISH_LENGTH = 2,    /* max_new_tokens reached */
  XF_FINISH_CANCELLED = 3, /* xf_engine_cancel; token is -1 */
  XF_FINISH_ERROR = 4      /* a program call failed; token is -1 */
} xf_finish_reason;

/* Called on the stepping thread for each token of `request`, then once
 * with the reason it ended (the last token, or -1 when it ended without
 * one). */
typedef void (*xf_token_callback)(void *user, int64_t request, int64_t token,
                                  xf_finish_reason finish);

typedef struct xf_request_params {
  const int64_t *prompt; /* prompt_len token ids, copied at submission */
  int64_t prompt_len;
  /* max_new_tokens, eos_token_id(s) (the stop tokens), temperature,
   * top_k, top_p and seed as for xf_generate; progress is not called. */
  xf_generate_options sampling;
  xf_token_callback on_token; /* may be null */
  void *user;
  /* An encoder-decoder's request: the source_len ids the decoder attends
   * to (copied at submission); `prompt` is then the decoder's start (its
   * start token and any forced prefix). Null for a decoder. */
  const int64_t *source;
  int64_t source_len;
} xf_request_params;

void xf_request_params_init(xf_request_params *params);

/* An engine over `model`: a decoder or an encoder-decoder (token
 * requests, xf_engine_submit; an encoder-decoder's with their source) or
 * an encoder (embedding requests, xf_engine_submit_embedding). The model
 * must outlive it, and has at most one engine. */
xf_status xf_engine_create(xf_model *model, const xf_engine_params *params,
                           xf_engine **out);
/* Ends every request still pending (XF_FINISH_CANCELLED) and gives the
 * model's rows back. */
void xf_engine_destroy(xf_engine *engine);

/* Queues a request; its id in *request. Refused up front, changing
 * nothing: an empty prompt, a token outside the vocabulary, a missing
 * source on an encoder-decoder or one given to a decoder, a source longer
 * than the model's (XF_ERROR_CAPACITY) or with an id outside the
 * encoder's vocabulary, options
 * xf_generate refuses, a prompt and max_new_tokens that together need more
 * positions than the KV cache holds (XF_ERROR_CAPACITY: it would never
 * fit), or a full queue (XF_ERROR_CAPACITY). Safe from any thread. */
xf_status xf_engine_submit(xf_engine *engine, const xf_request_params *params,
                           int64_t *request);

/* ---- Embedding requests (an engine over an encoder) ----
 *
 * Each step encodes up to max_batch queued requests in one call of the
 * encoder (each row its own length; a row is computed as it is alone) and
 * hands each its pooled vector. The model's xf_encode stays usable beside
 * the engine (an encoder keeps no state between calls). */
typedef enum xf_pooling {
  XF_POOLING_MEAN = 0, /* the mean of the hidden states of its tokens */
  XF_POOLING_CLS = 1,  /* the first token's hidden state */
  XF_POOLING_MODEL = 2 /* the model's pooled output (BERT's pooler) */
} xf_pooling;

/* Called on the stepping thread once per request: its embedding (`dim`
 * floats, valid during the call) with XF_FINISH_STOP, or null with
 * XF_FINISH_CANCELLED / XF_FINISH_ERROR. */
typedef void (*xf_embedding_callback)(void *user, int64_t request,
                                      const float *embedding, int64_t dim,
                                      xf_finish_reason finish);

typedef struct xf_embedding_params {
  const int64_t *ids;      /* len token ids, copied at submission */
  const int64_t *type_ids; /* len segment ids, or null (all 0) */
  int64_t len;
  int32_t pooling;      /* an xf_pooling; default XF_POOLING_MEAN */
  int32_t normalize;    /* 1: scale the vector to unit length (default 0) */
  xf_embedding_callback on_embedding; /* may be null */
  void *user;
} xf_embedding_params;

void xf_embedding_params_init(xf_embedding_params *params);

/* Queues an embedding request; its id in *request. Refused up front,
 * changing nothing: an engine over a decoder, no tokens, more tokens than
 * the encoder's positions (XF_ERROR_CAPACITY), a token or type id outside
 * its table (XF_ERROR_OUT_OF_RANGE), XF_POOLING_MODEL on a model without
 * a pooler, an unknown pooling, or a full queue. Safe from any thread. */
xf_status xf_engine_submit_embedding(xf_engine *engine,
                                     const xf_embedding_params *params,
                                     int64_t *request);

/* Ends a queued or running request before the next step (its callback
 * sees XF_FINISH_CANCELLED then). XF_ERROR_INVALID_ARGUMENT for an id
 * that is not pending. Safe from any thread. */
xf_status xf_engine_cancel(xf_engine *engine, int64_t request);

/* One step; *pending (may be null) the requests not yet finished after
 * it. A failed program call ends the requests of that call with
 * XF_FINISH_ERROR, frees their rows and returns its status; the others go
 * on at the next step. */
xf_status xf_engine_step(xf_engine *engine, int64_t *pending);

/* Steps until no request is pending. */
xf_status xf_engine_run(xf_engine *engine);

typedef struct xf_engine_stats {
  int64_t queued, running, finished;
  int64_t steps, prefill_calls, decode_calls;
  int64_t prompt_tokens, generated_tokens;
  /* Requests that found part of their prompt cached, and the prompt
   * tokens whose prefill that skipped (not in prompt_tokens). */
  int64_t prefix_hits, prefix_tokens;
  /* Speculative decoding: verify calls, drafted tokens, and those kept. */
  int64_t verify_calls, drafted_tokens, accepted_tokens;
  /* Encoder-decoders: encode calls, sources encoded, and requests whose
   * source a free row still held (their encoding skipped). */
  int64_t encode_calls, sources_encoded, source_hits;
  /* Calls sized by the rows in use: the rows the token programs' calls
   * computed (summed over prefill, decode and verify calls; the library's
   * rows each without sized calls), and running requests moved to a lower
   * free row so that the calls could shrink. */
  int64_t rows_computed, row_moves;
} xf_engine_stats;
xf_status xf_engine_get_stats(xf_engine *engine, xf_engine_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* XFORMER_RUNTIME_XFORMER_H */
