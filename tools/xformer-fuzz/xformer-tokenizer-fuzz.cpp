//===- xformer-tokenizer-fuzz.cpp - libFuzzer target over tokenizers ------===//
//
// Two kinds of input, told apart by the first byte:
//   - even: the rest is text, encoded by tokenizers of every model kind
//     (WordPiece, byte-level BPE, BPE with byte fallback behind Metaspace,
//     Unigram), whose ids are decoded again, and read as ids to decode;
//   - odd: the rest is a tokenizer.json, loaded and, when it loads, run on
//     a few texts and ids.
// Errors are expected; crashes, hangs and sanitizer reports are bugs.
//
//   xformer-tokenizer-fuzz corpus/ -max_total_time=60
//
//===----------------------------------------------------------------------===//

#include "xformer/Tokenizer/Tokenizer.h"

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

using xformer::tokenizer::Tokenizer;

namespace {

const char *kFiles[] = {
    R"({"added_tokens": [{"id": 1, "content": "[CLS]", "special": true},
                         {"id": 2, "content": "[SEP]", "special": true}],
        "normalizer": {"type": "BertNormalizer", "lowercase": true},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {"type": "BertProcessing", "cls": ["[CLS]", 1],
                           "sep": ["[SEP]", 2]},
        "decoder": {"type": "WordPiece"},
        "model": {"type": "WordPiece", "unk_token": "[UNK]",
          "vocab": {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "a": 3, "##b": 4,
                    "ab": 5, ",": 6}}})",
    R"({"pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": true},
        "decoder": {"type": "ByteLevel"},
        "model": {"type": "BPE", "merges": ["a b", "\u0120 ab"],
          "vocab": {"a": 0, "b": 1, "\u0120": 2, "ab": 3, "\u0120ab": 4}}})",
    R"({"normalizer": {"type": "Sequence", "normalizers": [
          {"type": "Prepend", "prepend": "\u2581"},
          {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
          {"type": "Strip", "strip_left": false, "strip_right": true}]},
        "pre_tokenizer": {"type": "Metaspace", "prepend_scheme": "first",
                          "split": true},
        "decoder": {"type": "Sequence", "decoders": [
          {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
          {"type": "ByteFallback"}, {"type": "Fuse"},
          {"type": "Strip", "content": " ", "start": 1, "stop": 1}]},
        "model": {"type": "BPE", "byte_fallback": true, "fuse_unk": true,
          "unk_token": "<unk>", "merges": ["\u2581 a"],
          "vocab": {"<unk>": 0, "<0xC3>": 1, "<0xA9>": 2, "\u2581": 3,
                    "a": 4, "\u2581a": 5}}})",
    R"({"pre_tokenizer": {"type": "Sequence", "pretokenizers": [
          {"type": "WhitespaceSplit"},
          {"type": "Metaspace", "prepend_scheme": "always"}]},
        "decoder": {"type": "Metaspace", "prepend_scheme": "always"},
        "model": {"type": "Unigram", "unk_id": 0, "byte_fallback": true,
          "vocab": [["<unk>", 0.0], ["\u2581", -1.0], ["a", -2.0],
                    ["ab", -2.5], ["\u2581ab", -3.0], ["<0x41>", -9.0]]}})",
};

const std::vector<std::unique_ptr<Tokenizer>> &builtIn() {
  static auto *all = [] {
    auto *v = new std::vector<std::unique_ptr<Tokenizer>>;
    std::string error;
    for (const char *file : kFiles) {
      v->push_back(Tokenizer::parse(file, "built-in", error));
      if (!v->back())
        __builtin_trap(); // a fixture that does not load is a bug here
    }
    return v;
  }();
  return *all;
}

void exercise(const Tokenizer &tok, const std::string &text) {
  std::vector<int64_t> ids;
  std::string error, decoded;
  for (bool special : {true, false})
    if (tok.encode(text, special, ids, error)) {
      for (int64_t id : ids)
        if (id < 0 || id >= tok.vocabSize())
          __builtin_trap(); // encode must give ids of the vocabulary
      tok.decode(ids, true, decoded, error);
      tok.decode(ids, false, decoded, error);
    }
  // The text's bytes as ids, in and out of range.
  std::vector<int64_t> raw;
  for (unsigned char c : text)
    raw.push_back(int64_t(c) % (tok.vocabSize() + 2) - 1);
  tok.decode(raw, false, decoded, error);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  std::string rest(reinterpret_cast<const char *>(data) + 1, size - 1);
  if ((data[0] & 1) == 0) {
    for (const auto &tok : builtIn())
      exercise(*tok, rest);
    return 0;
  }
  std::string error;
  std::unique_ptr<Tokenizer> tok = Tokenizer::parse(rest, "input", error);
  if (!tok)
    return 0;
  for (const char *text :
       {"", "a", "Hello, world! ab ab", "caf\xC3\xA9  \xE4\xBD\xA0\xE5\xA5\xBD",
        "\xEF\xBC\xA1 \xE2\x91\xA0 e\xCC\x81 \xF0\x9F\x98\x80"})
    exercise(*tok, text);
  return 0;
}
