//===- Nesting.h - Bound the nesting of text before a recursive parser -*- C++ -*-===//
//
// MLIR's parser and JSON consumers recurse once per nesting level, so a
// file nested tens of thousands deep overflows the stack. These scans find
// the first bracket past a depth limit in linear time, without recursion,
// so that callers refuse such input with a location instead of crashing.
// Real inputs nest a few dozen levels at most.
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_SUPPORT_NESTING_H
#define XFORMER_SUPPORT_NESTING_H

#include <cstddef>
#include <string>
#include <string_view>

namespace mlir::xformer {

/// The nesting that model IR and checkpoint headers may use.
constexpr int kMaxNesting = 256;

struct NestingError {
  size_t line = 0, column = 0; // 1-based, of the bracket past the limit
  std::string message() const {
    return std::to_string(line) + ":" + std::to_string(column) +
           ": nested more than " + std::to_string(kMaxNesting) +
           " levels deep";
  }
};

/// Whether `text` nests brackets more than kMaxNesting deep. `mlir`
/// counts ( [ { < (not the '>' of "->") and skips // comments; otherwise
/// (JSON) [ and {. String literals are skipped in both.
inline bool tooDeep(std::string_view text, bool mlir, NestingError &error) {
  int depth = 0;
  size_t line = 1, column = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    ++column;
    if (c == '\n') {
      ++line;
      column = 0;
      continue;
    }
    if (c == '"') {
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\')
          ++i;
        else if (text[i] == '\n') {
          ++line;
          column = 0;
        }
      }
      continue;
    }
    if (mlir && c == '/' && i + 1 < text.size() && text[i + 1] == '/') {
      while (i + 1 < text.size() && text[i + 1] != '\n')
        ++i;
      continue;
    }
    const bool open = c == '[' || c == '{' || (mlir && (c == '(' || c == '<'));
    const bool close = c == ']' || c == '}' ||
                       (mlir && (c == ')' || (c == '>' && (i == 0 ||
                                                          text[i - 1] != '-'))));
    if (open && ++depth > kMaxNesting) {
      error.line = line;
      error.column = column;
      return true;
    }
    if (close && depth > 0)
      --depth;
  }
  return false;
}

} // namespace mlir::xformer

#endif // XFORMER_SUPPORT_NESTING_H
