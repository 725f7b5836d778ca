//===- RuntimeAPITest.cpp - The C API on compiled models and bad input ----===//
//
// Compiles the GPT-2-style and BERT-style examples with xformer-compile,
// writes safetensors files for them (and broken variants), and drives the C
// API of xformer/Runtime/xformer.h: every bad input gets its status and a
// message naming the cause. Numerics against an independent oracle are the
// end-to-end tests' job (test/e2e); here the checks are self-consistency
// (decode == prefill of the longer prompt) and defined edge cases.
//
//===----------------------------------------------------------------------===//

#include "RuntimeTestSupport.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <fstream>
#include <map>
#include <string>
#include <vector>

using namespace xformer::test;

namespace {

class GPT2Runtime : public ::testing::Test {
protected:
  void SetUp() override {
    lib = compileExample("gpt2-fused");
    tensors = weightsFor(lib);
    weights = tempDir() + "/gpt2.safetensors";
    writeSafetensors(weights, tensors);
  }
  std::string lib, weights;
  std::vector<Tensor> tensors;
};

TEST_F(GPT2Runtime, OpensAndDescribesTheModel) {
  Opened o;
  open(o, lib, weights);
  ASSERT_EQ(o.status, XF_OK) << o.error;
  xf_info info;
  ASSERT_EQ(xf_get_info(o.model, &info), XF_OK);
  EXPECT_EQ(info.kind, XF_MODEL_DECODER);
  EXPECT_EQ(info.max_batch, 2);
  EXPECT_EQ(info.chunk, 8);
  EXPECT_EQ(info.vocab, 100);
  EXPECT_EQ(info.max_seq_len, 16);
}

TEST_F(GPT2Runtime, DecodeEqualsPrefillOfTheLongerPrompt) {
  Opened o;
  open(o, lib, weights);
  ASSERT_EQ(o.status, XF_OK) << o.error;
  // Prefill 5 tokens, then decode a sixth.
  int64_t ids[2][6] = {{3, 14, 15, 92, 65, 35}, {8, 9, 7, 9, 3, 2}};
  int64_t five[2 * 5], lengths[2] = {5, 5};
  for (int b = 0; b < 2; ++b)
    for (int i = 0; i < 5; ++i)
      five[b * 5 + i] = ids[b][i];
  std::vector<float> logits(2 * 100), decoded(2 * 100), full(2 * 100);
  ASSERT_EQ(xf_prefill(o.model, five, lengths, 2, 5, logits.data()), XF_OK)
      << xf_last_error();
  int64_t next[2] = {ids[0][5], ids[1][5]};
  ASSERT_EQ(xf_decode(o.model, next, 2, decoded.data()), XF_OK);
  // The same six tokens in one prefill from an empty cache.
  ASSERT_EQ(xf_reset(o.model), XF_OK);
  int64_t six[2 * 6], len6[2] = {6, 6};
  for (int b = 0; b < 2; ++b)
    for (int i = 0; i < 6; ++i)
      six[b * 6 + i] = ids[b][i];
  ASSERT_EQ(xf_prefill(o.model, six, len6, 2, 6, full.data()), XF_OK);
  for (int i = 0; i < 200; ++i)
    EXPECT_NEAR(decoded[i], full[i], 1e-4f * (1.0f + std::fabs(full[i])));
}

/// Each f32 weight rounded to bf16 (nearest even) or f16 (the compiler's
/// _Float16), as a checkpoint of that dtype and as f32 values.
std::pair<std::vector<Tensor>, std::vector<Tensor>>
narrowed(const std::vector<Tensor> &ts, bool bf16) {
  std::vector<Tensor> narrow, wide = ts;
  for (size_t i = 0; i < ts.size(); ++i) {
    const size_t n = ts[i].bytes.size() / 4;
    Tensor t = ts[i];
    t.dtype = bf16 ? "BF16" : "F16";
    t.bytes.resize(2 * n);
    for (size_t e = 0; e < n; ++e) {
      float x;
      std::memcpy(&x, ts[i].bytes.data() + 4 * e, 4);
      float back;
      if (bf16) { // round to nearest even, the upper 16 bits
        uint32_t bits;
        std::memcpy(&bits, &x, 4);
        const uint16_t h =
            uint16_t((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
        std::memcpy(t.bytes.data() + 2 * e, &h, 2);
        const uint32_t up = uint32_t(h) << 16;
        std::memcpy(&back, &up, 4);
      } else {
        _Float16 h = static_cast<_Float16>(x);
        std::memcpy(t.bytes.data() + 2 * e, &h, 2);
        back = static_cast<float>(h);
      }
      std::memcpy(wide[i].bytes.data() + 4 * e, &back, 4);
    }
    narrow.push_back(std::move(t));
  }
  return {narrow, wide};
}

TEST_F(GPT2Runtime, WidensBf16AndF16Checkpoints) {
  // A model compiled for f32 opens a bf16 or f16 checkpoint, widened
  // exactly: the same logits as f32 weights holding the same values. Some
  // tensors stay f32 (checkpoints mix dtypes).
  int64_t ids[2 * 5] = {3, 14, 15, 92, 65, 8, 9, 7, 9, 3}, lengths[2] = {5, 4};
  for (bool bf16 : {true, false}) {
    auto [narrow, wide] = narrowed(tensors, bf16);
    narrow[0] = wide[0];
    std::string n =
        tempDir() + (bf16 ? "/bf16.safetensors" : "/f16.safetensors");
    std::string w = tempDir() + "/widened-values.safetensors";
    writeSafetensors(n, narrow);
    writeSafetensors(w, wide);
    Opened a, b;
    open(a, lib, n);
    ASSERT_EQ(a.status, XF_OK) << a.error;
    open(b, lib, w);
    ASSERT_EQ(b.status, XF_OK) << b.error;
    std::vector<float> got(2 * 100), want(2 * 100);
    ASSERT_EQ(xf_prefill(a.model, ids, lengths, 2, 5, got.data()), XF_OK);
    ASSERT_EQ(xf_prefill(b.model, ids, lengths, 2, 5, want.data()), XF_OK);
    EXPECT_EQ(got, want) << (bf16 ? "bf16" : "f16");
  }
}

TEST_F(GPT2Runtime, RefusesAWidenedTensorOfAnotherShape) {
  auto narrow = narrowed(tensors, true).first;
  narrow[1].shape = {narrow[1].shape[1], narrow[1].shape[0]};
  std::string path = tempDir() + "/bf16-shape.safetensors";
  writeSafetensors(path, narrow);
  Opened o;
  open(o, lib, path);
  EXPECT_EQ(o.status, XF_ERROR_WEIGHTS);
  EXPECT_NE(o.error.find("'" + narrow[1].name + "' is BF16"), std::string::npos)
      << o.error;
  EXPECT_NE(o.error.find("the model expects F32"), std::string::npos)
      << o.error;
}

/// Generates sequence 0 (`seq` tokens) and sequence 1 (2 tokens) together
/// with sequence 0's first token as EOS, and checks that sequence 0 stops
/// there while sequence 1 runs as it does alone.
void finishedSequenceStops(xf_model *m, int64_t seq) {
  const int64_t steps = 10;
  std::vector<int64_t> ids(2 * seq, 0);
  for (int64_t i = 0; i < seq; ++i)
    ids[i] = (7 * i + 3) % 100;
  ids[seq] = 42;
  ids[seq + 1] = 17;
  int64_t lengths[2] = {seq, 2};
  xf_generate_options opts;
  xf_generate_options_init(&opts);
  int64_t first = -1, count = 0;
  opts.max_new_tokens = 1;
  ASSERT_EQ(xf_generate(m, ids.data(), lengths, 1, seq, &opts, &first, &count),
            XF_OK)
      << xf_last_error();
  std::vector<int64_t> alone(steps);
  opts.max_new_tokens = steps;
  ASSERT_EQ(xf_generate(m, ids.data() + seq, lengths + 1, 1, 2, &opts,
                        alone.data(), &count),
            XF_OK)
      << xf_last_error();
  opts.eos_token_id = first;
  std::vector<int64_t> tokens(2 * steps, -1);
  int64_t counts[2] = {0, 0};
  ASSERT_EQ(
      xf_generate(m, ids.data(), lengths, 2, seq, &opts, tokens.data(), counts),
      XF_OK)
      << xf_last_error();
  EXPECT_EQ(counts[0], 1);
  EXPECT_EQ(tokens[0], first);
  // Sequence 1 as alone, up to the EOS if it meets it.
  int64_t expected = steps;
  for (int64_t i = 0; i < steps; ++i)
    if (alone[i] == first) {
      expected = i + 1;
      break;
    }
  ASSERT_EQ(counts[1], expected);
  for (int64_t i = 0; i < expected; ++i)
    EXPECT_EQ(tokens[steps + i], alone[i]) << "step " << i;
}

TEST_F(GPT2Runtime, AFinishedSequenceStopsGrowing) {
  // Sequence 0 ends at its first token while sequence 1 goes on for 10:
  // were the finished sequence still fed, it would outgrow the 16 planned
  // positions and fail the whole call. A 14-token prompt leaves room in its
  // cache; a 16-token one leaves it full.
  Opened o;
  open(o, lib, weights);
  ASSERT_EQ(o.status, XF_OK) << o.error;
  for (int64_t seq : {14, 16}) {
    SCOPED_TRACE(seq);
    finishedSequenceStops(o.model, seq);
  }
}

TEST_F(GPT2Runtime, RefusesAMissingWeightsFile) {
  Opened o;
  open(o, lib, tempDir() + "/does-not-exist.safetensors");
  EXPECT_EQ(o.status, XF_ERROR_IO);
  EXPECT_NE(o.error.find("does-not-exist.safetensors"), std::string::npos);
  EXPECT_EQ(o.model, nullptr);
}

TEST_F(GPT2Runtime, RefusesATruncatedWeightsFile) {
  std::string path = tempDir() + "/truncated.safetensors";
  std::ifstream in(weights, std::ios::binary | std::ios::ate);
  size_t size = in.tellg();
  writeSafetensors(path, tensors, size - 100);
  Opened o;
  open(o, lib, path);
  EXPECT_EQ(o.status, XF_ERROR_WEIGHTS);
  EXPECT_FALSE(o.error.empty());
}

TEST_F(GPT2Runtime, RefusesAWrongDtype) {
  auto ts = tensors;
  ts[2].dtype = "I32";
  std::string path = tempDir() + "/dtype.safetensors";
  writeSafetensors(path, ts);
  Opened o;
  open(o, lib, path);
  EXPECT_EQ(o.status, XF_ERROR_WEIGHTS);
  EXPECT_NE(o.error.find(ts[2].name), std::string::npos) << o.error;
}

TEST_F(GPT2Runtime, RefusesAWrongShape) {
  auto ts = tensors;
  ts[1].shape = {ts[1].shape[1], ts[1].shape[0]};
  std::string path = tempDir() + "/shape.safetensors";
  writeSafetensors(path, ts);
  Opened o;
  open(o, lib, path);
  EXPECT_EQ(o.status, XF_ERROR_WEIGHTS);
  EXPECT_NE(o.error.find(ts[1].name), std::string::npos) << o.error;
}

TEST_F(GPT2Runtime, RefusesMissingAndExtraTensors) {
  auto missing = tensors;
  std::string name = missing.back().name;
  missing.pop_back();
  std::string path = tempDir() + "/missing.safetensors";
  writeSafetensors(path, missing);
  Opened o;
  open(o, lib, path);
  EXPECT_EQ(o.status, XF_ERROR_WEIGHTS);
  EXPECT_NE(o.error.find("lacks"), std::string::npos) << o.error;
  EXPECT_NE(o.error.find(name), std::string::npos) << o.error;

  auto extra = tensors;
  Tensor t;
  t.name = "unused.bias";
  t.shape = {4};
  t.bytes.assign(16, 0);
  extra.push_back(t);
  path = tempDir() + "/extra.safetensors";
  writeSafetensors(path, extra);
  Opened strict, lenient;
  open(strict, lib, path);
  EXPECT_EQ(strict.status, XF_ERROR_WEIGHTS);
  EXPECT_NE(strict.error.find("unused.bias"), std::string::npos);
  open(lenient, lib, path, XF_OPEN_ALLOW_EXTRA_WEIGHTS);
  EXPECT_EQ(lenient.status, XF_OK) << lenient.error;
}

TEST_F(GPT2Runtime, RefusesNonFiniteWeights) {
  auto ts = tensors;
  float nan = std::nanf("");
  std::memcpy(ts[4].bytes.data() + 8, &nan, 4);
  std::string path = tempDir() + "/nan.safetensors";
  writeSafetensors(path, ts);
  Opened o;
  open(o, lib, path);
  EXPECT_EQ(o.status, XF_ERROR_NONFINITE);
  EXPECT_NE(o.error.find(ts[4].name), std::string::npos) << o.error;
  EXPECT_NE(o.error.find("element 2"), std::string::npos) << o.error;
}

TEST_F(GPT2Runtime, RefusesBadCalls) {
  Opened o;
  open(o, lib, weights);
  ASSERT_EQ(o.status, XF_OK) << o.error;
  std::vector<float> logits(3 * 100);
  int64_t ids[3 * 4] = {};
  // More sequences than compiled.
  EXPECT_EQ(xf_prefill(o.model, ids, nullptr, 3, 4, logits.data()),
            XF_ERROR_CAPACITY);
  EXPECT_NE(std::string(xf_last_error()).find("1 to 2"), std::string::npos);
  // A token id outside the vocabulary.
  int64_t bad[2] = {5, 100};
  EXPECT_EQ(xf_prefill(o.model, bad, nullptr, 1, 2, logits.data()),
            XF_ERROR_OUT_OF_RANGE);
  EXPECT_NE(std::string(xf_last_error()).find("id 100"), std::string::npos);
  int64_t negative[1] = {-1};
  EXPECT_EQ(xf_prefill(o.model, negative, nullptr, 1, 1, logits.data()),
            XF_ERROR_OUT_OF_RANGE);
  // Past the planned cache (16 positions), in one prompt and by decoding.
  ASSERT_EQ(xf_reset(o.model), XF_OK);
  std::vector<int64_t> longPrompt(17, 1);
  EXPECT_EQ(
      xf_prefill(o.model, longPrompt.data(), nullptr, 1, 17, logits.data()),
      XF_ERROR_CAPACITY);
  ASSERT_EQ(
      xf_prefill(o.model, longPrompt.data(), nullptr, 1, 16, logits.data()),
      XF_OK)
      << xf_last_error();
  int64_t tok[1] = {1};
  EXPECT_EQ(xf_decode(o.model, tok, 1, logits.data()), XF_ERROR_CAPACITY);
  // Lengths outside the prompt; null pointers; the wrong kind of call.
  int64_t lens[1] = {9};
  EXPECT_EQ(xf_prefill(o.model, ids, lens, 1, 4, logits.data()),
            XF_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(xf_prefill(o.model, nullptr, nullptr, 1, 4, logits.data()),
            XF_ERROR_INVALID_ARGUMENT);
  std::vector<float> hidden(2 * 8 * 64);
  EXPECT_EQ(
      xf_encode(o.model, ids, nullptr, nullptr, 1, 4, hidden.data(), nullptr),
      XF_ERROR_INVALID_ARGUMENT);
  xf_generate_options opts;
  xf_generate_options_init(&opts);
  opts.max_new_tokens = 0;
  int64_t out[4], counts[1];
  EXPECT_EQ(xf_generate(o.model, ids, nullptr, 1, 4, &opts, out, counts),
            XF_ERROR_INVALID_ARGUMENT);
}

TEST_F(GPT2Runtime, EdgeLengths) {
  Opened o;
  open(o, lib, weights);
  ASSERT_EQ(o.status, XF_OK) << o.error;
  std::vector<float> logits(2 * 100, 7.0f);
  // A length-0 row next to a length-1 row: the empty row is left untouched.
  int64_t ids[2] = {4, 4};
  int64_t lengths[2] = {1, 0};
  ASSERT_EQ(xf_prefill(o.model, ids, lengths, 2, 1, logits.data()), XF_OK)
      << xf_last_error();
  for (int v = 0; v < 100; ++v) {
    EXPECT_TRUE(std::isfinite(logits[v]));
    EXPECT_EQ(logits[100 + v], 7.0f);
  }
  // Exactly at the plan's limit: 16 positions fill the cache.
  ASSERT_EQ(xf_reset(o.model), XF_OK);
  std::vector<int64_t> full(16, 3);
  EXPECT_EQ(xf_prefill(o.model, full.data(), nullptr, 1, 16, logits.data()),
            XF_OK)
      << xf_last_error();
}

TEST(RuntimeLibrary, RefusesLibrariesFromElsewhere) {
  Opened missing;
  open(missing, tempDir() + "/nope.so", "/dev/null");
  EXPECT_EQ(missing.status, XF_ERROR_IO);
  // A shared library that is not a compiled model.
  Opened foreign;
  open(foreign, XFORMER_RUNTIME_LIBRARY, "/dev/null");
  EXPECT_EQ(foreign.status, XF_ERROR_VERSION);
  EXPECT_NE(foreign.error.find("xformer_model"), std::string::npos)
      << foreign.error;
  // A model library built for another ABI version.
  std::string src = tempDir() + "/old.cpp", so = tempDir() + "/old.so";
  std::ofstream(src) << "#include \"xformer/Runtime/ModelABI.h\"\n"
                        "extern \"C\" const xfm_model_desc *xformer_model() {\n"
                        "  static xfm_model_desc d = {};\n"
                        "  d.abi_version = XFORMER_MODEL_ABI_VERSION + 7;\n"
                        "  d.compiler_version = \"0.0.1\";\n"
                        "  return &d;\n}\n";
  std::string cmd = std::string(XFORMER_CXX) + " -shared -fPIC -I" +
                    XFORMER_INCLUDE + " " + src + " -o " + so;
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  Opened old;
  open(old, so, "/dev/null");
  EXPECT_EQ(old.status, XF_ERROR_VERSION);
  EXPECT_NE(old.error.find("0.0.1"), std::string::npos) << old.error;
  EXPECT_NE(old.error.find("recompile"), std::string::npos) << old.error;
}

class BertRuntime : public ::testing::Test {
protected:
  void SetUp() override {
    lib = compileExample("bert-fused");
    weights = tempDir() + "/bert.safetensors";
    writeSafetensors(weights, weightsFor(lib));
  }
  std::string lib, weights;
};

TEST_F(BertRuntime, PaddingDoesNotChangeValidPositions) {
  Opened o;
  open(o, lib, weights);
  ASSERT_EQ(o.status, XF_OK) << o.error;
  xf_info info;
  xf_get_info(o.model, &info);
  EXPECT_EQ(info.kind, XF_MODEL_ENCODER);
  EXPECT_TRUE(info.has_pooled);
  EXPECT_TRUE(info.has_token_types);
  const int64_t H = info.hidden;
  // Sequence 0 with 5 valid tokens in a batch padded to 8 with garbage ids
  // equals the same 5 tokens alone.
  int64_t ids[2 * 8] = {1, 2, 3, 4, 5, 60, 61, 62, 9, 8, 7, 6, 5, 4, 3, 2};
  int64_t lengths[2] = {5, 0};
  std::vector<float> hidden(2 * 8 * H), pooled(2 * H);
  ASSERT_EQ(xf_encode(o.model, ids, nullptr, lengths, 2, 8, hidden.data(),
                      pooled.data()),
            XF_OK)
      << xf_last_error();
  std::vector<float> alone(5 * H), pooledAlone(H);
  ASSERT_EQ(xf_encode(o.model, ids, nullptr, nullptr, 1, 5, alone.data(),
                      pooledAlone.data()),
            XF_OK);
  for (int64_t i = 0; i < 5 * H; ++i)
    EXPECT_NEAR(hidden[i], alone[i], 1e-5f);
  // A length-0 sequence is defined (no NaN).
  for (int64_t i = 8 * H; i < 16 * H; ++i)
    ASSERT_TRUE(std::isfinite(hidden[i]));
  // Longer than compiled.
  std::vector<int64_t> tooLong(9, 1);
  EXPECT_EQ(xf_encode(o.model, tooLong.data(), nullptr, nullptr, 1, 9,
                      hidden.data(), nullptr),
            XF_ERROR_CAPACITY);
  EXPECT_EQ(xf_prefill(o.model, ids, nullptr, 1, 2, hidden.data()),
            XF_ERROR_INVALID_ARGUMENT);
}

} // namespace
