//===- Tokenizer.h - Hugging Face tokenizer.json in C++ ---------*- C++ -*-===//
//
// Text to token ids and back for the tools, from the tokenizer.json files
// Hugging Face models ship. Supported: WordPiece (BERT family), BPE
// (byte-level as in GPT-2, RoBERTa, BART, Llama-3; or over characters with
// byte fallback as in Llama-2 and Mistral), Unigram (SentencePiece, as in
// T5) and WordLevel, with every normalizer, pre-tokenizer, post-processor
// and decoder of the tokenizers library (0.23). An unknown component (or BPE
// dropout, which is not deterministic) is refused when the file is loaded,
// naming it, rather than tokenizing differently from the model's own
// tokenizer.
// Unicode (normalization, grapheme clusters, general categories, case
// mapping, regular expressions) comes from ICU.
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_TOKENIZER_TOKENIZER_H
#define XFORMER_TOKENIZER_TOKENIZER_H

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xformer::runtime {
class GGUFFile;
} // namespace xformer::runtime

namespace xformer::tokenizer {

class Tokenizer {
public:
  virtual ~Tokenizer();

  /// Reads a tokenizer.json. On failure returns null and sets `error` to a
  /// message naming the file and the cause (unreadable, not JSON, a
  /// component this implementation does not support, a malformed field).
  static std::unique_ptr<Tokenizer> load(const std::string &path,
                                         std::string &error);

  /// The tokenizer of a GGUF file (tokenizer.ggml.*: byte-level BPE with
  /// llama.cpp's pre-tokenizer expressions, control and user-defined tokens
  /// matched whole, BOS/EOS as the file asks). load() reads a GGUF as well.
  static std::unique_ptr<Tokenizer> fromGGUF(const runtime::GGUFFile &file,
                                             std::string &error);
  static std::unique_ptr<Tokenizer> loadGGUF(const std::string &path,
                                             std::string &error);

  /// The same from the file's contents; `name` prefixes error messages.
  static std::unique_ptr<Tokenizer> parse(std::string_view json,
                                          const std::string &name,
                                          std::string &error);

  /// The ids of `text` (UTF-8), with the post-processor's special tokens
  /// (BERT's [CLS] ... [SEP]) when `addSpecialTokens`. Fails, setting
  /// `error`, on text that is not valid UTF-8, a character a Unigram model
  /// without an unk token cannot cover, or a regular expression of the
  /// file that runs past its time limit.
  virtual bool encode(std::string_view text, bool addSpecialTokens,
                      std::vector<int64_t> &ids, std::string &error) const = 0;

  /// The text of `ids`; special tokens left out when `skipSpecialTokens`.
  /// Fails on ids outside the vocabulary.
  virtual bool decode(const std::vector<int64_t> &ids, bool skipSpecialTokens,
                      std::string &text, std::string &error) const = 0;

  /// The id of a token of the vocabulary or of the added tokens.
  virtual std::optional<int64_t> tokenToId(std::string_view token) const = 0;

  /// Size of the id space: every id is below it.
  virtual int64_t vocabSize() const = 0;
};

} // namespace xformer::tokenizer

#endif // XFORMER_TOKENIZER_TOKENIZER_H
