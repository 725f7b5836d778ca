//===- PostProcessors.cpp - Post-processors -------------------------------===//
//
// The special tokens around a sequence: BERT, RoBERTa, template and byte-level
// processing, and sequences of them.
//
//===----------------------------------------------------------------------===//

#include "Components.h"

namespace xformer::tokenizer::detail {

std::vector<int64_t> tokenIds(const json &pair, const char *what) {
  // BertProcessing / RobertaProcessing: ["[CLS]", 101].
  if (!pair.is_array() || pair.size() != 2 || !pair[1].is_number_integer())
    refuse(std::string("post_processor field '") + what +
           "' is not a [token, id] pair");
  return {pair[1].get<int64_t>()};
}

void addPostProcessor(const json &j, Template &t) {
  if (j.is_null())
    return;
  std::string type = typeOf(j, "post_processor");
  if (type == "ByteLevel")
    return; // offsets only
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    t.before = tokenIds(j.value("cls", json()), "cls");
    t.after = tokenIds(j.value("sep", json()), "sep");
    return;
  }
  if (type == "TemplateProcessing") {
    const json &single = j.value("single", json());
    const json &specials = j.value("special_tokens", json::object());
    if (!single.is_array())
      refuse("TemplateProcessing has no single template");
    bool seenSequence = false;
    for (const json &item : single) {
      if (item.contains("Sequence")) {
        if (seenSequence)
          refuse("TemplateProcessing single template names the sequence "
                 "twice");
        seenSequence = true;
        continue;
      }
      if (!item.contains("SpecialToken"))
        refuse("TemplateProcessing item " + item.dump() + " is not understood");
      std::string name = stringField(item["SpecialToken"], "id", "");
      if (!specials.contains(name) || !specials[name].contains("ids") ||
          !specials[name]["ids"].is_array())
        refuse("TemplateProcessing special token '" + name + "' has no ids");
      for (const json &id : specials[name]["ids"]) {
        if (!id.is_number_integer())
          refuse("TemplateProcessing special token '" + name +
                 "' has an id that is not an integer");
        (seenSequence ? t.after : t.before).push_back(id.get<int64_t>());
      }
    }
    if (!seenSequence)
      refuse("TemplateProcessing single template has no sequence");
    return;
  }
  if (type == "Sequence") {
    for (const json &step : sequenceSteps(j, "post_processor", "processors"))
      addPostProcessor(step, t);
    return;
  }
  refuse("unsupported post_processor '" + type + "'");
}

} // namespace xformer::tokenizer::detail
