//===- Support.h - What the tokenizer's components share --------*- C++ -*-===//
//
// Errors, Unicode helpers over ICU (code points as std::u32string), regular
// expressions with a time limit, and the JSON field readers the component
// factories use. Internal to lib/Tokenizer.
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_LIB_TOKENIZER_SUPPORT_H
#define XFORMER_LIB_TOKENIZER_SUPPORT_H

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
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xformer::tokenizer::detail {

using json = nlohmann::json;

/// A malformed or unsupported tokenizer.json: the message says which.
struct LoadError {
  std::string message;
};

[[noreturn]] inline void refuse(const std::string &message) {
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
inline std::vector<std::pair<int32_t, int32_t>>
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
inline bool decodeUtf8(std::string_view text, std::u32string &out) {
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

inline std::string encodeUtf8(std::u32string_view text) {
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

inline std::u32string fromUtf8OrRefuse(const std::string &text,
                                       const char *what) {
  std::u32string out;
  if (!decodeUtf8(text, out))
    refuse(std::string(what) + " is not valid UTF-8");
  return out;
}

inline icu::UnicodeString toIcu(std::u32string_view text) {
  icu::UnicodeString s;
  for (char32_t c : text)
    s.append(UChar32(c));
  return s;
}

inline std::u32string fromIcu(const icu::UnicodeString &s) {
  std::u32string out;
  for (int32_t i = 0; i < s.length();) {
    UChar32 c = s.char32At(i);
    out.push_back(char32_t(c));
    i += U16_LENGTH(c);
  }
  return out;
}

/// White_Space, as Rust's char::is_whitespace.
inline bool isWhitespace(char32_t c) { return u_isUWhiteSpace(UChar32(c)); }

/// General category P*.
inline bool isPunctuation(char32_t c) {
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
inline bool isNumeric(char32_t c) {
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
inline bool isPunc(char32_t c) {
  return (c < 0x80 && std::ispunct(int(c))) || isPunctuation(c);
}

/// General category C* (control, format, unassigned, private use,
/// surrogate).
inline bool isOther(char32_t c) {
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

inline bool isChineseCharacter(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/// Lower case code point by code point (no context: a final capital sigma
/// becomes σ, as Rust's char::to_lowercase has it), full mappings.
inline std::u32string lowercase(std::u32string_view text) {
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

inline std::u32string normalize(std::u32string_view text, NormalForm form) {
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
inline std::u32string stripAccents(std::u32string_view text) {
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
inline std::unique_ptr<icu::RegexPattern>
compileRegex(const std::u32string &regex, const char *component,
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

inline Replacement makeReplacement(const json &j, const char *component) {
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

inline std::string stringField(const json &j, const char *key,
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
inline const json &sequenceSteps(const json &j, const char *component,
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

inline bool flag(const json &j, const char *key, bool fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null())
    return fallback;
  if (!it->is_boolean())
    refuse(std::string("field '") + key + "' must be true or false");
  return it->get<bool>();
}

inline std::string typeOf(const json &j, const char *component) {
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string())
    refuse(std::string(component) + " has no type");
  return j["type"].get<std::string>();
}

} // namespace xformer::tokenizer::detail

#endif // XFORMER_LIB_TOKENIZER_SUPPORT_H
