//===- PreTokenizers.cpp - Pre-tokenizers ---------------------------------===//
//
// Splitting text into words: BERT, whitespace, regex and character splits,
// byte-level (GPT-2), Metaspace (SentencePiece), Unicode scripts, fixed
// lengths and sequences of them.
//
//===----------------------------------------------------------------------===//

#include "Components.h"

#include <functional>

namespace xformer::tokenizer::detail {

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

} // namespace xformer::tokenizer::detail
