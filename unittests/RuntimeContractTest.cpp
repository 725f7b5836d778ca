//===- RuntimeContractTest.cpp - What the C API promises callers ---------===//
//
// The contract of xformer/Runtime/xformer.h beyond single calls: rows
// outside a call stay untouched, a failed call changes nothing, the
// library opened is exactly the file named (and a rebuilt one is not
// mistaken for the old), the weights file may change after open, models
// run from several threads, and sizes from the caller never overflow.
// The expected values come from the same model driven along a path that
// does not exercise the behaviour under test (a fresh model, a call
// without the interleaved one).
//
//===----------------------------------------------------------------------===//

#include "RuntimeTestSupport.h"

#include <atomic>
#include <climits>
#include <cmath>
#include <fstream>
#include <sstream>
#include <thread>
#include <unistd.h>

using namespace xformer::test;

namespace {

constexpr int64_t kVocab = 100;

class Contract : public ::testing::Test {
protected:
  void SetUp() override {
    lib = compileExample("gpt2-fused");
    weights = tempDir() + "/contract-gpt2.safetensors";
    writeSafetensors(weights, weightsFor(lib));
  }
  void openModel(Opened &o, uint32_t flags = 0) {
    open(o, lib, weights, flags);
    ASSERT_EQ(o.status, XF_OK) << o.error;
  }
  std::string lib, weights;
};

void expectClose(const std::vector<float> &a, const std::vector<float> &b,
                 size_t from, size_t n) {
  for (size_t i = from; i < from + n; ++i)
    ASSERT_NEAR(a[i], b[i], 1e-5f * (1.0f + std::fabs(b[i]))) << "at " << i;
}

// A decode of fewer sequences than the last one must not write the caches
// of the sequences it leaves out (it used to write token 0 at position 0
// of each of them).
TEST_F(Contract, DecodeLeavesRowsOutsideTheCallUntouched) {
  Opened a, b;
  openModel(a);
  openModel(b);
  int64_t prompt[2 * 3] = {5, 6, 7, 11, 12, 13};
  std::vector<float> la(2 * kVocab), lb(2 * kVocab);
  ASSERT_EQ(xf_prefill(a.model, prompt, nullptr, 2, 3, la.data()), XF_OK);
  ASSERT_EQ(xf_prefill(b.model, prompt, nullptr, 2, 3, lb.data()), XF_OK);
  // a: sequence 0 alone, then both; b: both at once.
  int64_t first[1] = {21};
  ASSERT_EQ(xf_decode(a.model, first, 1, la.data()), XF_OK);
  int64_t both[2] = {22, 31};
  ASSERT_EQ(xf_decode(a.model, both, 2, la.data()), XF_OK);
  int64_t bothB[2] = {21, 31};
  ASSERT_EQ(xf_decode(b.model, bothB, 2, lb.data()), XF_OK);
  // Sequence 1 saw the same tokens at the same positions in both models.
  expectClose(la, lb, kVocab, kVocab);
}

// A prompt whose second chunk holds a bad id fails before the first chunk
// runs: the retry sees an empty cache (it used to see the first chunk's
// positions), and the message names the position in the prompt.
TEST_F(Contract, AFailedPrefillChangesNothing) {
  Opened a, fresh;
  openModel(a);
  openModel(fresh);
  std::vector<int64_t> bad(12, 3);
  bad[10] = kVocab + 5;
  std::vector<float> logits(kVocab), expected(kVocab);
  EXPECT_EQ(xf_prefill(a.model, bad.data(), nullptr, 1, 12, logits.data()),
            XF_ERROR_OUT_OF_RANGE);
  EXPECT_NE(std::string(xf_last_error()).find("position 10 of sequence 0"),
            std::string::npos)
      << xf_last_error();
  std::vector<int64_t> good(12, 3);
  ASSERT_EQ(xf_prefill(a.model, good.data(), nullptr, 1, 12, logits.data()),
            XF_OK);
  ASSERT_EQ(
      xf_prefill(fresh.model, good.data(), nullptr, 1, 12, expected.data()),
      XF_OK);
  expectClose(logits, expected, 0, kVocab);
  // A decode refused for a bad token changes nothing either.
  int64_t tok[1] = {-4};
  EXPECT_EQ(xf_decode(a.model, tok, 1, logits.data()), XF_ERROR_OUT_OF_RANGE);
  tok[0] = 9;
  ASSERT_EQ(xf_decode(a.model, tok, 1, logits.data()), XF_OK);
  ASSERT_EQ(xf_decode(fresh.model, tok, 1, expected.data()), XF_OK);
  expectClose(logits, expected, 0, kVocab);
}

// An empty prompt row used to generate from all-zero logits.
TEST_F(Contract, GenerateRefusesAnEmptyPromptRow) {
  Opened o;
  openModel(o);
  xf_generate_options opts;
  xf_generate_options_init(&opts);
  opts.max_new_tokens = 3;
  int64_t ids[2 * 2] = {4, 5, 6, 7}, lengths[2] = {2, 0};
  int64_t tokens[2 * 3], counts[2];
  EXPECT_EQ(xf_generate(o.model, ids, lengths, 2, 2, &opts, tokens, counts),
            XF_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(xf_last_error()).find("sequence 1 is empty"),
            std::string::npos)
      << xf_last_error();
}

// Sizes from the caller are checked before anything is allocated (these
// used to abort with std::length_error or wrap around).
TEST_F(Contract, HugeSizesAreRefusedNotCrashed) {
  Opened o;
  openModel(o);
  xf_generate_options opts;
  xf_generate_options_init(&opts);
  int64_t ids[4] = {1, 2, 3, 4}, tokens[8], counts[2];
  for (int64_t batch : {int64_t(-1), int64_t(0), int64_t(1) << 40}) {
    EXPECT_EQ(xf_generate(o.model, ids, nullptr, batch, 2, &opts, tokens,
                          counts),
              XF_ERROR_CAPACITY)
        << batch;
    EXPECT_NE(std::string(xf_last_error()).find("batch of"), std::string::npos)
        << xf_last_error();
  }
  opts.max_new_tokens = int64_t(1) << 62;
  EXPECT_EQ(xf_generate(o.model, ids, nullptr, 2, 2, &opts, tokens, counts),
            XF_ERROR_INVALID_ARGUMENT);
  opts.max_new_tokens = 4;
  opts.temperature = NAN;
  EXPECT_EQ(xf_generate(o.model, ids, nullptr, 1, 2, &opts, tokens, counts),
            XF_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(xf_last_error()).find("temperature"),
            std::string::npos)
      << xf_last_error();
  std::vector<float> logits(kVocab), expected(kVocab);
  EXPECT_EQ(xf_prefill(o.model, ids, nullptr, 1, INT64_MAX, logits.data()),
            XF_ERROR_INVALID_ARGUMENT);
  // A huge row stride with short rows runs the chunks the rows need.
  int64_t len[1] = {3};
  ASSERT_EQ(xf_prefill(o.model, ids, len, 1, int64_t(1) << 40, logits.data()),
            XF_OK)
      << xf_last_error();
  ASSERT_EQ(xf_reset(o.model), XF_OK);
  ASSERT_EQ(xf_prefill(o.model, ids, nullptr, 1, 3, expected.data()), XF_OK);
  expectClose(logits, expected, 0, kVocab);
}

// Running out of cache fails the call but keeps the tokens made.
TEST_F(Contract, GenerateKeepsTheTokensMadeWhenTheCacheRunsOut) {
  Opened o;
  openModel(o);
  xf_generate_options opts;
  xf_generate_options_init(&opts);
  opts.max_new_tokens = 20;
  std::vector<int64_t> ids(10, 7), tokens(20, -1);
  int64_t counts[1] = {-1};
  EXPECT_EQ(xf_generate(o.model, ids.data(), nullptr, 1, 10, &opts,
                        tokens.data(), counts),
            XF_ERROR_CAPACITY);
  // 16 positions: the prompt's 10, then 6 decoded; 7 tokens picked.
  EXPECT_EQ(counts[0], 7);
  for (int64_t i = 0; i < 7; ++i)
    EXPECT_TRUE(tokens[i] >= 0 && tokens[i] < kVocab);
}

// The library opened is the file named: a bare file name is a path in the
// working directory, not a search of the loader's path (a model named like
// a system library used to load the system library).
TEST_F(Contract, OpensExactlyTheFileNamed) {
  char cwd[4096];
  ASSERT_NE(getcwd(cwd, sizeof cwd), nullptr);
  ASSERT_EQ(chdir(tempDir().c_str()), 0);
  std::string copy = "cp " + lib + " libm.so.6";
  ASSERT_EQ(std::system(copy.c_str()), 0);
  Opened o;
  open(o, "libm.so.6", weights);
  EXPECT_EQ(o.status, XF_OK) << o.error;
  ASSERT_EQ(chdir(cwd), 0);
}

// A library rebuilt at the path of an open one is the new library (dlopen
// used to hand back the old one, shapes and all).
TEST_F(Contract, ARebuiltLibraryAtTheSamePathIsNew) {
  const std::string path = tempDir() + "/rebuilt.so";
  ASSERT_EQ(std::system(("cp " + lib + " " + path).c_str()), 0);
  Opened old;
  open(old, path, weights);
  ASSERT_EQ(old.status, XF_OK) << old.error;
  std::string bert = compileExample("bert-fused");
  std::string bertWeights = tempDir() + "/contract-bert.safetensors";
  writeSafetensors(bertWeights, weightsFor(bert));
  ASSERT_EQ(std::system(("cp " + bert + " " + path + ".tmp && mv " + path +
                         ".tmp " + path)
                            .c_str()),
            0);
  Opened rebuilt;
  open(rebuilt, path, bertWeights);
  ASSERT_EQ(rebuilt.status, XF_OK) << rebuilt.error;
  xf_info info;
  ASSERT_EQ(xf_get_info(rebuilt.model, &info), XF_OK);
  EXPECT_EQ(info.kind, XF_MODEL_ENCODER);
  // Rewritten in place, too: the open model keeps running its own copy.
  ASSERT_EQ(std::system(("cp " + lib + " " + path).c_str()), 0);
  std::vector<float> hidden(8 * info.hidden);
  int64_t ids[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_EQ(xf_encode(rebuilt.model, ids, nullptr, nullptr, 1, 8,
                      hidden.data(), nullptr),
            XF_OK)
      << xf_last_error();
}

std::string buildLibrary(const std::string &name, const std::string &body) {
  std::string src = tempDir() + "/" + name + ".cpp",
              so = tempDir() + "/" + name + ".so";
  std::ofstream(src) << "#include \"xformer/Runtime/ModelABI.h\"\n" << body;
  std::string cmd = std::string(XFORMER_CXX) + " -shared -fPIC -I" +
                    XFORMER_INCLUDE + " " + src + " -o " + so;
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  return so;
}

// A symbol of the right name that is data, or a descriptor function that
// returns null, is refused (the first used to be called: SIGSEGV).
TEST(ContractLibrary, RefusesMalformedDescriptors) {
  Opened data;
  open(data, buildLibrary("data-symbol", "extern \"C\" int xformer_model = 7;\n"),
       "/dev/null");
  EXPECT_EQ(data.status, XF_ERROR_VERSION);
  EXPECT_NE(data.error.find("is not a function"), std::string::npos)
      << data.error;
  Opened null;
  open(null,
       buildLibrary("null-descriptor",
                    "extern \"C\" const xfm_model_desc *xformer_model() "
                    "{ return nullptr; }\n"),
       "/dev/null");
  EXPECT_EQ(null.status, XF_ERROR_VERSION);
  EXPECT_NE(null.error.find("no model descriptor"), std::string::npos)
      << null.error;
  EXPECT_EQ(null.error.find("ABI -1"), std::string::npos) << null.error;
}

// The weights a model joins on open (xformer-fuse-projections: Q, K and V
// of the Llama example are weights 2, 3 and 4) are checked against their
// parts before anything is read: a descriptor whose parts are out of the
// table, do not add up, differ in dtype or join on an axis outside the rank
// is refused, naming the fused weight.
TEST(ContractLibrary, RefusesMalformedFusedWeights) {
  const std::string src = tempDir() + "/fused.cpp";
  const std::string cmd = std::string(XFORMER_COMPILE) + " " +
                          XFORMER_EXAMPLES +
                          "/llama-unfused.mlir --max-seq-len=16 "
                          "--emit=source -o " + src;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::stringstream text;
  text << std::ifstream(src).rdbuf();
  const std::string good = text.str();
  const std::string parts = "kFusedParts0[3] = {2, 3, 4}";
  const std::string qkv = "model.layers.0.self_attn.q_proj.weight+";
  const std::string table = ", XFM_F32, 2, kShape";
  ASSERT_NE(good.find(parts), std::string::npos) << good;
  const size_t entry = good.find("{{\"" + qkv);
  ASSERT_NE(entry, std::string::npos) << good;
  const size_t dtype = good.find(table, entry);
  const size_t axis = good.find("}, 0, 3, kFusedParts0", entry);
  ASSERT_NE(dtype, std::string::npos);
  ASSERT_NE(axis, std::string::npos);
  struct Case {
    const char *name;
    size_t at;
    std::string from, to, expect;
  };
  const Case cases[] = {
      {"fused-index", good.find(parts), parts, "kFusedParts0[3] = {2, 3, 99}",
       "names weight #99 of 12"},
      {"fused-sum", good.find(parts), parts, "kFusedParts0[3] = {2, 2, 4}",
       "has 128 along axis 0 but its parts sum to 160"},
      {"fused-negative", good.find(parts), parts,
       "kFusedParts0[3] = {2, -1, 4}", "names weight #-1 of 12"},
      {"fused-dtype", dtype, table, ", XFM_BF16, 2, kShape",
       "of another dtype or rank"},
      {"fused-axis", axis, "}, 0, 3, kFusedParts0", "}, 2, 3, kFusedParts0",
       "an axis outside its rank 2"}};
  for (const Case &c : cases) {
    std::string body = good;
    ASSERT_EQ(body.compare(c.at, c.from.size(), c.from), 0) << c.name;
    body.replace(c.at, c.from.size(), c.to);
    Opened o;
    open(o, buildLibrary(c.name, body), "/dev/null");
    EXPECT_EQ(o.status, XF_ERROR_VERSION) << c.name;
    EXPECT_NE(o.error.find("fused weight '" + qkv), std::string::npos)
        << c.name << ": " << o.error;
    EXPECT_NE(o.error.find(c.expect), std::string::npos)
        << c.name << ": " << o.error;
  }
}

// Weights are copied on open: truncating the file afterwards used to end
// the process with SIGBUS on the next call.
TEST_F(Contract, CopiedWeightsOutliveTheirFile) {
  const std::string path = tempDir() + "/contract-copied.safetensors";
  writeSafetensors(path, weightsFor(lib));
  Opened o;
  open(o, lib, path);
  ASSERT_EQ(o.status, XF_OK) << o.error;
  int64_t ids[3] = {3, 4, 5};
  std::vector<float> before(kVocab), after(kVocab);
  ASSERT_EQ(xf_prefill(o.model, ids, nullptr, 1, 3, before.data()), XF_OK);
  ASSERT_EQ(truncate(path.c_str(), 16), 0);
  ASSERT_EQ(xf_reset(o.model), XF_OK);
  ASSERT_EQ(xf_prefill(o.model, ids, nullptr, 1, 3, after.data()), XF_OK)
      << xf_last_error();
  expectClose(after, before, 0, kVocab);
}

// XF_OPEN_MMAP reads the file in place: a changed file is refused, not
// read (or faulted on).
TEST_F(Contract, MappedWeightsRefuseAChangedFile) {
  const std::string path = tempDir() + "/contract-mapped.safetensors";
  std::vector<Tensor> ts = weightsFor(lib);
  writeSafetensors(path, ts);
  Opened o;
  open(o, lib, path, XF_OPEN_MMAP);
  ASSERT_EQ(o.status, XF_OK) << o.error;
  int64_t ids[3] = {3, 4, 5};
  std::vector<float> logits(kVocab);
  ASSERT_EQ(xf_prefill(o.model, ids, nullptr, 1, 3, logits.data()), XF_OK);
  std::ofstream(path, std::ios::app) << "more bytes";
  EXPECT_EQ(xf_prefill(o.model, ids, nullptr, 1, 3, logits.data()),
            XF_ERROR_IO);
  EXPECT_NE(std::string(xf_last_error()).find("changed"), std::string::npos)
      << xf_last_error();
}

// Two models, and one model, used from two threads at once give every
// call the logits it gets alone.
TEST(ContractThreads, ModelsRunFromSeveralThreads) {
  std::string bert = compileExample("bert-fused");
  std::string path = tempDir() + "/contract-threads.safetensors";
  writeSafetensors(path, weightsFor(bert));
  Opened a, b;
  open(a, bert, path);
  open(b, bert, path);
  ASSERT_EQ(a.status, XF_OK) << a.error;
  ASSERT_EQ(b.status, XF_OK) << b.error;
  xf_info info;
  xf_get_info(a.model, &info);
  const int64_t H = info.hidden;
  int64_t ids[2][16] = {{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
                        {31, 7, 2, 19, 40, 3, 3, 8, 9, 1, 5, 6, 2, 2, 7, 1}};
  std::vector<float> expected[2];
  for (int t = 0; t < 2; ++t) {
    expected[t].resize(2 * 8 * H);
    ASSERT_EQ(xf_encode(a.model, ids[t], nullptr, nullptr, 2, 8,
                        expected[t].data(), nullptr),
              XF_OK);
  }
  std::atomic<int> wrong{0}, failed{0};
  auto worker = [&](xf_model *m, int t) {
    std::vector<float> h(2 * 8 * H);
    for (int i = 0; i < 300; ++i) {
      if (xf_encode(m, ids[t], nullptr, nullptr, 2, 8, h.data(), nullptr)) {
        ++failed;
        continue;
      }
      for (size_t e = 0; e < h.size(); ++e)
        if (std::fabs(h[e] - expected[t][e]) > 1e-5f) {
          ++wrong;
          break;
        }
    }
  };
  {
    std::thread t0(worker, a.model, 0), t1(worker, b.model, 1);
    t0.join();
    t1.join();
  }
  {
    std::thread t0(worker, a.model, 0), t1(worker, a.model, 1);
    t0.join();
    t1.join();
  }
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(wrong.load(), 0);
}


// An encoder compiled without a lengths input attends to every position:
// lengths it cannot honour are refused (it used to ignore them and return
// the unpadded result), lengths equal to the sequence and none at all are
// the same call.
TEST(ContractEncoder, WithoutLengthsInputRefusesShorterLengths) {
  std::ifstream in(std::string(XFORMER_EXAMPLES) + "/bert-fused.mlir");
  std::stringstream text;
  text << in.rdbuf();
  std::string ir = text.str();
  for (const std::string cut :
       {", %lengths: tensor<2xi64>", " kv_lengths(%lengths : tensor<2xi64>)"}) {
    const size_t at = ir.find(cut);
    ASSERT_NE(at, std::string::npos) << cut;
    ir.erase(at, cut.size());
  }
  ASSERT_EQ(ir.find("%lengths"), std::string::npos);
  const std::string src = tempDir() + "/bert-no-lengths.mlir",
                    lib = tempDir() + "/bert-no-lengths.so",
                    weights = tempDir() + "/bert-no-lengths.safetensors";
  std::ofstream(src) << ir;
  const std::string cmd = std::string(XFORMER_COMPILE) + " " + src +
                          " --max-seq-len=16 -o " + lib;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  writeSafetensors(weights, weightsFor(lib));
  Opened o;
  open(o, lib, weights);
  ASSERT_EQ(o.status, XF_OK) << o.error;
  xf_info info;
  xf_get_info(o.model, &info);
  const int64_t H = info.hidden;
  int64_t ids[2 * 8] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 8, 7, 6, 5, 4, 3, 2};
  std::vector<float> none(2 * 8 * H), full(2 * 8 * H), after(2 * 8 * H);
  std::vector<float> pooled(2 * H);
  ASSERT_EQ(xf_encode(o.model, ids, nullptr, nullptr, 2, 8, none.data(),
                      pooled.data()),
            XF_OK);
  int64_t all[2] = {8, 8};
  ASSERT_EQ(xf_encode(o.model, ids, nullptr, all, 2, 8, full.data(),
                      pooled.data()),
            XF_OK);
  EXPECT_EQ(none, full);
  int64_t shorter[2] = {8, 5};
  EXPECT_EQ(xf_encode(o.model, ids, nullptr, shorter, 2, 8, after.data(),
                      pooled.data()),
            XF_ERROR_INVALID_ARGUMENT);
  const std::string error = xf_last_error();
  EXPECT_NE(error.find("length 5 of sequence 1: this encoder was compiled "
                       "without a lengths input"),
            std::string::npos)
      << error;
}

} // namespace
