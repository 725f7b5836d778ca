//===- GGUFTokenizer.cpp - Tokenizers from a GGUF file's vocabulary -------===//
//
// A GGUF file carries its tokenizer as metadata (tokenizer.ggml.*): the
// tokens, their types, the BPE merges, the pre-tokenizer's name and the
// special token ids. llama.cpp tokenizes a byte-level BPE vocabulary
// ('gpt2') by splitting the text with the regular expressions of its
// pre-tokenizer, one after another, then merging bytes; control and
// user-defined tokens match whole. That is the tokenizer.json written here
// (a Split per expression, ByteLevel without its own expression, the BPE
// model, the added tokens) and handed to the tokenizer.json reader.
//
//===----------------------------------------------------------------------===//

#include "xformer/Runtime/GGUF.h"
#include "xformer/Tokenizer/Tokenizer.h"

#include <nlohmann/json.hpp>


using json = nlohmann::json;
using namespace xformer;
using xformer::tokenizer::Tokenizer;

namespace {

// llama.cpp's pre-tokenizer expressions (llama-vocab.cpp), by the name a
// GGUF stores in tokenizer.ggml.pre.
const char *const kGPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| "
                          "?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
const char *const kLlama3 =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}"
    "\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
    "\\s+(?!\\S)|\\s+";
const char *const kQwen2 =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}"
    "\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+("
    "?!\\S)|\\s+";

struct PreTokenizer {
  const char *name;
  std::vector<const char *> expressions;
};

const std::vector<PreTokenizer> &preTokenizers() {
  static const std::vector<PreTokenizer> table = {
      {"default", {kGPT2}},   {"gpt2", {kGPT2}},       {"gpt-2", {kGPT2}},
      {"smollm", {"\\p{N}", kGPT2}},                   {"llama3", {kLlama3}},
      {"llama-v3", {kLlama3}}, {"llama-bpe", {kLlama3}}, {"qwen2", {kQwen2}},
  };
  return table;
}

const runtime::GGUFValue *arrayOf(const runtime::GGUFFile &f, const char *key,
                         runtime::GGUFValueType element) {
  const runtime::GGUFValue *v = f.get(key);
  if (!v || v->type != runtime::GGUFValueType::Array ||
      v->elementType != element)
    return nullptr;
  return v;
}

std::optional<int64_t> intKey(const runtime::GGUFFile &f, const char *key) {
  const runtime::GGUFValue *v = f.get(key);
  return v ? v->asInt() : std::nullopt;
}

} // namespace

std::unique_ptr<Tokenizer> Tokenizer::fromGGUF(const runtime::GGUFFile &f,
                                               std::string &error) {
  using runtime::GGUFValueType;
  const std::string &path = f.path();
  const runtime::GGUFValue *model = f.get("tokenizer.ggml.model");
  if (!model || model->type != GGUFValueType::String) {
    error = path + ": no tokenizer (tokenizer.ggml.model is missing)";
    return nullptr;
  }
  if (model->s != "gpt2") {
    error = path + ": tokenizer.ggml.model '" + model->s +
            "' is not supported (supported: 'gpt2', byte-level BPE); pass "
            "the model's tokenizer.json instead";
    return nullptr;
  }
  const runtime::GGUFValue *tokens =
      arrayOf(f, "tokenizer.ggml.tokens", GGUFValueType::String);
  const runtime::GGUFValue *merges =
      arrayOf(f, "tokenizer.ggml.merges", GGUFValueType::String);
  if (!tokens || tokens->count == 0 || !merges) {
    error = path + ": tokenizer.ggml.tokens and tokenizer.ggml.merges must "
                   "be arrays of strings";
    return nullptr;
  }
  const runtime::GGUFValue *types = f.get("tokenizer.ggml.token_type");
  if (types && (types->type != GGUFValueType::Array ||
                types->count != tokens->count || !types->intAt(0))) {
    error = path + ": tokenizer.ggml.token_type must list an integer type "
                   "for each of the " +
            std::to_string(tokens->count) + " tokens";
    return nullptr;
  }
  std::string pre = "default";
  if (const runtime::GGUFValue *p = f.get("tokenizer.ggml.pre")) {
    if (p->type != GGUFValueType::String) {
      error = path + ": tokenizer.ggml.pre is not a string";
      return nullptr;
    }
    pre = p->s;
  }
  const PreTokenizer *split = nullptr;
  for (const PreTokenizer &t : preTokenizers())
    if (pre == t.name)
      split = &t;
  if (!split) {
    std::string names;
    for (const PreTokenizer &t : preTokenizers())
      names += std::string(names.empty() ? "" : ", ") + t.name;
    error = path + ": pre-tokenizer '" + pre + "' is not supported (" + names +
            " are)";
    return nullptr;
  }

  json vocab = json::object(), added = json::array();
  for (uint64_t id = 0; id < tokens->count; ++id) {
    const std::string &tok = tokens->strings[id];
    vocab[tok] = id;
    const int64_t type = types ? *types->intAt(id) : 1;
    // 3: control (special), 4: user-defined (matched whole, not special).
    if (type == 3 || type == 4)
      added.push_back({{"id", id},
                       {"content", tok},
                       {"single_word", false},
                       {"lstrip", false},
                       {"rstrip", false},
                       {"normalized", false},
                       {"special", type == 3}});
  }
  json pieces = json::array();
  for (const char *e : split->expressions)
    pieces.push_back({{"type", "Split"},
                      {"pattern", {{"Regex", e}}},
                      {"behavior", "Isolated"},
                      {"invert", false}});
  pieces.push_back({{"type", "ByteLevel"},
                    {"add_prefix_space", false},
                    {"trim_offsets", false},
                    {"use_regex", false}});
  json j = {{"version", "1.0"},
            {"added_tokens", added},
            {"normalizer", nullptr},
            {"pre_tokenizer", {{"type", "Sequence"}, {"pretokenizers", pieces}}},
            {"decoder", {{"type", "ByteLevel"}}},
            {"model",
             {{"type", "BPE"},
              {"vocab", vocab},
              {"merges", merges->strings},
              {"ignore_merges", false}}}};
  // BOS / EOS added as llama.cpp adds them.
  json single = json::array(), special = json::object();
  auto addSpecial = [&](const char *flag, const char *idKey, bool front) {
    const std::optional<int64_t> on = intKey(f, flag);
    const std::optional<int64_t> id = intKey(f, idKey);
    if (!on || !*on)
      return true;
    if (!id || *id < 0 || uint64_t(*id) >= tokens->count) {
      error = path + ": " + flag + " is set but " + idKey +
              " is not a token id";
      return false;
    }
    const std::string &tok = tokens->strings[size_t(*id)];
    json piece = {{"SpecialToken", {{"id", tok}, {"type_id", 0}}}};
    if (front)
      single.insert(single.begin(), piece);
    else
      single.push_back(piece);
    special[tok] = {{"id", tok}, {"ids", {*id}}, {"tokens", {tok}}};
    return true;
  };
  single.push_back({{"Sequence", {{"id", "A"}, {"type_id", 0}}}});
  if (!addSpecial("tokenizer.ggml.add_bos_token", "tokenizer.ggml.bos_token_id",
                  true) ||
      !addSpecial("tokenizer.ggml.add_eos_token", "tokenizer.ggml.eos_token_id",
                  false))
    return nullptr;
  if (!special.empty())
    j["post_processor"] = {{"type", "TemplateProcessing"},
                           {"single", single},
                           {"pair", single},
                           {"special_tokens", special}};
  return parse(j.dump(), path, error);
}

std::unique_ptr<Tokenizer> Tokenizer::loadGGUF(const std::string &path,
                                               std::string &error) {
  std::unique_ptr<runtime::GGUFFile> f = runtime::GGUFFile::open(path, error);
  if (!f)
    return nullptr;
  return fromGGUF(*f, error);
}
