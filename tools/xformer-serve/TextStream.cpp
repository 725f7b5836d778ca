//===- TextStream.cpp - Generated tokens as text, with stop strings -------===//

#include "TextStream.h"

#include <algorithm>

namespace xformer::serve {
namespace {

/// Whether `text` ends with U+FFFD: the decoder's mark for bytes that are
/// not (yet) a whole UTF-8 character.
bool endsIncomplete(const std::string &text) {
  return text.size() >= 3 && text.compare(text.size() - 3, 3, "\xEF\xBF\xBD") == 0;
}

} // namespace

bool TextStream::push(const std::vector<int64_t> &tokens, bool last,
                      std::string &error) {
  if (stopHit)
    return true;
  for (int64_t token : tokens) {
    ids.push_back(token);
    std::string text;
    if (!tokenizer.decode(ids, /*skipSpecialTokens=*/true, text, error))
      return false;
    // The earliest stop string, searched where one could newly end.
    size_t longest = 0;
    for (const std::string &s : stops)
      longest = std::max(longest, s.size());
    const size_t from = full.size() > longest ? full.size() - longest : 0;
    size_t cut = std::string::npos;
    for (const std::string &s : stops)
      if (!s.empty())
        cut = std::min(cut, text.find(s, std::min(from, text.size())));
    full = std::move(text);
    if (cut != std::string::npos) {
      full.resize(cut);
      ready = std::max(handed, full.size());
      stopHit = true;
      return true;
    }
  }
  if (last) {
    ready = full.compare(0, handed, sent) == 0 ? full.size() : handed;
    return true;
  }
  // Hold back a character still incomplete and a tail that begins a stop
  // string.
  size_t end = full.size();
  if (endsIncomplete(full))
    end -= 3;
  size_t held = 0;
  for (const std::string &s : stops)
    for (size_t k = std::min(s.size() - (s.empty() ? 0 : 1), end); k > held; --k)
      if (full.compare(end - k, k, s, 0, k) == 0) {
        held = k;
        break;
      }
  // Text a later token rewrote (a decoder that merges across tokens)
  // waits too: what was handed out is never taken back.
  if (end - held > ready && full.compare(0, handed, sent) == 0)
    ready = end - held;
  return true;
}

std::string TextStream::take() {
  if (ready <= handed)
    return "";
  std::string out = full.substr(handed, ready - handed);
  sent += out;
  handed = ready;
  return out;
}

} // namespace xformer::serve
