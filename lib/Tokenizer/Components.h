//===- Components.h - The tokenizer pipeline's components -------*- C++ -*-===//
//
// The stages of a Hugging Face tokenizer, each a family of components in its
// own file: normalizers (Normalizers.cpp), pre-tokenizers
// (PreTokenizers.cpp), models (Models.cpp: WordPiece, BPE, Unigram,
// WordLevel), post-processors (PostProcessors.cpp) and decoders
// (Decoders.cpp). Each family's factory reads its part of tokenizer.json and
// refuses (LoadError) what it does not support. Internal to lib/Tokenizer.
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_LIB_TOKENIZER_COMPONENTS_H
#define XFORMER_LIB_TOKENIZER_COMPONENTS_H

#include "Support.h"

#include <unordered_map>

namespace xformer::tokenizer::detail {

struct Normalizer {
  virtual ~Normalizer() = default;
  virtual std::u32string apply(std::u32string_view text) const = 0;
};

/// The normalizer of `j` (null: none).
std::unique_ptr<Normalizer> makeNormalizer(const json &j);

/// A pre-tokenized word; `atStart` when it begins at the start of the input
/// text (Metaspace's "first" prepend scheme asks).
struct Word {
  std::u32string text;
  bool atStart = false;
};
using Words = std::vector<Word>;

struct PreTokenizer {
  virtual ~PreTokenizer() = default;
  virtual Words apply(const Words &words) const = 0;
};

/// The pre-tokenizer of `j` (null: none).
std::unique_ptr<PreTokenizer> makePreTokenizer(const json &j);

/// GPT-2's byte-level alphabet: the character each byte stands for (the
/// byte-level pre-tokenizer and decoder).
std::vector<char32_t> byteToChar();

/// Metaspace's prepend scheme and replacement character, as its
/// pre-tokenizer and decoder read them.
enum class PrependScheme { Always, First, Never };
PrependScheme prependScheme(const json &j);
char32_t metaspaceReplacement(const json &j);

using Vocab = std::unordered_map<std::string, int64_t>;

struct Model {
  Vocab vocab;
  virtual ~Model() = default;
  /// Appends the ids of one pre-tokenized word.
  virtual void tokenize(const std::u32string &word,
                        std::vector<int64_t> &ids) const = 0;
  /// The token of each id where the vocabulary is a list (Unigram: a piece
  /// listed twice keeps both ids), else null.
  virtual const std::vector<std::string> *pieceList() const { return nullptr; }
};

inline std::optional<int64_t> lookup(const Vocab &vocab,
                                     const std::string &token) {
  auto it = vocab.find(token);
  if (it == vocab.end())
    return std::nullopt;
  return it->second;
}

/// The model of `j`.
std::unique_ptr<Model> makeModel(const json &j);

/// The ids placed around a single sequence.
struct Template {
  std::vector<int64_t> before, after;
};

/// Adds the special tokens of post-processor `j` (null: none) to `t`.
void addPostProcessor(const json &j, Template &t);

/// One step of the decoder chain: token strings in, token strings out; the
/// chain's result is joined without separators.
struct Decoder {
  virtual ~Decoder() = default;
  virtual void apply(std::vector<std::string> &tokens) const = 0;
};

/// The decoder of `j` (null: none).
std::unique_ptr<Decoder> makeDecoder(const json &j);

} // namespace xformer::tokenizer::detail

#endif // XFORMER_LIB_TOKENIZER_COMPONENTS_H
