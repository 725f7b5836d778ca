//===- Checkpoint.cpp - What a checkpoint's files declare -----------------===//

#include "Checkpoint.h"

#include "xformer/Runtime/GGUF.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>

namespace xformer::tools {
namespace {

std::string folderOf(const std::string &path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

/// generation_config.json and config.json in the weights' folder, in that
/// order: those that exist and hold a JSON object.
std::vector<nlohmann::json> generationConfigs(const std::string &weights) {
  std::vector<nlohmann::json> out;
  const std::string dir = folderOf(weights);
  for (const char *name : {"generation_config.json", "config.json"}) {
    std::ifstream in(dir + "/" + name);
    if (!in)
      continue;
    nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
    if (!j.is_discarded() && j.is_object())
      out.push_back(std::move(j));
  }
  return out;
}

/// A special token of tokenizer_config.json: a string or {"content": ...}.
std::string tokenText(const nlohmann::json &j, const char *key) {
  if (!j.contains(key))
    return "";
  const nlohmann::json &v = j[key];
  if (v.is_string())
    return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string())
    return v["content"].get<std::string>();
  return "";
}

} // namespace

std::vector<int64_t> checkpointEos(const std::string &weights,
                                   const runtime::GGUFFile *gguf) {
  if (gguf) {
    std::vector<int64_t> ids;
    for (const char *key :
         {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id"})
      if (const runtime::GGUFValue *v = gguf->get(key))
        if (std::optional<int64_t> id = v->asInt();
            id && std::find(ids.begin(), ids.end(), *id) == ids.end())
          ids.push_back(*id);
    return ids;
  }
  for (const nlohmann::json &j : generationConfigs(weights)) {
    if (!j.contains("eos_token_id"))
      continue;
    std::vector<int64_t> ids;
    const nlohmann::json &e = j["eos_token_id"];
    if (e.is_number_integer())
      ids.push_back(e.get<int64_t>());
    else if (e.is_array())
      for (const auto &v : e)
        if (v.is_number_integer())
          ids.push_back(v.get<int64_t>());
    if (!ids.empty())
      return ids;
  }
  return {};
}

int64_t checkpointDecoderStart(const std::string &weights) {
  for (const nlohmann::json &j : generationConfigs(weights))
    if (j.contains("decoder_start_token_id") &&
        j["decoder_start_token_id"].is_number_integer())
      return j["decoder_start_token_id"].get<int64_t>();
  return -1;
}

std::optional<ChatTemplateSource>
checkpointChatTemplate(const runtime::GGUFFile *gguf,
                       const std::string &tokenizerPath, std::string &error) {
  if (gguf) {
    const runtime::GGUFValue *t = gguf->get("tokenizer.chat_template");
    if (!t || t->type != runtime::GGUFValueType::String)
      return std::nullopt;
    ChatTemplateSource out{t->s, "", "", gguf->path() + " (tokenizer.chat_template)"};
    const runtime::GGUFValue *tokens = gguf->get("tokenizer.ggml.tokens");
    auto token = [&](const char *key) -> std::string {
      const runtime::GGUFValue *v = gguf->get(key);
      std::optional<int64_t> id = v ? v->asInt() : std::nullopt;
      if (!tokens || !id || *id < 0 || uint64_t(*id) >= tokens->strings.size())
        return "";
      return tokens->strings[*id];
    };
    out.bos = token("tokenizer.ggml.bos_token_id");
    out.eos = token("tokenizer.ggml.eos_token_id");
    return out;
  }
  if (tokenizerPath.empty())
    return std::nullopt;
  const std::string path = folderOf(tokenizerPath) + "/tokenizer_config.json";
  std::ifstream in(path);
  if (!in)
    return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    error = path + ": not a JSON object";
    return std::nullopt;
  }
  if (!j.contains("chat_template"))
    return std::nullopt;
  const nlohmann::json &t = j["chat_template"];
  std::string source;
  if (t.is_string()) {
    source = t.get<std::string>();
  } else if (t.is_array()) {
    for (const nlohmann::json &named : t)
      if (named.is_object() && named.value("name", "") == "default" &&
          named.contains("template") && named["template"].is_string())
        source = named["template"].get<std::string>();
  }
  if (source.empty()) {
    error = path + ": chat_template is neither a template nor a list with "
                   "one named \"default\"";
    return std::nullopt;
  }
  return ChatTemplateSource{source, tokenText(j, "bos_token"),
                            tokenText(j, "eos_token"), path + " (chat_template)"};
}

} // namespace xformer::tools
