//===- GGUF.h - Validating GGUF reader ---------------------------*- C++ -*-===//
//
// Opens a GGUF file (llama.cpp's model format, versions 2 and 3,
// little-endian), memory-mapped, and checks all of it before anything is
// used: the magic and version, counts and string lengths against the bytes
// left, value types, unique keys and tensor names, the alignment, each
// tensor's type, dimensions (a whole number of blocks per row, element and
// byte counts without overflow), offsets (aligned, inside the data section,
// no two tensors overlapping). Every defect is an error naming the file, the
// key or tensor and the numbers, with the byte offset in the file where it
// was found; nothing is read outside the file.
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_RUNTIME_GGUF_H
#define XFORMER_RUNTIME_GGUF_H

#include "xformer/Runtime/FileIdentity.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace xformer::runtime {

/// ggml's tensor element types, with the numbers GGUF stores.
enum class GGMLType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  BF16 = 30,
};

/// How a type stores a row: elements per block and bytes per block.
struct GGMLTypeTraits {
  GGMLType type;
  const char *name;
  int64_t blockElements, blockBytes;
};

/// The traits of ggml type number `type`, if this reader supports it.
std::optional<GGMLTypeTraits> ggmlTypeTraits(uint32_t type);
/// The name of ggml type number `type` ("Q4_K", "IQ2_XS", ...), supported or
/// not; "type N" for a number ggml does not define.
std::string ggmlTypeName(uint32_t type);

/// GGUF's metadata value types.
enum class GGUFValueType : uint32_t {
  U8 = 0,
  I8 = 1,
  U16 = 2,
  I16 = 3,
  U32 = 4,
  I32 = 5,
  F32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
  U64 = 10,
  I64 = 11,
  F64 = 12,
};

const char *ggufValueTypeName(GGUFValueType type);

/// One metadata value. Scalars: integers in `i` (signed types, bool) or
/// `u` (unsigned types), floats in `f`, strings in `s`. Arrays: `elementType`
/// and `count`, with numeric elements as their little-endian bytes in `raw`,
/// strings in `strings`, nested arrays in `arrays`.
struct GGUFValue {
  GGUFValueType type = GGUFValueType::U8;
  int64_t i = 0;
  uint64_t u = 0;
  double f = 0;
  std::string s;
  GGUFValueType elementType = GGUFValueType::U8;
  uint64_t count = 0;
  std::vector<uint8_t> raw;
  std::vector<std::string> strings;
  std::vector<GGUFValue> arrays;

  bool isInteger() const;
  /// The value as an integer (any integer type or bool that fits int64).
  std::optional<int64_t> asInt() const;
  /// The value as a double (any integer or float type).
  std::optional<double> asFloat() const;
  /// Element `k` of a numeric array, as an integer or a double.
  std::optional<int64_t> intAt(uint64_t k) const;
  std::optional<double> floatAt(uint64_t k) const;
};

struct GGUFTensor {
  std::string name;
  GGMLType type = GGMLType::F32;
  /// ggml's order: dims[0] is the innermost (contiguous) dimension.
  std::vector<int64_t> dims;
  uint64_t offset = 0; // from the start of the data section
  uint64_t bytes = 0;
  int64_t numElements = 0;
  /// The dimensions outermost first (PyTorch's order).
  std::vector<int64_t> shape() const;
};

class GGUFFile {
public:
  /// Opens and validates `path`; on failure returns null and sets `error`.
  static std::unique_ptr<GGUFFile> open(const std::string &path,
                                        std::string &error);
  /// Validates the bytes of a GGUF file held in memory (copied); `name`
  /// stands for the file in messages.
  static std::unique_ptr<GGUFFile> parse(const void *data, size_t size,
                                         const std::string &name,
                                         std::string &error);
  /// Whether `path` starts with GGUF's magic (readable, at least 4 bytes).
  static bool isGGUF(const std::string &path);
  ~GGUFFile();
  GGUFFile(const GGUFFile &) = delete;
  GGUFFile &operator=(const GGUFFile &) = delete;

  uint32_t version() const { return fileVersion; }
  uint64_t alignment() const { return align; }
  /// Where the data section starts in the file.
  uint64_t dataOffset() const { return dataStart; }
  const std::map<std::string, GGUFValue> &metadata() const { return meta; }
  const GGUFValue *get(const std::string &key) const;
  /// Tensors in the order the file lists them.
  const std::vector<GGUFTensor> &tensors() const { return tensorList; }
  const GGUFTensor *find(const std::string &name) const;
  /// The tensor's bytes (aligned to alignment() in the file; valid while the
  /// file is open).
  const void *data(const GGUFTensor &tensor) const;
  const std::string &path() const { return filePath; }
  /// Whether the file on disk is still the one opened (device, inode, size,
  /// modification time); otherwise sets `error`. Always true for parse().
  bool unchanged(std::string &error) const;

private:
  GGUFFile() = default;
  bool read(std::string &error);

  std::string filePath;
  const uint8_t *base = nullptr;
  size_t size = 0;
  void *mapping = nullptr;       // mmap'd file, or
  std::vector<uint8_t> owned;    // the bytes given to parse()
  FileIdentity identity;
  uint32_t fileVersion = 0;
  uint64_t align = 32, dataStart = 0;
  std::map<std::string, GGUFValue> meta;
  std::vector<GGUFTensor> tensorList;
  std::map<std::string, size_t> tensorIndex;
};

} // namespace xformer::runtime

#endif // XFORMER_RUNTIME_GGUF_H
