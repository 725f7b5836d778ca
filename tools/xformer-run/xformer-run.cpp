//===- xformer-run.cpp - Run a compiled model on token ids ----------------===//
//
//   xformer-run model.so model.safetensors --ids "464 2068 7586" [--ids ...]
//       [--max-new-tokens 32] [--temperature 0.8 --top-k 50 --top-p 0.9
//       --seed 1] [--eos ID] [--source "..." --start ID] [--json]
//   xformer-run model.so model.safetensors --tokenizer tokenizer.json
//       --text "The quick brown fox" [--text ...] [--source-text "..."]
//
// With --tokenizer (a Hugging Face tokenizer.json), --text and
// --source-text are tokenized as the model's own tokenizer does (with its
// special tokens), and generated tokens are printed as text too.
//   xformer-run model.so model.gguf --text "..."
// A GGUF (xformer-import model.gguf) is its own weights and tokenizer; its
// end-of-sequence ids come from its metadata. --stream prints one greedy
// sequence token by token as it is generated.
//
// Decoders: generates from each --ids prompt (one sequence per --ids).
// Encoder-decoders: encodes each --source, then generates from --start.
// Encoders: prints the hidden states' and pooled vectors' summaries.
// Timings (prefill ms, decode tokens/s) go to stderr; a progress line is
// drawn during long generations when stderr is a terminal.
//
//===----------------------------------------------------------------------===//

#include "Checkpoint.h"
#include "xformer/Runtime/GGUF.h"
#include "xformer/Runtime/xformer.h"
#include "xformer/Tokenizer/Tokenizer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

using xformer::tokenizer::Tokenizer;

namespace {

int usage(const char *argv0) {
  std::fprintf(stderr,
               "usage: %s MODEL.so WEIGHTS(.safetensors|.index.json) "
               "--ids \"1 2 3\" [--ids ...]\n"
               "  [--max-new-tokens N] [--temperature T] [--top-k K] "
               "[--top-p P] [--seed S]\n"
               "  [--eos ID] [--stream] [--source \"...\" --start ID] "
               "[--allow-extra-weights] [--json]\n"
               "  [--tokenizer tokenizer.json (--text \"...\" | "
               "--source-text \"...\") ...]\n",
               argv0);
  return 2;
}

bool parseIds(const char *text, std::vector<int64_t> &ids) {
  const char *p = text;
  while (*p) {
    while (*p == ' ' || *p == ',' || *p == '\t')
      ++p;
    if (!*p)
      break;
    char *end = nullptr;
    errno = 0;
    long long v = std::strtoll(p, &end, 10);
    if (end == p || errno)
      return false;
    ids.push_back(v);
    p = end;
  }
  return !ids.empty();
}

/// Rows of different lengths packed into [rows, longest] with lengths.
void pack(const std::vector<std::vector<int64_t>> &rows,
          std::vector<int64_t> &ids, std::vector<int64_t> &lengths,
          int64_t &seq) {
  seq = 0;
  for (auto &r : rows)
    seq = std::max<int64_t>(seq, r.size());
  ids.assign(rows.size() * seq, 0);
  lengths.clear();
  for (size_t b = 0; b < rows.size(); ++b) {
    lengths.push_back(rows[b].size());
    std::copy(rows[b].begin(), rows[b].end(), ids.begin() + b * seq);
  }
}

void progress(void *, int64_t step, int64_t total) {
  if (!isatty(2) || total < 16)
    return;
  std::fprintf(stderr, "\r  generating: %lld/%lld tokens", (long long)step,
               (long long)total);
  if (step == total)
    std::fprintf(stderr, "\n");
}

/// A JSON string literal.
std::string jsonString(const std::string &text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += char(c);
    }
  }
  return out + "\"";
}

int failWith(xf_status s, const char *what) {
  std::fprintf(stderr, "xformer-run: %s failed (%s): %s\n", what,
               xf_status_name(s), xf_last_error());
  return 1;
}

/// --stream: one sequence, greedy, each token printed as it is made (its
/// text, with a tokenizer: the decoded reply grows by whole characters).
/// Stops at an end-of-sequence id, max_new_tokens or a full cache.
int streamGreedy(xf_model *model, const xf_info &info,
                 const std::vector<std::vector<int64_t>> &prompts,
                 const xf_generate_options &opts, const Tokenizer *tokenizer,
                 bool json) {
  if (prompts.size() != 1 || opts.temperature > 0 || json) {
    std::fprintf(stderr, "xformer-run: --stream generates one sequence "
                         "greedily (one --ids or --text; no --temperature "
                         "or --json)\n");
    return 2;
  }
  const std::vector<int64_t> &prompt = prompts.front();
  if (prompt.empty()) {
    std::fprintf(stderr, "xformer-run: --stream: the prompt is empty\n");
    return 2;
  }
  std::vector<float> logits(info.vocab);
  const int64_t length = int64_t(prompt.size());
  using Clock = std::chrono::steady_clock;
  const Clock::time_point t0 = Clock::now();
  xf_status s = xf_prefill(model, prompt.data(), &length, 1, length,
                           logits.data());
  if (s)
    return failWith(s, "prefill");
  const Clock::time_point t1 = Clock::now();
  int64_t decoded = 0;
  auto isEos = [&](int64_t t) {
    if (t == opts.eos_token_id)
      return true;
    for (int64_t k = 0; k < opts.num_eos_token_ids; ++k)
      if (opts.eos_token_ids[k] == t)
        return true;
    return false;
  };
  std::vector<int64_t> made;
  std::string shown;
  int rc = 0;
  for (int64_t step = 0; step < opts.max_new_tokens; ++step) {
    const int64_t token =
        std::max_element(logits.begin(), logits.end()) - logits.begin();
    made.push_back(token);
    if (tokenizer) {
      std::string text, error;
      // A character split over tokens shows once it is whole.
      if (tokenizer->decode(made, /*skipSpecialTokens=*/true, text, error) &&
          text.compare(0, shown.size(), shown) == 0 &&
          (text.size() < 3 || text.compare(text.size() - 3, 3, "\xEF\xBF\xBD"))) {
        std::fwrite(text.data() + shown.size(), 1, text.size() - shown.size(),
                    stdout);
        shown = text;
      }
    } else {
      std::printf("%s%lld", step ? " " : "", (long long)token);
    }
    std::fflush(stdout);
    if (isEos(token) || step + 1 == opts.max_new_tokens)
      break;
    ++decoded;
    if ((s = xf_decode(model, &token, 1, logits.data()))) {
      std::printf("\n");
      std::fprintf(stderr, "xformer-run: generate stopped (%s): %s\n",
                   xf_status_name(s), xf_last_error());
      rc = 1;
      break;
    }
  }
  if (!rc)
    std::printf("\n");
  std::fflush(stdout);
  const double prefillMs =
      std::chrono::duration<double, std::milli>(t1 - t0).count();
  const double decodeMs =
      std::chrono::duration<double, std::milli>(Clock::now() - t1).count();
  std::fprintf(stderr,
               "prefill: %.2f ms (%lld tokens); decode: %lld steps, %.1f "
               "tokens/s (printing included)\n",
               prefillMs, (long long)length, (long long)decoded,
               decodeMs > 0 ? decoded * 1000.0 / decodeMs : 0.0);
  return rc;
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 3)
    return usage(argv[0]);
  const char *library = argv[1], *weights = argv[2];
  std::vector<std::vector<int64_t>> prompts, sources;
  std::vector<std::string> texts, sourceTexts;
  const char *tokenizerPath = nullptr;
  xf_generate_options opts;
  xf_generate_options_init(&opts);
  int64_t start = -1;
  bool json = false, eosGiven = false, stream = false;
  uint32_t flags = 0;
  for (int i = 3; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char * {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "xformer-run: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    auto number = [&]() -> double {
      const char *v = value();
      char *end = nullptr;
      double d = std::strtod(v, &end);
      if (end == v || *end || !std::isfinite(d)) {
        std::fprintf(stderr, "xformer-run: %s: '%s' is not a number\n",
                     a.c_str(), v);
        std::exit(2);
      }
      return d;
    };
    // An integer option: a whole number within int64_t (3e9 is one).
    auto integer = [&]() -> int64_t {
      const double d = number();
      if (d != std::floor(d) || std::fabs(d) >= 9.2e18) {
        std::fprintf(stderr, "xformer-run: %s: %s is not an integer\n",
                     a.c_str(), argv[i]);
        std::exit(2);
      }
      return int64_t(d);
    };
    if (a == "--ids" || a == "--source") {
      std::vector<int64_t> ids;
      const char *v = value();
      if (!parseIds(v, ids)) {
        std::fprintf(stderr,
                     "xformer-run: %s: '%s' is not a list of token "
                     "ids\n",
                     a.c_str(), v);
        return 2;
      }
      (a == "--ids" ? prompts : sources).push_back(ids);
    } else if (a == "--text") {
      texts.push_back(value());
    } else if (a == "--source-text") {
      sourceTexts.push_back(value());
    } else if (a == "--tokenizer") {
      tokenizerPath = value();
    } else if (a == "--max-new-tokens") {
      opts.max_new_tokens = integer();
      if (opts.max_new_tokens < 1) {
        std::fprintf(stderr, "xformer-run: --max-new-tokens must be >= 1\n");
        return 2;
      }
    } else if (a == "--temperature") {
      opts.temperature = float(number());
    } else if (a == "--top-k") {
      opts.top_k = integer();
    } else if (a == "--top-p") {
      opts.top_p = float(number());
    } else if (a == "--seed") {
      opts.seed = uint64_t(integer());
    } else if (a == "--eos") {
      opts.eos_token_id = integer();
      eosGiven = true;
    } else if (a == "--start") {
      start = integer();
    } else if (a == "--stream") {
      stream = true;
    } else if (a == "--json") {
      json = true;
    } else if (a == "--allow-extra-weights") {
      flags |= XF_OPEN_ALLOW_EXTRA_WEIGHTS;
    } else {
      std::fprintf(stderr, "xformer-run: unknown option '%s'\n", a.c_str());
      return usage(argv[0]);
    }
  }
  opts.progress = progress;

  std::unique_ptr<Tokenizer> tokenizer;
  // A GGUF carries its tokenizer: it serves when --tokenizer is not given.
  // A GGUF weights file, read once for its tokenizer and EOS ids (the
  // runtime reads it for the weights).
  std::unique_ptr<xformer::runtime::GGUFFile> gguf;
  if (xformer::runtime::GGUFFile::isGGUF(weights)) {
    std::string error;
    gguf = xformer::runtime::GGUFFile::open(weights, error);
    if (!gguf) {
      std::fprintf(stderr, "xformer-run: %s\n", error.c_str());
      return 1;
    }
  }
  if (!tokenizerPath && (!texts.empty() || !sourceTexts.empty()) && gguf)
    tokenizerPath = weights;
  if (!texts.empty() || !sourceTexts.empty()) {
    if (!tokenizerPath) {
      std::fprintf(stderr, "xformer-run: --text and --source-text need "
                           "--tokenizer\n");
      return 2;
    }
  }
  if (tokenizerPath) {
    std::string error;
    tokenizer = gguf && std::string(tokenizerPath) == weights
                    ? Tokenizer::fromGGUF(*gguf, error)
                    : Tokenizer::load(tokenizerPath, error);
    if (!tokenizer) {
      std::fprintf(stderr, "xformer-run: %s\n", error.c_str());
      return 1;
    }
    auto encodeAll = [&](const std::vector<std::string> &in,
                         std::vector<std::vector<int64_t>> &out,
                         const char *what) {
      for (const std::string &t : in) {
        std::vector<int64_t> ids;
        if (!tokenizer->encode(t, /*addSpecialTokens=*/true, ids, error)) {
          std::fprintf(stderr, "xformer-run: %s: %s\n", what, error.c_str());
          return false;
        }
        if (ids.empty()) {
          std::fprintf(stderr, "xformer-run: %s '%s' has no tokens\n", what,
                       t.c_str());
          return false;
        }
        out.push_back(std::move(ids));
      }
      return true;
    };
    if (!encodeAll(texts, prompts, "--text") ||
        !encodeAll(sourceTexts, sources, "--source-text"))
      return 2;
  }

  xf_model *model = nullptr;
  if (xf_status s = xf_open_ex(library, weights, flags, &model))
    return failWith(s, "opening the model");
  xf_info info;
  xf_get_info(model, &info);
  int rc = 0;
  std::vector<int64_t> ids, lengths;
  int64_t seq = 0;

  if (info.kind == XF_MODEL_ENCODER) {
    if (prompts.empty()) {
      std::fprintf(stderr, "xformer-run: an encoder needs --ids\n");
      xf_close(model);
      return 2;
    }
    pack(prompts, ids, lengths, seq);
    int64_t batch = prompts.size();
    std::vector<float> hidden(batch * seq * info.hidden),
        pooled(batch * info.hidden);
    if (xf_status s = xf_encode(model, ids.data(), nullptr, lengths.data(),
                                batch, seq, hidden.data(), pooled.data())) {
      xf_close(model);
      return failWith(s, "encode");
    }
    xf_timings t;
    xf_get_timings(model, &t);
    for (int64_t b = 0; b < batch; ++b) {
      std::printf(json ? "{\"sequence\": %lld, \"hidden0\": ["
                       : "sequence %lld: hidden[0][:4] =",
                  (long long)b);
      for (int64_t d = 0; d < std::min<int64_t>(4, info.hidden); ++d)
        std::printf(json ? "%s%.6g" : "%s%.6g",
                    d ? (json ? ", " : " ") : (json ? "" : " "),
                    hidden[b * seq * info.hidden + d]);
      if (info.has_pooled) {
        std::printf(json ? "], \"pooled0\": [" : "; pooled[:4] =");
        for (int64_t d = 0; d < std::min<int64_t>(4, info.hidden); ++d)
          std::printf(json ? "%s%.6g" : "%s%.6g",
                      d ? (json ? ", " : " ") : (json ? "" : " "),
                      pooled[b * info.hidden + d]);
      }
      std::printf(json ? "]}\n" : "\n");
    }
    std::fflush(stdout);
    std::fprintf(stderr,
                 "encode: %.2f ms for %lld sequence(s) of up to %lld tokens\n",
                 t.prefill_ms, (long long)batch, (long long)seq);
    xf_close(model);
    return 0;
  }

  if (info.kind == XF_MODEL_ENCODER_DECODER) {
    if (sources.empty() || start < 0) {
      std::fprintf(stderr, "xformer-run: an encoder-decoder needs --source "
                           "and --start (the decoder start token)\n");
      xf_close(model);
      return 2;
    }
    std::vector<int64_t> src, srcLens;
    int64_t srcSeq = 0;
    pack(sources, src, srcLens, srcSeq);
    if (xf_status s = xf_encode_source(model, src.data(), srcLens.data(),
                                       sources.size(), srcSeq)) {
      xf_close(model);
      return failWith(s, "encode");
    }
    prompts.assign(sources.size(), std::vector<int64_t>{start});
  }
  if (prompts.empty()) {
    std::fprintf(stderr, "xformer-run: a decoder needs --ids\n");
    xf_close(model);
    return 2;
  }
  pack(prompts, ids, lengths, seq);
  int64_t batch = prompts.size();
  // The end of a reply: --eos, else what the checkpoint declares.
  std::vector<int64_t> eos;
  if (!eosGiven) {
    eos = xformer::tools::checkpointEos(weights, gguf.get());
    if (!eos.empty()) {
      opts.eos_token_id = eos.front();
      opts.eos_token_ids = eos.data();
      opts.num_eos_token_ids = int64_t(eos.size());
    }
  }
  // No sequence makes more tokens than its cache has positions (one per
  // decoded token after the first): a larger request would only size the
  // buffer.
  opts.max_new_tokens =
      std::min<int64_t>(opts.max_new_tokens, info.max_seq_len + 1);
  if (stream) {
    const int streamed =
        streamGreedy(model, info, prompts, opts, tokenizer.get(), json);
    xf_close(model);
    return streamed;
  }
  std::vector<int64_t> tokens(batch * opts.max_new_tokens);
  std::vector<int64_t> counts(batch);
  const xf_status generated = xf_generate(model, ids.data(), lengths.data(),
                                          batch, seq, &opts, tokens.data(),
                                          counts.data());
  std::string generateError = xf_last_error();
  bool anyToken = false;
  for (int64_t c : counts)
    anyToken = anyToken || c > 0;
  if (generated && (generated != XF_ERROR_CAPACITY || !anyToken)) {
    xf_close(model);
    return failWith(generated, "generate");
  }
  if (generated) // out of cache: the tokens made so far, then the error
    rc = 1;
  xf_timings t;
  xf_get_timings(model, &t);
  for (int64_t b = 0; b < batch; ++b) {
    std::printf(json ? "{\"sequence\": %lld, \"tokens\": [" : "sequence %lld:",
                (long long)b);
    for (int64_t i = 0; i < counts[b]; ++i)
      std::printf("%s%lld", json ? (i ? ", " : "") : " ",
                  (long long)tokens[b * opts.max_new_tokens + i]);
    std::string text, error;
    bool hasText = false;
    if (tokenizer) {
      std::vector<int64_t> generated(tokens.begin() + b * opts.max_new_tokens,
                                     tokens.begin() + b * opts.max_new_tokens +
                                         counts[b]);
      hasText =
          tokenizer->decode(generated, /*skipSpecialTokens=*/true, text, error);
      if (!hasText)
        std::fprintf(stderr, "xformer-run: sequence %lld: %s\n", (long long)b,
                     error.c_str());
    }
    if (json)
      std::printf(hasText ? "], \"text\": %s}\n" : "]}\n",
                  jsonString(text).c_str());
    else if (hasText) {
      std::string line = "\n  text: " + text + "\n"; // NUL characters too
      std::fwrite(line.data(), 1, line.size(), stdout);
    } else
      std::printf("\n");
  }
  std::fflush(stdout);
  if (generated)
    std::fprintf(stderr, "xformer-run: generate stopped (%s): %s\n",
                 xf_status_name(generated), generateError.c_str());
  std::fprintf(
      stderr,
      "prefill: %.2f ms (%lld sequence(s), up to %lld tokens); decode: "
      "%lld steps, %.1f tokens/s per sequence\n",
      t.prefill_ms, (long long)batch, (long long)seq, (long long)t.decode_steps,
      t.decode_ms > 0 ? t.decode_steps * 1000.0 / t.decode_ms : 0.0);
  xf_close(model);
  return rc;
}
