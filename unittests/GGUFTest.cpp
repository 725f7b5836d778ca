//===- GGUFTest.cpp - The GGUF reader on written and damaged files -------===//
//
// Files are written byte by byte here from the format's definition (the
// expected values are the ones written), then damaged one defect at a
// time; each defect must be an error naming it, never a crash or a read
// outside the bytes. The gguf package's writer is the oracle for real files
// (test/python/gguf_reader.py).
//
//===----------------------------------------------------------------------===//

#include "xformer/Runtime/GGUF.h"
#include "xformer/Tokenizer/Tokenizer.h"

#include "gtest/gtest.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

using namespace xformer::runtime;

namespace {

/// Writes a GGUF file: metadata entries, then tensor descriptions, padding
/// to the alignment, and the data.
class Writer {
public:
  std::vector<uint8_t> out;

  template <typename T> Writer &put(T v) {
    const uint8_t *p = reinterpret_cast<const uint8_t *>(&v);
    out.insert(out.end(), p, p + sizeof(T));
    return *this;
  }
  Writer &str(const std::string &s) {
    put<uint64_t>(s.size());
    out.insert(out.end(), s.begin(), s.end());
    return *this;
  }
  Writer &header(uint64_t tensors, uint64_t kvs, uint32_t version = 3) {
    put<uint32_t>(0x46554747).put<uint32_t>(version);
    return put<uint64_t>(tensors).put<uint64_t>(kvs);
  }
  Writer &key(const std::string &k, GGUFValueType t) {
    return str(k).put<uint32_t>(uint32_t(t));
  }
  Writer &tensor(const std::string &name, std::vector<uint64_t> dims,
                 uint32_t type, uint64_t offset) {
    str(name).put<uint32_t>(dims.size());
    for (uint64_t d : dims)
      put<uint64_t>(d);
    return put<uint32_t>(type).put<uint64_t>(offset);
  }
  Writer &pad(size_t alignment) {
    while (out.size() % alignment)
      out.push_back(0);
    return *this;
  }
  Writer &bytes(size_t n, uint8_t v = 0) {
    out.insert(out.end(), n, v);
    return *this;
  }
};

std::string parseError(const std::vector<uint8_t> &bytes) {
  std::string error;
  auto f = GGUFFile::parse(bytes.data(), bytes.size(), "m.gguf", error);
  return f ? std::string("(parsed)") : error;
}

/// A file with metadata of every type and two tensors: an F32 [3, 4] and
/// a Q8_0 [2, 64] (two blocks per row).
std::vector<uint8_t> goodFile() {
  Writer w;
  w.header(2, 12);
  w.key("general.architecture", GGUFValueType::String).str("llama");
  w.key("u8", GGUFValueType::U8).put<uint8_t>(200);
  w.key("i8", GGUFValueType::I8).put<int8_t>(-5);
  w.key("u16", GGUFValueType::U16).put<uint16_t>(60000);
  w.key("i16", GGUFValueType::I16).put<int16_t>(-30000);
  w.key("llama.block_count", GGUFValueType::U32).put<uint32_t>(30);
  w.key("i32", GGUFValueType::I32).put<int32_t>(-7);
  w.key("llama.rope.freq_base", GGUFValueType::F32).put<float>(10000.5f);
  w.key("flag", GGUFValueType::Bool).put<uint8_t>(1);
  w.key("tokens", GGUFValueType::Array)
      .put<uint32_t>(uint32_t(GGUFValueType::String))
      .put<uint64_t>(3)
      .str("<s>")
      .str("")
      .str("hello");
  w.key("scores", GGUFValueType::Array)
      .put<uint32_t>(uint32_t(GGUFValueType::F32))
      .put<uint64_t>(2)
      .put<float>(-1.5f)
      .put<float>(2.0f);
  w.key("nested", GGUFValueType::Array)
      .put<uint32_t>(uint32_t(GGUFValueType::Array))
      .put<uint64_t>(1)
      .put<uint32_t>(uint32_t(GGUFValueType::I64))
      .put<uint64_t>(2)
      .put<int64_t>(-1)
      .put<int64_t>(1ll << 40);
  w.tensor("token_embd.weight", {4, 3}, 0, 0);
  w.tensor("blk.0.attn_q.weight", {64, 2}, 8, 64);
  w.pad(32);
  for (int k = 0; k < 12; ++k)
    w.put<float>(float(k) + 0.25f);
  w.bytes(64 - 48);
  w.bytes(2 * 2 * 34, 0x11);
  return w.out;
}

TEST(GGUF, ReadsEveryValueTypeAndTensor) {
  const std::vector<uint8_t> bytes = goodFile();
  std::string error;
  auto f = GGUFFile::parse(bytes.data(), bytes.size(), "m.gguf", error);
  ASSERT_TRUE(f) << error;
  EXPECT_EQ(f->version(), 3u);
  EXPECT_EQ(f->alignment(), 32u);
  EXPECT_EQ(f->get("general.architecture")->s, "llama");
  EXPECT_EQ(f->get("u8")->asInt(), 200);
  EXPECT_EQ(f->get("i8")->asInt(), -5);
  EXPECT_EQ(f->get("u16")->asInt(), 60000);
  EXPECT_EQ(f->get("i16")->asInt(), -30000);
  EXPECT_EQ(f->get("llama.block_count")->asInt(), 30);
  EXPECT_EQ(f->get("i32")->asInt(), -7);
  EXPECT_FLOAT_EQ(float(*f->get("llama.rope.freq_base")->asFloat()), 10000.5f);
  EXPECT_EQ(f->get("flag")->asInt(), 1);
  EXPECT_EQ(f->get("general.architecture")->asInt(), std::nullopt);
  const GGUFValue *tokens = f->get("tokens");
  ASSERT_EQ(tokens->count, 3u);
  EXPECT_EQ(tokens->strings, (std::vector<std::string>{"<s>", "", "hello"}));
  EXPECT_EQ(f->get("scores")->floatAt(0), -1.5);
  EXPECT_EQ(f->get("scores")->floatAt(1), 2.0);
  EXPECT_EQ(f->get("scores")->floatAt(2), std::nullopt);
  const GGUFValue *nested = f->get("nested");
  ASSERT_EQ(nested->arrays.size(), 1u);
  EXPECT_EQ(nested->arrays[0].intAt(1), 1ll << 40);
  EXPECT_EQ(f->get("missing"), nullptr);

  ASSERT_EQ(f->tensors().size(), 2u);
  const GGUFTensor *emb = f->find("token_embd.weight");
  ASSERT_TRUE(emb);
  EXPECT_EQ(emb->type, GGMLType::F32);
  EXPECT_EQ(emb->shape(), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(emb->numElements, 12);
  EXPECT_EQ(emb->bytes, 48u);
  float first;
  std::memcpy(&first, f->data(*emb), sizeof(first));
  EXPECT_EQ(first, 0.25f);
  const GGUFTensor *q = f->find("blk.0.attn_q.weight");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->type, GGMLType::Q8_0);
  EXPECT_EQ(q->bytes, 2u * 2 * 34);
  EXPECT_EQ(static_cast<const uint8_t *>(f->data(*q))[0], 0x11);
  EXPECT_EQ(f->dataOffset() % 32, 0u);
}

// Every prefix of a file is refused with a message, none read past it.
TEST(GGUF, EveryTruncationIsRefused) {
  const std::vector<uint8_t> bytes = goodFile();
  for (size_t n = 0; n < bytes.size(); ++n) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + n);
    const std::string error = parseError(cut);
    EXPECT_NE(error, "(parsed)") << "prefix of " << n << " bytes";
    EXPECT_EQ(error.rfind("m.gguf: ", 0), 0u) << error;
  }
}

struct Case {
  const char *what;
  std::vector<uint8_t> bytes;
  const char *message;
};

std::vector<uint8_t> oneTensor(std::vector<uint64_t> dims, uint32_t type,
                               uint64_t offset, size_t dataBytes,
                               uint32_t alignment = 0) {
  Writer w;
  w.header(1, alignment ? 1 : 0);
  if (alignment)
    w.key("general.alignment", GGUFValueType::U32).put<uint32_t>(alignment);
  w.tensor("t", dims, type, offset);
  w.pad(alignment ? alignment : 32);
  w.bytes(dataBytes);
  return w.out;
}

std::vector<uint8_t> oneValue(GGUFValueType type,
                              const std::vector<uint8_t> &payload) {
  Writer w;
  w.header(0, 1);
  w.key("k", type);
  w.out.insert(w.out.end(), payload.begin(), payload.end());
  return w.out;
}

std::vector<uint8_t> le64(uint64_t v) {
  std::vector<uint8_t> b(8);
  std::memcpy(b.data(), &v, 8);
  return b;
}

TEST(GGUF, RefusesEachDefectByName) {
  std::vector<Case> cases;
  {
    Writer w;
    w.put<uint32_t>(0x46554746).put<uint32_t>(3).put<uint64_t>(0).put<uint64_t>(
        0);
    cases.push_back({"magic", w.out, "not a GGUF file"});
  }
  cases.push_back({"version 1", Writer().header(0, 0, 1).out,
                   "GGUF version 1 (32-bit counts) is not supported"});
  cases.push_back({"big-endian", Writer().header(0, 0, 0x03000000).out,
                   "a big-endian GGUF file (version 3 byte-swapped)"});
  cases.push_back({"version 7", Writer().header(0, 0, 7).out,
                   "GGUF version 7 is not supported"});
  cases.push_back({"tensor count", Writer().header(1ull << 60, 0).out,
                   "1152921504606846976 tensors cannot fit"});
  cases.push_back({"kv count", Writer().header(0, 1ull << 40).out,
                   "1099511627776 metadata entries cannot fit"});
  {
    Writer w;
    w.header(0, 1).put<uint64_t>(1ull << 50).bytes(16);
    cases.push_back({"key length", w.out,
                     "a metadata key claims 1125899906842624 bytes"});
  }
  {
    Writer w;
    w.header(0, 1).key("", GGUFValueType::U8).put<uint8_t>(0);
    cases.push_back({"empty key", w.out, "metadata entry 0 has an empty key"});
  }
  {
    Writer w;
    w.header(0, 2);
    w.key("a", GGUFValueType::U8).put<uint8_t>(1);
    w.key("a", GGUFValueType::U8).put<uint8_t>(2);
    cases.push_back({"duplicate key", w.out, "metadata key 'a' appears twice"});
  }
  cases.push_back({"value type", oneValue(GGUFValueType(13), {0}),
                   "key 'k': unknown value type 13"});
  cases.push_back({"bool", oneValue(GGUFValueType::Bool, {2}),
                   "key 'k': a bool of 2"});
  cases.push_back({"string length",
                   oneValue(GGUFValueType::String, le64(1000)),
                   "a string value claims 1000 bytes"});
  {
    std::vector<uint8_t> p = {uint8_t(GGUFValueType::U32), 0, 0, 0};
    auto n = le64(1ull << 62);
    p.insert(p.end(), n.begin(), n.end());
    cases.push_back({"array length", oneValue(GGUFValueType::Array, p),
                     "an array of 4611686018427387904 u32 elements does not "
                     "fit"});
  }
  {
    std::vector<uint8_t> p = {77, 0, 0, 0};
    auto n = le64(1);
    p.insert(p.end(), n.begin(), n.end());
    cases.push_back({"array element type", oneValue(GGUFValueType::Array, p),
                     "key 'k': unknown array element type 77"});
  }
  {
    std::vector<uint8_t> p = {uint8_t(GGUFValueType::Bool), 0, 0, 0};
    auto n = le64(2);
    p.insert(p.end(), n.begin(), n.end());
    p.push_back(1);
    p.push_back(5);
    cases.push_back({"bool array", oneValue(GGUFValueType::Array, p),
                     "element 1 of a bool array is 5"});
  }
  {
    // Arrays of arrays, 9 deep.
    std::vector<uint8_t> p;
    for (int d = 0; d < 9; ++d) {
      p.insert(p.end(), {uint8_t(GGUFValueType::Array), 0, 0, 0});
      auto n = le64(1);
      p.insert(p.end(), n.begin(), n.end());
    }
    p.resize(p.size() + 64);
    cases.push_back({"nesting", oneValue(GGUFValueType::Array, p),
                     "arrays nested more than 8 deep"});
  }
  {
    Writer w;
    w.header(0, 1).key("general.alignment", GGUFValueType::U64).put<uint64_t>(
        32);
    cases.push_back(
        {"alignment type", w.out, "general.alignment is a u64, not a u32"});
  }
  cases.push_back({"alignment", oneTensor({4}, 0, 0, 48, 48),
                   "general.alignment 48 is not a power of two"});
  cases.push_back({"no dims", oneTensor({}, 0, 0, 32),
                   "tensor 't' has 0 dimensions (1 to 4 allowed)"});
  cases.push_back({"five dims", oneTensor({1, 1, 1, 1, 1}, 0, 0, 32),
                   "tensor 't' has 5 dimensions"});
  cases.push_back({"negative dim", oneTensor({1ull << 63}, 0, 0, 32),
                   "tensor 't' has a dimension of 9223372036854775808"});
  cases.push_back({"IQ type", oneTensor({256}, 17, 0, 512),
                   "tensor 't' has type IQ2_XS (17), which xformer does not "
                   "read"});
  cases.push_back({"unknown type", oneTensor({4}, 99, 0, 32),
                   "tensor 't' has type type 99 (99)"});
  cases.push_back({"partial block", oneTensor({48, 2}, 8, 0, 128),
                   "tensor 't' of type Q8_0 has rows of 48 elements, not a "
                   "multiple of its block of 32"});
  cases.push_back(
      {"huge", oneTensor({1ull << 31, 1ull << 31, 4}, 0, 0, 32),
       "tensor 't' of shape [2147483648, 2147483648, 4] is too large"});
  cases.push_back({"misaligned", oneTensor({4}, 0, 16, 64),
                   "tensor 't' at data offset 16 is not aligned to 32 bytes"});
  cases.push_back({"past the end", oneTensor({16}, 0, 0, 32),
                   "tensor 't' of 64 bytes at data offset 0 ends past the "
                   "file (the data section has 32 bytes"});
  cases.push_back({"offset past the end", oneTensor({4}, 0, 1ull << 60, 32),
                   "at data offset 1152921504606846976 ends past the file"});
  {
    Writer w;
    w.header(2, 0);
    w.tensor("a", {16}, 0, 0);
    w.tensor("b", {8}, 0, 32);
    w.pad(32).bytes(128);
    cases.push_back({"overlap", w.out,
                     "tensors 'a' (bytes 0 to 64) and 'b' (from byte 32) "
                     "overlap"});
  }
  {
    Writer w;
    w.header(2, 0);
    w.tensor("a", {8}, 0, 0);
    w.tensor("a", {8}, 0, 32);
    w.pad(32).bytes(64);
    cases.push_back({"duplicate tensor", w.out, "tensor 'a' appears twice"});
  }
  {
    Writer w;
    w.header(1, 0);
    w.tensor(std::string(64, 'x'), {8}, 0, 0);
    w.pad(32).bytes(32);
    cases.push_back({"long name", w.out,
                     "tensor 0 has a name of 64 bytes (1 to 63 allowed)"});
  }
  for (const Case &c : cases) {
    const std::string error = parseError(c.bytes);
    EXPECT_NE(error.find(c.message), std::string::npos)
        << c.what << ": got '" << error << "'";
  }
}

// Empty arrays of every element kind: nothing is copied (an empty numeric
// array has no buffer; the sanitized run reported a memcpy into null).
TEST(GGUF, ReadsEmptyArrays) {
  Writer w;
  w.header(0, 3);
  for (GGUFValueType t :
       {GGUFValueType::U32, GGUFValueType::String, GGUFValueType::Array}) {
    w.key(std::string("empty.") + ggufValueTypeName(t), GGUFValueType::Array)
        .put<uint32_t>(uint32_t(t))
        .put<uint64_t>(0);
  }
  std::string error;
  auto f = GGUFFile::parse(w.out.data(), w.out.size(), "e.gguf", error);
  ASSERT_TRUE(f) << error;
  EXPECT_EQ(f->get("empty.u32")->count, 0u);
  EXPECT_EQ(f->get("empty.u32")->intAt(0), std::nullopt);
  EXPECT_TRUE(f->get("empty.string")->strings.empty());
  EXPECT_TRUE(f->get("empty.array")->arrays.empty());
}

TEST(GGUF, OpenNamesTheFile) {
  std::string error;
  EXPECT_FALSE(GGUFFile::open("/nonexistent/m.gguf", error));
  EXPECT_NE(error.find("/nonexistent/m.gguf: cannot open"), std::string::npos)
      << error;
  EXPECT_FALSE(GGUFFile::open("/tmp", error));
  EXPECT_NE(error.find("not a regular file"), std::string::npos) << error;
}

TEST(GGUF, TypeNames) {
  EXPECT_EQ(ggmlTypeName(12), "Q4_K");
  EXPECT_EQ(ggmlTypeName(23), "IQ4_XS");
  EXPECT_EQ(ggmlTypeName(1000), "type 1000");
  EXPECT_EQ(ggmlTypeTraits(14)->blockBytes, 210);
  EXPECT_FALSE(ggmlTypeTraits(16));
}


/// A GGUF with a byte-level BPE vocabulary: tokens a, b, ab, Ġ, Ġab and the
/// control token <s>; merges "a b", "Ġ ab".
std::vector<uint8_t> vocabFile(const std::string &model, const std::string &pre,
                               uint64_t typeCount, int64_t bosId) {
  const std::vector<std::string> tokens = {"<s>", "a", "b", "ab", "\xc4\xa0",
                                           "\xc4\xa0" "ab"};
  Writer w;
  w.header(0, 7);
  w.key("tokenizer.ggml.model", GGUFValueType::String).str(model);
  w.key("tokenizer.ggml.pre", GGUFValueType::String).str(pre);
  w.key("tokenizer.ggml.tokens", GGUFValueType::Array)
      .put<uint32_t>(uint32_t(GGUFValueType::String))
      .put<uint64_t>(tokens.size());
  for (const std::string &t : tokens)
    w.str(t);
  w.key("tokenizer.ggml.token_type", GGUFValueType::Array)
      .put<uint32_t>(uint32_t(GGUFValueType::I32))
      .put<uint64_t>(typeCount);
  for (uint64_t k = 0; k < typeCount; ++k)
    w.put<int32_t>(k == 0 ? 3 : 1);
  w.key("tokenizer.ggml.merges", GGUFValueType::Array)
      .put<uint32_t>(uint32_t(GGUFValueType::String))
      .put<uint64_t>(2)
      .str("a b")
      .str("\xc4\xa0 ab");
  w.key("tokenizer.ggml.add_bos_token", GGUFValueType::Bool).put<uint8_t>(1);
  w.key("tokenizer.ggml.bos_token_id", GGUFValueType::U32)
      .put<uint32_t>(uint32_t(bosId));
  return w.out;
}

std::string vocabError(const std::vector<uint8_t> &bytes) {
  std::string error;
  auto f = GGUFFile::parse(bytes.data(), bytes.size(), "v.gguf", error);
  if (!f)
    return error;
  auto t = xformer::tokenizer::Tokenizer::fromGGUF(*f, error);
  return t ? std::string("(loaded)") : error;
}

// The vocabulary of a GGUF as a tokenizer: merges, the control token
// matched whole, BOS added as the file asks; every malformed part refused.
TEST(GGUFTokenizer, EncodesAndRefuses) {
  const std::vector<uint8_t> bytes = vocabFile("gpt2", "gpt2", 6, 0);
  std::string error;
  auto f = GGUFFile::parse(bytes.data(), bytes.size(), "v.gguf", error);
  ASSERT_TRUE(f) << error;
  auto t = xformer::tokenizer::Tokenizer::fromGGUF(*f, error);
  ASSERT_TRUE(t) << error;
  std::vector<int64_t> ids;
  ASSERT_TRUE(t->encode("ab ab<s>b", true, ids, error)) << error;
  EXPECT_EQ(ids, (std::vector<int64_t>{0, 3, 5, 0, 2}));
  std::string text;
  ASSERT_TRUE(t->decode({3, 5, 2}, true, text, error)) << error;
  EXPECT_EQ(text, "ab abb");

  EXPECT_NE(vocabError(vocabFile("llama", "default", 6, 0))
                .find("tokenizer.ggml.model 'llama' is not supported"),
            std::string::npos);
  EXPECT_NE(vocabError(vocabFile("gpt2", "falcon", 6, 0))
                .find("pre-tokenizer 'falcon' is not supported (default, "
                      "gpt2"),
            std::string::npos);
  EXPECT_NE(vocabError(vocabFile("gpt2", "gpt2", 5, 0))
                .find("token_type must list an integer type for each of the "
                      "6 tokens"),
            std::string::npos);
  EXPECT_NE(vocabError(vocabFile("gpt2", "gpt2", 6, 99))
                .find("tokenizer.ggml.add_bos_token is set but "
                      "tokenizer.ggml.bos_token_id is not a token id"),
            std::string::npos);
  Writer none;
  none.header(0, 0);
  EXPECT_NE(vocabError(none.out).find("no tokenizer"), std::string::npos);
}

} // namespace
