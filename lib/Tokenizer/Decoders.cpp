//===- Decoders.cpp - Decoders --------------------------------------------===//
//
// Token strings back to text: WordPiece, byte-level, Metaspace, BPE,
// replace, strip, fuse, byte fallback, CTC and sequences of them.
//
//===----------------------------------------------------------------------===//

#include "Components.h"

#include <cstdio>

namespace xformer::tokenizer::detail {

void replaceAll(std::string &s, const std::string &from,
                const std::string &to) {
  for (size_t at = s.find(from); at != std::string::npos;
       at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}

/// The tokenizers library's clean-up of spaces before punctuation and
/// English contractions.
std::string cleanup(std::string s) {
  replaceAll(s, " .", ".");
  replaceAll(s, " ?", "?");
  replaceAll(s, " !", "!");
  replaceAll(s, " ,", ",");
  replaceAll(s, " ' ", "'");
  replaceAll(s, " n't", "n't");
  replaceAll(s, " 'm", "'m");
  replaceAll(s, " do not", " don't");
  replaceAll(s, " 's", "'s");
  replaceAll(s, " 've", "'ve");
  replaceAll(s, " 're", "'re");
  return s;
}

/// UTF-8 with each maximal invalid subsequence read as U+FFFD (the
/// practice of Rust's from_utf8_lossy, which the library uses).
std::string lossyUtf8(const std::string &bytes) {
  if (bytes.empty() ||
      bytes.size() > size_t(std::numeric_limits<int32_t>::max()))
    return bytes;
  UErrorCode status = U_ZERO_ERROR;
  int32_t length = 0;
  u_strFromUTF8WithSub(nullptr, 0, &length, bytes.data(), int32_t(bytes.size()),
                       0xFFFD, nullptr, &status);
  icu::UnicodeString utf16;
  status = U_ZERO_ERROR;
  UChar *buffer = utf16.getBuffer(length);
  u_strFromUTF8WithSub(buffer, length, &length, bytes.data(),
                       int32_t(bytes.size()), 0xFFFD, nullptr, &status);
  utf16.releaseBuffer(U_SUCCESS(status) ? length : 0);
  std::string out;
  utf16.toUTF8String(out);
  return out;
}

struct WordPieceDecoder : Decoder {
  std::string prefix = "##";
  bool cleanup = true;
  void apply(std::vector<std::string> &tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string &t = tokens[i];
      if (i != 0) {
        if (t.rfind(prefix, 0) == 0)
          t = t.substr(prefix.size());
        else
          t = " " + t;
      }
      if (cleanup)
        t = detail::cleanup(t);
    }
  }
};

/// BPE with an end-of-word suffix: the suffix becomes a space (nothing on
/// the last token).
struct BpeDecoder : Decoder {
  std::string suffix = "</w>";
  void apply(std::vector<std::string> &tokens) const override {
    if (suffix.empty())
      return;
    for (size_t i = 0; i < tokens.size(); ++i)
      replaceAll(tokens[i], suffix, i + 1 == tokens.size() ? "" : " ");
  }
};

/// Byte-level tokens back to bytes (a token with a character outside the
/// byte alphabet keeps its own UTF-8), all of them one lossy string.
struct ByteLevelDecoder : Decoder {
  std::unordered_map<char32_t, unsigned char> byteOf = [] {
    std::unordered_map<char32_t, unsigned char> m;
    std::vector<char32_t> alphabet = byteToChar();
    for (int b = 0; b < 256; ++b)
      m[alphabet[b]] = static_cast<unsigned char>(b);
    return m;
  }();
  void apply(std::vector<std::string> &tokens) const override {
    std::string bytes;
    for (const std::string &t : tokens) {
      std::u32string chars;
      decodeUtf8(t, chars);
      std::string mapped;
      bool all = true;
      for (char32_t c : chars) {
        auto it = byteOf.find(c);
        if (it == byteOf.end()) {
          all = false;
          break;
        }
        mapped += char(it->second);
      }
      bytes += all ? mapped : t;
    }
    tokens.assign(1, lossyUtf8(bytes));
  }
};

struct ReplaceDecoder : Decoder {
  Replacement replacement;
  void apply(std::vector<std::string> &tokens) const override {
    for (std::string &t : tokens) {
      std::u32string chars;
      decodeUtf8(t, chars);
      t = encodeUtf8(replacement.apply(chars));
    }
  }
};

/// Runs of <0xXX> tokens become their bytes when those are valid UTF-8,
/// else one U+FFFD per byte.
struct ByteFallbackDecoder : Decoder {
  void apply(std::vector<std::string> &tokens) const override {
    std::vector<std::string> out;
    std::string pending;
    size_t pendingCount = 0;
    auto flush = [&] {
      if (!pendingCount)
        return;
      std::u32string check;
      if (decodeUtf8(pending, check))
        out.push_back(pending);
      else
        for (size_t i = 0; i < pendingCount; ++i)
          out.push_back("\xEF\xBF\xBD");
      pending.clear();
      pendingCount = 0;
    };
    for (std::string &t : tokens) {
      if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>' &&
          std::isxdigit((unsigned char)t[3]) &&
          std::isxdigit((unsigned char)t[4])) {
        pending += char(std::stoi(t.substr(3, 2), nullptr, 16));
        ++pendingCount;
        continue;
      }
      flush();
      out.push_back(std::move(t));
    }
    flush();
    tokens = std::move(out);
  }
};

/// CTC output (speech models): repeated tokens collapsed, the pad token
/// removed, with cleanup the word delimiter made a space; empty tokens
/// dropped.
struct CtcDecoder : Decoder {
  std::string pad = "<pad>", delimiter = "|";
  bool cleanup = true;
  void apply(std::vector<std::string> &tokens) const override {
    std::vector<std::string> out;
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i && tokens[i] == tokens[i - 1])
        continue;
      std::string t = tokens[i];
      if (!pad.empty())
        replaceAll(t, pad, "");
      if (cleanup) {
        t = detail::cleanup(t);
        if (!delimiter.empty())
          replaceAll(t, delimiter, " ");
      }
      if (!t.empty())
        out.push_back(std::move(t));
    }
    tokens = std::move(out);
  }
};

struct FuseDecoder : Decoder {
  void apply(std::vector<std::string> &tokens) const override {
    std::string all;
    for (const std::string &t : tokens)
      all += t;
    tokens.assign(1, all);
  }
};

/// Up to `start` leading and `stop` trailing `content` characters removed
/// from each token.
struct StripDecoder : Decoder {
  char32_t content = ' ';
  size_t start = 0, stop = 0;
  void apply(std::vector<std::string> &tokens) const override {
    for (std::string &t : tokens) {
      std::u32string chars;
      decodeUtf8(t, chars);
      size_t from = 0, to = chars.size();
      while (from < std::min(start, chars.size()) && chars[from] == content)
        ++from;
      for (size_t i = 0; i < stop && to > from && chars[to - 1] == content; ++i)
        --to;
      t = encodeUtf8(std::u32string_view(chars).substr(from, to - from));
    }
  }
};

/// The replacement character back to spaces; in the first token it is
/// dropped instead when the pre-tokenizer prepends one.
struct MetaspaceDecoder : Decoder {
  char32_t replacement = 0x2581;
  PrependScheme scheme = PrependScheme::Always;
  void apply(std::vector<std::string> &tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::u32string chars, out;
      decodeUtf8(tokens[i], chars);
      for (char32_t c : chars) {
        if (c != replacement)
          out.push_back(c);
        else if (i != 0 || scheme == PrependScheme::Never)
          out.push_back(' ');
      }
      tokens[i] = encodeUtf8(out);
    }
  }
};

struct SequenceDecoder : Decoder {
  std::vector<std::unique_ptr<Decoder>> steps;
  void apply(std::vector<std::string> &tokens) const override {
    for (auto &step : steps)
      step->apply(tokens);
  }
};

std::unique_ptr<Decoder> makeDecoder(const json &j) {
  if (j.is_null())
    return nullptr;
  std::string type = typeOf(j, "decoder");
  if (type == "WordPiece") {
    auto d = std::make_unique<WordPieceDecoder>();
    d->prefix = stringField(j, "prefix", "##");
    d->cleanup = flag(j, "cleanup", true);
    return d;
  }
  if (type == "ByteLevel")
    return std::make_unique<ByteLevelDecoder>();
  if (type == "BPEDecoder") {
    auto d = std::make_unique<BpeDecoder>();
    d->suffix = stringField(j, "suffix", "</w>");
    return d;
  }
  if (type == "Replace") {
    auto d = std::make_unique<ReplaceDecoder>();
    d->replacement = makeReplacement(j, "decoder");
    return d;
  }
  if (type == "ByteFallback")
    return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse")
    return std::make_unique<FuseDecoder>();
  if (type == "CTC") {
    auto d = std::make_unique<CtcDecoder>();
    d->pad = stringField(j, "pad_token", "<pad>");
    d->delimiter = stringField(j, "word_delimiter_token", "|");
    d->cleanup = flag(j, "cleanup", true);
    return d;
  }
  if (type == "Strip") {
    auto d = std::make_unique<StripDecoder>();
    std::u32string content =
        fromUtf8OrRefuse(stringField(j, "content", " "), "Strip content");
    if (content.size() != 1)
      refuse("decoder Strip content must be one character");
    d->content = content[0];
    auto count = [&](const char *key) -> size_t {
      if (!j.contains(key) || j[key].is_null())
        return 0;
      if (!j[key].is_number_unsigned())
        refuse(std::string("decoder Strip field '") + key +
               "' must be a count");
      return j[key].get<size_t>();
    };
    d->start = count("start");
    d->stop = count("stop");
    return d;
  }
  if (type == "Metaspace") {
    auto d = std::make_unique<MetaspaceDecoder>();
    d->replacement = metaspaceReplacement(j);
    d->scheme = prependScheme(j);
    return d;
  }
  if (type == "Sequence") {
    auto d = std::make_unique<SequenceDecoder>();
    d->steps = makeSteps<Decoder>(j, "decoder", "decoders", makeDecoder);
    return d;
  }
  refuse("unsupported decoder '" + type + "'");
}

} // namespace xformer::tokenizer::detail
