//===- xformer-tokenize.cpp - Text to token ids and back ------------------===//
//
//   xformer-tokenize tokenizer.json [--no-special] < lines of text
//   xformer-tokenize tokenizer.json --whole [--no-special] < one text
//   xformer-tokenize tokenizer.json --decode [--keep-special] < lines of ids
//
// --whole encodes all of standard input as one text, newlines included.
// Encodes each input line (UTF-8) into token ids with a Hugging Face
// tokenizer.json and prints them space-separated, one line per input line;
// with --decode reads lines of ids and prints their text. Text lines in
// and out use escapes (\n, \r, \t, \0 and \\) so that any text, newlines
// and NUL characters included, is one line.
// Exit status 1 with a message on a tokenizer that cannot be loaded, text
// that is not UTF-8 or ids outside the vocabulary.
//
//===----------------------------------------------------------------------===//

#include "xformer/Tokenizer/Tokenizer.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <string>

using xformer::tokenizer::Tokenizer;

namespace {

std::string unescape(const std::string &line) {
  std::string out;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] != '\\' || i + 1 == line.size()) {
      out += line[i];
      continue;
    }
    char c = line[++i];
    out += c == 'n'   ? '\n'
           : c == 't' ? '\t'
           : c == 'r' ? '\r'
           : c == '0' ? '\0'
                      : c;
  }
  return out;
}

/// The inverse of unescape: decoded text on one line, nothing lost.
std::string escape(const std::string &text) {
  std::string out;
  for (char c : text) {
    switch (c) {
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    case '\0':
      out += "\\0";
      break;
    default:
      out += c;
    }
  }
  return out;
}

} // namespace

int usage(const char *argv0, FILE *to) {
  std::fprintf(
      to,
      "usage: %s TOKENIZER.json [--no-special | --whole | --decode "
      "[--keep-special]] < input\n"
      "  Encodes each line of standard input into token ids with a Hugging "
      "Face\n"
      "  tokenizer.json (lines may escape \\n \\r \\t \\0 \\\\), one "
      "line of ids per line.\n"
      "  --whole         encode all of standard input as one text, newlines "
      "included\n"
      "  --no-special    leave out the tokenizer's special tokens "
      "([CLS], <s>, ...)\n"
      "  --decode        read lines of ids and print their text (escaped, one "
      "line each)\n"
      "  --keep-special  with --decode, keep special tokens in the text\n",
      argv0);
  return to == stdout ? 0 : 2;
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h")
      return usage(argv[0], stdout);
  if (argc < 2)
    return usage(argv[0], stderr);
  bool decode = false, special = true, keepSpecial = false, whole = false;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--whole")
      whole = true;
    else if (a == "--decode")
      decode = true;
    else if (a == "--no-special")
      special = false;
    else if (a == "--keep-special")
      keepSpecial = true;
    else {
      std::fprintf(stderr, "xformer-tokenize: unknown option '%s'\n",
                   a.c_str());
      return 2;
    }
  }
  std::string error;
  std::unique_ptr<Tokenizer> tok = Tokenizer::load(argv[1], error);
  if (!tok) {
    std::fprintf(stderr, "xformer-tokenize: %s\n", error.c_str());
    return 1;
  }
  if (whole && decode) {
    std::fprintf(stderr, "xformer-tokenize: --whole encodes; it does not go "
                         "with --decode\n");
    return 2;
  }
  if (whole) {
    std::string text((std::istreambuf_iterator<char>(std::cin)),
                     std::istreambuf_iterator<char>());
    std::vector<int64_t> ids;
    if (!tok->encode(text, special, ids, error)) {
      std::fprintf(stderr, "xformer-tokenize: %s\n", error.c_str());
      return 1;
    }
    for (size_t i = 0; i < ids.size(); ++i)
      std::printf("%s%lld", i ? " " : "", (long long)ids[i]);
    std::printf("\n");
    return 0;
  }
  std::string line;
  for (int64_t lineNo = 1; std::getline(std::cin, line); ++lineNo) {
    if (!decode) {
      std::vector<int64_t> ids;
      if (!tok->encode(unescape(line), special, ids, error)) {
        std::fprintf(stderr, "xformer-tokenize: line %lld: %s\n",
                     (long long)lineNo, error.c_str());
        return 1;
      }
      for (size_t i = 0; i < ids.size(); ++i)
        std::printf("%s%lld", i ? " " : "", (long long)ids[i]);
      std::printf("\n");
      continue;
    }
    std::vector<int64_t> ids;
    const char *p = line.c_str();
    while (*p) {
      char *end = nullptr;
      errno = 0;
      long long v = std::strtoll(p, &end, 10);
      if (end == p) {
        if (*p == ' ' || *p == '\t') {
          ++p;
          continue;
        }
        std::fprintf(stderr,
                     "xformer-tokenize: line %lld: '%s' is not a "
                     "list of token ids\n",
                     (long long)lineNo, line.c_str());
        return 1;
      }
      if (errno) {
        std::fprintf(stderr,
                     "xformer-tokenize: line %lld: id out of "
                     "range\n",
                     (long long)lineNo);
        return 1;
      }
      ids.push_back(v);
      p = end;
    }
    std::string text;
    if (!tok->decode(ids, !keepSpecial, text, error)) {
      std::fprintf(stderr, "xformer-tokenize: line %lld: %s\n",
                   (long long)lineNo, error.c_str());
      return 1;
    }
    std::string line = escape(text) + "\n";
    std::fwrite(line.data(), 1, line.size(), stdout);
  }
  return 0;
}
