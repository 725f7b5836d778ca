//===- TextStream.h - Generated tokens as text, with stop strings -*- C++ -*-===//
//
// A request's generated tokens turned into the text a client sees as they
// arrive: whole characters only (a character split over tokens waits for
// its last byte), cut before the first stop string, and never a piece that
// could still turn out to begin a stop string.
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_SERVE_TEXTSTREAM_H
#define XFORMER_SERVE_TEXTSTREAM_H

#include "xformer/Tokenizer/Tokenizer.h"

#include <cstdint>
#include <string>
#include <vector>

namespace xformer::serve {

class TextStream {
public:
  TextStream(const tokenizer::Tokenizer &tokenizer,
             std::vector<std::string> stops)
      : tokenizer(tokenizer), stops(std::move(stops)) {}

  /// Adds generated tokens (`last`: no more follow). False when the
  /// tokenizer cannot decode them (`error` set).
  bool push(const std::vector<int64_t> &tokens, bool last, std::string &error);
  /// The text not handed out yet that is final; marks it handed out.
  std::string take();
  /// Whether a stop string ended the text (the tokens after it are
  /// ignored); tokensUsed() is then the tokens up to the one completing it.
  bool stopped() const { return stopHit; }
  int64_t tokensUsed() const { return int64_t(ids.size()); }
  /// The whole text so far (up to the stop string).
  const std::string &text() const { return full; }

private:
  const tokenizer::Tokenizer &tokenizer;
  std::vector<std::string> stops;
  std::vector<int64_t> ids;
  std::string full, sent; // the text, and what was handed out of it
  size_t ready = 0, handed = 0; // bytes of `full` final, and handed out
  bool stopHit = false;
};

} // namespace xformer::serve

#endif // XFORMER_SERVE_TEXTSTREAM_H
