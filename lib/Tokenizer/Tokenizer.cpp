//===- Tokenizer.cpp - Hugging Face tokenizer.json in C++ -----------------===//
//
// The pipeline of the Hugging Face tokenizers library, component by
// component: added tokens are split off the raw text, the rest is
// normalized, pre-tokenized into words, each word is split by the model
// (WordPiece, BPE, Unigram or WordLevel), and the post-processor adds special
// tokens; decoding runs the decoder chain over the ids' token strings. Text is
// handled as code points (std::u32string); ICU supplies normalization,
// general categories, case mapping and the regular expressions.
//
//===----------------------------------------------------------------------===//

#include "xformer/Tokenizer/Tokenizer.h"
#include "xformer/Runtime/GGUF.h"
#include "xformer/Support/Nesting.h"

#include "Components.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <queue>
#include <sstream>
#include <unordered_map>

using namespace xformer::tokenizer;
using json = nlohmann::json;
using namespace xformer::tokenizer::detail;

Tokenizer::~Tokenizer() = default;

namespace {

struct AddedToken {
  std::string content;
  int64_t id;
  bool special, lstrip, rstrip;
};

class HfTokenizer : public Tokenizer {
public:
  std::unique_ptr<Normalizer> normalizer;
  std::unique_ptr<PreTokenizer> preTokenizer;
  std::unique_ptr<Model> model;
  Template post;
  std::unique_ptr<Decoder> decoder;
  std::vector<AddedToken> added; // longest first
  std::vector<std::string> idToToken;
  std::vector<bool> isSpecial;

  bool encode(std::string_view text, bool addSpecialTokens,
              std::vector<int64_t> &ids, std::string &error) const override {
    ids.clear();
    std::u32string check;
    if (!decodeUtf8(text, check)) {
      error = "the text is not valid UTF-8";
      return false;
    }
    if (addSpecialTokens)
      ids = post.before;
    // Split off added tokens, then run the pipeline on the rest.
    std::string_view rest = text;
    size_t from = 0;
    auto flush = [&](size_t end) {
      if (end > from)
        tokenizeChunk(rest.substr(from, end - from), from == 0, ids);
    };
    try {
      for (size_t at = 0; at < rest.size();) {
        const AddedToken *hit = nullptr;
        for (const AddedToken &t : added)
          if (!t.content.empty() &&
              rest.compare(at, t.content.size(), t.content) == 0) {
            hit = &t;
            break;
          }
        if (!hit) {
          ++at;
          continue;
        }
        size_t end = at;
        if (hit->lstrip)
          while (end > from && std::isspace((unsigned char)rest[end - 1]))
            --end;
        flush(end);
        ids.push_back(hit->id);
        at += hit->content.size();
        if (hit->rstrip)
          while (at < rest.size() && std::isspace((unsigned char)rest[at]))
            ++at;
        from = at;
      }
      flush(rest.size());
    } catch (const EncodeError &e) {
      ids.clear();
      error = e.message;
      return false;
    }
    if (addSpecialTokens)
      ids.insert(ids.end(), post.after.begin(), post.after.end());
    return true;
  }

  void tokenizeChunk(std::string_view chunk, bool atStart,
                     std::vector<int64_t> &ids) const {
    std::u32string s;
    decodeUtf8(chunk, s);
    if (normalizer)
      s = normalizer->apply(s);
    Words words{{s, atStart}};
    if (preTokenizer)
      words = preTokenizer->apply(words);
    for (const Word &w : words)
      if (!w.text.empty())
        model->tokenize(w.text, ids);
  }

  bool decode(const std::vector<int64_t> &ids, bool skipSpecialTokens,
              std::string &text, std::string &error) const override {
    std::vector<std::string> tokens;
    for (int64_t id : ids) {
      if (id < 0 || id >= int64_t(idToToken.size()) ||
          (idToToken[id].empty() && !isSpecial[id])) {
        error = "token id " + std::to_string(id) +
                " is not in the vocabulary (" +
                std::to_string(idToToken.size()) + " ids)";
        return false;
      }
      if (skipSpecialTokens && isSpecial[id])
        continue;
      tokens.push_back(idToToken[id]);
    }
    text.clear();
    if (!decoder) {
      for (size_t i = 0; i < tokens.size(); ++i)
        text += (i ? " " : "") + tokens[i];
      return true;
    }
    try {
      decoder->apply(tokens);
    } catch (const EncodeError &e) {
      error = e.message;
      return false;
    }
    for (const std::string &t : tokens)
      text += t;
    return true;
  }

  std::optional<int64_t> tokenToId(std::string_view token) const override {
    for (const AddedToken &t : added)
      if (t.content == token)
        return t.id;
    return lookup(model->vocab, std::string(token));
  }

  int64_t vocabSize() const override { return int64_t(idToToken.size()); }
};

} // namespace

std::unique_ptr<Tokenizer> Tokenizer::load(const std::string &path,
                                           std::string &error) {
  if (xformer::runtime::GGUFFile::isGGUF(path))
    return loadGGUF(path, error);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = path + ": cannot be read";
    return nullptr;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse(buffer.str(), path, error);
}

std::unique_ptr<Tokenizer> Tokenizer::parse(std::string_view text,
                                            const std::string &path,
                                            std::string &error) {
  mlir::xformer::NestingError deep;
  if (mlir::xformer::tooDeep(text, /*mlir=*/false, deep)) {
    error = path + ":" + deep.message();
    return nullptr;
  }
  json j = json::parse(text.begin(), text.end(), nullptr,
                       /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    error = path + ": not a JSON object (a Hugging Face tokenizer.json)";
    return nullptr;
  }
  auto t = std::make_unique<HfTokenizer>();
  try {
    if (!j.contains("model"))
      refuse("no model");
    t->model = makeModel(j["model"]);
    t->normalizer = makeNormalizer(j.value("normalizer", json()));
    t->preTokenizer = makePreTokenizer(j.value("pre_tokenizer", json()));
    addPostProcessor(j.value("post_processor", json()), t->post);
    t->decoder = makeDecoder(j.value("decoder", json()));
    const json &added = j.value("added_tokens", json::array());
    if (!added.is_array())
      refuse("added_tokens is not a list");
    for (const json &a : added) {
      if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() ||
          a["id"].get<int64_t>() < 0 || !a.contains("content") ||
          !a["content"].is_string())
        refuse("added token " + a.dump() + " has no id or content");
      AddedToken tok{a["content"].get<std::string>(), a["id"].get<int64_t>(),
                     flag(a, "special", false), flag(a, "lstrip", false),
                     flag(a, "rstrip", false)};
      if (flag(a, "single_word", false))
        refuse("unsupported added token '" + tok.content +
               "' with single_word");
      if (flag(a, "normalized", false) && t->normalizer)
        refuse("unsupported added token '" + tok.content +
               "' matched after normalization");
      fromUtf8OrRefuse(tok.content, "an added token");
      t->added.push_back(tok);
    }
    // Longest first, so "[MASK]" wins over a "[" token; ties by id.
    std::sort(t->added.begin(), t->added.end(),
              [](const AddedToken &a, const AddedToken &b) {
                if (a.content.size() != b.content.size())
                  return a.content.size() > b.content.size();
                return a.id < b.id;
              });
  } catch (const LoadError &e) {
    error = path + ": " + e.message;
    return nullptr;
  } catch (const json::exception &e) {
    error = path + ": malformed tokenizer: " + e.what();
    return nullptr;
  }
  // The id -> token table: the vocabulary, then the added tokens.
  int64_t size = 0;
  for (auto &[token, id] : t->model->vocab)
    size = std::max(size, id + 1);
  for (const AddedToken &a : t->added)
    size = std::max(size, a.id + 1);
  if (size > (int64_t(1) << 24)) {
    error = path + ": ids up to " + std::to_string(size - 1) +
            " are not a plausible vocabulary";
    return nullptr;
  }
  // The post-processor's ids are emitted as they are: each must name a
  // token, or encode would hand a model ids outside its vocabulary.
  for (const std::vector<int64_t> *ids : {&t->post.before, &t->post.after})
    for (int64_t id : *ids)
      if (id < 0 || id >= size) {
        error = path + ": post_processor id " + std::to_string(id) +
                " is outside the vocabulary (" + std::to_string(size) +
                " ids)";
        return nullptr;
      }
  t->idToToken.assign(size, "");
  t->isSpecial.assign(size, false);
  for (auto &[token, id] : t->model->vocab)
    t->idToToken[id] = token;
  // A Unigram vocab is a list: a piece listed twice keeps both ids.
  if (const std::vector<std::string> *pieces = t->model->pieceList())
    for (size_t id = 0; id < pieces->size(); ++id)
      t->idToToken[id] = (*pieces)[id];
  for (const AddedToken &a : t->added) {
    t->idToToken[a.id] = a.content;
    t->isSpecial[a.id] = a.special;
  }
  return t;
}
