//===- Checkpoint.h - What a checkpoint's files declare ---------*- C++ -*-===//
//
// Facts the command-line tools (xformer-run, xformer-serve) read beside a
// model's weights: its end-of-sequence ids and its chat template.
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_TOOLS_CHECKPOINT_H
#define XFORMER_TOOLS_CHECKPOINT_H

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace xformer::runtime {
class GGUFFile;
} // namespace xformer::runtime

namespace xformer::tools {

/// The end-of-sequence ids a checkpoint declares: a GGUF (`gguf`, the
/// weights file) in its metadata (end of sequence and end of turn), else
/// generation_config.json or config.json in the weights' folder
/// ("eos_token_id": an id or a list of ids). Empty when none says.
std::vector<int64_t> checkpointEos(const std::string &weights,
                                   const runtime::GGUFFile *gguf);

/// An encoder-decoder's decoder start token: decoder_start_token_id of
/// generation_config.json or config.json in the weights' folder; -1 when
/// none says.
int64_t checkpointDecoderStart(const std::string &weights);

/// A chat template with the texts of the BOS and EOS tokens it may use.
struct ChatTemplateSource {
  std::string source, bos, eos;
  std::string origin; // where it was found, for messages
};

/// The chat template a GGUF carries (tokenizer.chat_template), else the
/// `chat_template` of tokenizer_config.json beside `tokenizerPath` (a
/// string, or the template named "default" of a list). None when neither
/// has one; `error` set when a file that has one is malformed.
std::optional<ChatTemplateSource>
checkpointChatTemplate(const runtime::GGUFFile *gguf,
                       const std::string &tokenizerPath, std::string &error);

} // namespace xformer::tools

#endif // XFORMER_TOOLS_CHECKPOINT_H
