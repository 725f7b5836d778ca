//===- Engine.cpp - Continuous batching over a model's rows ---------------===//
//
// The engine of xformer.h's xf_engine_*: requests wait in a queue until a
// row of the model is free, then read their prompt a chunk per step (one
// call of the prefill program for every row still reading, each with its
// own length) and generate a token per step (one call of the decode
// program for every row generating). Rows are computed independently by
// the programs, and a request's chunks are the ones xf_generate would
// make, so each request gets exactly the tokens it gets alone. Requests
// join and leave between steps.
//
// Encoder-decoders: a request that takes a row has its source encoded
// first, in one call of the encode program for every row that took a
// request this step (the frame's `active` rows: only their cross caches
// are written), then its decoder prompt is read and its tokens generated
// as a decoder's are. A row keeps its source's cross caches when its
// request ends; a request with the same source takes it and skips the
// encoding.
//
// Prefix caching: a row keeps the cache of its last request's prompt when
// the request ends, and a new request whose prompt starts with the same
// tokens takes that row and skips their prefill. Only whole chunks count
// (positions [0, k * chunk) the prompt filled by chunk calls), so the
// chunks still to run are the ones the request makes alone and the kept
// positions hold exactly what it would compute: hits and misses give the
// same bits. Free rows are taken least recently used first, so the prefix
// of a row idle longest is the one forgotten.
//
// Speculative decoding (a model compiled with --speculate=K): a generating
// request whose context (prompt and tokens so far) ends with an n-gram
// seen earlier in it drafts the K tokens that followed that occurrence
// (prompt lookup), and one call of the @verify program reads its last
// token and the draft. Greedy requests keep the drafted tokens the target
// picks and add the target's own next token; sampled requests accept
// drafted token x with probability p(x) and on rejection sample from p
// without x (rejection sampling with a one-token draft distribution, as in
// Leviathan et al.), which keeps the target's distribution. The positions
// of rejected tokens are forgotten (engineRewind).
//
//===----------------------------------------------------------------------===//

#include "xformer/Runtime/xformer.h"

#include "ModelInternal.h"
#include "RuntimeError.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

using namespace xformer::runtime;

namespace {

struct Request {
  int64_t id = 0;
  std::vector<int64_t> prompt;
  xf_generate_options sampling{};
  std::vector<int64_t> stops; // sampling.eos_token_ids points here
  xf_token_callback onToken = nullptr;
  void *user = nullptr;
  std::mt19937_64 rng;
  int64_t fed = 0;       // prompt tokens in the cache
  int64_t generated = 0; // tokens handed out
  int64_t next = -1;     // the last token, still to be fed (generating)
  bool cancelled = false;
  std::vector<int64_t> context; // prompt and generated tokens, when drafting
  std::vector<int64_t> source;  // an encoder-decoder's
  bool encoded = false;         // its source is in its row's cross caches
  // An embedding request (an encoder's engine): prompt holds its ids.
  std::vector<int64_t> typeIds;
  xf_pooling pooling = XF_POOLING_MEAN;
  bool normalize = false;
  xf_embedding_callback onEmbedding = nullptr;
};

/// A callback to make once the engine's lock is released.
struct Event {
  std::shared_ptr<Request> request;
  int64_t token;
  xf_finish_reason finish;
  std::vector<float> embedding; // an embedding request's, when it ends well
};

} // namespace

struct xf_engine {
  xf_model *model = nullptr;
  DecoderRows shape;
  xf_engine_params params{};
  /// An encoder's engine (embedding requests), and its model's shapes.
  bool encoder = false;
  xf_info info{};

  /// Guards the queue, the rows' owners, cancellations, ids and stats;
  /// `stepMutex` lets one step run at a time.
  std::mutex mutex, stepMutex;
  std::deque<std::shared_ptr<Request>> queue;
  std::vector<std::shared_ptr<Request>> rows; // by row; null: free
  /// By row: the prompt tokens whose cache the row kept from its last
  /// request (whole chunks), and when it was last taken.
  std::vector<std::vector<int64_t>> kept;
  /// By row, an encoder-decoder's: the source its cross caches hold
  /// (empty: none usable).
  std::vector<std::vector<int64_t>> sources;
  std::vector<uint64_t> lastUsed;
  uint64_t clock = 0;
  int64_t nextId = 1;
  xf_engine_stats stats{};

  bool encoderDecoder() const { return shape.sourceLen > 0; }

  int64_t usableRows() const {
    return params.max_sequences > 0
               ? std::min<int64_t>(params.max_sequences, shape.rows)
               : shape.rows;
  }

  /// Ends the request of row `b` and frees the row, keeping the cache of
  /// its prompt's whole chunks for a later request when `keep` (lock held).
  void release(int64_t b, bool keep = true) {
    const Request &r = *rows[b];
    const int64_t whole = r.fed / shape.chunk * shape.chunk;
    kept[b].clear();
    if (!keep || !r.encoded)
      sources[b].clear();
    if (keep && params.prefix_cache && whole > 0)
      kept[b].assign(r.prompt.begin(), r.prompt.begin() + whole);
    else
      engineResetRow(model, b);
    rows[b].reset();
    ++stats.finished;
    --stats.running;
  }

  /// Prompt positions of `r` that row `b`'s kept cache holds: the common
  /// prefix in whole chunks, leaving at least one token to prefill (its
  /// logits give the first token); none under another source.
  int64_t reusable(int64_t b, const Request &r) const {
    if (encoderDecoder() && !sameSource(b, r))
      return 0;
    const int64_t n = std::min<int64_t>(int64_t(kept[b].size()),
                                        int64_t(r.prompt.size()) - 1);
    int64_t i = 0;
    while (i < n && kept[b][i] == r.prompt[i])
      ++i;
    return i / shape.chunk * shape.chunk;
  }

  /// Whether row `b`'s cross caches hold the source of `r` (and may be
  /// shared: prefix caching on).
  bool sameSource(int64_t b, const Request &r) const {
    return params.prefix_cache && !sources[b].empty() &&
           sources[b] == r.source;
  }

  /// Gives the next queued request a free row (lock held; false when none
  /// is): one holding its source (an encoder-decoder's), then the one
  /// keeping the longest prefix of its prompt, else the least recently
  /// used. With calls sized by the rows in use the request then moves to
  /// the lowest free row, so requests pack into the first rows: the row
  /// found and the lowest free one trade their caches (a hit is kept, and
  /// so is what the lowest row held), or without a hit the lowest row's
  /// cache moves to the row found, whose own is given up.
  bool admit() {
    Request &r = *queue.front();
    int64_t best = -1, bestHit = -1, lowest = -1;
    bool bestSource = false;
    for (int64_t b = 0; b < usableRows(); ++b) {
      if (rows[b])
        continue;
      if (lowest < 0)
        lowest = b;
      const bool source = sameSource(b, r);
      const int64_t hit = reusable(b, r);
      if (best < 0 || source > bestSource ||
          (source == bestSource &&
           (hit > bestHit || (hit == bestHit && lastUsed[b] < lastUsed[best]))))
        best = b, bestHit = hit, bestSource = source;
    }
    if (best >= 0 && best != lowest && shape.callRows.size() > 1) {
      const bool swap = bestHit > 0 || bestSource;
      if (engineMoveRow(model, swap ? best : lowest, swap ? lowest : best,
                        swap)) {
        swapRows(best, lowest);
        best = lowest;
      }
    }
    if (best < 0)
      return false;
    if (encoderDecoder()) {
      r.encoded = bestSource;
      if (bestSource)
        ++stats.source_hits;
      else
        sources[best].clear(); // encoded this step
    }
    if (bestHit > 0 &&
        engineKeepPrefix(model, best, bestHit, r.prompt[bestHit - 1])) {
      r.fed = bestHit;
      ++stats.prefix_hits;
      stats.prefix_tokens += bestHit;
    } else {
      engineResetRow(model, best);
    }
    kept[best].clear();
    lastUsed[best] = ++clock;
    rows[best] = queue.front();
    queue.pop_front();
    --stats.queued;
    ++stats.running;
    return true;
  }

  /// Rows a and b trade what the engine keeps of them (after the model's
  /// rows traded caches, engineMoveRow); a free row's request is null.
  void swapRows(int64_t a, int64_t b) {
    std::swap(rows[a], rows[b]);
    std::swap(kept[a], kept[b]);
    std::swap(sources[a], sources[b]);
    std::swap(lastUsed[a], lastUsed[b]);
  }

  /// The rows of the smallest program holding the first `n` rows.
  int64_t callRowsFor(int64_t n) const {
    for (int64_t c : shape.callRows)
      if (c >= n)
        return c;
    return shape.rows;
  }

  /// With calls sized by the rows in use: moves the request of the highest
  /// row into the lowest free one while that lets the calls run a smaller
  /// program (the two rows trade caches, so the free row's kept prefix
  /// stays) (lock held).
  void compact() {
    if (shape.callRows.size() < 2)
      return;
    for (;;) {
      int64_t highest = -1, count = 0, lowestFree = -1;
      for (int64_t b = 0; b < shape.rows; ++b) {
        if (rows[b]) {
          highest = b;
          ++count;
        } else if (lowestFree < 0) {
          lowestFree = b;
        }
      }
      if (highest < 0 || lowestFree < 0 || lowestFree > highest ||
          callRowsFor(count) >= callRowsFor(highest + 1) ||
          !engineMoveRow(model, highest, lowestFree, /*swap=*/true))
        return;
      swapRows(highest, lowestFree);
      ++stats.row_moves;
    }
  }

  /// Ends the request of row `b` with an error when its call failed
  /// (lock held).
  bool failed(int64_t b, xf_status status, std::vector<Event> &events) {
    if (status == XF_OK)
      return false;
    events.push_back({rows[b], -1, XF_FINISH_ERROR, {}});
    release(b, /*keep=*/false);
    return true;
  }

  /// Encodes the sources of the requests that took a row without finding
  /// theirs there: one call for all of them (step thread, lock not held).
  xf_status encodeSources(std::vector<Event> &events) {
    const int64_t B = shape.rows, S = shape.sourceLen;
    std::vector<int64_t> ids(B * S, 0), lengths(B, 0);
    std::unique_ptr<bool[]> todo(new bool[B]);
    bool any = false;
    for (int64_t b = 0; b < B; ++b) {
      const Request *r = rows[b].get();
      todo[b] = r && !r->encoded;
      if (!todo[b])
        continue;
      lengths[b] = int64_t(r->source.size());
      std::copy(r->source.begin(), r->source.end(), ids.begin() + b * S);
      any = true;
    }
    if (!any)
      return XF_OK;
    xf_status status = engineEncode(model, ids.data(), lengths.data(), todo.get());
    std::lock_guard<std::mutex> lock(mutex);
    ++stats.encode_calls;
    for (int64_t b = 0; b < B; ++b) {
      if (!todo[b] || failed(b, status, events))
        continue;
      rows[b]->encoded = true;
      sources[b] = rows[b]->source;
      ++stats.sources_encoded;
    }
    return status;
  }

  /// Hands out `token` of the request in row `b`; ends it on a stop token
  /// or at its limit (lock held).
  void emit(int64_t b, int64_t token, std::vector<Event> &events) {
    std::shared_ptr<Request> r = rows[b];
    ++r->generated;
    ++stats.generated_tokens;
    xf_finish_reason finish = XF_FINISH_NONE;
    if (isStopToken(r->sampling, token))
      finish = XF_FINISH_STOP;
    else if (r->generated >= r->sampling.max_new_tokens)
      finish = XF_FINISH_LENGTH;
    events.push_back({r, token, finish, {}});
    if (finish != XF_FINISH_NONE) {
      release(b);
    } else {
      r->next = token;
      if (speculates())
        r->context.push_back(token);
    }
  }

  /// The token of `r` at a position whose drafted token is `x`: the
  /// target's pick when greedy (x is kept if it is that); when sampling,
  /// x with probability p(x), else a sample of p without x.
  int64_t judge(Request &r, const float *logits, int64_t x) {
    if (r.sampling.temperature <= 0.0f)
      return pickToken(logits, shape.vocab, r.sampling, r.rng);
    std::vector<int64_t> tokens;
    std::vector<double> weights;
    samplingDistribution(logits, shape.vocab, r.sampling, tokens, weights);
    double sum = 0, px = 0;
    for (size_t i = 0; i < tokens.size(); ++i) {
      sum += weights[i];
      if (tokens[i] == x)
        px = weights[i];
    }
    if (std::uniform_real_distribution<double>(0.0, 1.0)(r.rng) * sum < px)
      return x;
    for (size_t i = 0; i < tokens.size(); ++i)
      if (tokens[i] == x)
        weights[i] = 0;
    std::discrete_distribution<int64_t> rest(weights.begin(), weights.end());
    return tokens[rest(r.rng)];
  }

  /// Ends the queued requests that were cancelled (lock held).
  void dropCancelled(std::vector<Event> &events) {
    for (auto it = queue.begin(); it != queue.end();) {
      if (!(*it)->cancelled) {
        ++it;
        continue;
      }
      events.push_back({*it, -1, XF_FINISH_CANCELLED, {}});
      --stats.queued;
      ++stats.finished;
      it = queue.erase(it);
    }
  }

  /// An encoder-decoder's request carries a source that fits the model;
  /// a decoder's carries none.
  xf_status checkSource(const xf_request_params &p) const {
    const char *call = "xf_engine_submit: ";
    if (!encoderDecoder()) {
      if (p.source || p.source_len)
        return fail(XF_ERROR_INVALID_ARGUMENT,
                    std::string(call) +
                        "a source is for encoder-decoders; this engine "
                        "serves a decoder");
      return XF_OK;
    }
    if (!p.source || p.source_len < 1)
      return fail(XF_ERROR_INVALID_ARGUMENT,
                  std::string(call) +
                      "an encoder-decoder's request needs a source (length " +
                      std::to_string(p.source_len) + ")");
    if (p.source_len > shape.sourceLen)
      return fail(XF_ERROR_CAPACITY,
                  std::string(call) + "a source of " +
                      std::to_string(p.source_len) +
                      " tokens; the model was compiled for at most " +
                      std::to_string(shape.sourceLen));
    for (int64_t i = 0; shape.sourceVocab > 0 && i < p.source_len; ++i)
      if (p.source[i] < 0 || p.source[i] >= shape.sourceVocab)
        return fail(XF_ERROR_OUT_OF_RANGE,
                    std::string(call) + "source token " + std::to_string(i) +
                        " is " + std::to_string(p.source[i]) +
                        ", outside the encoder's vocabulary of " +
                        std::to_string(shape.sourceVocab));
    return XF_OK;
  }

  /// Whether requests draft tokens (a model with @verify, speculation on).
  bool speculates() const { return shape.verifyChunk > 0 && params.speculate; }

  /// Queues `r` under a new id (into *request, may be null) unless the
  /// queue is full.
  xf_status enqueue(std::shared_ptr<Request> r, const char *call,
                    int64_t *request) {
    std::lock_guard<std::mutex> lock(mutex);
    if (int64_t(queue.size()) >= params.max_queued)
      return fail(XF_ERROR_CAPACITY,
                  std::string(call) + ": " + std::to_string(queue.size()) +
                      " requests are already waiting (max_queued)");
    r->id = nextId++;
    if (request)
      *request = r->id;
    queue.push_back(std::move(r));
    ++stats.queued;
    return XF_OK;
  }

  /// Up to `most` tokens that followed the latest earlier occurrence of
  /// the longest n-gram (n <= params.ngram) the context ends with.
  std::vector<int64_t> draft(const Request &r, int64_t most) const {
    const std::vector<int64_t> &c = r.context;
    const int64_t len = int64_t(c.size());
    for (int64_t n = std::min<int64_t>(params.ngram, len - 1); n >= 1; --n)
      for (int64_t at = len - n - 1; at >= 0; --at) {
        if (!std::equal(c.end() - n, c.end(), c.begin() + at))
          continue;
        const int64_t from = at + n;
        const int64_t count = std::min<int64_t>(most, len - from);
        return std::vector<int64_t>(c.begin() + from, c.begin() + from + count);
      }
    return {};
  }
};

namespace {

void fire(std::vector<Event> &events) {
  for (const Event &e : events) {
    const Request &r = *e.request;
    if (r.onToken)
      r.onToken(r.user, r.id, e.token, e.finish);
    if (r.onEmbedding)
      r.onEmbedding(r.user, r.id, e.embedding.empty() ? nullptr : e.embedding.data(),
                    int64_t(e.embedding.size()), e.finish);
  }
  events.clear();
}

} // namespace

extern "C" {

void xf_engine_params_init(xf_engine_params *p) {
  if (!p)
    return;
  *p = xf_engine_params{};
  p->max_sequences = 0;
  p->max_queued = 1024;
  p->prefix_cache = 1;
  p->speculate = 1;
  p->ngram = 3;
  p->sized_calls = 1;
}

void xf_request_params_init(xf_request_params *p) {
  if (!p)
    return;
  *p = xf_request_params{};
  xf_generate_options_init(&p->sampling);
}

xf_status xf_engine_create(xf_model *model, const xf_engine_params *params,
                           xf_engine **out) {
  if (!model || !out)
    return fail(XF_ERROR_INVALID_ARGUMENT,
                !model ? "xf_engine_create: null model"
                       : "xf_engine_create: null out");
  *out = nullptr;
  xf_engine_params p;
  xf_engine_params_init(&p);
  if (params)
    p = *params;
  if (p.max_sequences < 0 || p.max_queued < 0)
    return fail(XF_ERROR_INVALID_ARGUMENT,
                "xf_engine_create: max_sequences and max_queued must be >= 0, "
                "not " +
                    std::to_string(p.max_sequences) + " and " +
                    std::to_string(p.max_queued));
  if (p.prefix_cache != 0 && p.prefix_cache != 1)
    return fail(XF_ERROR_INVALID_ARGUMENT,
                "xf_engine_create: prefix_cache must be 0 or 1, not " +
                    std::to_string(p.prefix_cache));
  if (p.speculate != 0 && p.speculate != 1)
    return fail(XF_ERROR_INVALID_ARGUMENT,
                "xf_engine_create: speculate must be 0 or 1, not " +
                    std::to_string(p.speculate));
  if (p.sized_calls != 0 && p.sized_calls != 1)
    return fail(XF_ERROR_INVALID_ARGUMENT,
                "xf_engine_create: sized_calls must be 0 or 1, not " +
                    std::to_string(p.sized_calls));
  if (p.ngram < 1)
    return fail(XF_ERROR_INVALID_ARGUMENT,
                "xf_engine_create: ngram must be >= 1, not " +
                    std::to_string(p.ngram));
  auto engine = std::make_unique<xf_engine>();
  engine->model = model;
  engine->params = p;
  if (xf_status s = xf_get_info(model, &engine->info))
    return s;
  engine->encoder = engine->info.kind == XF_MODEL_ENCODER;
  if (engine->encoder)
    engine->shape.rows = engine->info.max_batch;
  else if (xf_status s = attachEngine(model, engine.get(),
                                         p.sized_calls != 0, engine->shape))
    return s;
  engine->rows.resize(engine->shape.rows);
  engine->kept.resize(engine->shape.rows);
  engine->sources.resize(engine->shape.rows);
  engine->lastUsed.assign(engine->shape.rows, 0);
  *out = engine.release();
  return XF_OK;
}

void xf_engine_destroy(xf_engine *e) {
  if (!e)
    return;
  std::vector<Event> events;
  {
    std::lock_guard<std::mutex> step(e->stepMutex);
    std::lock_guard<std::mutex> lock(e->mutex);
    for (auto &r : e->queue)
      events.push_back({r, -1, XF_FINISH_CANCELLED, {}});
    e->queue.clear();
    for (auto &r : e->rows)
      if (r)
        events.push_back({r, -1, XF_FINISH_CANCELLED, {}});
  }
  fire(events);
  if (!e->encoder)
    detachEngine(e->model);
  delete e;
}

xf_status xf_engine_submit(xf_engine *e, const xf_request_params *p,
                           int64_t *request) {
  if (!e || !p)
    return fail(XF_ERROR_INVALID_ARGUMENT,
                !e ? "xf_engine_submit: null engine"
                   : "xf_engine_submit: null params");
  if (e->encoder)
    return fail(XF_ERROR_INVALID_ARGUMENT,
                "xf_engine_submit: this engine serves an encoder; submit "
                "embedding requests (xf_engine_submit_embedding)");
  if (!p->prompt || p->prompt_len < 1)
    return fail(XF_ERROR_INVALID_ARGUMENT,
                "xf_engine_submit: the prompt is empty (length " +
                    std::to_string(p->prompt_len) +
                    "); a request needs at least one token");
  for (int64_t i = 0; i < p->prompt_len; ++i)
    if (p->prompt[i] < 0 || p->prompt[i] >= e->shape.vocab)
      return fail(XF_ERROR_OUT_OF_RANGE,
                  "xf_engine_submit: prompt token " + std::to_string(i) +
                      " is " + std::to_string(p->prompt[i]) +
                      ", outside the vocabulary of " +
                      std::to_string(e->shape.vocab));
  if (xf_status s = checkSampling(p->sampling, "xf_engine_submit"))
    return s;
  if (xf_status s = e->checkSource(*p))
    return s;
  // The prompt and every generated token but the last are cached.
  const int64_t room = e->shape.maxSeqLen;
  if (p->prompt_len > room ||
      p->sampling.max_new_tokens - 1 > room - p->prompt_len)
    return fail(XF_ERROR_CAPACITY,
                "xf_engine_submit: a prompt of " +
                    std::to_string(p->prompt_len) + " tokens and " +
                    std::to_string(p->sampling.max_new_tokens) +
                    " new tokens need more positions than the KV cache "
                    "holds (" +
                    std::to_string(room) + ")");
  auto r = std::make_shared<Request>();
  r->prompt.assign(p->prompt, p->prompt + p->prompt_len);
  r->sampling = p->sampling;
  r->sampling.progress = nullptr;
  if (p->sampling.num_eos_token_ids > 0)
    r->stops.assign(p->sampling.eos_token_ids,
                    p->sampling.eos_token_ids + p->sampling.num_eos_token_ids);
  r->sampling.eos_token_ids = r->stops.data();
  r->sampling.num_eos_token_ids = int64_t(r->stops.size());
  r->onToken = p->on_token;
  r->user = p->user;
  r->rng.seed(p->sampling.seed);
  if (p->source)
    r->source.assign(p->source, p->source + p->source_len);
  if (e->speculates()) {
    r->context = r->source;
    r->context.insert(r->context.end(), r->prompt.begin(), r->prompt.end());
  }
  return e->enqueue(std::move(r), "xf_engine_submit", request);
}

void xf_embedding_params_init(xf_embedding_params *p) {
  if (!p)
    return;
  *p = xf_embedding_params{};
  p->pooling = XF_POOLING_MEAN;
}

xf_status xf_engine_submit_embedding(xf_engine *e,
                                     const xf_embedding_params *p,
                                     int64_t *request) {
  const char *call = "xf_engine_submit_embedding";
  if (!e || !p)
    return fail(XF_ERROR_INVALID_ARGUMENT,
                std::string(call) + (!e ? ": null engine" : ": null params"));
  if (!e->encoder)
    return fail(XF_ERROR_INVALID_ARGUMENT,
                std::string(call) + ": this engine serves a decoder; submit "
                                    "token requests (xf_engine_submit)");
  const xf_info &info = e->info;
  if (!p->ids || p->len < 1)
    return fail(XF_ERROR_INVALID_ARGUMENT,
                std::string(call) + ": the request has no tokens (length " +
                    std::to_string(p->len) + ")");
  if (p->len > info.seq_len)
    return fail(XF_ERROR_CAPACITY,
                std::string(call) + ": " + std::to_string(p->len) +
                    " tokens; the encoder was compiled for at most " +
                    std::to_string(info.seq_len));
  if (p->pooling != XF_POOLING_MEAN && p->pooling != XF_POOLING_CLS &&
      p->pooling != XF_POOLING_MODEL)
    return fail(XF_ERROR_INVALID_ARGUMENT,
                std::string(call) + ": unknown pooling " +
                    std::to_string(p->pooling));
  if (p->pooling == XF_POOLING_MODEL && !info.has_pooled)
    return fail(XF_ERROR_INVALID_ARGUMENT,
                std::string(call) + ": XF_POOLING_MODEL, but the model has "
                                    "no pooled output");
  if (p->normalize != 0 && p->normalize != 1)
    return fail(XF_ERROR_INVALID_ARGUMENT,
                std::string(call) + ": normalize must be 0 or 1, not " +
                    std::to_string(p->normalize));
  // A bad id would fail the call of every request batched with it.
  const int64_t vocab = encoderVocab(e->model);
  for (int64_t i = 0; vocab > 0 && i < p->len; ++i)
    if (p->ids[i] < 0 || p->ids[i] >= vocab)
      return fail(XF_ERROR_OUT_OF_RANGE,
                  std::string(call) + ": token " + std::to_string(i) + " is " +
                      std::to_string(p->ids[i]) +
                      ", outside the vocabulary of " + std::to_string(vocab));
  auto r = std::make_shared<Request>();
  r->prompt.assign(p->ids, p->ids + p->len);
  if (p->type_ids)
    r->typeIds.assign(p->type_ids, p->type_ids + p->len);
  r->pooling = static_cast<xf_pooling>(p->pooling);
  r->normalize = p->normalize != 0;
  r->onEmbedding = p->on_embedding;
  r->user = p->user;
  return e->enqueue(std::move(r), call, request);
}

xf_status xf_engine_cancel(xf_engine *e, int64_t request) {
  if (!e)
    return fail(XF_ERROR_INVALID_ARGUMENT, "xf_engine_cancel: null engine");
  std::lock_guard<std::mutex> lock(e->mutex);
  for (auto &r : e->queue)
    if (r->id == request) {
      r->cancelled = true;
      return XF_OK;
    }
  for (auto &r : e->rows)
    if (r && r->id == request) {
      r->cancelled = true;
      return XF_OK;
    }
  return fail(XF_ERROR_INVALID_ARGUMENT,
              "xf_engine_cancel: request " + std::to_string(request) +
                  " is not pending");
}

/// Ends a step: the requests still pending into *pending (may be null),
/// then the callbacks of `events`; returns `status` with the failed call's
/// message as the last error (callbacks may call the API meanwhile).
static xf_status finishStep(xf_engine *e, xf_status status,
                            std::vector<Event> &events, int64_t *pending) {
  if (pending) {
    std::lock_guard<std::mutex> lock(e->mutex);
    *pending = e->stats.queued + e->stats.running;
  }
  std::string error = status == XF_OK ? "" : lastError();
  fire(events);
  if (status != XF_OK)
    setLastError(error);
  return status;
}

/// One step of an encoder's engine (stepMutex held): up to max_batch
/// queued requests in one xf_encode call, each pooled.
static xf_status stepEncoder(xf_engine *e, int64_t *pending) {
  std::vector<Event> events;
  std::vector<std::shared_ptr<Request>> batch;
  {
    std::lock_guard<std::mutex> lock(e->mutex);
    e->dropCancelled(events);
    while (!e->queue.empty() && int64_t(batch.size()) < e->usableRows()) {
      batch.push_back(e->queue.front());
      e->queue.pop_front();
      --e->stats.queued;
      ++e->stats.running;
    }
    ++e->stats.steps;
  }
  xf_status status = XF_OK;
  if (!batch.empty()) {
    const xf_info &info = e->info;
    const int64_t n = int64_t(batch.size()), H = info.hidden;
    int64_t S = 0;
    for (auto &r : batch)
      S = std::max<int64_t>(S, int64_t(r->prompt.size()));
    std::vector<int64_t> ids(n * S, 0), types(n * S, 0), lengths(n);
    for (int64_t b = 0; b < n; ++b) {
      const Request &r = *batch[b];
      lengths[b] = int64_t(r.prompt.size());
      std::copy(r.prompt.begin(), r.prompt.end(), ids.begin() + b * S);
      std::copy(r.typeIds.begin(), r.typeIds.end(), types.begin() + b * S);
    }
    std::vector<float> hidden(n * S * H), pooled(info.has_pooled ? n * H : 0);
    status = xf_encode(e->model, ids.data(),
                       info.has_token_types ? types.data() : nullptr,
                       lengths.data(), n, S, hidden.data(),
                       info.has_pooled ? pooled.data() : nullptr);
    std::lock_guard<std::mutex> lock(e->mutex);
    ++e->stats.prefill_calls;
    e->stats.rows_computed += lastCallRows(e->model);
    for (int64_t b = 0; b < n; ++b) {
      const Request &r = *batch[b];
      --e->stats.running;
      ++e->stats.finished;
      if (status != XF_OK) {
        events.push_back({batch[b], -1, XF_FINISH_ERROR, {}});
        continue;
      }
      e->stats.prompt_tokens += lengths[b];
      std::vector<double> sum(H, 0.0);
      const float *rows = hidden.data() + b * S * H;
      if (r.pooling == XF_POOLING_MEAN) {
        for (int64_t s = 0; s < lengths[b]; ++s)
          for (int64_t h = 0; h < H; ++h)
            sum[h] += rows[s * H + h];
        for (double &x : sum)
          x /= double(lengths[b]);
      } else {
        const float *from =
            r.pooling == XF_POOLING_CLS ? rows : pooled.data() + b * H;
        std::copy(from, from + H, sum.begin());
      }
      if (r.normalize) {
        double norm = 0;
        for (double x : sum)
          norm += x * x;
        norm = std::sqrt(norm);
        for (double &x : sum)
          x = norm > 0 ? x / norm : 0.0;
      }
      events.push_back({batch[b], -1, XF_FINISH_STOP,
                        std::vector<float>(sum.begin(), sum.end())});
    }
  }
  return finishStep(e, status, events, pending);
}

xf_status xf_engine_step(xf_engine *e, int64_t *pending) {
  if (!e)
    return fail(XF_ERROR_INVALID_ARGUMENT, "xf_engine_step: null engine");
  // Rows change only on this thread, under both locks; the programs run
  // without `mutex`, so submissions and cancellations wait for no call.
  std::lock_guard<std::mutex> step(e->stepMutex);
  if (e->encoder)
    return stepEncoder(e, pending);
  std::vector<Event> events;
  const int64_t B = e->shape.rows, C = e->shape.chunk, V = e->shape.vocab;
  {
    std::lock_guard<std::mutex> lock(e->mutex);
    // Cancellations, then requests into free rows in arrival order.
    e->dropCancelled(events);
    for (int64_t b = 0; b < B; ++b)
      if (e->rows[b] && e->rows[b]->cancelled) {
        events.push_back({e->rows[b], -1, XF_FINISH_CANCELLED, {}});
        e->release(b);
      }
    while (!e->queue.empty() && e->admit()) {
    }
    e->compact();
    ++e->stats.steps;
  }

  // The sources of the requests that just took a row (encoder-decoders).
  xf_status status = e->encoderDecoder() ? e->encodeSources(events) : XF_OK;

  // The next chunk of every request still reading its prompt.
  std::vector<int64_t> ids(B * C, 0), lengths(B, 0);
  bool reading = false;
  for (int64_t b = 0; b < B; ++b) {
    const Request *r = e->rows[b].get();
    if (!r || r->fed == int64_t(r->prompt.size()))
      continue;
    lengths[b] = std::min<int64_t>(C, int64_t(r->prompt.size()) - r->fed);
    std::copy_n(r->prompt.begin() + r->fed, lengths[b], ids.begin() + b * C);
    reading = true;
  }
  std::vector<float> logits(B * V);
  if (reading && status == XF_OK) {
    status = enginePrefill(e->model, ids.data(), lengths.data(), logits.data());
    std::lock_guard<std::mutex> lock(e->mutex);
    ++e->stats.prefill_calls;
    e->stats.rows_computed += lastCallRows(e->model);
    for (int64_t b = 0; b < B; ++b) {
      if (!lengths[b] || e->failed(b, status, events))
        continue;
      Request &r = *e->rows[b];
      r.fed += lengths[b];
      e->stats.prompt_tokens += lengths[b];
      if (r.fed == int64_t(r.prompt.size()))
        e->emit(b, pickToken(logits.data() + b * V, V, r.sampling, r.rng),
                events);
    }
  }

  // Drafts of the requests generating (a model with @verify): when any
  // has one, every generating row goes through one verify call instead of
  // the decode call.
  const int64_t N = e->shape.verifyChunk;
  std::vector<std::vector<int64_t>> drafts(B);
  bool speculating = false;
  if (status == XF_OK && e->speculates())
    for (int64_t b = 0; b < B; ++b) {
      const Request *r = e->rows[b].get();
      if (!r || r->next < 0)
        continue;
      // Each kept drafted token is handed out, and the target's own token
      // after them: the request's limit bounds the draft (and with it the
      // positions, which submission checked for max_new_tokens).
      const int64_t most = std::min<int64_t>(
          N - 1, r->sampling.max_new_tokens - r->generated - 1);
      if (most > 0)
        drafts[b] = e->draft(*r, most);
      speculating = speculating || !drafts[b].empty();
    }
  if (speculating) {
    std::vector<int64_t> vIds(B * N, 0), vLens(B, 0), start(B, 0);
    for (int64_t b = 0; b < B; ++b) {
      const Request *r = e->rows[b].get();
      if (!r || r->next < 0)
        continue;
      vIds[b * N] = r->next;
      std::copy(drafts[b].begin(), drafts[b].end(), vIds.begin() + b * N + 1);
      vLens[b] = 1 + int64_t(drafts[b].size());
      start[b] = int64_t(r->prompt.size()) + r->generated - 1;
    }
    std::vector<float> all(B * N * V);
    status = engineVerify(e->model, vIds.data(), vLens.data(), all.data());
    std::lock_guard<std::mutex> lock(e->mutex);
    ++e->stats.verify_calls;
    e->stats.rows_computed += lastCallRows(e->model);
    for (int64_t b = 0; b < B; ++b) {
      if (!vLens[b] || e->failed(b, status, events))
        continue;
      std::shared_ptr<Request> r = e->rows[b];
      r->next = -1;
      const std::vector<int64_t> &d = drafts[b];
      e->stats.drafted_tokens += int64_t(d.size());
      int64_t kept = 0;
      for (int64_t i = 0; i < vLens[b]; ++i) {
        const float *l = all.data() + (b * N + i) * V;
        const bool drafted = i < int64_t(d.size());
        const int64_t token =
            drafted ? e->judge(*r, l, d[i]) : pickToken(l, V, r->sampling, r->rng);
        e->emit(b, token, events);
        if (e->rows[b] != r || !drafted || token != d[i])
          break; // the request ended, or the draft's rest is rejected
        ++kept;
      }
      e->stats.accepted_tokens += kept;
      if (e->rows[b] == r)
        engineRewind(e->model, b, start[b] + 1 + kept,
                     kept ? d[kept - 1] : vIds[b * N]);
    }
  }

  // One token of every request generating.
  std::vector<int64_t> tokens(B, 0);
  std::unique_ptr<bool[]> active(new bool[B]);
  bool generating = false;
  for (int64_t b = 0; b < B; ++b) {
    const Request *r = e->rows[b].get();
    active[b] = status == XF_OK && !speculating && r && r->next >= 0;
    tokens[b] = active[b] ? r->next : 0;
    generating = generating || active[b];
  }
  if (generating) {
    status = engineDecode(e->model, tokens.data(), active.get(), logits.data());
    std::lock_guard<std::mutex> lock(e->mutex);
    ++e->stats.decode_calls;
    e->stats.rows_computed += lastCallRows(e->model);
    for (int64_t b = 0; b < B; ++b) {
      if (!active[b] || e->failed(b, status, events))
        continue;
      Request &r = *e->rows[b];
      r.next = -1;
      e->emit(b, pickToken(logits.data() + b * V, V, r.sampling, r.rng),
              events);
    }
  }
  return finishStep(e, status, events, pending);
}

xf_status xf_engine_run(xf_engine *e) {
  if (!e)
    return fail(XF_ERROR_INVALID_ARGUMENT, "xf_engine_run: null engine");
  int64_t pending = 1;
  while (pending > 0)
    if (xf_status s = xf_engine_step(e, &pending))
      return s;
  return XF_OK;
}

xf_status xf_engine_get_stats(xf_engine *e, xf_engine_stats *stats) {
  if (!e || !stats)
    return fail(XF_ERROR_INVALID_ARGUMENT,
                !e ? "xf_engine_get_stats: null engine"
                   : "xf_engine_get_stats: null stats");
  std::lock_guard<std::mutex> lock(e->mutex);
  *stats = e->stats;
  return XF_OK;
}

} // extern "C"
