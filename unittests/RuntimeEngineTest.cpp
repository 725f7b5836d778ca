//===- RuntimeEngineTest.cpp - Continuous batching against single requests ===//
//
// The serving engine (xf_engine_*) on a Llama-style decoder compiled with
// two rows (GQA, RoPE, chunks of 8): a seeded schedule of requests arriving, running side by side,
// finishing and being cancelled at random gives every request exactly the
// tokens xf_generate gives it alone on the same library (the oracle: the
// single-request path), greedy and sampled; every bad request is refused
// up front with its status, changing nothing; rows and counts return to
// zero.
//
//===----------------------------------------------------------------------===//

#include "RuntimeTestSupport.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

using namespace xformer::test;

namespace {

constexpr int64_t kMaxSeqLen = 24;

/// What xf_generate gives `prompt` alone on `model`.
std::vector<int64_t> generateAlone(xf_model *model,
                                   const std::vector<int64_t> &prompt,
                                   const xf_generate_options &o) {
  std::vector<int64_t> tokens(o.max_new_tokens);
  int64_t count = 0;
  EXPECT_EQ(xf_generate(model, prompt.data(), nullptr, 1,
                        int64_t(prompt.size()), &o, tokens.data(), &count),
            XF_OK)
      << xf_last_error();
  tokens.resize(count);
  return tokens;
}

/// A library the engine serves and one for the requests alone, on the
/// same weights.
class ServedAndAlone : public ::testing::Test {
protected:
  void openBoth(const std::string &servedLib, const std::string &aloneLib,
                const std::string &weightsName) {
    lib = servedLib;
    weights = tempDir() + "/" + weightsName;
    writeSafetensors(weights, weightsFor(aloneLib));
    open(served, servedLib, weights);
    ASSERT_EQ(served.status, XF_OK) << served.error;
    open(alone, aloneLib, weights);
    ASSERT_EQ(alone.status, XF_OK) << alone.error;
    ASSERT_EQ(xf_get_info(served.model, &info), XF_OK);
  }

  /// What xf_generate gives the request alone.
  std::vector<int64_t> solo(const std::vector<int64_t> &prompt,
                            const xf_generate_options &o) {
    return generateAlone(alone.model, prompt, o);
  }

  std::string lib, weights;
  Opened served, alone;
  xf_info info{};
};

class EngineTest : public ServedAndAlone {
protected:
  void SetUp() override {
    const std::string l = compileExample("llama-unfused", "--max-seq-len=24");
    openBoth(l, l, "llama-engine.safetensors");
    ASSERT_EQ(info.max_batch, 2);
  }
};

/// What the callback saw of one request.
struct Seen {
  std::vector<int64_t> tokens;
  xf_finish_reason finish = XF_FINISH_NONE;
  int ends = 0;
};

void record(void *user, int64_t request, int64_t token,
            xf_finish_reason finish) {
  Seen &s = (*static_cast<std::map<int64_t, Seen> *>(user))[request];
  EXPECT_EQ(s.ends, 0) << "request " << request << " went on after its end";
  if (token >= 0)
    s.tokens.push_back(token);
  if (finish != XF_FINISH_NONE) {
    s.finish = finish;
    ++s.ends;
  }
}

/// Submits `prompt` under `options` (with an encoder-decoder's `source`
/// when given), its tokens recorded in `seen`.
xf_status submitRecorded(xf_engine *engine, const std::vector<int64_t> &prompt,
                         const xf_generate_options &options,
                         std::map<int64_t, Seen> &seen, int64_t *id,
                         const std::vector<int64_t> *source = nullptr) {
  xf_request_params r;
  xf_request_params_init(&r);
  r.prompt = prompt.data();
  r.prompt_len = int64_t(prompt.size());
  if (source) {
    r.source = source->data();
    r.source_len = int64_t(source->size());
  }
  r.sampling = options;
  r.on_token = record;
  r.user = &seen;
  return xf_engine_submit(engine, &r, id);
}

/// Steps `engine` until `count` planned requests have arrived (0 to
/// `burst` before each step; `submit(i, &id)` queues request i) and ended;
/// those `cancel(i)` names are cancelled 0 to `delay` steps after they
/// arrived. `which` maps each request's id to its plan index.
template <typename Submit, typename Cancel>
void runSchedule(xf_engine *engine, size_t count, std::mt19937_64 &rng,
                 int64_t burst, int64_t delay, std::map<int64_t, Seen> &seen,
                 std::map<int64_t, size_t> &which, Submit submit, Cancel cancel) {
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  std::vector<std::pair<int64_t, int64_t>> cancels; // (step, request)
  size_t submitted = 0;
  int64_t pending = 0, step = 0;
  while (submitted < count || pending > 0) {
    for (int64_t n = uniform(0, burst); n > 0 && submitted < count; --n) {
      int64_t id = 0;
      ASSERT_EQ(submit(submitted, &id), XF_OK) << xf_last_error();
      if (cancel(submitted))
        cancels.push_back({step + uniform(0, delay), id});
      which[id] = submitted++;
    }
    for (auto &[at, id] : cancels)
      if (at == step && seen[id].ends == 0)
        EXPECT_EQ(xf_engine_cancel(engine, id), XF_OK) << xf_last_error();
    ASSERT_EQ(xf_engine_step(engine, &pending), XF_OK) << xf_last_error();
    ASSERT_LT(++step, 10000);
  }
}

/// Checks what a request saw against `want`, its tokens alone: all of
/// them, ended by its stop token `eos` or its limit, or a prefix when it
/// was cancelled (true then).
bool checkAlone(const Seen &s, const std::vector<int64_t> &want, int64_t eos,
                const std::string &what) {
  EXPECT_EQ(s.ends, 1) << what;
  if (s.finish == XF_FINISH_CANCELLED) {
    EXPECT_LE(s.tokens.size(), want.size()) << what;
    EXPECT_TRUE(s.tokens.size() <= want.size() &&
                std::equal(s.tokens.begin(), s.tokens.end(), want.begin()))
        << what << ": tokens before its cancellation";
    return true;
  }
  EXPECT_EQ(s.tokens, want) << what;
  const bool stop = !want.empty() && want.back() == eos;
  EXPECT_EQ(s.finish, stop ? XF_FINISH_STOP : XF_FINISH_LENGTH) << what;
  return false;
}

/// A planned request's options: up to `most` tokens, sampled a third of
/// the time (temperature 0.8, top-k and top-p or not), its own seed, a
/// stop token a quarter of the time.
xf_generate_options randomOptions(std::mt19937_64 &rng, int64_t most,
                                  int64_t vocab) {
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  xf_generate_options o;
  xf_generate_options_init(&o);
  o.max_new_tokens = uniform(1, most);
  if (uniform(0, 2) == 0) {
    o.temperature = 0.8f;
    o.top_k = uniform(0, 1) ? 20 : 0;
    o.top_p = uniform(0, 1) ? 0.9f : 1.0f;
  }
  o.seed = rng();
  if (uniform(0, 3) == 0)
    o.eos_token_id = uniform(0, vocab - 1);
  return o;
}

struct Planned {
  std::vector<int64_t> prompt;
  xf_generate_options options;
  int64_t eos = -1;
  bool cancel = false;
};

TEST_F(EngineTest, EveryInterleavingGivesEachRequestItsTokensAlone) {
  std::mt19937_64 rng(20261207);
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  // Half the prompts begin with one of three shared prefixes (so the
  // prefix cache hits and misses at random), the rest are random.
  std::vector<std::vector<int64_t>> prefixes(3);
  for (auto &prefix : prefixes) {
    prefix.resize(uniform(8, 17));
    for (int64_t &t : prefix)
      t = uniform(0, info.vocab - 1);
  }
  std::vector<Planned> plan(48);
  for (Planned &p : plan) {
    // Prompts of one token to two chunks and a half (chunk 8).
    p.prompt.resize(uniform(1, 20));
    for (int64_t &t : p.prompt)
      t = uniform(0, info.vocab - 1);
    if (uniform(0, 1)) {
      const auto &prefix = prefixes[uniform(0, 2)];
      const size_t n = std::min(prefix.size(), p.prompt.size());
      std::copy_n(prefix.begin(), n, p.prompt.begin());
    }
    p.options = randomOptions(rng, kMaxSeqLen + 1 - int64_t(p.prompt.size()),
                              info.vocab);
    p.cancel = std::uniform_int_distribution<int>(0, 9)(rng) == 0;
  }

  xf_engine *engine = nullptr;
  ASSERT_EQ(xf_engine_create(served.model, nullptr, &engine), XF_OK)
      << xf_last_error();
  std::map<int64_t, Seen> seen;
  std::map<int64_t, size_t> which; // request -> plan entry
  // Zero to three arrivals before each step.
  ASSERT_NO_FATAL_FAILURE(runSchedule(
      engine, plan.size(), rng, 3, 6, seen, which,
      [&](size_t i, int64_t *id) {
        return submitRecorded(engine, plan[i].prompt, plan[i].options, seen, id);
      },
      [&](size_t i) { return plan[i].cancel; }));
  xf_engine_stats stats;
  ASSERT_EQ(xf_engine_get_stats(engine, &stats), XF_OK);
  EXPECT_EQ(stats.running, 0);
  EXPECT_EQ(stats.queued, 0);
  EXPECT_EQ(stats.finished, int64_t(plan.size()));
  // Rows shared calls: fewer decode calls than tokens decoded.
  EXPECT_GT(stats.decode_calls, 0);
  EXPECT_LT(stats.decode_calls, stats.generated_tokens - stats.prefill_calls);
  // Shared prefixes were found in the rows' kept caches.
  EXPECT_GT(stats.prefix_hits, 0);
  EXPECT_EQ(stats.prefix_tokens % info.chunk, 0);
  xf_engine_destroy(engine);

  int cancelled = 0, sampled = 0;
  for (auto &[id, index] : which) {
    const Planned &p = plan[index];
    sampled += p.options.temperature > 0;
    cancelled += checkAlone(seen[id], solo(p.prompt, p.options),
                            p.options.eos_token_id,
                            "request " + std::to_string(id) + " (plan " +
                                std::to_string(index) + ", prompt " +
                                std::to_string(p.prompt.size()) + ")");
  }
  EXPECT_GT(cancelled, 0);
  EXPECT_GT(sampled, 0);
  // The model is the caller's again.
  EXPECT_FALSE(solo({1, 2, 3}, plan[0].options).empty());
}

TEST_F(EngineTest, OneRowServesTheQueueInOrder) {
  xf_engine_params params;
  xf_engine_params_init(&params);
  params.max_sequences = 1;
  xf_engine *engine = nullptr;
  ASSERT_EQ(xf_engine_create(served.model, &params, &engine), XF_OK);
  std::map<int64_t, Seen> seen;
  std::vector<std::vector<int64_t>> prompts = {{5, 6, 7}, {9}, {1, 1, 2, 3}};
  xf_generate_options o;
  xf_generate_options_init(&o);
  o.max_new_tokens = 6;
  std::vector<int64_t> ids;
  for (auto &prompt : prompts) {
    int64_t id;
    ASSERT_EQ(submitRecorded(engine, prompt, o, seen, &id), XF_OK);
    ids.push_back(id);
  }
  int64_t pending = 0;
  ASSERT_EQ(xf_engine_step(engine, &pending), XF_OK);
  xf_engine_stats stats;
  ASSERT_EQ(xf_engine_get_stats(engine, &stats), XF_OK);
  EXPECT_EQ(stats.running, 1);
  EXPECT_EQ(stats.queued, 2);
  ASSERT_EQ(xf_engine_run(engine), XF_OK) << xf_last_error();
  xf_engine_destroy(engine);
  for (size_t i = 0; i < prompts.size(); ++i)
    EXPECT_EQ(seen[ids[i]].tokens, solo(prompts[i], o)) << "request " << i;
}

/// Submits every prompt under `o` (recorded into `seen`) and runs the
/// engine until all have ended; their request ids.
std::vector<int64_t> runAll(xf_engine *engine,
                            const std::vector<std::vector<int64_t>> &prompts,
                            const xf_generate_options &o,
                            std::map<int64_t, Seen> &seen) {
  std::vector<int64_t> ids;
  for (const auto &p : prompts) {
    int64_t id = 0;
    EXPECT_EQ(submitRecorded(engine, p, o, seen, &id), XF_OK)
        << xf_last_error();
    ids.push_back(id);
  }
  EXPECT_EQ(xf_engine_run(engine), XF_OK) << xf_last_error();
  return ids;
}

/// Runs one request to its end on `engine`; its tokens.
std::vector<int64_t> runOne(xf_engine *engine, const std::vector<int64_t> &prompt,
                            const xf_generate_options &o) {
  std::map<int64_t, Seen> seen;
  int64_t id = 0;
  EXPECT_EQ(submitRecorded(engine, prompt, o, seen, &id), XF_OK)
      << xf_last_error();
  EXPECT_EQ(xf_engine_run(engine), XF_OK) << xf_last_error();
  EXPECT_EQ(seen[id].ends, 1);
  return seen[id].tokens;
}

std::vector<int64_t> concat(std::vector<int64_t> a,
                            const std::vector<int64_t> &b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST_F(EngineTest, PrefixCacheKeepsWholeChunksAndEvictsLeastRecentlyUsed) {
  xf_engine *engine = nullptr;
  ASSERT_EQ(xf_engine_create(served.model, nullptr, &engine), XF_OK);
  // Prefixes of two chunks and a bit (chunk 8): 16 positions reusable.
  const std::vector<int64_t> a = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2},
                             b = {2, 7, 1, 8, 2, 8, 1, 8, 2, 8, 4, 5, 9, 0, 4, 5, 2},
                             c = {1, 4, 1, 4, 2, 1, 3, 5, 6, 2, 3, 7, 3, 0, 9, 5, 0};
  xf_generate_options o;
  xf_generate_options_init(&o);
  o.max_new_tokens = 5;
  xf_generate_options sampled = o;
  sampled.temperature = 0.9f;
  sampled.seed = 77;
  struct Step {
    std::vector<int64_t> prompt;
    const xf_generate_options *options;
    int64_t hits, tokens; // the counts after it
  };
  const std::vector<Step> steps = {
      {concat(a, {11}), &o, 0, 0},        // row 0 keeps a's 16
      {concat(b, {12}), &o, 0, 0},        // row 1 (never used) keeps b's
      {concat(a, {13, 14}), &sampled, 1, 16}, // row 0: a hit
      {concat(c, {15}), &o, 1, 16},       // row 1, least recently used: b gone
      {concat(b, {16}), &o, 1, 16},       // a miss, in row 0 (a gone)
      {concat(c, {17}), &sampled, 2, 32}, // row 1 still keeps c
      // Exactly the kept prompt: its last chunk is prefilled again (its
      // logits give the first token).
      {std::vector<int64_t>(c.begin(), c.begin() + 16), &o, 3, 40},
      // A common prefix shorter than a chunk is not reused.
      {{1, 4, 1, 4, 2, 1, 3, 99}, &o, 3, 40},
  };
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step &s = steps[i];
    EXPECT_EQ(runOne(engine, s.prompt, *s.options), solo(s.prompt, *s.options))
        << "request " << i;
    xf_engine_stats stats;
    ASSERT_EQ(xf_engine_get_stats(engine, &stats), XF_OK);
    EXPECT_EQ(stats.prefix_hits, s.hits) << "after request " << i;
    EXPECT_EQ(stats.prefix_tokens, s.tokens) << "after request " << i;
  }
  xf_engine_destroy(engine);
}

// Calls sized by the rows in use: the 2-row library has programs over its
// first row (@prefill_r1, @decode_r1), so a request alone computes one row
// a call; two at once compute both; when the one in row 0 ends first the
// other moves down to row 0 and its calls shrink again. Every request's
// tokens are xf_generate's alone (which runs the 1-row programs).
TEST_F(EngineTest, CallsComputeTheRowsInUse) {
  xf_engine *engine = nullptr;
  ASSERT_EQ(xf_engine_create(served.model, nullptr, &engine), XF_OK);
  xf_generate_options o;
  xf_generate_options_init(&o);
  o.max_new_tokens = 6;
  const std::vector<int64_t> a = {5, 3, 9, 1, 4, 4, 7, 2, 8, 6, 1},
                             b = {2, 7, 1, 8, 2, 8};
  EXPECT_EQ(runOne(engine, a, o), solo(a, o));
  xf_engine_stats stats;
  ASSERT_EQ(xf_engine_get_stats(engine, &stats), XF_OK);
  const int64_t alone = stats.prefill_calls + stats.decode_calls;
  EXPECT_EQ(stats.rows_computed, alone);
  EXPECT_EQ(stats.row_moves, 0);

  // a in row 0 ends after 2 tokens, b in row 1 goes on for 12.
  xf_generate_options shortO = o, longO = o;
  shortO.max_new_tokens = 2;
  longO.max_new_tokens = 12;
  std::map<int64_t, Seen> seen;
  int64_t first = 0, second = 0;
  ASSERT_EQ(submitRecorded(engine, a, shortO, seen, &first), XF_OK);
  ASSERT_EQ(submitRecorded(engine, b, longO, seen, &second), XF_OK);
  ASSERT_EQ(xf_engine_run(engine), XF_OK) << xf_last_error();
  EXPECT_EQ(seen[first].tokens, solo(a, shortO));
  EXPECT_EQ(seen[second].tokens, solo(b, longO));
  xf_engine_stats after;
  ASSERT_EQ(xf_engine_get_stats(engine, &after), XF_OK);
  const int64_t calls = after.prefill_calls + after.decode_calls - alone;
  const int64_t rows = after.rows_computed - stats.rows_computed;
  EXPECT_EQ(after.row_moves, 1);
  // The calls while both ran computed two rows, b's last ten decode calls
  // (after the move) one.
  EXPECT_GT(rows, calls);
  EXPECT_LE(rows, calls + 4);
  xf_engine_destroy(engine);
}

// sized_calls = 0: every call computes all rows, so each request's tokens
// are the same bits as on a library without programs over fewer rows
// (--row-counts=none), whatever else runs.
TEST_F(EngineTest, UnsizedCallsComputeEveryRow) {
  const std::string whole =
      compileExample("llama-unfused", "--max-seq-len=24 --row-counts=none");
  Opened fixed;
  open(fixed, whole, weights);
  ASSERT_EQ(fixed.status, XF_OK) << fixed.error;
  xf_engine_params params;
  xf_engine_params_init(&params);
  EXPECT_EQ(params.sized_calls, 1);
  params.sized_calls = 2;
  xf_engine *engine = nullptr;
  EXPECT_EQ(xf_engine_create(served.model, &params, &engine),
            XF_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(xf_last_error()).find("sized_calls must be 0 or 1"),
            std::string::npos)
      << xf_last_error();
  params.sized_calls = 0;
  ASSERT_EQ(xf_engine_create(served.model, &params, &engine), XF_OK);
  xf_generate_options o;
  xf_generate_options_init(&o);
  o.max_new_tokens = 5;
  const std::vector<std::vector<int64_t>> prompts = {
      {5, 3, 9, 1}, {2, 7, 1, 8, 2, 8, 1, 8, 2, 8}, {4, 4}};
  std::map<int64_t, Seen> seen;
  const std::vector<int64_t> ids = runAll(engine, prompts, o, seen);
  xf_engine_stats stats;
  ASSERT_EQ(xf_engine_get_stats(engine, &stats), XF_OK);
  EXPECT_EQ(stats.rows_computed, 2 * (stats.prefill_calls + stats.decode_calls));
  EXPECT_EQ(stats.row_moves, 0);
  xf_engine_destroy(engine);
  for (size_t i = 0; i < prompts.size(); ++i)
    EXPECT_EQ(seen[ids[i]].tokens, generateAlone(fixed.model, prompts[i], o))
        << "request " << i;
}

TEST_F(EngineTest, ACancelledPromptKeepsTheChunksItRead) {
  xf_engine_params params;
  xf_engine_params_init(&params);
  params.max_sequences = 1;
  xf_engine *engine = nullptr;
  ASSERT_EQ(xf_engine_create(served.model, &params, &engine), XF_OK);
  std::vector<int64_t> prompt(19);
  for (size_t i = 0; i < prompt.size(); ++i)
    prompt[i] = int64_t(i * 7 % info.vocab);
  xf_generate_options o;
  xf_generate_options_init(&o);
  o.max_new_tokens = 4;
  std::map<int64_t, Seen> seen;
  int64_t id = 0;
  ASSERT_EQ(submitRecorded(engine, prompt, o, seen, &id), XF_OK);
  ASSERT_EQ(xf_engine_step(engine, nullptr), XF_OK); // one chunk read
  ASSERT_EQ(xf_engine_cancel(engine, id), XF_OK);
  ASSERT_EQ(xf_engine_step(engine, nullptr), XF_OK);
  EXPECT_EQ(seen[id].finish, XF_FINISH_CANCELLED);
  EXPECT_EQ(runOne(engine, prompt, o), solo(prompt, o));
  xf_engine_stats stats;
  ASSERT_EQ(xf_engine_get_stats(engine, &stats), XF_OK);
  EXPECT_EQ(stats.prefix_hits, 1);
  EXPECT_EQ(stats.prefix_tokens, 8);
  EXPECT_EQ(stats.prompt_tokens, 8 + 11);
  xf_engine_destroy(engine);
}

TEST_F(EngineTest, PrefixCacheOffPrefillsEveryPrompt) {
  xf_engine_params params;
  xf_engine_params_init(&params);
  params.prefix_cache = 0;
  xf_engine *engine = nullptr;
  ASSERT_EQ(xf_engine_create(served.model, &params, &engine), XF_OK);
  xf_generate_options o;
  xf_generate_options_init(&o);
  o.max_new_tokens = 3;
  const std::vector<int64_t> prompt = {4, 8, 15, 16, 23, 42, 4, 8, 15, 16, 23};
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(runOne(engine, prompt, o), solo(prompt, o));
  xf_engine_stats stats;
  ASSERT_EQ(xf_engine_get_stats(engine, &stats), XF_OK);
  EXPECT_EQ(stats.prefix_hits, 0);
  EXPECT_EQ(stats.prompt_tokens, 33);
  xf_engine_destroy(engine);
}

TEST_F(EngineTest, RefusesBadRequestsUpFront) {
  xf_engine_params params;
  xf_engine_params_init(&params);
  params.max_queued = 2;
  xf_engine *engine = nullptr;
  ASSERT_EQ(xf_engine_create(served.model, &params, &engine), XF_OK);
  std::vector<int64_t> prompt = {1, 2, 3};
  auto submit = [&](auto edit) {
    xf_request_params r;
    xf_request_params_init(&r);
    r.prompt = prompt.data();
    r.prompt_len = int64_t(prompt.size());
    r.sampling.max_new_tokens = 4;
    edit(r);
    int64_t id = -7;
    xf_status s = xf_engine_submit(engine, &r, &id);
    if (s != XF_OK)
      EXPECT_EQ(id, -7) << "a refused request got an id";
    return std::make_pair(s, std::string(xf_last_error()));
  };
  auto [empty, emptyWhy] = submit([](xf_request_params &r) { r.prompt_len = 0; });
  EXPECT_EQ(empty, XF_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(emptyWhy.find("the prompt is empty"), std::string::npos);
  std::vector<int64_t> bad = {1, info.vocab, 2};
  auto [vocab, vocabWhy] = submit([&](xf_request_params &r) {
    r.prompt = bad.data();
    r.prompt_len = 3;
  });
  EXPECT_EQ(vocab, XF_ERROR_OUT_OF_RANGE);
  EXPECT_NE(vocabWhy.find("prompt token 1 is 100, outside the vocabulary of 100"),
            std::string::npos)
      << vocabWhy;
  auto [room, roomWhy] = submit([](xf_request_params &r) {
    r.sampling.max_new_tokens = kMaxSeqLen; // 3 + 24 - 1 > 24
  });
  EXPECT_EQ(room, XF_ERROR_CAPACITY);
  EXPECT_NE(roomWhy.find("need more positions than the KV cache holds (24)"),
            std::string::npos)
      << roomWhy;
  auto [huge, hugeWhy] = submit([](xf_request_params &r) {
    r.sampling.max_new_tokens = INT64_MAX; // no overflow past the check
  });
  EXPECT_EQ(huge, XF_ERROR_CAPACITY) << hugeWhy;
  auto [topP, topPWhy] = submit([](xf_request_params &r) {
    r.sampling.top_p = 0.0f;
  });
  EXPECT_EQ(topP, XF_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(topPWhy.find("top_p must be in (0, 1]"), std::string::npos);
  auto [limit, limitWhy] = submit([](xf_request_params &r) {
    r.sampling.max_new_tokens = 0;
  });
  EXPECT_EQ(limit, XF_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(limitWhy.find("max_new_tokens must be >= 1"), std::string::npos);
  // A full queue.
  auto ok = [](xf_request_params &) {};
  EXPECT_EQ(submit(ok).first, XF_OK);
  EXPECT_EQ(submit(ok).first, XF_OK);
  auto [full, fullWhy] = submit(ok);
  EXPECT_EQ(full, XF_ERROR_CAPACITY);
  EXPECT_NE(fullWhy.find("2 requests are already waiting"), std::string::npos)
      << fullWhy;
  EXPECT_EQ(xf_engine_cancel(engine, 12345), XF_ERROR_INVALID_ARGUMENT);
  // The model's rows are the engine's: direct calls are refused.
  std::vector<float> logits(info.max_batch * info.vocab);
  int64_t lengths[2] = {3, 0};
  int64_t ids[2 * 3] = {1, 2, 3};
  EXPECT_EQ(xf_prefill(served.model, ids, lengths, 2, 3, logits.data()),
            XF_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(xf_last_error()).find("an xf_engine drives"),
            std::string::npos);
  EXPECT_EQ(xf_reset(served.model), XF_ERROR_INVALID_ARGUMENT);
  xf_engine *second = nullptr;
  EXPECT_EQ(xf_engine_create(served.model, nullptr, &second),
            XF_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(second, nullptr);
  xf_engine_params badParams;
  xf_engine_params_init(&badParams);
  badParams.prefix_cache = 2;
  EXPECT_EQ(xf_engine_create(alone.model, &badParams, &second),
            XF_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(xf_last_error()).find("prefix_cache must be 0 or 1"),
            std::string::npos);
  EXPECT_EQ(second, nullptr);
  // Destroying it cancels what waits and gives the rows back.
  xf_engine_destroy(engine);
  EXPECT_EQ(xf_prefill(served.model, ids, lengths, 2, 3, logits.data()), XF_OK)
      << xf_last_error();
}

// A program call that fails (here: the mapped weights file changed under
// the model) ends that call's requests with XF_FINISH_ERROR, frees their
// rows and returns its status; the engine keeps serving.
TEST_F(EngineTest, AFailedCallEndsItsRequests) {
  const std::string path = tempDir() + "/llama-engine-mapped.safetensors";
  writeSafetensors(path, weightsFor(lib));
  Opened mapped;
  open(mapped, lib, path, XF_OPEN_MMAP);
  ASSERT_EQ(mapped.status, XF_OK) << mapped.error;
  xf_engine *engine = nullptr;
  ASSERT_EQ(xf_engine_create(mapped.model, nullptr, &engine), XF_OK);
  std::map<int64_t, Seen> seen;
  std::vector<int64_t> prompt = {4, 5, 6};
  xf_generate_options o;
  xf_generate_options_init(&o);
  o.max_new_tokens = 5;
  std::vector<int64_t> ids;
  for (int i = 0; i < 3; ++i) {
    int64_t id;
    ASSERT_EQ(submitRecorded(engine, prompt, o, seen, &id), XF_OK);
    ids.push_back(id);
  }
  int64_t pending = 0;
  ASSERT_EQ(xf_engine_step(engine, &pending), XF_OK) << xf_last_error();
  std::ofstream(path, std::ios::app) << "more bytes";
  EXPECT_EQ(xf_engine_step(engine, &pending), XF_ERROR_IO);
  EXPECT_NE(std::string(xf_last_error()).find("changed"), std::string::npos)
      << xf_last_error();
  // The two running requests (a step reads a prompt's last chunk and
  // decodes the token it gave: two tokens each) ended with an error; the
  // third, still queued, takes a row and fails at its own call.
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(seen[ids[i]].finish, XF_FINISH_ERROR) << "request " << i;
    EXPECT_EQ(seen[ids[i]].tokens.size(), 2u) << "request " << i;
  }
  EXPECT_EQ(pending, 1);
  EXPECT_EQ(xf_engine_step(engine, &pending), XF_ERROR_IO);
  EXPECT_EQ(seen[ids[2]].finish, XF_FINISH_ERROR);
  EXPECT_EQ(pending, 0);
  xf_engine_stats stats;
  ASSERT_EQ(xf_engine_get_stats(engine, &stats), XF_OK);
  EXPECT_EQ(stats.running, 0);
  EXPECT_EQ(stats.finished, 3);
  xf_engine_destroy(engine);
}

//===----------------------------------------------------------------------===//
// Encoder-decoders: each request carries its source; the oracle is
// xf_encode_source of that source alone, then xf_generate, on a second
// library over the same weights.
//===----------------------------------------------------------------------===//

/// What xf_encode_source + xf_generate give one request alone.
std::vector<int64_t> translateAlone(xf_model *model,
                                    const std::vector<int64_t> &source,
                                    const std::vector<int64_t> &prompt,
                                    const xf_generate_options &o) {
  const int64_t len = int64_t(source.size());
  EXPECT_EQ(xf_encode_source(model, source.data(), &len, 1, len), XF_OK)
      << xf_last_error();
  return generateAlone(model, prompt, o);
}

/// Submits `source` and the decoder `prompt`, its tokens into `seen`.
xf_status submitTranslation(xf_engine *engine, const std::vector<int64_t> &source,
                            const std::vector<int64_t> &prompt,
                            const xf_generate_options &options,
                            std::map<int64_t, Seen> &seen, int64_t *id) {
  return submitRecorded(engine, prompt, options, seen, id, &source);
}

class EncoderDecoderEngineTest : public ServedAndAlone {
protected:
  void SetUp() override {
    const std::string l = compileExample("bart-fused", "--max-seq-len=16");
    openBoth(l, l, "bart-engine.safetensors");
    ASSERT_EQ(info.max_batch, 2);
    ASSERT_EQ(info.source_len, 8);
  }
};

struct PlannedTranslation {
  std::vector<int64_t> source, prompt;
  xf_generate_options options;
  bool cancel = false;
};

TEST_F(EncoderDecoderEngineTest, EveryInterleavingGivesEachRequestItsTokensAlone) {
  std::mt19937_64 rng(20261208);
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  auto randomTokens = [&](int64_t n) {
    std::vector<int64_t> t(n);
    for (int64_t &x : t)
      x = uniform(0, info.vocab - 1);
    return t;
  };
  // A third of the sources repeat one of three (a free row may still hold
  // them), the rest are random; decoder prompts of one token (the start)
  // to a chunk and a half.
  std::vector<std::vector<int64_t>> common;
  for (int i = 0; i < 3; ++i)
    common.push_back(randomTokens(uniform(1, info.source_len)));
  std::vector<PlannedTranslation> plan(40);
  for (PlannedTranslation &p : plan) {
    p.source = uniform(0, 2) == 0 ? common[uniform(0, 2)]
                                  : randomTokens(uniform(1, info.source_len));
    p.prompt = uniform(0, 1) ? std::vector<int64_t>{2}
                             : randomTokens(uniform(1, 9));
    p.options = randomOptions(
        rng, info.max_seq_len + 1 - int64_t(p.prompt.size()), info.vocab);
    p.cancel = std::uniform_int_distribution<int>(0, 9)(rng) == 0;
  }

  xf_engine *engine = nullptr;
  ASSERT_EQ(xf_engine_create(served.model, nullptr, &engine), XF_OK)
      << xf_last_error();
  std::map<int64_t, Seen> seen;
  std::map<int64_t, size_t> which;
  ASSERT_NO_FATAL_FAILURE(runSchedule(
      engine, plan.size(), rng, 2, 4, seen, which,
      [&](size_t i, int64_t *id) {
        const PlannedTranslation &p = plan[i];
        return submitTranslation(engine, p.source, p.prompt, p.options, seen,
                                 id);
      },
      [&](size_t i) { return plan[i].cancel; }));
  xf_engine_stats stats;
  ASSERT_EQ(xf_engine_get_stats(engine, &stats), XF_OK);
  EXPECT_EQ(stats.running, 0);
  EXPECT_EQ(stats.queued, 0);
  EXPECT_EQ(stats.finished, int64_t(plan.size()));
  // Sources were encoded together and found again in free rows.
  EXPECT_GT(stats.source_hits, 0);
  const int64_t admitted = stats.sources_encoded + stats.source_hits;
  EXPECT_LT(stats.encode_calls, stats.sources_encoded);
  EXPECT_LT(stats.decode_calls, stats.generated_tokens - stats.prefill_calls);
  xf_engine_destroy(engine);

  int cancelled = 0, sampled = 0;
  for (auto &[id, index] : which) {
    const PlannedTranslation &p = plan[index];
    sampled += p.options.temperature > 0;
    cancelled += checkAlone(
        seen[id], translateAlone(alone.model, p.source, p.prompt, p.options),
        p.options.eos_token_id,
        "request " + std::to_string(id) + " (plan " + std::to_string(index) +
            ", source " + std::to_string(p.source.size()) + ", prompt " +
            std::to_string(p.prompt.size()) + ")");
  }
  EXPECT_GT(cancelled, 0);
  EXPECT_GT(sampled, 0);
  // Every request that took a row was encoded or found its source; only
  // those cancelled while queued were not.
  EXPECT_LE(admitted, int64_t(plan.size()));
  EXPECT_GE(admitted, int64_t(plan.size()) - cancelled);
  // The model is the caller's again, with no source encoded.
  const int64_t start = 2;
  int64_t out = 0, count = 0;
  xf_generate_options o;
  xf_generate_options_init(&o);
  o.max_new_tokens = 1;
  EXPECT_EQ(xf_generate(served.model, &start, nullptr, 1, 1, &o, &out, &count),
            XF_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(translateAlone(served.model, plan[0].source, plan[0].prompt,
                           plan[0].options),
            translateAlone(alone.model, plan[0].source, plan[0].prompt,
                           plan[0].options));
}

TEST_F(EncoderDecoderEngineTest, WithoutPrefixCachingEveryRequestIsEncoded) {
  xf_engine_params params;
  xf_engine_params_init(&params);
  params.prefix_cache = 0;
  xf_engine *engine = nullptr;
  ASSERT_EQ(xf_engine_create(served.model, &params, &engine), XF_OK);
  const std::vector<int64_t> source{5, 6, 7}, prompt{2};
  xf_generate_options o;
  xf_generate_options_init(&o);
  o.max_new_tokens = 4;
  std::map<int64_t, Seen> seen;
  for (int i = 0; i < 3; ++i) {
    int64_t id = 0;
    ASSERT_EQ(submitTranslation(engine, source, prompt, o, seen, &id), XF_OK);
    ASSERT_EQ(xf_engine_run(engine), XF_OK) << xf_last_error();
    EXPECT_EQ(seen[id].tokens, translateAlone(alone.model, source, prompt, o));
  }
  xf_engine_stats stats;
  ASSERT_EQ(xf_engine_get_stats(engine, &stats), XF_OK);
  EXPECT_EQ(stats.sources_encoded, 3);
  EXPECT_EQ(stats.source_hits, 0);
  xf_engine_destroy(engine);
}

TEST_F(EncoderDecoderEngineTest, RefusesBadSourcesUpFront) {
  xf_engine *engine = nullptr;
  ASSERT_EQ(xf_engine_create(served.model, nullptr, &engine), XF_OK);
  xf_generate_options o;
  xf_generate_options_init(&o);
  o.max_new_tokens = 2;
  std::map<int64_t, Seen> seen;
  const std::vector<int64_t> prompt{2};
  struct Case {
    std::vector<int64_t> source;
    xf_status status;
    const char *message;
  } cases[] = {
      {{}, XF_ERROR_INVALID_ARGUMENT, "needs a source (length 0)"},
      {std::vector<int64_t>(9, 1), XF_ERROR_CAPACITY,
       "a source of 9 tokens; the model was compiled for at most 8"},
      {{1, 100}, XF_ERROR_OUT_OF_RANGE,
       "source token 1 is 100, outside the encoder's vocabulary of 100"},
      {{-1}, XF_ERROR_OUT_OF_RANGE, "source token 0 is -1"},
  };
  for (const Case &c : cases) {
    int64_t id = -7;
    EXPECT_EQ(submitTranslation(engine, c.source, prompt, o, seen, &id),
              c.status);
    EXPECT_NE(std::string(xf_last_error()).find(c.message), std::string::npos)
        << xf_last_error();
    EXPECT_EQ(id, -7);
  }
  xf_engine_stats stats;
  ASSERT_EQ(xf_engine_get_stats(engine, &stats), XF_OK);
  EXPECT_EQ(stats.queued, 0);
  xf_engine_destroy(engine);
}

TEST_F(EngineTest, RefusesASourceForADecoder) {
  xf_engine *engine = nullptr;
  ASSERT_EQ(xf_engine_create(served.model, nullptr, &engine), XF_OK);
  xf_generate_options o;
  xf_generate_options_init(&o);
  std::map<int64_t, Seen> seen;
  int64_t id = 0;
  EXPECT_EQ(submitTranslation(engine, {1, 2}, {3}, o, seen, &id),
            XF_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(xf_last_error()).find("a source is for encoder-decoders"),
            std::string::npos)
      << xf_last_error();
  xf_engine_destroy(engine);
}

/// What an embedding callback saw of one request.
struct Embedded {
  std::vector<float> vector;
  xf_finish_reason finish = XF_FINISH_NONE;
  int calls = 0;
};

void recordEmbedding(void *user, int64_t request, const float *v, int64_t dim,
                     xf_finish_reason finish) {
  Embedded &e = (*static_cast<std::map<int64_t, Embedded> *>(user))[request];
  ++e.calls;
  e.finish = finish;
  if (v)
    e.vector.assign(v, v + dim);
}

// An encoder's engine batches embedding requests of mixed lengths into
// encoder calls; each request's vector is its hidden states alone
// (xf_encode of that request by itself), pooled here in double.
TEST(EncoderEngine, EachEmbeddingIsTheRequestsAlone) {
  std::string lib = compileExample("bert-unfused");
  std::string weights = tempDir() + "/bert-engine.safetensors";
  writeSafetensors(weights, weightsFor(lib));
  Opened o;
  open(o, lib, weights);
  ASSERT_EQ(o.status, XF_OK) << o.error;
  xf_info info;
  ASSERT_EQ(xf_get_info(o.model, &info), XF_OK);
  const int64_t S = info.seq_len, H = info.hidden;
  xf_engine *engine = nullptr;
  ASSERT_EQ(xf_engine_create(o.model, nullptr, &engine), XF_OK)
      << xf_last_error();

  std::mt19937_64 rng(5);
  struct Planned {
    std::vector<int64_t> ids;
    xf_pooling pooling;
    bool normalize;
  };
  std::vector<Planned> plan;
  for (int i = 0; i < 9; ++i) {
    Planned p;
    p.ids.resize(1 + rng() % S);
    for (int64_t &t : p.ids)
      t = int64_t(rng() % 20);
    p.pooling = info.has_pooled && i % 3 == 2 ? XF_POOLING_MODEL
                : i % 3 == 1                  ? XF_POOLING_CLS
                                              : XF_POOLING_MEAN;
    p.normalize = i % 2 == 1;
    plan.push_back(p);
  }
  std::map<int64_t, Embedded> seen;
  std::vector<int64_t> ids;
  for (const Planned &p : plan) {
    xf_embedding_params r;
    xf_embedding_params_init(&r);
    r.ids = p.ids.data();
    r.len = int64_t(p.ids.size());
    r.pooling = p.pooling;
    r.normalize = p.normalize;
    r.on_embedding = recordEmbedding;
    r.user = &seen;
    int64_t id = 0;
    ASSERT_EQ(xf_engine_submit_embedding(engine, &r, &id), XF_OK)
        << xf_last_error();
    ids.push_back(id);
  }
  ASSERT_EQ(xf_engine_run(engine), XF_OK) << xf_last_error();
  xf_engine_stats stats;
  ASSERT_EQ(xf_engine_get_stats(engine, &stats), XF_OK);
  EXPECT_EQ(stats.finished, int64_t(plan.size()));
  // Batched: fewer calls than requests.
  EXPECT_EQ(stats.prefill_calls,
            (int64_t(plan.size()) + info.max_batch - 1) / info.max_batch);

  for (size_t i = 0; i < plan.size(); ++i) {
    const Planned &p = plan[i];
    const int64_t len = int64_t(p.ids.size());
    std::vector<float> hidden(len * H), pooled(H);
    ASSERT_EQ(xf_encode(o.model, p.ids.data(), nullptr, &len, 1, len,
                        hidden.data(), pooled.data()),
              XF_OK)
        << xf_last_error();
    std::vector<double> want(H, 0.0);
    for (int64_t h = 0; h < H; ++h) {
      if (p.pooling == XF_POOLING_MEAN) {
        for (int64_t s = 0; s < len; ++s)
          want[h] += hidden[s * H + h];
        want[h] /= double(len);
      } else {
        want[h] = p.pooling == XF_POOLING_CLS ? hidden[h] : pooled[h];
      }
    }
    if (p.normalize) {
      double norm = 0;
      for (double x : want)
        norm += x * x;
      for (double &x : want)
        x /= std::sqrt(norm);
    }
    const Embedded &got = seen[ids[i]];
    EXPECT_EQ(got.calls, 1) << "request " << i;
    EXPECT_EQ(got.finish, XF_FINISH_STOP) << "request " << i;
    ASSERT_EQ(int64_t(got.vector.size()), H) << "request " << i;
    for (int64_t h = 0; h < H; ++h)
      EXPECT_NEAR(got.vector[h], want[h], 1e-6 * (1 + std::abs(want[h])))
          << "request " << i << ", element " << h;
  }

  // Refused up front, changing nothing.
  std::vector<int64_t> tokens = {1, 2, 3};
  auto submit = [&](auto edit) {
    xf_embedding_params r;
    xf_embedding_params_init(&r);
    r.ids = tokens.data();
    r.len = 3;
    edit(r);
    int64_t id = -7;
    xf_status s = xf_engine_submit_embedding(engine, &r, &id);
    EXPECT_EQ(id, -7);
    return std::make_pair(s, std::string(xf_last_error()));
  };
  auto [empty, emptyWhy] = submit([](xf_embedding_params &r) { r.len = 0; });
  EXPECT_EQ(empty, XF_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(emptyWhy.find("no tokens"), std::string::npos);
  std::vector<int64_t> many(S + 1, 1);
  auto [longer, longerWhy] = submit([&](xf_embedding_params &r) {
    r.ids = many.data();
    r.len = S + 1;
  });
  EXPECT_EQ(longer, XF_ERROR_CAPACITY);
  EXPECT_NE(longerWhy.find("compiled for at most " + std::to_string(S)),
            std::string::npos)
      << longerWhy;
  std::vector<int64_t> bad = {1, 1000000, 2};
  auto [vocab, vocabWhy] = submit([&](xf_embedding_params &r) { r.ids = bad.data(); });
  EXPECT_EQ(vocab, XF_ERROR_OUT_OF_RANGE);
  EXPECT_NE(vocabWhy.find("token 1 is 1000000"), std::string::npos) << vocabWhy;
  auto [pooling, poolingWhy] =
      submit([](xf_embedding_params &r) { r.pooling = 7; });
  EXPECT_EQ(pooling, XF_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(poolingWhy.find("unknown pooling 7"), std::string::npos);
  xf_request_params tokenRequest;
  xf_request_params_init(&tokenRequest);
  tokenRequest.prompt = tokens.data();
  tokenRequest.prompt_len = 3;
  EXPECT_EQ(xf_engine_submit(engine, &tokenRequest, nullptr),
            XF_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(xf_last_error()).find("serves an encoder"),
            std::string::npos);
  ASSERT_EQ(xf_engine_get_stats(engine, &stats), XF_OK);
  EXPECT_EQ(stats.queued, 0);
  // The encoder stays usable beside its engine.
  std::vector<float> hidden(3 * H), pooled(H);
  const int64_t three = 3;
  EXPECT_EQ(xf_encode(o.model, tokens.data(), nullptr, &three, 1, 3,
                      hidden.data(), pooled.data()),
            XF_OK);
  xf_engine_destroy(engine);
}

} // namespace

//===----------------------------------------------------------------------===//
// Speculative decoding (a library compiled with --speculate): the oracle is
// the same weights in a library without @verify, run by xf_generate.
//===----------------------------------------------------------------------===//

class SpeculativeTest : public ServedAndAlone {
protected:
  void SetUp() override {
    openBoth(compileExample("llama-unfused", "--max-seq-len=128 --speculate=3"),
             compileExample("llama-unfused", "--max-seq-len=128"),
             "llama-speculative.safetensors");
    ASSERT_EQ(info.verify_chunk, 4);
    xf_info plainInfo;
    ASSERT_EQ(xf_get_info(alone.model, &plainInfo), XF_OK);
    ASSERT_EQ(plainInfo.verify_chunk, 0);
  }
};

TEST_F(SpeculativeTest, GreedyTokensAreTheTargetsAlone) {
  xf_engine *engine = nullptr;
  ASSERT_EQ(xf_engine_create(served.model, nullptr, &engine), XF_OK);
  // Prompts that repeat themselves (drafts found) and random ones.
  std::mt19937_64 rng(31);
  std::vector<std::vector<int64_t>> prompts;
  for (int i = 0; i < 12; ++i) {
    std::vector<int64_t> p;
    const int64_t period = 2 + i % 5, length = 6 + (i * 7) % 30;
    std::vector<int64_t> motif(period);
    for (int64_t &t : motif)
      t = int64_t(rng() % info.vocab);
    for (int64_t j = 0; j < length; ++j)
      p.push_back(i % 3 == 2 ? int64_t(rng() % info.vocab) : motif[j % period]);
    prompts.push_back(p);
  }
  xf_generate_options o;
  xf_generate_options_init(&o);
  o.max_new_tokens = 40;
  std::map<int64_t, Seen> seen;
  const std::vector<int64_t> ids = runAll(engine, prompts, o, seen);
  xf_engine_stats stats;
  ASSERT_EQ(xf_engine_get_stats(engine, &stats), XF_OK);
  xf_engine_destroy(engine);
  for (size_t i = 0; i < prompts.size(); ++i) {
    EXPECT_EQ(seen[ids[i]].tokens, solo(prompts[i], o)) << "request " << i;
    EXPECT_EQ(seen[ids[i]].finish, XF_FINISH_LENGTH);
  }
  EXPECT_GT(stats.verify_calls, 0);
  EXPECT_GT(stats.accepted_tokens, 0);
  EXPECT_LE(stats.accepted_tokens, stats.drafted_tokens);
  // Kept drafts are tokens no call of their own made.
  EXPECT_EQ(stats.generated_tokens, int64_t(prompts.size()) * o.max_new_tokens);
  EXPECT_LT(stats.decode_calls + stats.verify_calls,
            int64_t(prompts.size()) * (o.max_new_tokens - 1) / 2);
}

TEST_F(SpeculativeTest, OffItDecodesOneTokenAStep) {
  xf_engine_params params;
  xf_engine_params_init(&params);
  params.speculate = 0;
  xf_engine *engine = nullptr;
  ASSERT_EQ(xf_engine_create(served.model, &params, &engine), XF_OK);
  xf_generate_options o;
  xf_generate_options_init(&o);
  o.max_new_tokens = 10;
  const std::vector<int64_t> prompt = {7, 8, 9, 7, 8, 9, 7, 8};
  EXPECT_EQ(runOne(engine, prompt, o), solo(prompt, o));
  xf_engine_stats stats;
  ASSERT_EQ(xf_engine_get_stats(engine, &stats), XF_OK);
  EXPECT_EQ(stats.verify_calls, 0);
  EXPECT_EQ(stats.decode_calls, 9);
  xf_engine_destroy(engine);
  params.speculate = 1;
  params.ngram = 0;
  EXPECT_EQ(xf_engine_create(served.model, &params, &engine),
            XF_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(xf_last_error()).find("ngram must be >= 1"),
            std::string::npos);
}

// Sampling: the second token's distribution over many seeds is the
// target's (a chi-square test against the distribution computed from the
// plain library's logits in double precision here). Every token of the
// vocabulary occurs in the prompt, so every first token has a draft.
TEST_F(SpeculativeTest, SampledTokensKeepTheTargetsDistribution) {
  const int64_t V = info.vocab;
  std::vector<int64_t> prompt(V);
  for (int64_t i = 0; i < V; ++i)
    prompt[i] = (i * 37 + 11) % V; // a permutation
  const double T = 1.5;
  auto softmax = [&](const std::vector<float> &l) {
    std::vector<double> p(V);
    double mx = *std::max_element(l.begin(), l.end()) / T, sum = 0;
    for (int64_t v = 0; v < V; ++v)
      sum += p[v] = std::exp(l[v] / T - mx);
    for (double &x : p)
      x /= sum;
    return p;
  };
  auto logitsAfter = [&](const std::vector<int64_t> &ids) {
    std::vector<float> l(2 * V);
    int64_t lengths[2] = {int64_t(ids.size()), 0};
    std::vector<int64_t> rows(2 * ids.size(), 0);
    std::copy(ids.begin(), ids.end(), rows.begin());
    EXPECT_EQ(xf_reset(alone.model), XF_OK);
    EXPECT_EQ(xf_prefill(alone.model, rows.data(), lengths, 2,
                         int64_t(ids.size()), l.data()),
              XF_OK)
        << xf_last_error();
    l.resize(V);
    return l;
  };
  // P(second = t) = sum over first f of P(f) P(t | f).
  const std::vector<double> first = softmax(logitsAfter(prompt));
  std::vector<double> second(V, 0.0);
  for (int64_t f = 0; f < V; ++f) {
    std::vector<int64_t> ids = prompt;
    ids.push_back(f);
    const std::vector<double> next = softmax(logitsAfter(ids));
    for (int64_t t = 0; t < V; ++t)
      second[t] += first[f] * next[t];
  }

  xf_engine *engine = nullptr;
  ASSERT_EQ(xf_engine_create(served.model, nullptr, &engine), XF_OK);
  xf_generate_options o;
  xf_generate_options_init(&o);
  o.max_new_tokens = 3; // the second token is judged against a draft
  o.temperature = float(T);
  const int samples = 3000;
  std::map<int64_t, Seen> seen;
  for (int s = 0; s < samples; ++s) {
    o.seed = 1000 + s;
    ASSERT_EQ(submitRecorded(engine, prompt, o, seen, nullptr), XF_OK);
    if (s % 500 == 499)
      ASSERT_EQ(xf_engine_run(engine), XF_OK) << xf_last_error();
  }
  xf_engine_stats stats;
  ASSERT_EQ(xf_engine_get_stats(engine, &stats), XF_OK);
  xf_engine_destroy(engine);
  EXPECT_EQ(stats.drafted_tokens, samples);
  EXPECT_GT(stats.accepted_tokens, 0);
  EXPECT_LT(stats.accepted_tokens, samples);
  std::vector<int64_t> count(V, 0);
  for (auto &[id, s] : seen) {
    ASSERT_EQ(s.tokens.size(), 3u) << "request " << id;
    ++count[s.tokens[1]];
  }
  // Chi-square over the tokens expected at least 5 times, the rest pooled.
  double chi2 = 0, restExpected = 0, restSeen = 0;
  int bins = 0;
  for (int64_t t = 0; t < V; ++t) {
    const double e = second[t] * samples;
    if (e < 5) {
      restExpected += e;
      restSeen += double(count[t]);
      continue;
    }
    chi2 += (count[t] - e) * (count[t] - e) / e;
    ++bins;
  }
  if (restExpected >= 5) {
    chi2 += (restSeen - restExpected) * (restSeen - restExpected) / restExpected;
    ++bins;
  }
  ASSERT_GT(bins, 10);
  // The 1e-4 upper quantile of chi-square (Wilson-Hilferty).
  const double df = bins - 1, z = 3.719;
  const double critical =
      df * std::pow(1 - 2 / (9 * df) + z * std::sqrt(2 / (9 * df)), 3);
  EXPECT_LT(chi2, critical) << bins << " bins";
}

/// An encoder-decoder speculating: drafts come from n-grams of the source
/// as well as of the tokens so far (a copy of the source is the common
/// case of summarization and translation); the oracle is xf_generate on a
/// library without @verify.
TEST(EncoderDecoderSpeculation, GreedyTokensAreTheTargetsAlone) {
  const std::string withVerify =
      compileExample("bart-fused", "--max-seq-len=32 --speculate=3");
  const std::string plain = compileExample("bart-fused", "--max-seq-len=32");
  const std::string weights = tempDir() + "/bart-speculative.safetensors";
  writeSafetensors(weights, weightsFor(plain));
  Opened served, alone;
  open(served, withVerify, weights);
  ASSERT_EQ(served.status, XF_OK) << served.error;
  open(alone, plain, weights);
  ASSERT_EQ(alone.status, XF_OK) << alone.error;
  xf_info info;
  ASSERT_EQ(xf_get_info(served.model, &info), XF_OK);
  ASSERT_EQ(info.verify_chunk, 4);

  xf_engine *engine = nullptr;
  ASSERT_EQ(xf_engine_create(served.model, nullptr, &engine), XF_OK);
  xf_generate_options o;
  xf_generate_options_init(&o);
  o.max_new_tokens = 24;
  std::mt19937_64 rng(8);
  std::map<int64_t, Seen> seen;
  std::vector<std::pair<std::vector<int64_t>, int64_t>> requests;
  for (int i = 0; i < 8; ++i) {
    std::vector<int64_t> source(1 + i % info.source_len);
    for (int64_t &t : source)
      t = int64_t(rng() % info.vocab);
    int64_t id = 0;
    ASSERT_EQ(submitTranslation(engine, source, {2}, o, seen, &id), XF_OK);
    requests.push_back({source, id});
  }
  ASSERT_EQ(xf_engine_run(engine), XF_OK) << xf_last_error();
  xf_engine_stats stats;
  ASSERT_EQ(xf_engine_get_stats(engine, &stats), XF_OK);
  xf_engine_destroy(engine);
  for (auto &[source, id] : requests)
    EXPECT_EQ(seen[id].tokens, translateAlone(alone.model, source, {2}, o))
        << "request " << id;
  EXPECT_GT(stats.verify_calls, 0);
  EXPECT_GT(stats.accepted_tokens, 0);
  EXPECT_LT(stats.decode_calls + stats.verify_calls,
            int64_t(requests.size()) * (o.max_new_tokens - 1) / 2);
}
