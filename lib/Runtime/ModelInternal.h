//===- ModelInternal.h - What the engine uses of a model ---------*- C++ -*-===//
//
// The sequence calls of an xf_model as the serving engine (Engine.cpp)
// drives them: one prefill chunk or one decode step over the rows it
// names, a row forgotten, the sampler xf_generate uses. Each takes the
// model's call lock and runs as the engine (the public sequence calls are
// refused while an engine is attached).
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_LIB_RUNTIME_MODELINTERNAL_H
#define XFORMER_LIB_RUNTIME_MODELINTERNAL_H

#include "xformer/Runtime/xformer.h"

#include <cstdint>
#include <random>
#include <vector>

namespace xformer::runtime {

/// The shapes of a decoder's programs an engine schedules by.
struct DecoderRows {
  int64_t rows = 0, chunk = 0, vocab = 0, maxSeqLen = 0;
  int64_t verifyChunk = 0; // 0: no @verify
  /// An encoder-decoder's source positions and the encoder's vocabulary
  /// (0: a decoder).
  int64_t sourceLen = 0, sourceVocab = 0;
  /// The row counts of the programs a call may run, ascending: programs
  /// over the first N rows, then all `rows` (the last). A call runs the
  /// smallest that holds its highest row.
  std::vector<int64_t> callRows;
};

/// Makes `engine` the driver of `model`'s rows (all of them reset); fails
/// for encoders and for a model that has an engine. `sizedCalls` false:
/// every call computes all rows (until detachEngine).
xf_status attachEngine(xf_model *model, const void *engine, bool sizedCalls,
                       DecoderRows &out);
void detachEngine(xf_model *model);

/// An encoder-decoder's sources into the cross caches of the rows with
/// rows[b]: ids [rows, sourceLen], row b's source lengths[b] long. The
/// other rows' cross caches and source lengths stay as they are. A failed
/// call leaves the named rows with no usable source.
xf_status engineEncode(xf_model *model, const int64_t *ids,
                       const int64_t *lengths, const bool *rows);
/// One chunk: ids [rows, chunk], row b reading lengths[b] of them (0: left
/// out). logits [rows, vocab] of each read row's last token. A failed call
/// changes no row.
xf_status enginePrefill(xf_model *model, const int64_t *ids,
                        const int64_t *lengths, float *logits);
/// One token for each row with rows[b]; logits [rows, vocab].
xf_status engineDecode(xf_model *model, const int64_t *tokens, const bool *rows,
                       float *logits);
/// One speculative step: ids [rows, verifyChunk], row b reading lengths[b]
/// of them after its cached positions (0: left out); logits
/// [rows, verifyChunk, vocab] of every position read. A failed call
/// changes no row.
xf_status engineVerify(xf_model *model, const int64_t *ids,
                       const int64_t *lengths, float *logits);
/// Forgets the positions of row b from `keep` on, which the last
/// engineVerify appended (a rejected draft); `lastToken` is the token at
/// keep - 1. A ring keeps chunk - 1 positions past its window, so none it
/// still needs was overwritten by them.
void engineRewind(xf_model *model, int64_t row, int64_t keep,
                  int64_t lastToken);
/// Forgets row b's positions (its self and ring caches restart).
void engineResetRow(xf_model *model, int64_t row);
/// Keeps the first `keep` positions of row b's caches and forgets the rest
/// (`lastToken`: the token at keep - 1). False, changing nothing, when the
/// row cannot: fewer positions cached, or a sliding-window cache that
/// wrapped and so lost some of them.
bool engineKeepPrefix(xf_model *model, int64_t row, int64_t keep,
                      int64_t lastToken);

/// Moves row `from`'s caches (every kind, up to what they hold) and
/// positions into row `to`, and with `swap` row `to`'s into `from`;
/// without it row `from` keeps a copy. False, changing nothing, on a
/// device model (its arena is not the host's).
bool engineMoveRow(xf_model *model, int64_t from, int64_t to, bool swap);

/// The rows the model's last program call computed (its program's batch).
int64_t lastCallRows(const xf_model *model);

/// The rows of an encoder's token embedding table (0: not known).
int64_t encoderVocab(const xf_model *model);

/// The checks xf_generate makes of its options; `call` names the caller.
xf_status checkSampling(const xf_generate_options &options, const char *call);
/// Whether `token` ends a sequence under `options`.
bool isStopToken(const xf_generate_options &options, int64_t token);
/// Greedy, or sampling with temperature, top-k and top-p (xf_generate's).
int64_t pickToken(const float *logits, int64_t vocab,
                  const xf_generate_options &options, std::mt19937_64 &rng);

/// The distribution pickToken samples from when `options` sample: the
/// tokens it may pick and their unnormalised weights.
void samplingDistribution(const float *logits, int64_t vocab,
                          const xf_generate_options &options,
                          std::vector<int64_t> &tokens,
                          std::vector<double> &weights);

} // namespace xformer::runtime

#endif // XFORMER_LIB_RUNTIME_MODELINTERNAL_H
