//===- Models.cpp - Models ------------------------------------------------===//
//
// Words to ids: WordPiece, BPE (merges by rank, byte fallback, dropout-free),
// Unigram (Viterbi over the pieces' scores) and WordLevel.
//
//===----------------------------------------------------------------------===//

#include "Components.h"

#include <map>
#include <queue>

namespace xformer::tokenizer::detail {

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
  const std::vector<std::string> *pieceList() const override { return &pieces; }
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

} // namespace xformer::tokenizer::detail
