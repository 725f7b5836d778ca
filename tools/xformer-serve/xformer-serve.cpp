//===- xformer-serve.cpp - An OpenAI-compatible server over the engine ----===//
//
//   xformer-serve MODEL.so WEIGHTS [--tokenizer tokenizer.json]
//       [--host 127.0.0.1] [--port 8080] [--api-key KEY] [--model-name NAME]
//
// Serves a compiled model through the serving engine (xf_engine_*): a
// decoder on /v1/completions and /v1/chat/completions (the chat template
// from the model's files; `stream: true` as server-sent events), an
// encoder on /v1/embeddings; /v1/models, /health and /metrics (Prometheus
// text) for both. A GGUF is its own tokenizer and chat template.
//
// Requests run as engine requests: continuous batching over the library's
// rows, each request its own sampling, stop tokens, stop strings, limit
// and seed. A client that goes away mid-stream has its request cancelled
// at its next token. SIGTERM or SIGINT: new requests are refused (503),
// those in flight finish (up to --drain-timeout seconds), then it exits 0.
//
//===----------------------------------------------------------------------===//

#include "ChatTemplate.h"
#include "Checkpoint.h"
#include "TextStream.h"

#include "xformer/Runtime/GGUF.h"
#include "xformer/Runtime/xformer.h"
#include "xformer/Tokenizer/Tokenizer.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

using nlohmann::json;
using xformer::serve::ChatTemplate;
using xformer::serve::TextStream;
using xformer::tokenizer::Tokenizer;
using Clock = std::chrono::steady_clock;

namespace {

//===----------------------------------------------------------------------===//
// Options
//===----------------------------------------------------------------------===//

struct Options {
  std::string library, weights, tokenizer, chatTemplate, modelName, apiKey;
  std::string host = "127.0.0.1";
  int port = 8080;
  bool mmap = false, allowExtraWeights = false;
  int64_t maxSequences = 0, maxQueued = 256, httpThreads = 64;
  int64_t maxBody = 16 << 20;
  int64_t decoderStart = -1;
  int32_t prefixCache = 1, speculate = 1;
  std::string pooling = "mean";
  bool normalize = true;
  double drainTimeout = 30;
};

int usage(const char *argv0) {
  std::fprintf(
      stderr,
      "usage: %s MODEL.so WEIGHTS [--tokenizer tokenizer.json]\n"
      "  [--host 127.0.0.1] [--port 8080 (0: any free port)] [--api-key KEY]\n"
      "  [--model-name NAME] [--chat-template FILE] [--mmap]\n"
      "  [--allow-extra-weights] [--max-sequences N] [--max-queued N]\n"
      "  [--no-prefix-cache] [--no-speculate] [--http-threads N]\n"
      "  [--max-body BYTES] [--pooling mean|cls|model] [--no-normalize]\n"
      "  [--drain-timeout SECONDS] [--decoder-start ID]\n",
      argv0);
  return 2;
}

bool parseInt(const char *text, int64_t lo, int64_t hi, int64_t &out) {
  char *end = nullptr;
  errno = 0;
  long long v = std::strtoll(text, &end, 10);
  if (end == text || *end || errno || v < lo || v > hi)
    return false;
  out = v;
  return true;
}

//===----------------------------------------------------------------------===//
// Errors as OpenAI writes them
//===----------------------------------------------------------------------===//

struct HttpError {
  int status;
  std::string message, type, code, param;
};

std::string errorBody(const HttpError &e) {
  json err = {{"message", e.message},
              {"type", e.type.empty() ? "invalid_request_error" : e.type},
              {"param", e.param.empty() ? json(nullptr) : json(e.param)},
              {"code", e.code.empty() ? json(nullptr) : json(e.code)}};
  return json({{"error", err}}).dump();
}

HttpError badRequest(std::string message, std::string param = "",
                     std::string code = "") {
  return {400, std::move(message), "invalid_request_error", std::move(code),
          std::move(param)};
}

std::string dumpJson(const json &j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

//===----------------------------------------------------------------------===//
// Metrics (Prometheus text format)
//===----------------------------------------------------------------------===//

class Histogram {
public:
  explicit Histogram(std::vector<double> bounds)
      : bounds(std::move(bounds)), counts(this->bounds.size() + 1, 0) {}
  void observe(double v) {
    std::lock_guard<std::mutex> lock(mutex);
    size_t i = 0;
    while (i < bounds.size() && v > bounds[i])
      ++i;
    ++counts[i];
    sum += v;
    ++total;
  }
  void write(std::string &out, const char *name, const char *help) const {
    std::lock_guard<std::mutex> lock(mutex);
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name +
           " histogram\n";
    uint64_t cumulative = 0;
    char buf[160];
    for (size_t i = 0; i < bounds.size(); ++i) {
      cumulative += counts[i];
      std::snprintf(buf, sizeof(buf), "%s_bucket{le=\"%g\"} %llu\n", name,
                    bounds[i], (unsigned long long)cumulative);
      out += buf;
    }
    std::snprintf(buf, sizeof(buf),
                  "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n",
                  name, (unsigned long long)total, name, sum, name,
                  (unsigned long long)total);
    out += buf;
  }

private:
  mutable std::mutex mutex;
  std::vector<double> bounds;
  std::vector<uint64_t> counts;
  double sum = 0;
  uint64_t total = 0;
};

struct Metrics {
  std::mutex mutex;
  std::map<std::pair<std::string, int>, uint64_t> requests; // path, status
  std::atomic<uint64_t> promptTokens{0}, generatedTokens{0}, disconnects{0};
  std::atomic<int64_t> inFlight{0};
  Histogram ttft{{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}};
  Histogram tpot{{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}};
  Histogram duration{{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}};

  void count(const std::string &path, int status) {
    std::lock_guard<std::mutex> lock(mutex);
    ++requests[{path, status}];
  }
};

//===----------------------------------------------------------------------===//
// Engine requests and the stepping thread
//===----------------------------------------------------------------------===//

/// What one HTTP request waits on: its engine requests report here.
struct Group {
  std::mutex mutex;
  std::condition_variable cv;
};

/// One engine request, written by the engine's callback (under the group's
/// mutex) and read by the HTTP thread.
struct Stream {
  std::shared_ptr<Group> group;
  int64_t id = -1;
  std::vector<int64_t> tokens;
  int finish = XF_FINISH_NONE;
  std::vector<float> embedding;
  Clock::time_point submitted, first, last;
};

class Server;
Server *theServer = nullptr;

class Server {
public:
  Options opts;
  xf_model *model = nullptr;
  xf_engine *engine = nullptr;
  xf_info info{};
  std::unique_ptr<xformer::runtime::GGUFFile> gguf;
  std::unique_ptr<Tokenizer> tokenizer;
  std::unique_ptr<ChatTemplate> chat;
  std::string chatMissing; // why there is no chat template
  std::vector<int64_t> eos;
  int64_t decoderStart = -1; // encoder-decoders: the decoder's first token
  std::string name;
  int64_t created = 0;
  Metrics metrics;
  std::atomic<bool> draining{false};

  // Streams whose engine request has not ended, by callback pointer.
  std::mutex liveMutex;
  std::unordered_map<Stream *, std::shared_ptr<Stream>> live;

  // The stepping thread.
  std::mutex stepMutex;
  std::condition_variable stepCv;
  bool work = false, quit = false;
  std::thread stepper;

  ~Server() {
    {
      std::lock_guard<std::mutex> lock(stepMutex);
      quit = true;
    }
    stepCv.notify_all();
    if (stepper.joinable())
      stepper.join();
    if (engine)
      xf_engine_destroy(engine);
    if (model)
      xf_close(model);
  }

  bool encoderDecoder() const {
    return info.kind == XF_MODEL_ENCODER_DECODER;
  }

  void startStepping() {
    stepper = std::thread([this] {
      for (;;) {
        {
          std::unique_lock<std::mutex> lock(stepMutex);
          stepCv.wait(lock, [&] { return work || quit; });
          if (quit)
            return;
          work = false;
        }
        int64_t pending = 1;
        while (pending > 0) {
          if (xf_status s = xf_engine_step(engine, &pending))
            std::fprintf(stderr, "xformer-serve: a step failed (%s): %s\n",
                         xf_status_name(s), xf_last_error());
          std::lock_guard<std::mutex> lock(stepMutex);
          if (quit)
            return;
        }
      }
    });
  }

  void wake() {
    {
      std::lock_guard<std::mutex> lock(stepMutex);
      work = true;
    }
    stepCv.notify_one();
  }

  static void onToken(void *user, int64_t, int64_t token,
                      xf_finish_reason finish) {
    Stream *s = static_cast<Stream *>(user);
    std::shared_ptr<Group> g = s->group;
    {
      std::lock_guard<std::mutex> lock(g->mutex);
      const Clock::time_point now = Clock::now();
      if (token >= 0) {
        s->tokens.push_back(token);
        if (s->tokens.size() == 1)
          s->first = now;
        s->last = now;
      }
      s->finish = finish;
    }
    g->cv.notify_all();
    if (finish != XF_FINISH_NONE)
      theServer->release(s);
  }

  static void onEmbedding(void *user, int64_t, const float *embedding,
                          int64_t dim, xf_finish_reason finish) {
    Stream *s = static_cast<Stream *>(user);
    std::shared_ptr<Group> g = s->group;
    {
      std::lock_guard<std::mutex> lock(g->mutex);
      if (embedding)
        s->embedding.assign(embedding, embedding + dim);
      s->first = s->last = Clock::now();
      s->finish = finish;
    }
    g->cv.notify_all();
    theServer->release(s);
  }

  void release(Stream *s) {
    std::lock_guard<std::mutex> lock(liveMutex);
    live.erase(s);
  }

  /// A stream for one engine request, tracked until the engine ends it.
  std::shared_ptr<Stream> track(const std::shared_ptr<Group> &g) {
    auto s = std::make_shared<Stream>();
    s->group = g;
    s->submitted = Clock::now();
    std::lock_guard<std::mutex> lock(liveMutex);
    live[s.get()] = s;
    return s;
  }

  /// `s` once the engine took it (status `st`); null with `error` set when
  /// it refused it.
  std::shared_ptr<Stream> accepted(xf_status st, std::shared_ptr<Stream> s,
                                   HttpError &error) {
    if (st) {
      release(s.get());
      error = refusal(st);
      return nullptr;
    }
    wake();
    return s;
  }

  /// Submits a token request; null with an HttpError when the engine
  /// refuses it.
  std::shared_ptr<Stream> submit(const std::shared_ptr<Group> &g,
                                 const std::vector<int64_t> &prompt,
                                 xf_generate_options sampling,
                                 HttpError &error) {
    std::shared_ptr<Stream> s = track(g);
    xf_request_params p;
    xf_request_params_init(&p);
    if (encoderDecoder()) {
      // The prompt is the source; the decoder starts from its start token.
      p.source = prompt.data();
      p.source_len = int64_t(prompt.size());
      p.prompt = &decoderStart;
      p.prompt_len = 1;
    } else {
      p.prompt = prompt.data();
      p.prompt_len = int64_t(prompt.size());
    }
    p.sampling = sampling;
    p.sampling.eos_token_ids = eos.data();
    p.sampling.num_eos_token_ids = int64_t(eos.size());
    p.on_token = onToken;
    p.user = s.get();
    return accepted(xf_engine_submit(engine, &p, &s->id), s, error);
  }

  std::shared_ptr<Stream> submitEmbedding(const std::shared_ptr<Group> &g,
                                          const std::vector<int64_t> &ids,
                                          int32_t pooling, HttpError &error) {
    std::shared_ptr<Stream> s = track(g);
    xf_embedding_params p;
    xf_embedding_params_init(&p);
    p.ids = ids.data();
    p.len = int64_t(ids.size());
    p.pooling = pooling;
    p.normalize = opts.normalize ? 1 : 0;
    p.on_embedding = onEmbedding;
    p.user = s.get();
    return accepted(xf_engine_submit_embedding(engine, &p, &s->id), s, error);
  }

  /// The engine's refusal as an HTTP error. Requests that can never fit are
  /// checked before submission, so XF_ERROR_CAPACITY here is a full queue.
  HttpError refusal(xf_status st) {
    const std::string message = xf_last_error();
    if (st == XF_ERROR_CAPACITY && message.find("queue") != std::string::npos)
      return {503, "the server is busy: " + message, "server_error",
              "server_busy", ""};
    if (st == XF_ERROR_CAPACITY)
      return badRequest(message, "", "context_length_exceeded");
    if (st == XF_ERROR_INVALID_ARGUMENT || st == XF_ERROR_OUT_OF_RANGE)
      return badRequest(message);
    return {500, message, "server_error", "", ""};
  }

  void cancel(const std::shared_ptr<Stream> &s) {
    bool pending;
    {
      std::lock_guard<std::mutex> lock(s->group->mutex);
      pending = s->finish == XF_FINISH_NONE;
    }
    if (pending && xf_engine_cancel(engine, s->id) == XF_OK)
      wake();
  }
};

//===----------------------------------------------------------------------===//
// Request parsing
//===----------------------------------------------------------------------===//

/// The sampling and stop parameters a completion request gives.
struct Sampling {
  xf_generate_options options;
  std::vector<std::string> stops;
  int64_t n = 1;
  bool stream = false, includeUsage = false;
  bool maxTokensGiven = false;
};

const json *field(const json &body, const char *key) {
  auto it = body.find(key);
  return it == body.end() || it->is_null() ? nullptr : &*it;
}

double number(const json &body, const char *key, double lo, double hi,
              double fallback) {
  const json *v = field(body, key);
  if (!v)
    return fallback;
  if (!v->is_number())
    throw badRequest(std::string("'") + key + "' must be a number", key);
  const double x = v->get<double>();
  if (!(x >= lo && x <= hi))
    throw badRequest(std::string("'") + key + "' is " + v->dump() +
                         "; it must be between " + json(lo).dump() + " and " +
                         json(hi).dump(),
                     key);
  return x;
}

int64_t integer(const json &body, const char *key, int64_t lo, int64_t hi,
                int64_t fallback) {
  const json *v = field(body, key);
  if (!v)
    return fallback;
  if (!v->is_number_integer())
    throw badRequest(std::string("'") + key + "' must be an integer", key);
  // Unsigned values past int64 are refused as out of range, not wrapped.
  if (v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(INT64_MAX))
    throw badRequest(std::string("'") + key + "' is " + v->dump() +
                         ", out of range",
                     key);
  const int64_t x = v->get<int64_t>();
  if (x < lo || x > hi)
    throw badRequest(std::string("'") + key + "' is " + std::to_string(x) +
                         "; it must be between " + std::to_string(lo) +
                         " and " + std::to_string(hi),
                     key);
  return x;
}

bool boolean(const json &body, const char *key, bool fallback) {
  const json *v = field(body, key);
  if (!v)
    return fallback;
  if (!v->is_boolean())
    throw badRequest(std::string("'") + key + "' must be true or false", key);
  return v->get<bool>();
}

/// Refuses fields this server does not know or does not implement, so a
/// client never gets an answer computed without what it asked for.
void checkFields(const json &body, const std::vector<std::string> &known,
                 const char *endpoint) {
  // Accepted when they ask for what is done anyway.
  auto neutral = [](const std::string &key, const json &v) {
    if (v.is_null())
      return true;
    if (key == "frequency_penalty" || key == "presence_penalty")
      return v.is_number() && v.get<double>() == 0;
    if (key == "logit_bias")
      return v.is_object() && v.empty();
    if (key == "logprobs")
      return v.is_boolean() ? !v.get<bool>() : v.is_number_integer() && v.get<int64_t>() == 0;
    if (key == "echo" || key == "parallel_tool_calls")
      return v.is_boolean() && !v.get<bool>();
    if (key == "best_of")
      return v.is_number_integer() && v.get<int64_t>() == 1;
    if (key == "response_format")
      return v.is_object() && v.value("type", "") == "text";
    if (key == "tools" || key == "functions")
      return v.is_array() && v.empty();
    if (key == "tool_choice" || key == "function_call")
      return v.is_string() && v.get<std::string>() == "none";
    if (key == "suffix")
      return v.is_string() && v.get<std::string>().empty();
    if (key == "user" || key == "metadata" || key == "store" ||
        key == "service_tier")
      return true;
    return false;
  };
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (std::find(known.begin(), known.end(), it.key()) != known.end())
      continue;
    if (!neutral(it.key(), it.value()))
      throw badRequest("'" + it.key() + "' (" + it.value().dump() +
                           ") is not supported by " + endpoint,
                       it.key(), "unsupported_parameter");
  }
}

Sampling parseSampling(const json &body, int64_t defaultMaxTokens,
                       bool chat) {
  Sampling s;
  xf_generate_options_init(&s.options);
  const char *maxKey = chat && field(body, "max_completion_tokens")
                           ? "max_completion_tokens"
                           : "max_tokens";
  s.maxTokensGiven = field(body, maxKey) != nullptr;
  s.options.max_new_tokens = integer(body, maxKey, 1, int64_t(1) << 30, defaultMaxTokens);
  s.options.temperature = float(number(body, "temperature", 0, 2, 1.0));
  s.options.top_p = float(number(body, "top_p", 0, 1, 1.0));
  if (s.options.top_p <= 0)
    throw badRequest("'top_p' must be greater than 0", "top_p");
  s.options.top_k = integer(body, "top_k", 0, INT64_MAX, 0);
  const int64_t seed = integer(body, "seed", INT64_MIN, INT64_MAX, -1);
  s.options.seed = field(body, "seed") ? uint64_t(seed) : std::random_device{}();
  s.n = integer(body, "n", 1, 16, 1);
  s.stream = boolean(body, "stream", false);
  if (const json *o = field(body, "stream_options")) {
    if (!o->is_object())
      throw badRequest("'stream_options' must be an object", "stream_options");
    if (!s.stream)
      throw badRequest("'stream_options' needs 'stream': true", "stream_options");
    for (auto it = o->begin(); it != o->end(); ++it)
      if (it.key() != "include_usage")
        throw badRequest("'stream_options." + it.key() + "' is not supported",
                         "stream_options", "unsupported_parameter");
    s.includeUsage = boolean(*o, "include_usage", false);
  }
  if (const json *stop = field(body, "stop")) {
    if (stop->is_string())
      s.stops.push_back(stop->get<std::string>());
    else if (stop->is_array() && stop->size() <= 16)
      for (const json &v : *stop) {
        if (!v.is_string())
          throw badRequest("'stop' must be a string or a list of strings", "stop");
        s.stops.push_back(v.get<std::string>());
      }
    else
      throw badRequest("'stop' must be a string or a list of up to 16 strings",
                       "stop");
    for (const std::string &t : s.stops)
      if (t.empty())
        throw badRequest("'stop' holds an empty string", "stop");
  }
  return s;
}

//===----------------------------------------------------------------------===//
// Running completions
//===----------------------------------------------------------------------===//

/// One choice of a completion: an engine request and its text.
struct Choice {
  int64_t index = 0;
  std::shared_ptr<Stream> stream;
  std::unique_ptr<TextStream> text;
  size_t consumed = 0;    // tokens moved from the stream into `text`
  int64_t promptTokens = 0;
  std::string finish;     // "" while running
  bool roleSent = false;  // chat streaming: the first delta carries the role
  bool failed = false;
  std::string error;
};

std::string finishName(int reason) {
  return reason == XF_FINISH_LENGTH ? "length" : "stop";
}

/// Moves what the engine produced into each choice; true when a choice
/// changed. Cancels a request whose text hit a stop string.
bool pump(Server &server, Group &group, std::vector<Choice> &choices) {
  bool changed = false;
  for (Choice &c : choices) {
    if (!c.finish.empty())
      continue;
    std::vector<int64_t> fresh;
    int finish;
    {
      std::lock_guard<std::mutex> lock(group.mutex);
      fresh.assign(c.stream->tokens.begin() + c.consumed, c.stream->tokens.end());
      c.consumed = c.stream->tokens.size();
      finish = c.stream->finish;
    }
    if (fresh.empty() && finish == XF_FINISH_NONE)
      continue;
    changed = true;
    if (finish == XF_FINISH_ERROR) {
      c.failed = true;
      c.error = "the model failed while generating";
      c.finish = "error";
      continue;
    }
    const bool last = finish != XF_FINISH_NONE;
    std::string error;
    if (!c.text->push(fresh, last, error)) {
      c.failed = true;
      c.error = "the generated tokens cannot be decoded: " + error;
      c.finish = "error";
      server.cancel(c.stream);
      continue;
    }
    if (c.text->stopped()) {
      c.finish = "stop";
      server.cancel(c.stream);
    } else if (last) {
      c.finish = finishName(finish);
    }
    if (!c.finish.empty()) {
      server.metrics.generatedTokens += uint64_t(c.text->tokensUsed());
      Clock::time_point first, end;
      {
        std::lock_guard<std::mutex> lock(group.mutex);
        first = c.stream->first;
        end = c.stream->last;
      }
      if (c.text->tokensUsed() > 0) {
        server.metrics.ttft.observe(
            std::chrono::duration<double>(first - c.stream->submitted).count());
        if (c.text->tokensUsed() > 1)
          server.metrics.tpot.observe(
              std::chrono::duration<double>(end - first).count() /
              double(c.text->tokensUsed() - 1));
      }
    }
  }
  return changed;
}

bool allFinished(const std::vector<Choice> &choices) {
  for (const Choice &c : choices)
    if (c.finish.empty())
      return false;
  return true;
}

/// Waits up to `wait` for the engine to report on any choice.
void awaitProgress(Group &group, const std::vector<Choice> &choices,
                   std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lock(group.mutex);
  group.cv.wait_for(lock, wait, [&] {
    for (const Choice &c : choices)
      if (c.finish.empty() && (c.stream->tokens.size() > c.consumed ||
                               c.stream->finish != XF_FINISH_NONE))
        return true;
    return false;
  });
}

std::string newId(const char *prefix) {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t salt =
      uint64_t(std::random_device{}()) << 32 | std::random_device{}();
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%s-%016llx%06llx", prefix,
                (unsigned long long)salt,
                (unsigned long long)counter.fetch_add(1));
  return buf;
}

int64_t unixTime() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// A completion request, from its parsed prompts to its response.
struct Completion {
  bool chat = false;
  std::string id;
  int64_t created = 0;
  Sampling sampling;
  std::vector<std::vector<int64_t>> prompts;
  std::shared_ptr<Group> group = std::make_shared<Group>();
  std::vector<Choice> choices;
  Clock::time_point start = Clock::now();
  bool cancelled = false;

  json usage() const {
    int64_t prompt = 0, made = 0;
    for (const std::vector<int64_t> &p : prompts)
      prompt += int64_t(p.size());
    for (const Choice &c : choices)
      made += c.text->tokensUsed();
    return {{"prompt_tokens", prompt},
            {"completion_tokens", made},
            {"total_tokens", prompt + made}};
  }
};

void submitAll(Server &server, Completion &job) {
  const int64_t room = server.info.max_seq_len;
  // An encoder-decoder's prompt is its source; its decoder starts from one
  // token.
  auto cached = [&](const std::vector<int64_t> &prompt) {
    return server.encoderDecoder() ? int64_t(1) : int64_t(prompt.size());
  };
  for (size_t p = 0; p < job.prompts.size(); ++p) {
    const std::vector<int64_t> &prompt = job.prompts[p];
    if (prompt.empty())
      throw badRequest("the prompt is empty", "prompt");
    if (server.encoderDecoder()) {
      if (int64_t(prompt.size()) > server.info.source_len)
        throw badRequest("this model reads sources of up to " +
                             std::to_string(server.info.source_len) +
                             " tokens; the prompt has " +
                             std::to_string(prompt.size()),
                         "prompt", "context_length_exceeded");
      xf_generate_options o = job.sampling.options;
      if (!job.sampling.maxTokensGiven)
        o.max_new_tokens = std::min<int64_t>(o.max_new_tokens, room);
      if (o.max_new_tokens > room)
        throw badRequest("this model's decoder holds " + std::to_string(room) +
                             " tokens; " + std::to_string(o.max_new_tokens) +
                             " were asked for",
                         "max_tokens", "context_length_exceeded");
      continue;
    }
    xf_generate_options o = job.sampling.options;
    if (!job.sampling.maxTokensGiven && int64_t(prompt.size()) < room)
      o.max_new_tokens = std::min<int64_t>(o.max_new_tokens,
                                           room - int64_t(prompt.size()) + 1);
    // As the engine counts: the prompt and every generated token but the
    // last are cached.
    if (int64_t(prompt.size()) > room || o.max_new_tokens - 1 > room - int64_t(prompt.size()))
      throw badRequest("this model's context holds " + std::to_string(room) +
                           " tokens; the prompt has " +
                           std::to_string(prompt.size()) + " and " +
                           std::to_string(o.max_new_tokens) +
                           " more were asked for",
                       "max_tokens", "context_length_exceeded");
  }
  for (size_t p = 0; p < job.prompts.size(); ++p)
    for (int64_t k = 0; k < job.sampling.n; ++k) {
      const std::vector<int64_t> &prompt = job.prompts[p];
      xf_generate_options o = job.sampling.options;
      if (!job.sampling.maxTokensGiven)
        o.max_new_tokens = std::min<int64_t>(o.max_new_tokens,
                                             room - cached(prompt) + 1);
      o.seed += uint64_t(k); // each choice its own stream of random numbers
      Choice c;
      c.index = int64_t(job.choices.size());
      c.promptTokens = int64_t(prompt.size());
      c.text = std::make_unique<TextStream>(*server.tokenizer, job.sampling.stops);
      HttpError error;
      c.stream = server.submit(job.group, prompt, o, error);
      if (!c.stream) {
        for (Choice &done : job.choices)
          server.cancel(done.stream);
        throw error;
      }
      job.choices.push_back(std::move(c));
    }
  for (const std::vector<int64_t> &p : job.prompts)
    server.metrics.promptTokens += uint64_t(p.size());
}

json choiceJson(const Completion &job, const Choice &c, const std::string &text,
                bool delta, bool final) {
  json finish = final ? json(c.finish) : json(nullptr);
  if (!job.chat)
    return {{"index", c.index},
            {"text", text},
            {"logprobs", nullptr},
            {"finish_reason", finish}};
  json message;
  if (delta) {
    message = json::object();
    if (!c.roleSent)
      message["role"] = "assistant";
    if (!text.empty() || !final)
      message["content"] = text;
  } else {
    message = {{"role", "assistant"}, {"content", text}};
  }
  return {{"index", c.index},
          {delta ? "delta" : "message", message},
          {"logprobs", nullptr},
          {"finish_reason", finish}};
}

json chunkJson(const Completion &job, const std::string &model, json choices) {
  return {{"id", job.id},
          {"object", job.chat ? "chat.completion.chunk" : "text_completion"},
          {"created", job.created},
          {"model", model},
          {"choices", std::move(choices)}};
}

/// Runs a non-streaming completion to its end and writes the response.
void respondWhole(Server &server, Completion &job, httplib::Response &res) {
  while (!allFinished(job.choices)) {
    awaitProgress(*job.group, job.choices, std::chrono::milliseconds(200));
    pump(server, *job.group, job.choices);
  }
  json choices = json::array();
  for (Choice &c : job.choices) {
    if (c.failed)
      throw HttpError{500, c.error, "server_error", "", ""};
    choices.push_back(choiceJson(job, c, c.text->text(), false, true));
  }
  json body = chunkJson(job, server.name, choices);
  body["object"] = job.chat ? "chat.completion" : "text_completion";
  body["usage"] = job.usage();
  res.set_content(dumpJson(body), "application/json");
}

/// Streams a completion as server-sent events, one event per change.
void respondStream(Server &server, std::shared_ptr<Completion> job,
                   httplib::Response &res) {
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [&server, job](size_t, httplib::DataSink &sink) {
        auto send = [&](const json &event) {
          const std::string data = "data: " + dumpJson(event) + "\n\n";
          return sink.write(data.data(), data.size());
        };
        if (allFinished(job->choices)) {
          if (job->sampling.includeUsage) {
            json last = chunkJson(*job, server.name, json::array());
            last["usage"] = job->usage();
            if (!send(last))
              return false;
          }
          static const char done[] = "data: [DONE]\n\n";
          if (!sink.write(done, sizeof(done) - 1))
            return false;
          sink.done();
          return true;
        }
        awaitProgress(*job->group, job->choices, std::chrono::milliseconds(100));
        pump(server, *job->group, job->choices);
        for (Choice &c : job->choices) {
          if (c.failed) {
            c.failed = false; // reported once, ending the choice
            c.finish = "sent";
            if (!send({{"error", {{"message", c.error}, {"type", "server_error"}}}}))
              return false;
            continue;
          }
          const std::string text = c.text->take();
          const bool final = !c.finish.empty() && c.finish != "sent";
          if (text.empty() && !final && (c.roleSent || !job->chat))
            continue;
          json event = chunkJson(*job, server.name,
                                 json::array({choiceJson(*job, c, text, true, final)}));
          c.roleSent = true;
          if (final)
            c.finish = "sent";
          if (!send(event))
            return false; // the client is gone: the releaser cancels
        }
        return true;
      },
      [&server, job](bool success) {
        if (!success)
          ++server.metrics.disconnects;
        for (Choice &c : job->choices)
          server.cancel(c.stream);
        server.metrics.duration.observe(
            std::chrono::duration<double>(Clock::now() - job->start).count());
        --server.metrics.inFlight;
      });
}

//===----------------------------------------------------------------------===//
// Prompts
//===----------------------------------------------------------------------===//

std::vector<int64_t> tokenize(Server &server, const std::string &text,
                              bool special, const char *param) {
  std::vector<int64_t> ids;
  std::string error;
  if (!server.tokenizer->encode(text, special, ids, error))
    throw badRequest(std::string("cannot tokenize '") + param + "': " + error, param);
  return ids;
}

/// A prompt or input field: a string, a list of strings, a list of token
/// ids, or a list of lists of token ids (at most `most` of them). Token ids
/// are checked against the vocabulary where the model reports one (the
/// engine checks the rest on submission).
std::vector<std::vector<int64_t>> tokenLists(Server &server, const json &body,
                                             const char *key, size_t most) {
  const json *p = field(body, key);
  if (!p)
    throw badRequest(std::string("'") + key + "' is required", key);
  std::vector<std::vector<int64_t>> lists;
  auto tokens = [&](const json &list) {
    std::vector<int64_t> ids;
    for (const json &t : list) {
      if (!t.is_number_integer())
        throw badRequest(std::string("'") + key + "' mixes token ids and other values",
                         key);
      const int64_t id = t.get<int64_t>();
      if (server.info.vocab > 0 && (id < 0 || id >= server.info.vocab))
        throw badRequest("token " + std::to_string(id) +
                             " is outside the vocabulary of " +
                             std::to_string(server.info.vocab),
                         key);
      ids.push_back(id);
    }
    return ids;
  };
  if (p->is_string()) {
    lists.push_back(tokenize(server, p->get<std::string>(), true, key));
  } else if (p->is_array() && !p->empty() && (*p)[0].is_number_integer()) {
    lists.push_back(tokens(*p));
  } else if (p->is_array() && !p->empty()) {
    for (const json &item : *p) {
      if (item.is_string())
        lists.push_back(tokenize(server, item.get<std::string>(), true, key));
      else if (item.is_array())
        lists.push_back(tokens(item));
      else
        throw badRequest(std::string("'") + key +
                             "' must be a string, a list of strings or token ids",
                         key);
    }
  } else {
    throw badRequest(std::string("'") + key +
                         "' must be a non-empty string, list of strings or token ids",
                     key);
  }
  if (lists.size() > most)
    throw badRequest(std::string("'") + key + "' lists " +
                         std::to_string(lists.size()) + " items; at most " +
                         std::to_string(most) + " per request",
                     key);
  return lists;
}

/// /v1/chat/completions' messages as the template sees them: each content
/// a string (OpenAI's list of text parts joined).
json chatMessages(const json &body) {
  const json *m = field(body, "messages");
  if (!m || !m->is_array() || m->empty())
    throw badRequest("'messages' must be a non-empty list", "messages");
  json out = json::array();
  for (size_t i = 0; i < m->size(); ++i) {
    const json &msg = (*m)[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!msg.is_object() || !msg.contains("role") || !msg["role"].is_string())
      throw badRequest(where + " needs a 'role'", "messages");
    json copy = msg;
    const json *content = field(msg, "content");
    if (!content) {
      copy["content"] = "";
    } else if (content->is_array()) {
      std::string text;
      for (const json &part : *content) {
        if (!part.is_object() || part.value("type", "") != "text" ||
            !part.contains("text") || !part["text"].is_string())
          throw badRequest(where + ": only text content parts are supported",
                           "messages", "unsupported_parameter");
        text += part["text"].get<std::string>();
      }
      copy["content"] = text;
    } else if (!content->is_string()) {
      throw badRequest(where + ".content must be a string or a list of text parts",
                       "messages");
    }
    out.push_back(std::move(copy));
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Routes
//===----------------------------------------------------------------------===//

json parseBody(const httplib::Request &req) {
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded())
    throw badRequest("the body is not valid JSON");
  if (!body.is_object())
    throw badRequest("the body must be a JSON object");
  return body;
}

void checkModel(Server &server, const json &body) {
  const json *m = field(body, "model");
  if (!m || !m->is_string())
    throw badRequest("'model' is required", "model");
  if (m->get<std::string>() != server.name)
    throw HttpError{404,
                    "the model '" + m->get<std::string>() +
                        "' does not exist; this server serves '" + server.name + "'",
                    "invalid_request_error", "model_not_found", "model"};
}

void completions(Server &server, const httplib::Request &req,
                 httplib::Response &res, bool chat) {
  if (server.info.kind == XF_MODEL_ENCODER)
    throw badRequest("'" + server.name + "' is an encoder; it answers " +
                     "/v1/embeddings");
  if (chat && server.encoderDecoder())
    throw badRequest("'" + server.name + "' is an encoder-decoder; it answers " +
                     "/v1/completions (the prompt is the source)");
  json body = parseBody(req);
  std::vector<std::string> known = {"model", "max_tokens", "temperature", "top_p",
                                    "top_k", "seed", "n", "stream",
                                    "stream_options", "stop"};
  known.push_back(chat ? "messages" : "prompt");
  if (chat)
    known.push_back("max_completion_tokens");
  checkFields(body, known, chat ? "/v1/chat/completions" : "/v1/completions");
  checkModel(server, body);
  auto job = std::make_shared<Completion>();
  job->chat = chat;
  job->id = newId(chat ? "chatcmpl" : "cmpl");
  job->created = unixTime();
  // OpenAI's defaults: 16 tokens for a completion, the context's rest for
  // a chat.
  job->sampling = parseSampling(body, chat ? int64_t(1) << 30 : 16, chat);
  if (chat) {
    if (!server.chat)
      throw badRequest(server.chatMissing, "messages");
    std::string text, error;
    if (!server.chat->render(chatMessages(body), text, error))
      throw badRequest(error, "messages");
    // The template writes the special tokens itself (as transformers'
    // apply_chat_template tokenizes: no added BOS).
    job->prompts.push_back(tokenize(server, text, false, "messages"));
  } else {
    job->prompts = tokenLists(server, body, "prompt", 16);
  }
  submitAll(server, *job);
  ++server.metrics.inFlight;
  if (job->sampling.stream) {
    respondStream(server, job, res);
    return;
  }
  struct Done {
    Server &s;
    Completion &j;
    ~Done() {
      for (Choice &c : j.choices)
        s.cancel(c.stream);
      s.metrics.duration.observe(
          std::chrono::duration<double>(Clock::now() - j.start).count());
      --s.metrics.inFlight;
    }
  } done{server, *job};
  respondWhole(server, *job, res);
}

void embeddings(Server &server, const httplib::Request &req,
                httplib::Response &res) {
  if (server.info.kind != XF_MODEL_ENCODER)
    throw badRequest("'" + server.name + "' is not an encoder; embeddings need one");
  json body = parseBody(req);
  checkFields(body, {"model", "input", "encoding_format", "dimensions"},
              "/v1/embeddings");
  checkModel(server, body);
  const std::string format = [&] {
    const json *f = field(body, "encoding_format");
    if (!f)
      return std::string("float");
    if (!f->is_string() || (*f != "float" && *f != "base64"))
      throw badRequest("'encoding_format' must be \"float\" or \"base64\"",
                       "encoding_format");
    return f->get<std::string>();
  }();
  if (field(body, "dimensions") &&
      integer(body, "dimensions", 1, INT64_MAX, 0) != server.info.hidden)
    throw badRequest("'dimensions' must be this model's " +
                         std::to_string(server.info.hidden),
                     "dimensions", "unsupported_parameter");
  std::vector<std::vector<int64_t>> texts =
      tokenLists(server, body, "input", 2048);
  const int32_t pooling = server.opts.pooling == "cls"     ? XF_POOLING_CLS
                          : server.opts.pooling == "model" ? XF_POOLING_MODEL
                                                           : XF_POOLING_MEAN;
  auto group = std::make_shared<Group>();
  std::vector<std::shared_ptr<Stream>> streams;
  int64_t tokens = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    if (texts[i].size() > size_t(server.info.seq_len))
      throw badRequest("input " + std::to_string(i) + " has " +
                           std::to_string(texts[i].size()) +
                           " tokens; this model reads at most " +
                           std::to_string(server.info.seq_len),
                       "input", "context_length_exceeded");
    tokens += int64_t(texts[i].size());
  }
  for (const std::vector<int64_t> &t : texts) {
    HttpError error;
    std::shared_ptr<Stream> s = server.submitEmbedding(group, t, pooling, error);
    if (!s) {
      for (auto &done : streams)
        server.cancel(done);
      throw error;
    }
    streams.push_back(std::move(s));
  }
  server.metrics.promptTokens += uint64_t(tokens);
  json data = json::array();
  {
    std::unique_lock<std::mutex> lock(group->mutex);
    group->cv.wait(lock, [&] {
      for (auto &s : streams)
        if (s->finish == XF_FINISH_NONE)
          return false;
      return true;
    });
  }
  for (size_t i = 0; i < streams.size(); ++i) {
    if (streams[i]->finish != XF_FINISH_STOP)
      throw HttpError{500, "the model failed to encode input " + std::to_string(i),
                      "server_error", "", ""};
    const std::vector<float> &v = streams[i]->embedding;
    json item = {{"object", "embedding"}, {"index", int64_t(i)}};
    if (format == "float") {
      item["embedding"] = v;
    } else {
      static const char table[] =
          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
      const unsigned char *bytes = reinterpret_cast<const unsigned char *>(v.data());
      const size_t n = v.size() * sizeof(float);
      std::string out;
      for (size_t k = 0; k < n; k += 3) {
        const uint32_t b = uint32_t(bytes[k]) << 16 |
                           (k + 1 < n ? uint32_t(bytes[k + 1]) << 8 : 0) |
                           (k + 2 < n ? uint32_t(bytes[k + 2]) : 0);
        out += table[b >> 18 & 63];
        out += table[b >> 12 & 63];
        out += k + 1 < n ? table[b >> 6 & 63] : '=';
        out += k + 2 < n ? table[b & 63] : '=';
      }
      item["embedding"] = out;
    }
    data.push_back(std::move(item));
  }
  res.set_content(dumpJson({{"object", "list"},
                            {"data", data},
                            {"model", server.name},
                            {"usage", {{"prompt_tokens", tokens},
                                       {"total_tokens", tokens}}}}),
                  "application/json");
}

std::string metricsText(Server &server) {
  xf_engine_stats st{};
  xf_engine_get_stats(server.engine, &st);
  std::string out;
  auto gauge = [&](const char *name, const char *type, const char *help,
                   double v) {
    char buf[96];
    std::snprintf(buf, sizeof(buf), "%.17g", v);
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " +
           type + "\n" + name + " " + buf + "\n";
  };
  {
    std::lock_guard<std::mutex> lock(server.metrics.mutex);
    out += "# HELP xformer_http_requests_total HTTP requests answered, by "
           "path and status.\n# TYPE xformer_http_requests_total counter\n";
    for (const auto &[key, n] : server.metrics.requests)
      out += "xformer_http_requests_total{path=\"" + key.first + "\",status=\"" +
             std::to_string(key.second) + "\"} " + std::to_string(n) + "\n";
  }
  const int64_t rows = server.opts.maxSequences > 0
                           ? std::min(server.opts.maxSequences, server.info.max_batch)
                           : server.info.max_batch;
  gauge("xformer_requests_in_flight", "gauge", "Completion requests being answered.",
        double(server.metrics.inFlight.load()));
  gauge("xformer_queue_depth", "gauge", "Engine requests waiting for a sequence.",
        double(st.queued));
  gauge("xformer_kv_sequences_in_use", "gauge",
        "KV-cache sequences (rows) held by running requests.", double(st.running));
  gauge("xformer_kv_sequences_total", "gauge", "KV-cache sequences the engine uses.",
        double(rows));
  gauge("xformer_kv_cache_bytes", "gauge", "Bytes of the model's KV-cache arena.",
        double(server.info.kv_arena_bytes));
  gauge("xformer_prompt_tokens_total", "counter", "Prompt tokens of accepted requests.",
        double(server.metrics.promptTokens.load()));
  gauge("xformer_generated_tokens_total", "counter", "Tokens generated for clients.",
        double(server.metrics.generatedTokens.load()));
  gauge("xformer_engine_steps_total", "counter", "Engine steps.", double(st.steps));
  gauge("xformer_prefix_cache_hits_total", "counter",
        "Requests that found part of their prompt cached.", double(st.prefix_hits));
  gauge("xformer_prefix_cache_tokens_total", "counter",
        "Prompt tokens whose prefill the prefix cache skipped.", double(st.prefix_tokens));
  gauge("xformer_speculative_drafted_tokens_total", "counter",
        "Tokens drafted for speculative decoding.", double(st.drafted_tokens));
  gauge("xformer_speculative_accepted_tokens_total", "counter",
        "Drafted tokens the model accepted.", double(st.accepted_tokens));
  gauge("xformer_sources_encoded_total", "counter",
        "Encoder-decoder sources encoded.", double(st.sources_encoded));
  gauge("xformer_source_cache_hits_total", "counter",
        "Encoder-decoder requests whose source a free sequence still held.",
        double(st.source_hits));
  gauge("xformer_client_disconnects_total", "counter",
        "Streams whose client went away before the end.",
        double(server.metrics.disconnects.load()));
  server.metrics.ttft.write(out, "xformer_time_to_first_token_seconds",
                            "From submission to the first generated token.");
  server.metrics.tpot.write(out, "xformer_time_per_output_token_seconds",
                            "Mean time between a request's generated tokens.");
  server.metrics.duration.write(out, "xformer_request_duration_seconds",
                                "Completion requests from arrival to the last byte.");
  return out;
}

/// Compares in time that depends on the lengths only, not on where the
/// first difference is.
bool sameSecret(const std::string &given, const std::string &key) {
  unsigned diff = given.size() == key.size() ? 0u : 1u;
  for (size_t i = 0; i < key.size(); ++i)
    diff |= unsigned(uint8_t(key[i]) ^ uint8_t(i < given.size() ? given[i] : 0));
  return diff == 0;
}

void setError(httplib::Response &res, const HttpError &e) {
  res.status = e.status;
  res.set_content(errorBody(e), "application/json");
}

/// A route's handler with errors as OpenAI-style bodies.
httplib::Server::Handler guarded(
    Server &server,
    std::function<void(const httplib::Request &, httplib::Response &)> fn) {
  return [&server, fn](const httplib::Request &req, httplib::Response &res) {
    if (server.draining && req.path != "/health" && req.path != "/metrics") {
      setError(res, {503, "the server is shutting down", "server_error",
                     "shutting_down", ""});
      return;
    }
    try {
      fn(req, res);
    } catch (const HttpError &e) {
      setError(res, e);
    } catch (const std::exception &e) {
      setError(res, {500, std::string("internal error: ") + e.what(),
                     "server_error", "", ""});
    }
  };
}

//===----------------------------------------------------------------------===//
// Start-up
//===----------------------------------------------------------------------===//

bool parseArgs(int argc, char **argv, Options &o) {
  if (argc < 3)
    return false;
  o.library = argv[1];
  o.weights = argv[2];
  for (int i = 3; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char * {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "xformer-serve: %s needs a value\n", a.c_str());
        return nullptr;
      }
      return argv[++i];
    };
    auto intValue = [&](int64_t lo, int64_t hi, int64_t &out) {
      const char *v = value();
      if (!v)
        return false;
      if (!parseInt(v, lo, hi, out)) {
        std::fprintf(stderr, "xformer-serve: %s %s: expected an integer in "
                             "[%lld, %lld]\n",
                     a.c_str(), v, (long long)lo, (long long)hi);
        return false;
      }
      return true;
    };
    const char *v = nullptr;
    int64_t n = 0;
    if (a == "--tokenizer" && (v = value()))
      o.tokenizer = v;
    else if (a == "--chat-template" && (v = value()))
      o.chatTemplate = v;
    else if (a == "--model-name" && (v = value()))
      o.modelName = v;
    else if (a == "--api-key" && (v = value()))
      o.apiKey = v;
    else if (a == "--host" && (v = value()))
      o.host = v;
    else if (a == "--port" && intValue(0, 65535, n))
      o.port = int(n);
    else if (a == "--max-sequences" && intValue(0, 1 << 20, n))
      o.maxSequences = n;
    else if (a == "--max-queued" && intValue(1, 1 << 20, n))
      o.maxQueued = n;
    else if (a == "--http-threads" && intValue(1, 4096, n))
      o.httpThreads = n;
    else if (a == "--max-body" && intValue(1024, int64_t(1) << 32, n))
      o.maxBody = n;
    else if (a == "--decoder-start" && intValue(0, INT64_MAX, n))
      o.decoderStart = n;
    else if (a == "--drain-timeout" && intValue(0, 86400, n))
      o.drainTimeout = double(n);
    else if (a == "--pooling" && (v = value())) {
      o.pooling = v;
      if (o.pooling != "mean" && o.pooling != "cls" && o.pooling != "model") {
        std::fprintf(stderr, "xformer-serve: --pooling %s: expected mean, cls "
                             "or model\n", v);
        return false;
      }
    } else if (a == "--mmap")
      o.mmap = true;
    else if (a == "--allow-extra-weights")
      o.allowExtraWeights = true;
    else if (a == "--no-prefix-cache")
      o.prefixCache = 0;
    else if (a == "--no-speculate")
      o.speculate = 0;
    else if (a == "--no-normalize")
      o.normalize = false;
    else {
      static const char *const known[] = {
          "--tokenizer", "--chat-template", "--model-name", "--api-key",
          "--host", "--port", "--max-sequences", "--max-queued",
          "--http-threads", "--max-body", "--drain-timeout", "--pooling",
          "--decoder-start"};
      if (std::find(std::begin(known), std::end(known), a) == std::end(known))
        std::fprintf(stderr, "xformer-serve: unknown option %s\n", a.c_str());
      return false;
    }
  }
  return true;
}

std::string readFile(const std::string &path, bool &ok) {
  std::FILE *f = std::fopen(path.c_str(), "rb");
  ok = f != nullptr;
  std::string out;
  if (!f)
    return out;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0)
    out.append(buf, n);
  std::fclose(f);
  return out;
}

int fail(const std::string &message) {
  std::fprintf(stderr, "xformer-serve: %s\n", message.c_str());
  return 1;
}

} // namespace

int main(int argc, char **argv) {
  Options opts;
  if (!parseArgs(argc, argv, opts))
    return usage(argv[0]);

  // Signals go to one thread that waits for them (blocked everywhere else,
  // the threads started below inherit the mask).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  Server server;
  theServer = &server;
  server.opts = opts;
  server.created = unixTime();
  std::string error;
  if (xformer::runtime::GGUFFile::isGGUF(opts.weights)) {
    server.gguf = xformer::runtime::GGUFFile::open(opts.weights, error);
    if (!server.gguf)
      return fail(error);
  }
  uint32_t flags = (opts.mmap ? XF_OPEN_MMAP : 0u) |
                   (opts.allowExtraWeights ? XF_OPEN_ALLOW_EXTRA_WEIGHTS : 0u);
  if (xf_status s = xf_open_ex(opts.library.c_str(), opts.weights.c_str(), flags,
                               &server.model))
    return fail(std::string("cannot open the model (") + xf_status_name(s) +
                "): " + xf_last_error());
  xf_get_info(server.model, &server.info);

  // The tokenizer: --tokenizer, else the GGUF's own.
  if (!opts.tokenizer.empty())
    server.tokenizer = Tokenizer::load(opts.tokenizer, error);
  else if (server.gguf)
    server.tokenizer = Tokenizer::fromGGUF(*server.gguf, error);
  else
    return fail("a tokenizer is needed: --tokenizer tokenizer.json (a GGUF "
                "carries its own)");
  if (!server.tokenizer)
    return fail("cannot load the tokenizer: " + error);
  if (server.info.kind != XF_MODEL_ENCODER &&
      server.tokenizer->vocabSize() > server.info.vocab)
    return fail("the tokenizer has " + std::to_string(server.tokenizer->vocabSize()) +
                " tokens, more than the model's vocabulary of " +
                std::to_string(server.info.vocab));

  // The chat template: --chat-template, else the checkpoint's.
  if (server.info.kind == XF_MODEL_DECODER) {
    std::optional<xformer::tools::ChatTemplateSource> t =
        xformer::tools::checkpointChatTemplate(server.gguf.get(), opts.tokenizer,
                                               error);
    if (!error.empty())
      return fail(error);
    if (!opts.chatTemplate.empty()) {
      bool ok = false;
      std::string source = readFile(opts.chatTemplate, ok);
      if (!ok)
        return fail("cannot read --chat-template " + opts.chatTemplate);
      t = xformer::tools::ChatTemplateSource{source, t ? t->bos : "",
                                             t ? t->eos : "", opts.chatTemplate};
    }
    if (t) {
      server.chat = ChatTemplate::create(t->source, t->bos, t->eos, error);
      if (!server.chat)
        return fail("the chat template of " + t->origin + ": " + error);
    } else {
      server.chatMissing = "this model has no chat template (start the server "
                           "with --chat-template FILE); use /v1/completions";
    }
    server.eos = xformer::tools::checkpointEos(opts.weights, server.gguf.get());
  }
  if (server.encoderDecoder()) {
    server.eos = xformer::tools::checkpointEos(opts.weights, nullptr);
    server.decoderStart = opts.decoderStart >= 0
                              ? opts.decoderStart
                              : xformer::tools::checkpointDecoderStart(opts.weights);
    if (server.decoderStart < 0 || server.decoderStart >= server.info.vocab)
      return fail("an encoder-decoder needs its decoder start token: "
                  "--decoder-start ID, or decoder_start_token_id in the "
                  "config.json beside the weights" +
                  (server.decoderStart >= 0
                       ? " (" + std::to_string(server.decoderStart) +
                             " is outside the vocabulary)"
                       : std::string()));
  }
  if (opts.pooling == "model" && !server.info.has_pooled)
    return fail("--pooling model: this encoder has no pooler");

  xf_engine_params params;
  xf_engine_params_init(&params);
  params.max_sequences = opts.maxSequences;
  params.max_queued = opts.maxQueued;
  params.prefix_cache = opts.prefixCache;
  params.speculate = opts.speculate;
  if (xf_status s = xf_engine_create(server.model, &params, &server.engine))
    return fail(std::string("cannot start the engine (") + xf_status_name(s) +
                "): " + xf_last_error());
  server.startStepping();

  if (opts.modelName.empty()) {
    std::string base = opts.weights.substr(opts.weights.find_last_of('/') + 1);
    for (const char *ext : {".gguf", ".safetensors", ".index.json"})
      if (base.size() > std::strlen(ext) &&
          base.compare(base.size() - std::strlen(ext), std::string::npos, ext) == 0)
        base.resize(base.size() - std::strlen(ext));
    server.name = base;
  } else {
    server.name = opts.modelName;
  }

  httplib::Server http;
  const size_t threads = size_t(opts.httpThreads);
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_payload_max_length(size_t(opts.maxBody));
  http.set_read_timeout(10, 0);
  http.set_write_timeout(10, 0);
  http.set_keep_alive_timeout(5);

  http.set_pre_routing_handler([&](const httplib::Request &req,
                                   httplib::Response &res) {
    if (opts.apiKey.empty() || req.path == "/health")
      return httplib::Server::HandlerResponse::Unhandled;
    const std::string auth = req.get_header_value("Authorization");
    const std::string prefix = "Bearer ";
    const std::string given =
        auth.compare(0, prefix.size(), prefix) == 0 ? auth.substr(prefix.size()) : "";
    if (sameSecret(given, opts.apiKey))
      return httplib::Server::HandlerResponse::Unhandled;
    setError(res, {401, "invalid or missing API key (Authorization: Bearer ...)",
                   "invalid_request_error", "invalid_api_key", ""});
    return httplib::Server::HandlerResponse::Handled;
  });
  http.set_error_handler([](const httplib::Request &req, httplib::Response &res) {
    if (!res.body.empty())
      return;
    if (res.status == 404)
      setError(res, {404, "no route " + req.method + " " + req.path,
                     "invalid_request_error", "not_found", ""});
    else if (res.status == 413)
      setError(res, {413, "the request body is larger than this server accepts",
                     "invalid_request_error", "payload_too_large", ""});
    else
      setError(res, {res.status, "HTTP error " + std::to_string(res.status),
                     "invalid_request_error", "", ""});
  });
  http.set_logger([&](const httplib::Request &req, const httplib::Response &res) {
    server.metrics.count(req.path.rfind("/v1/models/", 0) == 0 ? "/v1/models/{id}"
                         : req.matches.empty() && res.status == 404 ? "other"
                                                                    : req.path,
                         res.status);
  });

  http.Get("/health", [&](const httplib::Request &, httplib::Response &res) {
    if (server.draining) {
      res.status = 503;
      res.set_content(R"({"status":"draining"})", "application/json");
    } else {
      res.set_content(R"({"status":"ok"})", "application/json");
    }
  });
  http.Get("/metrics", [&](const httplib::Request &, httplib::Response &res) {
    res.set_content(metricsText(server), "text/plain; version=0.0.4");
  });
  auto modelJson = [&] {
    return json{{"id", server.name},
                {"object", "model"},
                {"created", server.created},
                {"owned_by", "xformer"}};
  };
  http.Get("/v1/models", guarded(server, [&](const httplib::Request &,
                                             httplib::Response &res) {
             res.set_content(dumpJson({{"object", "list"},
                                       {"data", json::array({modelJson()})}}),
                             "application/json");
           }));
  http.Get(R"(/v1/models/(.+))",
           guarded(server, [&](const httplib::Request &req, httplib::Response &res) {
             if (req.matches[1] != server.name)
               throw HttpError{404, "the model '" + std::string(req.matches[1]) +
                                        "' does not exist",
                               "invalid_request_error", "model_not_found", "model"};
             res.set_content(dumpJson(modelJson()), "application/json");
           }));
  http.Post("/v1/completions",
            guarded(server, [&](const httplib::Request &req, httplib::Response &res) {
              completions(server, req, res, false);
            }));
  http.Post("/v1/chat/completions",
            guarded(server, [&](const httplib::Request &req, httplib::Response &res) {
              completions(server, req, res, true);
            }));
  http.Post("/v1/embeddings",
            guarded(server, [&](const httplib::Request &req, httplib::Response &res) {
              embeddings(server, req, res);
            }));

  int port = opts.port;
  if (port == 0) {
    port = http.bind_to_any_port(opts.host);
    if (port < 0)
      return fail("cannot listen on " + opts.host);
  } else if (!http.bind_to_port(opts.host, port)) {
    return fail("cannot listen on " + opts.host + ":" + std::to_string(port));
  }

  // SIGTERM / SIGINT: refuse new requests, let those in flight finish, stop.
  std::thread signalThread([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    std::fprintf(stderr, "xformer-serve: %s: draining %lld request(s)\n",
                 sig == SIGTERM ? "SIGTERM" : "SIGINT",
                 (long long)server.metrics.inFlight.load());
    server.draining = true;
    const Clock::time_point until =
        Clock::now() + std::chrono::milliseconds(int64_t(opts.drainTimeout * 1000));
    while (server.metrics.inFlight.load() > 0 && Clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    http.stop();
  });

  std::printf("xformer-serve: listening on http://%s:%d (model '%s', %s, %lld "
              "sequence(s))\n",
              opts.host.c_str(), port, server.name.c_str(),
              server.info.kind == XF_MODEL_DECODER   ? "decoder"
              : server.info.kind == XF_MODEL_ENCODER ? "encoder"
                                                     : "encoder-decoder",
              (long long)server.info.max_batch);
  std::fflush(stdout);
  const bool listened = http.listen_after_bind();
  if (signalThread.joinable()) {
    // A listener that failed on its own: wake the signal thread.
    if (!server.draining)
      pthread_kill(signalThread.native_handle(), SIGTERM);
    signalThread.join();
  }
  std::fprintf(stderr, "xformer-serve: stopped\n");
  return listened || server.draining ? 0 : 1;
}
