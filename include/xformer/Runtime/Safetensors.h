//===- Safetensors.h - Validating safetensors reader -------------*- C++
//-*-===//
//
// Opens a .safetensors file (memory-mapped), checks its header completely
// (JSON, dtypes, shapes, offsets that cover the data exactly once, sizes that
// match shape x dtype) and gives typed views of its tensors. Every defect is
// an error naming the file, the tensor and the numbers; nothing is read
// outside the file. SafetensorsCheckpoint adds sharded checkpoints (an
// index mapping tensor names to files).
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_RUNTIME_SAFETENSORS_H
#define XFORMER_RUNTIME_SAFETENSORS_H

#include "xformer/Runtime/FileIdentity.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace xformer::runtime {

enum class DType {
  Bool,
  U8,
  I8,
  I16,
  I32,
  I64,
  F16,
  BF16,
  F32,
  F64,
  F8E4M3,
  F8E5M2
};

/// Bytes per element.
int64_t dtypeSize(DType dtype);
/// The safetensors spelling ("F32", "BF16", ...).
const char *dtypeName(DType dtype);
std::optional<DType> parseDType(const std::string &name);

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0; // byte offsets into the data section
  int64_t numElements() const;
};

class SafetensorsFile {
public:
  /// Opens and validates `path`; on failure returns null and sets `error`.
  static std::unique_ptr<SafetensorsFile> open(const std::string &path,
                                               std::string &error);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile &) = delete;
  SafetensorsFile &operator=(const SafetensorsFile &) = delete;

  const std::vector<TensorInfo> &tensors() const { return tensorList; }
  const TensorInfo *find(const std::string &name) const;
  /// The tensor's bytes (inside the mapping; valid while the file is open).
  /// The format does not align tensors: check `isAligned` before reading
  /// them as a wider type, or `copy` them out.
  const void *data(const TensorInfo &tensor) const;
  bool isAligned(const TensorInfo &tensor, size_t alignment) const;
  /// Copies the tensor's `end - begin` bytes to `dst`.
  void copy(const TensorInfo &tensor, void *dst) const;
  const std::map<std::string, std::string> &metadata() const { return meta; }
  /// Whether the file on disk is still the one mapped (same inode, size
  /// and modification time); sets `error` naming what changed otherwise.
  bool unchanged(std::string &error) const;

  /// Checks that `name` exists with `dtype` and `shape`; sets `error`
  /// naming what differs otherwise.
  bool expect(const std::string &name, DType dtype,
              const std::vector<int64_t> &shape, std::string &error) const;

private:
  SafetensorsFile() = default;
  std::string path;
  const uint8_t *mapping = nullptr;
  uint64_t mappingSize = 0;
  uint64_t dataStart = 0;
  FileIdentity identity;
  std::vector<TensorInfo> tensorList;
  std::map<std::string, size_t> index;
  std::map<std::string, std::string> meta;
};

/// A checkpoint: one .safetensors file, or the shards a
/// `model.safetensors.index.json` maps tensor names to (as large models are
/// published). Every shard is opened and validated; each mapped tensor must
/// be in its shard, and a tensor in no shard's map is not part of the
/// checkpoint.
class SafetensorsCheckpoint {
public:
  /// `path` names a .safetensors file or an index (a path ending in
  /// ".json"); on failure returns null and sets `error`.
  static std::unique_ptr<SafetensorsCheckpoint> open(const std::string &path,
                                                     std::string &error);

  /// The tensor and the file holding it; null if the checkpoint lacks it.
  const TensorInfo *find(const std::string &name,
                         const SafetensorsFile **file) const;
  /// Every tensor name of the checkpoint.
  std::vector<std::string> names() const;
  /// SafetensorsFile::unchanged for every shard.
  bool unchanged(std::string &error) const;

private:
  SafetensorsCheckpoint() = default;
  std::vector<std::unique_ptr<SafetensorsFile>> shards;
  std::map<std::string, size_t> shardOf; // name -> index into shards
};

} // namespace xformer::runtime

#endif // XFORMER_RUNTIME_SAFETENSORS_H
