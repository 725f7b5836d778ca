//===- Normalizers.cpp - Normalizers --------------------------------------===//
//
// BERT, NFC/NFD/NFKC/NFKD, lowercase, strip accents, replace, prepend,
// strip, SentencePiece's precompiled charsmap, NMT, byte-level and
// sequences of them.
//
//===----------------------------------------------------------------------===//

#include "Components.h"

#include <cctype>

namespace xformer::tokenizer::detail {

struct BertNormalizer : Normalizer {
  bool cleanText = true, chinese = true, strip = true, lower = true;
  std::u32string apply(std::u32string_view text) const override {
    std::u32string out;
    for (char32_t c : text) {
      if (cleanText) {
        // Controls go (tab, newline and carriage return are whitespace,
        // not controls), then every whitespace character is a space.
        const bool tabOrNewline = c == '\t' || c == '\n' || c == '\r';
        if (c == 0 || c == 0xFFFD || (!tabOrNewline && isOther(c)))
          continue;
        if (tabOrNewline || isWhitespace(c))
          c = ' ';
      }
      if (chinese && isChineseCharacter(c)) {
        out.push_back(' ');
        out.push_back(c);
        out.push_back(' ');
        continue;
      }
      out.push_back(c);
    }
    if (strip)
      out = stripAccents(out);
    if (lower)
      out = lowercase(out);
    return out;
  }
};

struct UnicodeNormalizer : Normalizer {
  NormalForm form;
  explicit UnicodeNormalizer(NormalForm form) : form(form) {}
  std::u32string apply(std::u32string_view text) const override {
    return normalize(text, form);
  }
};

struct LowercaseNormalizer : Normalizer {
  std::u32string apply(std::u32string_view text) const override {
    return lowercase(text);
  }
};

struct StripAccentsNormalizer : Normalizer {
  // The tokenizers library removes combining marks from text that is
  // already decomposed (it is used after NFD).
  std::u32string apply(std::u32string_view text) const override {
    std::u32string out;
    for (char32_t c : text)
      if (u_charType(UChar32(c)) != U_NON_SPACING_MARK)
        out.push_back(c);
    return out;
  }
};

struct ReplaceNormalizer : Normalizer {
  Replacement replacement;
  std::u32string apply(std::u32string_view text) const override {
    return replacement.apply(text);
  }
};

struct PrependNormalizer : Normalizer {
  std::u32string prefix;
  std::u32string apply(std::u32string_view text) const override {
    return text.empty() ? std::u32string() : prefix + std::u32string(text);
  }
};

struct StripNormalizer : Normalizer {
  bool left = true, right = true;
  std::u32string apply(std::u32string_view text) const override {
    size_t from = 0, to = text.size();
    while (left && from < to && isWhitespace(text[from]))
      ++from;
    while (right && to > from && isWhitespace(text[to - 1]))
      --to;
    return std::u32string(text.substr(from, to - from));
  }
};

/// SentencePiece's normalization rules as the tokenizer.json carries them
/// (`precompiled_charsmap`, base64): a uint32 size, a double-array trie
/// (darts-clone) over UTF-8 keys whose values index NUL-terminated
/// replacements in the blob that follows. Each grapheme cluster shorter
/// than six bytes is looked up whole, else code point by code point; what
/// the trie does not hold stays as it is.
struct PrecompiledNormalizer : Normalizer {
  std::vector<uint32_t> trie;
  std::string normalized;

  static std::string base64(const std::string &text) {
    std::string out;
    uint32_t bits = 0;
    int count = 0;
    for (char ch : text) {
      int v;
      if (ch >= 'A' && ch <= 'Z')
        v = ch - 'A';
      else if (ch >= 'a' && ch <= 'z')
        v = ch - 'a' + 26;
      else if (ch >= '0' && ch <= '9')
        v = ch - '0' + 52;
      else if (ch == '+')
        v = 62;
      else if (ch == '/')
        v = 63;
      else if (ch == '=')
        break;
      else
        refuse("Precompiled precompiled_charsmap is not base64");
      bits = (bits << 6) | uint32_t(v);
      if ((count += 6) >= 8) {
        count -= 8;
        out.push_back(char((bits >> count) & 0xFF));
      }
    }
    return out;
  }

  explicit PrecompiledNormalizer(const std::string &encoded) {
    std::string blob = base64(encoded);
    if (blob.empty())
      return; // no rules
    uint32_t trieBytes = 0;
    if (blob.size() < 4)
      refuse("Precompiled precompiled_charsmap is truncated");
    std::memcpy(&trieBytes, blob.data(), 4); // little-endian hosts only
    if (trieBytes % 4 != 0 || trieBytes > blob.size() - 4)
      refuse("Precompiled precompiled_charsmap has a trie of " +
             std::to_string(trieBytes) + " bytes in " +
             std::to_string(blob.size()) + " bytes");
    trie.resize(trieBytes / 4);
    if (trieBytes)
      std::memcpy(trie.data(), blob.data() + 4, trieBytes);
    normalized = blob.substr(4 + trieBytes);
  }

  /// darts-clone's unit fields.
  static bool hasLeaf(uint32_t u) { return (u >> 8) & 1; }
  static uint32_t value(uint32_t u) { return u & ((1u << 31) - 1); }
  static uint32_t label(uint32_t u) { return u & ((1u << 31) | 0xFF); }
  static uint32_t offset(uint32_t u) {
    return (u >> 10) << ((u & (1u << 9)) >> 6);
  }

  /// The replacement of the shortest key that is a prefix of `key`.
  std::optional<std::string_view> transform(std::string_view key) const {
    if (trie.empty())
      return std::nullopt;
    size_t pos = offset(trie[0]);
    for (unsigned char c : key) {
      if (c == 0)
        break;
      pos ^= c;
      if (pos >= trie.size())
        return std::nullopt;
      uint32_t unit = trie[pos];
      if (label(unit) != c)
        return std::nullopt;
      pos ^= offset(unit);
      if (pos >= trie.size())
        return std::nullopt;
      if (hasLeaf(unit)) {
        size_t at = value(trie[pos]);
        if (at >= normalized.size())
          return std::nullopt;
        size_t end = normalized.find('\0', at);
        if (end == std::string::npos)
          end = normalized.size();
        return std::string_view(normalized).substr(at, end - at);
      }
    }
    return std::nullopt;
  }

  std::u32string apply(std::u32string_view text) const override {
    if (trie.empty())
      return std::u32string(text);
    icu::UnicodeString utf16 = toIcu(text);
    UErrorCode status = U_ZERO_ERROR;
    std::unique_ptr<icu::BreakIterator> graphemes(
        icu::BreakIterator::createCharacterInstance(icu::Locale::getRoot(),
                                                    status));
    if (U_FAILURE(status))
      return std::u32string(text);
    graphemes->setText(utf16);
    std::string out;
    for (int32_t from = graphemes->first(), to = graphemes->next();
         to != icu::BreakIterator::DONE; from = to, to = graphemes->next()) {
      std::u32string cluster =
          fromIcu(icu::UnicodeString(utf16, from, to - from));
      std::string bytes = encodeUtf8(cluster);
      if (bytes.size() < 6)
        if (auto n = transform(bytes)) {
          out += *n;
          continue;
        }
      for (char32_t c : cluster) {
        std::string one = encodeUtf8(std::u32string(1, c));
        auto n = transform(one);
        out += n ? std::string(*n) : one;
      }
    }
    std::u32string result;
    if (!decodeUtf8(out, result))
      return std::u32string(text);
    return result;
  }
};

/// The Nmt normalizer: control characters dropped, other spaces and
/// separators made plain spaces.
struct NmtNormalizer : Normalizer {
  std::u32string apply(std::u32string_view text) const override {
    std::u32string out;
    out.reserve(text.size());
    for (char32_t c : text) {
      if ((c >= 0x01 && c <= 0x08) || c == 0x0B || (c >= 0x0E && c <= 0x1F) ||
          c == 0x7F || c == 0x8F || c == 0x9F)
        continue;
      const bool space = c == 0x09 || c == 0x0A || c == 0x0C || c == 0x0D ||
                         c == 0x1680 || (c >= 0x200B && c <= 0x200F) ||
                         c == 0x2028 || c == 0x2029 || c == 0x2581 ||
                         c == 0xFEFF || c == 0xFFFD;
      out.push_back(space ? char32_t(' ') : c);
    }
    return out;
  }
};

std::vector<char32_t> byteToChar();

/// The ByteLevel normalizer: each UTF-8 byte of the text as its character
/// of the byte-level alphabet (the ByteLevel pre-tokenizer's mapping, with
/// no split and no prefix space).
struct ByteLevelNormalizer : Normalizer {
  std::vector<char32_t> alphabet = byteToChar();
  std::u32string apply(std::u32string_view text) const override {
    std::u32string out;
    for (unsigned char byte : encodeUtf8(std::u32string(text)))
      out.push_back(alphabet[byte]);
    return out;
  }
};

struct SequenceNormalizer : Normalizer {
  std::vector<std::unique_ptr<Normalizer>> steps;
  std::u32string apply(std::u32string_view text) const override {
    std::u32string s(text);
    for (auto &step : steps)
      s = step->apply(s);
    return s;
  }
};

std::unique_ptr<Normalizer> makeNormalizer(const json &j) {
  if (j.is_null())
    return nullptr;
  std::string type = typeOf(j, "normalizer");
  if (type == "BertNormalizer") {
    auto n = std::make_unique<BertNormalizer>();
    n->cleanText = flag(j, "clean_text", true);
    n->chinese = flag(j, "handle_chinese_chars", true);
    n->lower = flag(j, "lowercase", true);
    n->strip = flag(j, "strip_accents", n->lower);
    return n;
  }
  if (type == "NFC")
    return std::make_unique<UnicodeNormalizer>(NormalForm::NFC);
  if (type == "NFD")
    return std::make_unique<UnicodeNormalizer>(NormalForm::NFD);
  if (type == "NFKC")
    return std::make_unique<UnicodeNormalizer>(NormalForm::NFKC);
  if (type == "NFKD")
    return std::make_unique<UnicodeNormalizer>(NormalForm::NFKD);
  if (type == "Lowercase")
    return std::make_unique<LowercaseNormalizer>();
  if (type == "StripAccents")
    return std::make_unique<StripAccentsNormalizer>();
  if (type == "Replace") {
    auto n = std::make_unique<ReplaceNormalizer>();
    n->replacement = makeReplacement(j, "normalizer");
    return n;
  }
  if (type == "Prepend") {
    auto n = std::make_unique<PrependNormalizer>();
    n->prefix = fromUtf8OrRefuse(stringField(j, "prepend", ""), "Prepend");
    return n;
  }
  if (type == "Strip") {
    auto n = std::make_unique<StripNormalizer>();
    n->left = flag(j, "strip_left", true);
    n->right = flag(j, "strip_right", true);
    return n;
  }
  if (type == "Precompiled") {
    const json &map = j.value("precompiled_charsmap", json());
    if (map.is_null())
      return nullptr;
    if (!map.is_string())
      refuse("Precompiled precompiled_charsmap is not a string");
    return std::make_unique<PrecompiledNormalizer>(map.get<std::string>());
  }
  if (type == "Nmt")
    return std::make_unique<NmtNormalizer>();
  if (type == "ByteLevel")
    return std::make_unique<ByteLevelNormalizer>();
  if (type == "Sequence") {
    auto n = std::make_unique<SequenceNormalizer>();
    n->steps =
        makeSteps<Normalizer>(j, "normalizer", "normalizers", makeNormalizer);
    return n;
  }
  refuse("unsupported normalizer '" + type + "'");
}

} // namespace xformer::tokenizer::detail
