//===- RuntimeModule.cpp - Python bindings of the runtime (nanobind) -----===//
//
// xformer._runtime: compiled models through the C API of
// xformer/Runtime/xformer.h with numpy arrays in and out (failures become
// xformer.Error with the status name and message). It links the runtime
// library alone, not MLIR or LLVM, so it builds and runs where only a
// compiled model and libxformer_runtime are deployed
// (python-bindings/standalone builds it there).
//
//===----------------------------------------------------------------------===//

#include "xformer/Runtime/xformer.h"

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <algorithm>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace nb = nanobind;
using namespace nb::literals;

namespace {

using I64Array =
    nb::ndarray<const int64_t, nb::ndim<2>, nb::c_contig, nb::device::cpu>;
using I64Vector =
    nb::ndarray<const int64_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using F32Out = nb::ndarray<nb::numpy, float>;

nb::object errorType;

/// Raises xformer.Error for `status`; `partial` (when given) becomes its
/// `tokens` attribute: what a generation made before it failed.
[[noreturn]] void raise(xf_status status,
                        const std::vector<std::vector<int64_t>> *partial =
                            nullptr) {
  nb::object err = errorType(xf_status_name(status), xf_last_error(),
                             static_cast<int>(status));
  if (partial)
    nb::setattr(err, "tokens", nb::cast(*partial));
  PyErr_SetObject(errorType.ptr(), err.ptr());
  throw nb::python_error();
}

void check(xf_status status) {
  if (status != XF_OK)
    raise(status);
}

F32Out floats(std::vector<size_t> shape) {
  size_t n = 1;
  for (size_t d : shape)
    n *= d;
  float *data = new float[n]();
  nb::capsule owner(data,
                    [](void *p) noexcept { delete[] static_cast<float *>(p); });
  return F32Out(data, shape.size(), shape.data(), owner);
}

class Model {
public:
  Model(const std::string &library, const std::string &weights,
        bool allowExtra, bool mmap) {
    check(xf_open_ex(library.c_str(), weights.c_str(),
                     (allowExtra ? XF_OPEN_ALLOW_EXTRA_WEIGHTS : 0) |
                         (mmap ? XF_OPEN_MMAP : 0),
                     &model));
    check(xf_get_info(model, &info));
  }
  ~Model() { xf_close(model); }

  nb::dict infoDict() const {
    nb::dict d;
    static const char *kinds[] = {"encoder", "decoder", "encoder_decoder"};
    d["kind"] = kinds[info.kind];
    d["max_batch"] = info.max_batch;
    d["seq_len"] = info.seq_len;
    d["chunk"] = info.chunk;
    d["max_seq_len"] = info.max_seq_len;
    d["source_len"] = info.source_len;
    d["vocab"] = info.vocab;
    d["hidden"] = info.hidden;
    d["has_pooled"] = bool(info.has_pooled);
    d["kv_arena_bytes"] = info.kv_arena_bytes;
    d["verify_chunk"] = info.verify_chunk;
    return d;
  }

  static const int64_t *lengthsOf(const std::optional<I64Vector> &lengths,
                                  size_t batch) {
    if (!lengths)
      return nullptr;
    if (lengths->shape(0) != batch)
      throw nb::value_error("lengths must have one entry per sequence");
    return lengths->data();
  }

  std::pair<F32Out, F32Out> encode(I64Array ids,
                                   std::optional<I64Vector> lengths,
                                   std::optional<I64Array> typeIds) {
    size_t b = ids.shape(0), s = ids.shape(1);
    if (typeIds && (typeIds->shape(0) != b || typeIds->shape(1) != s))
      throw nb::value_error("type_ids must have the shape of ids");
    F32Out hidden = floats({b, s, size_t(info.hidden)});
    F32Out pooled = floats({b, size_t(info.hidden)});
    xf_status st;
    {
      nb::gil_scoped_release release;
      st = xf_encode(model, ids.data(), typeIds ? typeIds->data() : nullptr,
                     lengthsOf(lengths, b), b, s, hidden.data(), pooled.data());
    }
    check(st);
    return {hidden, pooled};
  }

  void encodeSource(I64Array ids, std::optional<I64Vector> lengths) {
    size_t b = ids.shape(0);
    check(xf_encode_source(model, ids.data(), lengthsOf(lengths, b), b,
                           ids.shape(1)));
  }

  F32Out prefill(I64Array ids, std::optional<I64Vector> lengths) {
    size_t b = ids.shape(0);
    F32Out logits = floats({b, size_t(info.vocab)});
    xf_status st;
    {
      nb::gil_scoped_release release;
      st = xf_prefill(model, ids.data(), lengthsOf(lengths, b), b, ids.shape(1),
                      logits.data());
    }
    check(st);
    return logits;
  }

  F32Out decode(I64Vector tokens) {
    size_t b = tokens.shape(0);
    F32Out logits = floats({b, size_t(info.vocab)});
    check(xf_decode(model, tokens.data(), b, logits.data()));
    return logits;
  }

  std::vector<std::vector<int64_t>>
  generate(I64Array ids, std::optional<I64Vector> lengths, int64_t maxNewTokens,
           int64_t eos, float temperature, int64_t topK, float topP,
           uint64_t seed, const std::vector<int64_t> &moreEos) {
    size_t b = ids.shape(0);
    if (maxNewTokens < 1)
      throw nb::value_error("max_new_tokens must be >= 1");
    // No sequence makes more tokens than its cache has positions: a larger
    // request only sizes the buffer (and used to overflow it).
    maxNewTokens = std::min<int64_t>(maxNewTokens, info.max_seq_len + 1);
    xf_generate_options o;
    xf_generate_options_init(&o);
    o.max_new_tokens = maxNewTokens;
    o.eos_token_id = eos;
    o.eos_token_ids = moreEos.data();
    o.num_eos_token_ids = int64_t(moreEos.size());
    o.temperature = temperature;
    o.top_k = topK;
    o.top_p = topP;
    o.seed = seed;
    std::vector<int64_t> tokens(b * std::max<int64_t>(1, maxNewTokens)),
        counts(b);
    xf_status st;
    {
      nb::gil_scoped_release release;
      st = xf_generate(model, ids.data(), lengthsOf(lengths, b), b,
                       ids.shape(1), &o, tokens.data(), counts.data());
    }
    if (st != XF_OK && st != XF_ERROR_CAPACITY)
      raise(st);
    std::vector<std::vector<int64_t>> out(b);
    for (size_t i = 0; i < b; ++i)
      out[i].assign(tokens.begin() + i * maxNewTokens,
                    tokens.begin() + i * maxNewTokens + counts[i]);
    if (st != XF_OK)
      raise(st, &out);
    return out;
  }

  void reset() { check(xf_reset(model)); }

  xf_model *raw() const { return model; }

private:
  xf_model *model = nullptr;
  xf_info info{};
};

const char *finishName(xf_finish_reason f) {
  switch (f) {
  case XF_FINISH_NONE:
    return nullptr;
  case XF_FINISH_STOP:
    return "stop";
  case XF_FINISH_LENGTH:
    return "length";
  case XF_FINISH_CANCELLED:
    return "cancelled";
  case XF_FINISH_ERROR:
    return "error";
  }
  return "error";
}

/// The serving engine over a decoder Model. Its callbacks only record
/// (request, token, finish) on the stepping thread, without the GIL;
/// step() hands them to Python, which dispatches them (xformer.Engine).
class Engine {
public:
  using Event = std::tuple<int64_t, int64_t, nb::object, nb::object>;

  Engine(Model &model, int64_t maxSequences, int64_t maxQueued,
         bool prefixCache, bool speculate, int64_t ngram, bool sizedCalls) {
    xf_engine_params p;
    xf_engine_params_init(&p);
    p.max_sequences = maxSequences;
    p.max_queued = maxQueued;
    p.prefix_cache = prefixCache ? 1 : 0;
    p.speculate = speculate ? 1 : 0;
    p.ngram = ngram;
    p.sized_calls = sizedCalls ? 1 : 0;
    check(xf_engine_create(model.raw(), &p, &engine));
  }
  ~Engine() { close(); }

  void close() {
    if (!engine)
      return;
    nb::gil_scoped_release release;
    xf_engine_destroy(engine);
    engine = nullptr;
  }

  int64_t submit(const std::vector<int64_t> &prompt, int64_t maxNewTokens,
                 int64_t eos, const std::vector<int64_t> &moreEos,
                 float temperature, int64_t topK, float topP, uint64_t seed,
                 const std::optional<std::vector<int64_t>> &source) {
    xf_request_params r;
    xf_request_params_init(&r);
    r.prompt = prompt.data();
    r.prompt_len = int64_t(prompt.size());
    if (source) {
      // An empty source reaches the engine as one (which refuses it).
      static const int64_t none = 0;
      r.source = source->empty() ? &none : source->data();
      r.source_len = int64_t(source->size());
    }
    r.sampling.max_new_tokens = maxNewTokens;
    r.sampling.eos_token_id = eos;
    r.sampling.eos_token_ids = moreEos.data();
    r.sampling.num_eos_token_ids = int64_t(moreEos.size());
    r.sampling.temperature = temperature;
    r.sampling.top_k = topK;
    r.sampling.top_p = topP;
    r.sampling.seed = seed;
    r.on_token = &Engine::record;
    r.user = this;
    int64_t id = 0;
    check(xf_engine_submit(live(), &r, &id));
    return id;
  }

  int64_t submitEmbedding(const std::vector<int64_t> &ids,
                          const std::vector<int64_t> &typeIds,
                          const std::string &pooling, bool normalize) {
    xf_embedding_params r;
    xf_embedding_params_init(&r);
    if (!typeIds.empty() && typeIds.size() != ids.size())
      throw nb::value_error("type_ids must have one entry per token");
    r.ids = ids.data();
    r.type_ids = typeIds.empty() ? nullptr : typeIds.data();
    r.len = int64_t(ids.size());
    if (pooling == "mean")
      r.pooling = XF_POOLING_MEAN;
    else if (pooling == "cls")
      r.pooling = XF_POOLING_CLS;
    else if (pooling == "model")
      r.pooling = XF_POOLING_MODEL;
    else
      throw nb::value_error("pooling must be 'mean', 'cls' or 'model'");
    r.normalize = normalize ? 1 : 0;
    r.on_embedding = &Engine::recordEmbedding;
    r.user = this;
    int64_t id = 0;
    check(xf_engine_submit_embedding(live(), &r, &id));
    return id;
  }

  void cancel(int64_t request) { check(xf_engine_cancel(live(), request)); }

  /// One step: (requests pending, events, error message or None). Events
  /// are (request, token or -1, finish or None); a failed program call
  /// ends its requests with 'error' and its message is returned, not
  /// raised, so that the other requests go on.
  std::tuple<int64_t, std::vector<Event>, nb::object> step() {
    int64_t pending = 0;
    xf_status st;
    std::string error;
    {
      nb::gil_scoped_release release;
      st = xf_engine_step(live(), &pending);
      if (st != XF_OK)
        error = std::string(xf_status_name(st)) + ": " + xf_last_error();
    }
    std::vector<Raw> raw;
    {
      std::lock_guard<std::mutex> lock(mutex);
      raw.swap(recorded);
    }
    std::vector<Event> events;
    events.reserve(raw.size());
    for (const Raw &e : raw) {
      const char *finish = finishName(e.finish);
      nb::object vector = nb::none();
      if (!e.vector.empty()) {
        F32Out v = floats({e.vector.size()});
        std::copy(e.vector.begin(), e.vector.end(), v.data());
        vector = nb::cast(v);
      }
      events.emplace_back(e.request, e.token,
                          finish ? nb::object(nb::str(finish)) : nb::none(),
                          vector);
    }
    return {pending, std::move(events),
            error.empty() ? nb::none() : nb::object(nb::str(error.c_str()))};
  }

  nb::dict stats() {
    xf_engine_stats s;
    check(xf_engine_get_stats(live(), &s));
    nb::dict d;
    d["queued"] = s.queued;
    d["running"] = s.running;
    d["finished"] = s.finished;
    d["steps"] = s.steps;
    d["prefill_calls"] = s.prefill_calls;
    d["decode_calls"] = s.decode_calls;
    d["prompt_tokens"] = s.prompt_tokens;
    d["generated_tokens"] = s.generated_tokens;
    d["prefix_hits"] = s.prefix_hits;
    d["prefix_tokens"] = s.prefix_tokens;
    d["verify_calls"] = s.verify_calls;
    d["drafted_tokens"] = s.drafted_tokens;
    d["accepted_tokens"] = s.accepted_tokens;
    d["encode_calls"] = s.encode_calls;
    d["sources_encoded"] = s.sources_encoded;
    d["source_hits"] = s.source_hits;
    d["rows_computed"] = s.rows_computed;
    d["row_moves"] = s.row_moves;
    return d;
  }

private:
  struct Raw {
    int64_t request, token;
    xf_finish_reason finish;
    std::vector<float> vector; // an embedding request's
  };

  xf_engine *live() const {
    if (!engine)
      throw nb::value_error("the engine is closed");
    return engine;
  }

  static void record(void *user, int64_t request, int64_t token,
                     xf_finish_reason finish) {
    auto *self = static_cast<Engine *>(user);
    std::lock_guard<std::mutex> lock(self->mutex);
    self->recorded.push_back({request, token, finish, {}});
  }

  static void recordEmbedding(void *user, int64_t request, const float *v,
                              int64_t dim, xf_finish_reason finish) {
    auto *self = static_cast<Engine *>(user);
    std::lock_guard<std::mutex> lock(self->mutex);
    self->recorded.push_back(
        {request, -1, finish, v ? std::vector<float>(v, v + dim)
                                : std::vector<float>()});
  }

  xf_engine *engine = nullptr;
  std::mutex mutex;
  std::vector<Raw> recorded;
};

} // namespace

NB_MODULE(_runtime, m) {
  m.doc() = "xformer: compiled models through the runtime's C API";
  m.def("_set_error_type", [](nb::object t) { errorType = t; });
  nb::class_<Model>(m, "Model",
                   "A compiled model opened with its weights.\n\n"
                   "Thread safety: different Model objects are independent "
                   "and may run at the same time from different threads. "
                   "Calls on one Model are serialized (the GIL is released "
                   "while it computes, and a second thread waits for the "
                   "first call to return); its sequences' state is shared "
                   "by every caller. A failed call changes no state.")
      .def(nb::init<const std::string &, const std::string &, bool, bool>(),
           "library"_a, "weights"_a, "allow_extra_weights"_a = false,
           "mmap"_a = false,
           "Opens `library` (exactly that file) with `weights`. The weights "
           "are copied into memory; mmap=True reads them in place instead, "
           "and the file must then not change while the model is open.")
      .def_prop_ro("info", &Model::infoDict)
      .def("encode", &Model::encode, "ids"_a.noconvert(),
           "lengths"_a = nb::none(), "type_ids"_a = nb::none())
      .def("encode_source", &Model::encodeSource, "ids"_a.noconvert(),
           "lengths"_a = nb::none())
      .def("prefill", &Model::prefill, "ids"_a.noconvert(),
           "lengths"_a = nb::none())
      .def("decode", &Model::decode, "tokens"_a.noconvert())
      .def("generate", &Model::generate, "ids"_a.noconvert(),
           "lengths"_a = nb::none(), "max_new_tokens"_a = 32,
           "eos_token_id"_a = -1, "temperature"_a = 0.0f, "top_k"_a = 0,
           "top_p"_a = 1.0f, "seed"_a = 0,
           "eos_token_ids"_a = std::vector<int64_t>(),
           "Generates up to max_new_tokens per sequence; a sequence stops "
           "at eos_token_id or any of eos_token_ids. When a sequence runs "
           "out of cache, raises xformer.Error('capacity') whose `tokens` "
           "holds what was generated.")
      .def("reset", &Model::reset);
  nb::class_<Engine>(m, "_Engine")
      .def(nb::init<Model &, int64_t, int64_t, bool, bool, int64_t, bool>(),
           "model"_a, "max_sequences"_a = 0, "max_queued"_a = 1024,
           "prefix_cache"_a = true, "speculate"_a = true, "ngram"_a = 3,
           "sized_calls"_a = true,
           nb::keep_alive<1, 2>())
      .def("submit", &Engine::submit, "prompt"_a, "max_new_tokens"_a = 32,
           "eos_token_id"_a = -1, "eos_token_ids"_a = std::vector<int64_t>(),
           "temperature"_a = 0.0f, "top_k"_a = 0, "top_p"_a = 1.0f,
           "seed"_a = 0, "source"_a = nb::none())
      .def("submit_embedding", &Engine::submitEmbedding, "ids"_a,
           "type_ids"_a = std::vector<int64_t>(), "pooling"_a = "mean",
           "normalize"_a = false)
      .def("cancel", &Engine::cancel, "request"_a)
      .def("step", &Engine::step)
      .def("stats", &Engine::stats)
      .def("close", &Engine::close);
}
