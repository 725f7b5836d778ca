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

#include <nlohmann/json.hpp>
#include <unicode/brkiter.h>
#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/regex.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/uscript.h>
#include <unicode/ustring.h>

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

Tokenizer::~Tokenizer() = default;

namespace {

/// A malformed or unsupported tokenizer.json: the message says which.
struct LoadError {
  std::string message;
};

[[noreturn]] void refuse(const std::string &message) {
  throw LoadError{message};
}

/// Text or ids that cannot be processed: a Unigram with no unk token for
/// a character, a regular expression past its time limit.
struct EncodeError {
  std::string message;
};

/// Backtracking patterns from a tokenizer file can take exponential time;
/// each match gets a limit (ICU's match-engine steps, on the order of
/// milliseconds) and running past it fails the call instead of hanging.
constexpr int32_t kRegexTimeLimit = 2000;

/// The [start, end) ranges of the non-empty matches of `pattern` in `text`
/// (an empty match neither splits nor replaces anything). Running past the
/// time limit is an error, not the end of the matches.
std::vector<std::pair<int32_t, int32_t>>
regexMatches(const icu::RegexPattern &pattern, const icu::UnicodeString &text) {
  UErrorCode status = U_ZERO_ERROR;
  std::unique_ptr<icu::RegexMatcher> m(pattern.matcher(text, status));
  if (U_SUCCESS(status) && m)
    m->setTimeLimit(kRegexTimeLimit, status);
  std::vector<std::pair<int32_t, int32_t>> matches;
  while (U_SUCCESS(status) && m->find(status)) {
    int32_t start = m->start(status), end = m->end(status);
    if (end > start)
      matches.push_back({start, end});
  }
  if (U_FAILURE(status))
    throw EncodeError{std::string("a regular expression of the tokenizer "
                                  "failed on this text (") +
                      u_errorName(status) + ")"};
  return matches;
}

//===----------------------------------------------------------------------===//
// Unicode helpers
//===----------------------------------------------------------------------===//

/// UTF-8 to code points; false on malformed UTF-8.
bool decodeUtf8(std::string_view text, std::u32string &out) {
  out.clear();
  if (text.empty())
    return true;
  if (text.size() > size_t(std::numeric_limits<int32_t>::max()))
    return false;
  UErrorCode status = U_ZERO_ERROR;
  int32_t length = 0;
  u_strFromUTF8(nullptr, 0, &length, text.data(), int32_t(text.size()),
                &status);
  if (status != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(status))
    return false;
  icu::UnicodeString utf16;
  status = U_ZERO_ERROR;
  UChar *buffer = utf16.getBuffer(length);
  u_strFromUTF8(buffer, length, &length, text.data(), int32_t(text.size()),
                &status);
  utf16.releaseBuffer(U_SUCCESS(status) ? length : 0);
  if (U_FAILURE(status))
    return false;
  for (int32_t i = 0; i < utf16.length();) {
    UChar32 c = utf16.char32At(i);
    out.push_back(char32_t(c));
    i += U16_LENGTH(c);
  }
  return true;
}

std::string encodeUtf8(std::u32string_view text) {
  std::string out;
  for (char32_t c : text) {
    if (c < 0x80) {
      out += char(c);
    } else if (c < 0x800) {
      out += char(0xC0 | (c >> 6));
      out += char(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      out += char(0xE0 | (c >> 12));
      out += char(0x80 | ((c >> 6) & 0x3F));
      out += char(0x80 | (c & 0x3F));
    } else {
      out += char(0xF0 | (c >> 18));
      out += char(0x80 | ((c >> 12) & 0x3F));
      out += char(0x80 | ((c >> 6) & 0x3F));
      out += char(0x80 | (c & 0x3F));
    }
  }
  return out;
}

std::u32string fromUtf8OrRefuse(const std::string &text, const char *what) {
  std::u32string out;
  if (!decodeUtf8(text, out))
    refuse(std::string(what) + " is not valid UTF-8");
  return out;
}

icu::UnicodeString toIcu(std::u32string_view text) {
  icu::UnicodeString s;
  for (char32_t c : text)
    s.append(UChar32(c));
  return s;
}

std::u32string fromIcu(const icu::UnicodeString &s) {
  std::u32string out;
  for (int32_t i = 0; i < s.length();) {
    UChar32 c = s.char32At(i);
    out.push_back(char32_t(c));
    i += U16_LENGTH(c);
  }
  return out;
}

/// White_Space, as Rust's char::is_whitespace.
bool isWhitespace(char32_t c) { return u_isUWhiteSpace(UChar32(c)); }

/// General category P*.
bool isPunctuation(char32_t c) {
  switch (u_charType(UChar32(c))) {
  case U_CONNECTOR_PUNCTUATION:
  case U_DASH_PUNCTUATION:
  case U_START_PUNCTUATION:
  case U_END_PUNCTUATION:
  case U_INITIAL_PUNCTUATION:
  case U_FINAL_PUNCTUATION:
  case U_OTHER_PUNCTUATION:
    return true;
  default:
    return false;
  }
}

/// Rust's char::is_numeric: general categories Nd, Nl and No.
bool isNumeric(char32_t c) {
  switch (u_charType(UChar32(c))) {
  case U_DECIMAL_DIGIT_NUMBER:
  case U_LETTER_NUMBER:
  case U_OTHER_NUMBER:
    return true;
  default:
    return false;
  }
}

/// ASCII punctuation or general category P*, as the library's is_punc.
bool isPunc(char32_t c) {
  return (c < 0x80 && std::ispunct(int(c))) || isPunctuation(c);
}

/// General category C* (control, format, unassigned, private use,
/// surrogate).
bool isOther(char32_t c) {
  switch (u_charType(UChar32(c))) {
  case U_CONTROL_CHAR:
  case U_FORMAT_CHAR:
  case U_UNASSIGNED:
  case U_PRIVATE_USE_CHAR:
  case U_SURROGATE:
    return true;
  default:
    return false;
  }
}

bool isChineseCharacter(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/// Lower case code point by code point (no context: a final capital sigma
/// becomes σ, as Rust's char::to_lowercase has it), full mappings.
std::u32string lowercase(std::u32string_view text) {
  std::u32string out;
  for (char32_t c : text) {
    if (c < 0x80) {
      out.push_back(c >= 'A' && c <= 'Z' ? c + 32 : c);
      continue;
    }
    icu::UnicodeString one(static_cast<UChar32>(c));
    one.toLower(icu::Locale::getRoot());
    out += fromIcu(one);
  }
  return out;
}

enum class NormalForm { NFC, NFD, NFKC, NFKD };

std::u32string normalize(std::u32string_view text, NormalForm form) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2 *n = nullptr;
  switch (form) {
  case NormalForm::NFC:
    n = icu::Normalizer2::getNFCInstance(status);
    break;
  case NormalForm::NFD:
    n = icu::Normalizer2::getNFDInstance(status);
    break;
  case NormalForm::NFKC:
    n = icu::Normalizer2::getNFKCInstance(status);
    break;
  case NormalForm::NFKD:
    n = icu::Normalizer2::getNFKDInstance(status);
    break;
  }
  if (U_FAILURE(status) || !n)
    return std::u32string(text);
  icu::UnicodeString out = n->normalize(toIcu(text), status);
  return U_FAILURE(status) ? std::u32string(text) : fromIcu(out);
}

/// NFD, then without nonspacing marks (category Mn).
std::u32string stripAccents(std::u32string_view text) {
  std::u32string out;
  for (char32_t c : normalize(text, NormalForm::NFD))
    if (u_charType(UChar32(c)) != U_NON_SPACING_MARK)
      out.push_back(c);
  return out;
}

//===----------------------------------------------------------------------===//
// JSON fields and patterns
//===----------------------------------------------------------------------===//

/// The pattern of a Replace normalizer or decoder: a literal string or a
/// regular expression, every non-overlapping match replaced.
struct Replacement {
  std::u32string literal;
  std::unique_ptr<icu::RegexPattern> regex;
  std::u32string content;

  std::u32string apply(std::u32string_view text) const {
    std::u32string out;
    if (!regex) {
      if (literal.empty())
        return std::u32string(text);
      size_t from = 0;
      for (size_t at = text.find(literal); at != std::u32string_view::npos;
           at = text.find(literal, from)) {
        out.append(text.substr(from, at - from));
        out += content;
        from = at + literal.size();
      }
      out.append(text.substr(from));
      return out;
    }
    icu::UnicodeString utf16 = toIcu(text);
    int32_t last = 0;
    for (auto [start, end] : regexMatches(*regex, utf16)) {
      out += fromIcu(icu::UnicodeString(utf16, last, start - last));
      out += content;
      last = end;
    }
    out += fromIcu(icu::UnicodeString(utf16, last, utf16.length() - last));
    return out;
  }
};

/// A pattern of a tokenizer.json compiled by ICU. The tokenizers library
/// runs Oniguruma, where \\s and \\S mean Unicode White_Space: with
/// `oniguruma` they are rewritten so.
std::unique_ptr<icu::RegexPattern> compileRegex(const std::u32string &regex,
                                                const char *component,
                                                bool oniguruma = true) {
  std::u32string fixed;
  for (size_t i = 0; i < regex.size(); ++i) {
    if (!oniguruma) {
      fixed = regex;
      break;
    }
    if (regex[i] == '\\' && i + 1 < regex.size() &&
        (regex[i + 1] == 's' || regex[i + 1] == 'S')) {
      fixed += regex[i + 1] == 's' ? U"\\p{White_Space}" : U"\\P{White_Space}";
      ++i;
    } else if (regex[i] == '\\' && i + 1 < regex.size() &&
               (regex[i + 1] == 'w' || regex[i + 1] == 'W')) {
      // Oniguruma's word characters (measured against the library):
      // alphabetic, marks, Nd and connector punctuation as in ICU, but no
      // joiners, and Latin-1's superscripts and fractions (its ctype table).
      // A nested set, so it reads the same inside a bracket expression.
      fixed += regex[i + 1] == 'w' ? U"[" : U"[^";
      fixed += U"\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\u00b2\\u00b3\\u00b9"
               U"\\u00bc-\\u00be]";
      ++i;
    } else {
      fixed.push_back(regex[i]);
      if (regex[i] == '\\' && i + 1 < regex.size())
        fixed.push_back(regex[++i]);
    }
  }
  UParseError parseError;
  UErrorCode status = U_ZERO_ERROR;
  std::unique_ptr<icu::RegexPattern> pattern(
      icu::RegexPattern::compile(toIcu(fixed), 0, parseError, status));
  if (U_FAILURE(status))
    refuse(std::string(component) + " regular expression does not compile: " +
           encodeUtf8(regex) + " (" + u_errorName(status) + ")");
  return pattern;
}

Replacement makeReplacement(const json &j, const char *component) {
  Replacement r;
  const json &pat = j.value("pattern", json());
  if (!j.contains("content") || !j["content"].is_string())
    refuse(std::string(component) + " Replace has no content string");
  r.content =
      fromUtf8OrRefuse(j["content"].get<std::string>(), "Replace content");
  if (pat.contains("String") && pat["String"].is_string())
    r.literal =
        fromUtf8OrRefuse(pat["String"].get<std::string>(), "Replace pattern");
  else if (pat.contains("Regex") && pat["Regex"].is_string())
    r.regex = compileRegex(
        fromUtf8OrRefuse(pat["Regex"].get<std::string>(), "Replace pattern"),
        component);
  else
    refuse(std::string(component) + " Replace has no String or Regex pattern");
  return r;
}

std::string stringField(const json &j, const char *key,
                        const std::string &fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null())
    return fallback;
  if (!it->is_string())
    refuse(std::string("field '") + key + "' must be a string");
  return it->get<std::string>();
}

/// The list of steps of a Sequence component (`key`: "normalizers",
/// "pretokenizers", "processors", "decoders").
const json &sequenceSteps(const json &j, const char *component,
                          const char *key) {
  if (!j.contains(key) || !j[key].is_array())
    refuse(std::string(component) + " Sequence has no list of " + key);
  return j[key];
}

/// The steps of a Sequence built by `make` (null steps left out).
template <typename Step, typename Make>
std::vector<std::unique_ptr<Step>>
makeSteps(const json &j, const char *component, const char *key, Make make) {
  std::vector<std::unique_ptr<Step>> steps;
  for (const json &step : sequenceSteps(j, component, key))
    if (auto s = make(step))
      steps.push_back(std::move(s));
  return steps;
}

bool flag(const json &j, const char *key, bool fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null())
    return fallback;
  if (!it->is_boolean())
    refuse(std::string("field '") + key + "' must be true or false");
  return it->get<bool>();
}

std::string typeOf(const json &j, const char *component) {
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string())
    refuse(std::string(component) + " has no type");
  return j["type"].get<std::string>();
}

//===----------------------------------------------------------------------===//
// Normalizers
//===----------------------------------------------------------------------===//

struct Normalizer {
  virtual ~Normalizer() = default;
  virtual std::u32string apply(std::u32string_view text) const = 0;
};

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

//===----------------------------------------------------------------------===//
// Pre-tokenizers
//===----------------------------------------------------------------------===//

/// A pre-tokenized word; `atStart` when it begins at the start of the input
/// text (Metaspace's "first" prepend scheme asks).
struct Word {
  std::u32string text;
  bool atStart = false;
};
using Words = std::vector<Word>;

struct PreTokenizer {
  virtual ~PreTokenizer() = default;
  virtual Words apply(const Words &words) const = 0;
};

/// Splits each word where `isDelimiter` holds; delimiters dropped or kept
/// as words of their own.
template <typename Pred>
Words splitOn(const Words &words, Pred isDelimiter, bool keepDelimiters) {
  Words out;
  for (const Word &w : words) {
    std::u32string cur;
    size_t curStart = 0;
    auto emit = [&](std::u32string text, size_t at) {
      out.push_back({std::move(text), w.atStart && at == 0});
    };
    for (size_t i = 0; i < w.text.size(); ++i) {
      char32_t c = w.text[i];
      if (!isDelimiter(c)) {
        if (cur.empty())
          curStart = i;
        cur.push_back(c);
        continue;
      }
      if (!cur.empty())
        emit(std::move(cur), curStart);
      cur.clear();
      if (keepDelimiters)
        emit(std::u32string(1, c), i);
    }
    if (!cur.empty())
      emit(std::move(cur), curStart);
  }
  return out;
}

struct BertPreTokenizer : PreTokenizer {
  Words apply(const Words &words) const override {
    Words split = splitOn(words, isWhitespace, false);
    return splitOn(split, isPunc, true);
  }
};

struct WhitespaceSplit : PreTokenizer {
  Words apply(const Words &words) const override {
    return splitOn(words, isWhitespace, false);
  }
};

/// What a split does with the pieces its pattern matches.
enum class SplitBehavior {
  Removed,            // dropped
  Isolated,           // words of their own
  MergedWithPrevious, // appended to the word before
  MergedWithNext,     // prepended to the word after
  Contiguous,         // runs of matches (and of the rest) fused
};

SplitBehavior splitBehavior(const json &j, const char *component,
                            SplitBehavior fallback) {
  std::string b = stringField(j, "behavior", "");
  if (b.empty())
    return fallback;
  if (b == "Removed")
    return SplitBehavior::Removed;
  if (b == "Isolated")
    return SplitBehavior::Isolated;
  if (b == "MergedWithPrevious")
    return SplitBehavior::MergedWithPrevious;
  if (b == "MergedWithNext")
    return SplitBehavior::MergedWithNext;
  if (b == "Contiguous")
    return SplitBehavior::Contiguous;
  refuse(std::string("unsupported pre_tokenizer ") + component + " behavior '" +
         b + "'");
}

/// A word cut into consecutive pieces, each marked as a match or not.
struct Piece {
  std::u32string text;
  bool match = false;
};

/// A splitting pre-tokenizer as the library has it: the pattern's pieces
/// (optionally inverted: the text between matches becomes the delimiter),
/// then the behaviour's fold over them, then empty pieces dropped.
struct PatternSplit : PreTokenizer {
  SplitBehavior behavior = SplitBehavior::Isolated;
  bool invert = false;

  virtual std::vector<Piece> pieces(const std::u32string &word) const = 0;

  Words apply(const Words &words) const override {
    Words out;
    for (const Word &w : words) {
      std::vector<Piece> in = pieces(w.text);
      if (invert)
        for (Piece &p : in)
          p.match = !p.match;
      // The pieces in order; `match` now means removed.
      std::vector<Piece> kept;
      // The library's fold: a piece joins the kept one before it (in the
      // order walked) when `joins(match, previousMatch)` holds.
      auto fold = [&kept](auto begin, auto end, auto joins, bool prepend) {
        bool previous = false;
        for (auto it = begin; it != end; ++it) {
          if (joins(it->match, previous) && !kept.empty()) {
            std::u32string &to = kept.back().text;
            to = prepend ? it->text + to : to + it->text;
          } else {
            kept.push_back({std::move(it->text), false});
          }
          previous = it->match;
        }
      };
      auto matchAfterOther = [](bool match, bool previous) {
        return match && !previous;
      };
      switch (behavior) {
      case SplitBehavior::Removed:
        kept = in;
        break;
      case SplitBehavior::Isolated:
        for (Piece &p : in)
          kept.push_back({std::move(p.text), false});
        break;
      case SplitBehavior::Contiguous:
        fold(
            in.begin(), in.end(),
            [](bool match, bool previous) { return match == previous; }, false);
        break;
      case SplitBehavior::MergedWithPrevious:
        fold(in.begin(), in.end(), matchAfterOther, false);
        break;
      case SplitBehavior::MergedWithNext:
        fold(in.rbegin(), in.rend(), matchAfterOther, true);
        std::reverse(kept.begin(), kept.end());
        break;
      }
      size_t at = 0;
      for (Piece &p : kept) {
        const size_t start = at;
        at += p.text.size();
        if (!p.match && !p.text.empty())
          out.push_back({std::move(p.text), w.atStart && start == 0});
      }
    }
    return out;
  }
};

/// Matches of a regular expression, and the text between them.
struct RegexSplit : PatternSplit {
  std::unique_ptr<icu::RegexPattern> pattern;

  RegexSplit(const std::u32string &regex, SplitBehavior behavior,
             bool invert = false, bool oniguruma = true)
      : pattern(compileRegex(regex, "pre_tokenizer", oniguruma)) {
    this->behavior = behavior;
    this->invert = invert;
  }

  std::vector<Piece> pieces(const std::u32string &word) const override {
    std::vector<Piece> out;
    icu::UnicodeString text = toIcu(word);
    int32_t last = 0;
    auto piece = [&](int32_t from, int32_t to, bool match) {
      if (to > from)
        out.push_back(
            {fromIcu(icu::UnicodeString(text, from, to - from)), match});
    };
    for (auto [s, e] : regexMatches(*pattern, text)) {
      piece(last, s, false);
      piece(s, e, true);
      last = e;
    }
    piece(last, text.length(), false);
    return out;
  }
};

/// Every character for which `matches` holds is a match of its own.
struct CharSplit : PatternSplit {
  std::function<bool(char32_t)> matches;

  CharSplit(std::function<bool(char32_t)> matches, SplitBehavior behavior)
      : matches(std::move(matches)) {
    this->behavior = behavior;
  }

  std::vector<Piece> pieces(const std::u32string &word) const override {
    std::vector<Piece> out;
    for (char32_t c : word) {
      const bool m = matches(c);
      if (!m && !out.empty() && !out.back().match)
        out.back().text.push_back(c);
      else
        out.push_back({std::u32string(1, c), m});
    }
    return out;
  }
};

/// GPT-2's byte-level alphabet: printable bytes stand for themselves, the
/// others are moved to U+0100 onwards.
std::vector<char32_t> byteToChar() {
  std::vector<char32_t> map(256);
  int next = 0;
  for (int b = 0; b < 256; ++b) {
    bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) ||
                     (b >= 0xAE && b <= 0xFF);
    map[b] = printable ? char32_t(b) : char32_t(256 + next++);
  }
  return map;
}

const char32_t *kGpt2Pattern =
    U"'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\p{White_Space}\\p{L}"
    U"\\p{N}]+|\\p{White_Space}+(?!\\P{White_Space})|\\p{White_Space}+";

struct ByteLevelPreTokenizer : PreTokenizer {
  bool addPrefixSpace = true;
  std::unique_ptr<RegexSplit> regex;
  std::vector<char32_t> alphabet = byteToChar();

  Words apply(const Words &words) const override {
    Words in = words;
    // Every word so far gets the space, as the library has it.
    if (addPrefixSpace)
      for (Word &w : in)
        if (!w.text.empty() && w.text.front() != ' ')
          w.text.insert(w.text.begin(), U' ');
    if (regex)
      in = regex->apply(in);
    Words out;
    for (const Word &w : in) {
      std::u32string mapped;
      for (unsigned char byte : encodeUtf8(w.text))
        mapped.push_back(alphabet[byte]);
      out.push_back({std::move(mapped), w.atStart});
    }
    return out;
  }
};

enum class PrependScheme { Always, First, Never };

PrependScheme prependScheme(const json &j) {
  auto it = j.find("prepend_scheme");
  if (it == j.end() || it->is_null()) // older files: add_prefix_space
    return flag(j, "add_prefix_space", true) ? PrependScheme::Always
                                             : PrependScheme::Never;
  std::string scheme = it->is_string() ? it->get<std::string>() : "";
  if (scheme == "always")
    return PrependScheme::Always;
  if (scheme == "first")
    return PrependScheme::First;
  if (scheme == "never")
    return PrependScheme::Never;
  refuse("unsupported Metaspace prepend_scheme " + it->dump());
}

char32_t metaspaceReplacement(const json &j) {
  std::u32string r = fromUtf8OrRefuse(
      j.value("replacement", std::string("\xE2\x96\x81")), "Metaspace "
                                                           "replacement");
  if (r.size() != 1)
    refuse("Metaspace replacement must be one character");
  return r[0];
}

/// SentencePiece's view of spaces: each space becomes the replacement
/// character (U+2581), one is prepended to a word (to every word, to the
/// one at the start of the input, or to none), and words are split before
/// each replacement character.
struct MetaspacePreTokenizer : PreTokenizer {
  char32_t replacement = 0x2581;
  PrependScheme scheme = PrependScheme::Always;
  bool split = true;

  Words apply(const Words &words) const override {
    Words out;
    for (const Word &w : words) {
      if (w.text.empty())
        continue;
      std::u32string text = w.text;
      std::replace(text.begin(), text.end(), char32_t(' '), replacement);
      const bool prepend = scheme == PrependScheme::Always ||
                           (scheme == PrependScheme::First && w.atStart);
      if (prepend && (text.empty() || text.front() != replacement))
        text.insert(text.begin(), replacement);
      if (!split) {
        out.push_back({std::move(text), w.atStart});
        continue;
      }
      // Each replacement character starts a word (merged with what follows).
      size_t from = 0;
      for (size_t i = 1; i <= text.size(); ++i)
        if (i == text.size() || text[i] == replacement) {
          out.push_back({text.substr(from, i - from), w.atStart && from == 0});
          from = i;
        }
    }
    return out;
  }
};

/// Splits where the Unicode script changes, as the library does: Hiragana,
/// Katakana and U+30FC count as Han; a space belongs to no script (it
/// neither starts a word nor ends a run, and spaces before the first
/// scripted character are dropped).
struct UnicodeScriptsPreTokenizer : PreTokenizer {
  static constexpr int kAny = -1;

  static int script(char32_t c) {
    if (c == 0x30FC)
      return USCRIPT_HAN;
    if (c == ' ')
      return kAny;
    UErrorCode status = U_ZERO_ERROR;
    const int s = uscript_getScript(UChar32(c), &status);
    if (U_FAILURE(status))
      return USCRIPT_UNKNOWN;
    return s == USCRIPT_HIRAGANA || s == USCRIPT_KATAKANA ? USCRIPT_HAN : s;
  }

  Words apply(const Words &words) const override {
    Words out;
    for (const Word &w : words) {
      std::vector<size_t> starts;
      std::optional<int> last;
      for (size_t i = 0; i < w.text.size(); ++i) {
        const int s = script(w.text[i]);
        if (s != kAny && last != kAny && last != s)
          starts.push_back(i);
        if (s != kAny)
          last = s;
      }
      starts.push_back(w.text.size());
      for (size_t k = 0; k + 1 < starts.size(); ++k)
        if (starts[k + 1] > starts[k])
          out.push_back({w.text.substr(starts[k], starts[k + 1] - starts[k]),
                         w.atStart && starts[k] == 0});
    }
    return out;
  }
};

/// Words of `length` characters (the last one shorter).
struct FixedLengthPreTokenizer : PreTokenizer {
  size_t length = 5;
  Words apply(const Words &words) const override {
    Words out;
    for (const Word &w : words)
      for (size_t at = 0; at < w.text.size(); at += length)
        out.push_back({w.text.substr(at, length), w.atStart && at == 0});
    return out;
  }
};

struct SequencePreTokenizer : PreTokenizer {
  std::vector<std::unique_ptr<PreTokenizer>> steps;
  Words apply(const Words &words) const override {
    Words w = words;
    for (auto &step : steps)
      w = step->apply(w);
    return w;
  }
};

std::unique_ptr<PreTokenizer> makePreTokenizer(const json &j) {
  if (j.is_null())
    return nullptr;
  std::string type = typeOf(j, "pre_tokenizer");
  if (type == "BertPreTokenizer")
    return std::make_unique<BertPreTokenizer>();
  if (type == "WhitespaceSplit")
    return std::make_unique<WhitespaceSplit>();
  if (type == "ByteLevel") {
    auto p = std::make_unique<ByteLevelPreTokenizer>();
    p->addPrefixSpace = flag(j, "add_prefix_space", true);
    if (flag(j, "use_regex", true))
      p->regex =
          std::make_unique<RegexSplit>(kGpt2Pattern, SplitBehavior::Isolated);
    return p;
  }
  if (type == "Split") {
    if (!j.contains("behavior"))
      refuse("pre_tokenizer Split has no behavior");
    const bool invert = flag(j, "invert", false);
    const SplitBehavior behavior =
        splitBehavior(j, "Split", SplitBehavior::Removed);
    const json &pat = j.value("pattern", json());
    if (pat.contains("Regex") && pat["Regex"].is_string())
      return std::make_unique<RegexSplit>(
          fromUtf8OrRefuse(pat["Regex"].get<std::string>(), "Split pattern"),
          behavior, invert);
    if (pat.contains("String") && pat["String"].is_string())
      // A literal: quoted, not rewritten.
      return std::make_unique<RegexSplit>(
          U"\\Q" +
              fromUtf8OrRefuse(pat["String"].get<std::string>(),
                               "Split pattern") +
              U"\\E",
          behavior, invert, /*oniguruma=*/false);
    refuse("pre_tokenizer Split has no Regex or String pattern");
  }
  if (type == "Whitespace")
    // Runs of word characters and runs of other non-spaces; spaces dropped.
    // The library runs this one through Rust's regex crate, whose \w is
    // ICU's (alphabetic, marks, Nd, Pc, joiners: "x²" is two words) and
    // whose \s is White_Space.
    return std::make_unique<RegexSplit>(U"\\w+|[^\\w\\p{White_Space}]+",
                                        SplitBehavior::Removed,
                                        /*invert=*/true, /*oniguruma=*/false);
  if (type == "Punctuation")
    return std::make_unique<CharSplit>(
        isPunc, splitBehavior(j, "Punctuation", SplitBehavior::Isolated));
  if (type == "Digits")
    return std::make_unique<CharSplit>(isNumeric,
                                       flag(j, "individual_digits", false)
                                           ? SplitBehavior::Isolated
                                           : SplitBehavior::Contiguous);
  if (type == "UnicodeScripts")
    return std::make_unique<UnicodeScriptsPreTokenizer>();
  if (type == "FixedLength") {
    auto p = std::make_unique<FixedLengthPreTokenizer>();
    const json &n = j.value("length", json(5));
    if (!n.is_number_unsigned() || n.get<uint64_t>() == 0 ||
        n.get<uint64_t>() > (uint64_t(1) << 30))
      refuse("pre_tokenizer FixedLength length must be a positive count");
    p->length = n.get<size_t>();
    return p;
  }
  if (type == "CharDelimiterSplit") {
    std::u32string d = fromUtf8OrRefuse(stringField(j, "delimiter", ""),
                                        "CharDelimiterSplit delimiter");
    if (d.size() != 1)
      refuse("pre_tokenizer CharDelimiterSplit needs a one-character "
             "delimiter");
    const char32_t c = d[0];
    return std::make_unique<CharSplit>([c](char32_t x) { return x == c; },
                                       SplitBehavior::Removed);
  }
  if (type == "Metaspace") {
    auto p = std::make_unique<MetaspacePreTokenizer>();
    p->replacement = metaspaceReplacement(j);
    p->scheme = prependScheme(j);
    p->split = flag(j, "split", true);
    return p;
  }
  if (type == "Sequence") {
    auto p = std::make_unique<SequencePreTokenizer>();
    p->steps = makeSteps<PreTokenizer>(j, "pre_tokenizer", "pretokenizers",
                                       makePreTokenizer);
    return p;
  }
  refuse("unsupported pre_tokenizer '" + type + "'");
}

//===----------------------------------------------------------------------===//
// Models
//===----------------------------------------------------------------------===//

using Vocab = std::unordered_map<std::string, int64_t>;

struct Model {
  Vocab vocab;
  virtual ~Model() = default;
  /// Appends the ids of one pre-tokenized word.
  virtual void tokenize(const std::u32string &word,
                        std::vector<int64_t> &ids) const = 0;
};

Vocab readVocab(const json &model) {
  if (!model.contains("vocab") || !model["vocab"].is_object())
    refuse("model has no vocab object");
  Vocab vocab;
  for (auto it = model["vocab"].begin(); it != model["vocab"].end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0)
      refuse("vocab entry '" + it.key() + "' has no valid id");
    vocab[it.key()] = it.value().get<int64_t>();
  }
  return vocab;
}

std::optional<int64_t> lookup(const Vocab &vocab, const std::string &token) {
  auto it = vocab.find(token);
  if (it == vocab.end())
    return std::nullopt;
  return it->second;
}

/// Byte fallback: the ids of the <0xXX> tokens of each byte, or none when
/// the vocabulary lacks one of them.
std::optional<std::vector<int64_t>> byteTokens(const Vocab &vocab,
                                               std::string_view bytes) {
  std::vector<int64_t> ids;
  for (unsigned char b : bytes) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    auto id = lookup(vocab, name);
    if (!id)
      return std::nullopt;
    ids.push_back(*id);
  }
  return ids;
}

struct WordPieceModel : Model {
  std::string unk = "[UNK]", prefix = "##";
  int64_t maxChars = 100;
  int64_t unkId = -1;

  void tokenize(const std::u32string &word,
                std::vector<int64_t> &ids) const override {
    if (int64_t(word.size()) > maxChars) {
      ids.push_back(unkId);
      return;
    }
    std::vector<int64_t> pieces;
    size_t start = 0;
    while (start < word.size()) {
      size_t end = word.size();
      std::optional<int64_t> found;
      while (start < end) {
        std::string piece =
            encodeUtf8(std::u32string_view(word).substr(start, end - start));
        if (start > 0)
          piece = prefix + piece;
        if ((found = lookup(vocab, piece)))
          break;
        --end;
      }
      if (!found) {
        ids.push_back(unkId);
        return;
      }
      pieces.push_back(*found);
      start = end;
    }
    ids.insert(ids.end(), pieces.begin(), pieces.end());
  }
};

struct BpeModel : Model {
  /// (left id, right id) -> (rank, merged id).
  std::map<std::pair<int64_t, int64_t>, std::pair<int64_t, int64_t>> merges;
  std::optional<int64_t> unkId;
  std::string prefix, suffix;
  bool byteFallback = false, ignoreMerges = false, fuseUnk = false;

  void tokenize(const std::u32string &word,
                std::vector<int64_t> &ids) const override {
    if (ignoreMerges)
      if (auto id = lookup(vocab, encodeUtf8(word))) {
        ids.push_back(*id);
        return;
      }
    // Symbols: one per character (with the subword prefix / suffix).
    std::vector<int64_t> symbols;
    bool lastWasUnk = false;
    for (size_t i = 0; i < word.size(); ++i) {
      std::string ch = encodeUtf8(word.substr(i, 1));
      std::string piece =
          (i > 0 ? prefix : "") + ch + (i + 1 == word.size() ? suffix : "");
      if (auto id = lookup(vocab, piece)) {
        symbols.push_back(*id);
        lastWasUnk = false;
        continue;
      }
      if (byteFallback) {
        if (auto bytes = byteTokens(vocab, ch)) {
          symbols.insert(symbols.end(), bytes->begin(), bytes->end());
          lastWasUnk = false;
          continue;
        }
      }
      if (unkId) {
        if (!(fuseUnk && lastWasUnk))
          symbols.push_back(*unkId);
        lastWasUnk = true;
      }
    }
    // Merge the lowest-ranked adjacent pair (leftmost on ties) until no
    // pair has a merge: the order of the tokenizers library. Symbols form a
    // linked list; a heap holds candidate pairs by (rank, position), stale
    // ones skipped when popped, so a long word costs n log n, not n^2.
    const int64_t n = int64_t(symbols.size());
    std::vector<int64_t> next(n), prev(n);
    std::vector<bool> alive(n, true);
    for (int64_t i = 0; i < n; ++i) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    using Candidate = std::pair<int64_t, int64_t>; // (rank, left position)
    std::priority_queue<Candidate, std::vector<Candidate>,
                        std::greater<Candidate>>
        heap;
    auto rankAt = [&](int64_t left) -> std::optional<int64_t> {
      if (left < 0 || next[left] < 0)
        return std::nullopt;
      auto it = merges.find({symbols[left], symbols[next[left]]});
      if (it == merges.end())
        return std::nullopt;
      return it->second.first;
    };
    auto push = [&](int64_t left) {
      if (auto rank = rankAt(left))
        heap.push({*rank, left});
    };
    for (int64_t i = 0; i + 1 < n; ++i)
      push(i);
    while (!heap.empty()) {
      auto [rank, left] = heap.top();
      heap.pop();
      if (!alive[left] || rankAt(left) != rank)
        continue; // a neighbour changed since this pair was queued
      const int64_t right = next[left];
      symbols[left] =
          merges.find({symbols[left], symbols[right]})->second.second;
      alive[right] = false;
      next[left] = next[right];
      if (next[left] >= 0)
        prev[next[left]] = left;
      push(prev[left]);
      push(left);
    }
    std::vector<int64_t> merged;
    for (int64_t i = n ? 0 : -1; i >= 0; i = next[i])
      merged.push_back(symbols[i]);
    symbols = std::move(merged);
    ids.insert(ids.end(), symbols.begin(), symbols.end());
  }
};

/// SentencePiece's unigram model: the segmentation of a word with the
/// highest total log-probability (Viterbi over a byte trie of the pieces).
/// A character no piece covers costs the lowest score less 10 and is the
/// unk token; runs of unk are fused into one; with byte_fallback an unk
/// becomes the <0xXX> tokens of its bytes.
struct UnigramModel : Model {
  std::vector<std::string> pieces;
  std::vector<double> scores;
  std::optional<int64_t> unkId;
  bool byteFallback = false;
  double unkScore = 0;
  /// Trie edges: (node << 8 | byte) -> node; pieceOf[node] is the id of the
  /// piece ending there, or -1.
  std::unordered_map<uint64_t, int32_t> edges;
  std::vector<int64_t> pieceOf{-1};

  void insert(const std::string &piece, int64_t id) {
    uint64_t node = 0;
    for (unsigned char c : piece) {
      auto [it, added] = edges.emplace(node << 8 | c, int32_t(pieceOf.size()));
      if (added)
        pieceOf.push_back(-1);
      node = uint64_t(it->second);
    }
    pieceOf[node] = id;
  }

  static size_t charLength(unsigned char lead) {
    return lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
  }

  int64_t unk() const {
    if (!unkId)
      throw EncodeError{"the Unigram model has no unk token for a character "
                        "its vocabulary does not cover"};
    return *unkId;
  }

  void tokenize(const std::u32string &word,
                std::vector<int64_t> &ids) const override {
    const std::string text = encodeUtf8(word);
    const size_t n = text.size();
    struct Best {
      double score = 0;
      int64_t start = -1, id = -1;
    };
    std::vector<Best> best(n + 1);
    auto relax = [&](size_t end, double score, size_t start, int64_t id) {
      Best &b = best[end];
      if (b.start < 0 || score > b.score)
        b = {score, int64_t(start), id};
    };
    for (size_t at = 0; at < n;) {
      const double base = best[at].score;
      const size_t len = std::min(charLength(text[at]), n - at);
      bool single = false;
      uint64_t node = 0;
      for (size_t k = at; k < n; ++k) {
        auto it = edges.find(node << 8 | (unsigned char)text[k]);
        if (it == edges.end())
          break;
        node = uint64_t(it->second);
        if (int64_t id = pieceOf[node]; id >= 0) {
          relax(k + 1, base + scores[id], at, id);
          single |= k + 1 - at == len;
        }
      }
      if (!single)
        relax(at + len, base + unkScore, at, unk());
      at += len;
    }
    // Back from the end: the pieces of the best path, each run of adjacent
    // unk pieces fused into one (id -1), whose text is looked up below.
    struct Piece {
      int64_t id;
      size_t start, end;
    };
    std::vector<Piece> path;
    for (size_t end = n; end > 0;) {
      const Best &b = best[end];
      const bool isUnk = unkId && b.id == *unkId;
      if (isUnk && !path.empty() && path.back().id < 0)
        path.back().start = size_t(b.start);
      else
        path.push_back({isUnk ? -1 : b.id, size_t(b.start), end});
      end = size_t(b.start);
    }
    for (auto it = path.rbegin(); it != path.rend(); ++it) {
      if (it->id >= 0) {
        ids.push_back(it->id);
        continue;
      }
      std::string piece = text.substr(it->start, it->end - it->start);
      if (auto id = lookup(vocab, piece)) {
        ids.push_back(*id);
        continue;
      }
      if (byteFallback)
        if (auto bytes = byteTokens(vocab, piece)) {
          ids.insert(ids.end(), bytes->begin(), bytes->end());
          continue;
        }
      ids.push_back(unk());
    }
  }
};

/// Whole words looked up in the vocab, unknown ones as the unk token.
struct WordLevelModel : Model {
  std::optional<int64_t> unkId;
  std::string unk;

  void tokenize(const std::u32string &word,
                std::vector<int64_t> &ids) const override {
    if (auto id = lookup(vocab, encodeUtf8(word))) {
      ids.push_back(*id);
      return;
    }
    if (!unkId)
      throw EncodeError{"the WordLevel model has no unk token ('" + unk +
                        "' is not in the vocab) for the word '" +
                        encodeUtf8(word) + "'"};
    ids.push_back(*unkId);
  }
};

std::unique_ptr<Model> makeModel(const json &j) {
  std::string type = typeOf(j, "model");
  if (type == "WordLevel") {
    auto m = std::make_unique<WordLevelModel>();
    m->vocab = readVocab(j);
    m->unk = stringField(j, "unk_token", "<unk>");
    m->unkId = lookup(m->vocab, m->unk);
    return m;
  }
  if (type == "WordPiece") {
    auto m = std::make_unique<WordPieceModel>();
    m->vocab = readVocab(j);
    m->unk = stringField(j, "unk_token", "[UNK]");
    m->prefix = stringField(j, "continuing_subword_prefix", "##");
    if (j.contains("max_input_chars_per_word") &&
        j["max_input_chars_per_word"].is_number_integer())
      m->maxChars = j["max_input_chars_per_word"].get<int64_t>();
    auto unk = lookup(m->vocab, m->unk);
    if (!unk)
      refuse("WordPiece unk_token '" + m->unk + "' is not in the vocab");
    m->unkId = *unk;
    return m;
  }
  if (type == "BPE") {
    auto m = std::make_unique<BpeModel>();
    m->vocab = readVocab(j);
    if (j.contains("dropout") && !j["dropout"].is_null() &&
        j["dropout"].get<double>() > 0)
      refuse("BPE with dropout is not deterministic");
    std::string unk = stringField(j, "unk_token", "");
    if (!unk.empty()) {
      m->unkId = lookup(m->vocab, unk);
      if (!m->unkId)
        refuse("BPE unk_token '" + unk + "' is not in the vocab");
    }
    m->prefix = stringField(j, "continuing_subword_prefix", "");
    m->suffix = stringField(j, "end_of_word_suffix", "");
    m->byteFallback = flag(j, "byte_fallback", false);
    m->ignoreMerges = flag(j, "ignore_merges", false);
    m->fuseUnk = flag(j, "fuse_unk", false);
    if (!j.contains("merges") || !j["merges"].is_array())
      refuse("BPE model has no merges list");
    int64_t rank = 0;
    for (const json &merge : j["merges"]) {
      std::string left, right;
      if (merge.is_string()) {
        std::string s = merge.get<std::string>();
        size_t space = s.find(' ', 1);
        if (space == std::string::npos)
          refuse("BPE merge '" + s + "' is not two tokens");
        left = s.substr(0, space);
        right = s.substr(space + 1);
      } else if (merge.is_array() && merge.size() == 2 &&
                 merge[0].is_string() && merge[1].is_string()) {
        left = merge[0].get<std::string>();
        right = merge[1].get<std::string>();
      } else {
        refuse("BPE merge " + merge.dump() + " is not two tokens");
      }
      auto l = lookup(m->vocab, left), r = lookup(m->vocab, right);
      std::string mergedPiece =
          left + (m->prefix.empty() || right.rfind(m->prefix, 0) != 0
                      ? right
                      : right.substr(m->prefix.size()));
      auto merged = lookup(m->vocab, mergedPiece);
      if (!l || !r || !merged)
        refuse("BPE merge '" + left + " " + right +
               "' names a token that is not in the vocab");
      m->merges.emplace(std::make_pair(*l, *r),
                        std::make_pair(rank++, *merged));
    }
    return m;
  }
  if (type == "Unigram") {
    auto m = std::make_unique<UnigramModel>();
    if (!j.contains("vocab") || !j["vocab"].is_array())
      refuse("Unigram model has no vocab list");
    double minScore = std::numeric_limits<double>::infinity();
    int64_t id = 0;
    for (const json &entry : j["vocab"]) {
      if (!entry.is_array() || entry.size() != 2 || !entry[0].is_string() ||
          !entry[1].is_number())
        refuse("Unigram vocab entry " + entry.dump() +
               " is not a [piece, score] pair");
      std::string piece = entry[0].get<std::string>();
      fromUtf8OrRefuse(piece, "a Unigram piece");
      double score = entry[1].get<double>();
      m->vocab[piece] = id;
      m->pieces.push_back(piece);
      m->scores.push_back(score);
      if (!piece.empty())
        m->insert(piece, id);
      minScore = std::min(minScore, score);
      ++id;
    }
    if (id == 0)
      refuse("Unigram model has an empty vocab");
    m->unkScore = minScore - 10.0;
    if (j.contains("unk_id") && !j["unk_id"].is_null()) {
      if (!j["unk_id"].is_number_integer() || j["unk_id"].get<int64_t>() < 0 ||
          j["unk_id"].get<int64_t>() >= id)
        refuse("Unigram unk_id " + j["unk_id"].dump() +
               " is not an id of the vocab");
      m->unkId = j["unk_id"].get<int64_t>();
    }
    m->byteFallback = flag(j, "byte_fallback", false);
    return m;
  }
  refuse("unsupported model '" + type + "'");
}

//===----------------------------------------------------------------------===//
// Post-processors
//===----------------------------------------------------------------------===//

/// The ids placed around a single sequence.
struct Template {
  std::vector<int64_t> before, after;
};

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

//===----------------------------------------------------------------------===//
// Decoders
//===----------------------------------------------------------------------===//

/// One step of the decoder chain: token strings in, token strings out; the
/// chain's result is joined without separators.
struct Decoder {
  virtual ~Decoder() = default;
  virtual void apply(std::vector<std::string> &tokens) const = 0;
};

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
        t = ::cleanup(t);
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
        t = ::cleanup(t);
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

//===----------------------------------------------------------------------===//
// The tokenizer
//===----------------------------------------------------------------------===//

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
  if (auto *unigram = dynamic_cast<UnigramModel *>(t->model.get()))
    for (size_t id = 0; id < unigram->pieces.size(); ++id)
      t->idToToken[id] = unigram->pieces[id];
  for (const AddedToken &a : t->added) {
    t->idToToken[a.id] = a.content;
    t->isSpecial[a.id] = a.special;
  }
  return t;
}
