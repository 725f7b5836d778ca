//===- ChatTemplate.h - Chat templates for xformer-serve --------*- C++ -*-===//
//
// A model's chat template (Jinja) rendered as Hugging Face renders it: by
// Jinja2 itself, in an embedded Python interpreter, through the same code
// as xformer.chat_prompt (python-bindings/xformer/chat.py, compiled into
// the binary). Thread-safe: renders take the interpreter's lock.
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_SERVE_CHATTEMPLATE_H
#define XFORMER_SERVE_CHATTEMPLATE_H

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

namespace xformer::serve {

class ChatTemplate {
public:
  /// A renderer for `source` with the model's BOS and EOS token texts;
  /// null with `error` set when Python or Jinja2 cannot be started or the
  /// template does not parse.
  static std::unique_ptr<ChatTemplate> create(std::string source,
                                              std::string bos,
                                              std::string eos,
                                              std::string &error);
  /// `messages` (OpenAI's, content as text) rendered with the generation
  /// prompt; false with the template's message in `error`.
  bool render(const nlohmann::json &messages, std::string &out,
              std::string &error) const;

private:
  ChatTemplate() = default;
  std::string source, bos, eos;
};

} // namespace xformer::serve

#endif // XFORMER_SERVE_CHATTEMPLATE_H
