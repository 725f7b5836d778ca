//===- Safetensors.cpp - Validating safetensors reader --------------------===//

#include "xformer/Runtime/Safetensors.h"
#include "xformer/Support/Nesting.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace xformer::runtime;

namespace {
struct DTypeEntry {
  DType dtype;
  const char *name;
  int64_t size;
};
constexpr DTypeEntry kDTypes[] = {
    {DType::Bool, "BOOL", 1},      {DType::U8, "U8", 1},
    {DType::I8, "I8", 1},          {DType::I16, "I16", 2},
    {DType::I32, "I32", 4},        {DType::I64, "I64", 8},
    {DType::F16, "F16", 2},        {DType::BF16, "BF16", 2},
    {DType::F32, "F32", 4},        {DType::F64, "F64", 8},
    {DType::F8E4M3, "F8_E4M3", 1}, {DType::F8E5M2, "F8_E5M2", 1}};

/// Largest header accepted (the reference implementation's limit).
constexpr uint64_t kMaxHeader = 100u * 1024 * 1024;

std::string shapeText(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}
} // namespace

int64_t xformer::runtime::dtypeSize(DType dtype) {
  for (const DTypeEntry &e : kDTypes)
    if (e.dtype == dtype)
      return e.size;
  return 0;
}

const char *xformer::runtime::dtypeName(DType dtype) {
  for (const DTypeEntry &e : kDTypes)
    if (e.dtype == dtype)
      return e.name;
  return "?";
}

std::optional<DType> xformer::runtime::parseDType(const std::string &name) {
  for (const DTypeEntry &e : kDTypes)
    if (name == e.name)
      return e.dtype;
  return std::nullopt;
}

int64_t TensorInfo::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

SafetensorsFile::~SafetensorsFile() {
  if (mapping)
    munmap(const_cast<uint8_t *>(mapping), mappingSize);
}

std::unique_ptr<SafetensorsFile> SafetensorsFile::open(const std::string &path,
                                                       std::string &error) {
  auto fail = [&](const std::string &msg) -> std::unique_ptr<SafetensorsFile> {
    error = path + ": " + msg;
    return nullptr;
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fail("cannot open the weights file");
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail("not a regular file");
  }
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size < 8) {
    ::close(fd);
    return fail("truncated: " + std::to_string(size) +
                " bytes, less than the 8-byte header length");
  }
  void *map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED)
    return fail("cannot map the file");
  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->path = path;
  file->mapping = static_cast<const uint8_t *>(map);
  file->mappingSize = size;
  file->identity = FileIdentity::of(st);

  uint64_t headerLen = 0;
  for (int i = 7; i >= 0; --i)
    headerLen = (headerLen << 8) | file->mapping[i];
  if (headerLen > kMaxHeader)
    return fail("header of " + std::to_string(headerLen) +
                " bytes exceeds the 100 MiB limit");
  if (headerLen > size - 8)
    return fail("truncated: the header claims " + std::to_string(headerLen) +
                " bytes but the file has " + std::to_string(size - 8) +
                " after the length");
  file->dataStart = 8 + headerLen;
  uint64_t dataSize = size - file->dataStart;

  mlir::xformer::NestingError deep;
  if (mlir::xformer::tooDeep(std::string_view(reinterpret_cast<const char *>(file->mapping) +
                                   8,
                               headerLen),
              /*mlir=*/false, deep))
    return fail("header " + deep.message());
  nlohmann::json header = nlohmann::json::parse(
      file->mapping + 8, file->mapping + 8 + headerLen, nullptr,
      /*allow_exceptions=*/false);
  if (header.is_discarded() || !header.is_object())
    return fail("the header is not a JSON object");

  for (auto &[name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object())
        return fail("__metadata__ is not an object");
      for (auto &[k, v] : entry.items()) {
        if (!v.is_string())
          return fail("__metadata__ value of '" + k + "' is not a string");
        file->meta[k] = v.get<std::string>();
      }
      continue;
    }
    auto bad = [&](const std::string &why) {
      return fail("tensor '" + name + "': " + why);
    };
    if (!entry.is_object())
      return bad("entry is not an object");
    auto dt = entry.find("dtype");
    auto sh = entry.find("shape");
    auto off = entry.find("data_offsets");
    if (dt == entry.end() || !dt->is_string())
      return bad("missing dtype");
    std::optional<DType> dtype = parseDType(dt->get<std::string>());
    if (!dtype)
      return bad("unknown dtype '" + dt->get<std::string>() + "'");
    if (sh == entry.end() || !sh->is_array())
      return bad("missing shape");
    TensorInfo t;
    t.name = name;
    t.dtype = *dtype;
    uint64_t elements = 1;
    for (auto &d : *sh) {
      if (!d.is_number_unsigned())
        return bad("shape has a dimension that is not a non-negative integer");
      uint64_t v = d.get<uint64_t>();
      if (v > (uint64_t(1) << 48) || (v && elements > UINT64_MAX / v))
        return bad("shape is too large");
      elements *= v;
      t.shape.push_back(static_cast<int64_t>(v));
    }
    if (off == entry.end() || !off->is_array() || off->size() != 2 ||
        !(*off)[0].is_number_unsigned() || !(*off)[1].is_number_unsigned())
      return bad("data_offsets is not [begin, end]");
    t.begin = (*off)[0].get<uint64_t>();
    t.end = (*off)[1].get<uint64_t>();
    if (t.begin > t.end || t.end > dataSize)
      return bad("data_offsets [" + std::to_string(t.begin) + ", " +
                 std::to_string(t.end) + ") fall outside the " +
                 std::to_string(dataSize) + " data bytes");
    uint64_t bytes = elements * static_cast<uint64_t>(dtypeSize(*dtype));
    if (t.end - t.begin != bytes)
      return bad("holds " + std::to_string(t.end - t.begin) + " bytes but " +
                 dtypeName(*dtype) + " " + shapeText(t.shape) + " needs " +
                 std::to_string(bytes));
    file->index[name] = file->tensorList.size();
    file->tensorList.push_back(std::move(t));
  }

  // The tensors cover the data exactly once, without holes or overlaps.
  std::vector<const TensorInfo *> order;
  for (const TensorInfo &t : file->tensorList)
    order.push_back(&t);
  std::sort(
      order.begin(), order.end(), [](const TensorInfo *a, const TensorInfo *b) {
        return a->begin < b->begin || (a->begin == b->begin && a->end < b->end);
      });
  uint64_t cursor = 0;
  for (const TensorInfo *t : order) {
    if (t->begin < cursor)
      return fail("tensor '" + t->name + "' overlaps the tensor before it");
    if (t->begin > cursor)
      return fail("bytes [" + std::to_string(cursor) + ", " +
                  std::to_string(t->begin) + ") before tensor '" + t->name +
                  "' belong to no tensor");
    cursor = t->end;
  }
  if (cursor != dataSize)
    return fail("the last " + std::to_string(dataSize - cursor) +
                " data bytes belong to no tensor");
  return file;
}

const TensorInfo *SafetensorsFile::find(const std::string &name) const {
  auto it = index.find(name);
  return it == index.end() ? nullptr : &tensorList[it->second];
}

const void *SafetensorsFile::data(const TensorInfo &tensor) const {
  return mapping + dataStart + tensor.begin;
}

bool SafetensorsFile::isAligned(const TensorInfo &tensor,
                                size_t alignment) const {
  return reinterpret_cast<uintptr_t>(data(tensor)) % alignment == 0;
}

void SafetensorsFile::copy(const TensorInfo &tensor, void *dst) const {
  std::memcpy(dst, data(tensor), tensor.end - tensor.begin);
}

bool SafetensorsFile::expect(const std::string &name, DType dtype,
                             const std::vector<int64_t> &shape,
                             std::string &error) const {
  const TensorInfo *t = find(name);
  if (!t) {
    error = path + ": no tensor '" + name + "'";
    return false;
  }
  if (t->dtype != dtype || t->shape != shape) {
    error = path + ": tensor '" + name + "' is " + dtypeName(t->dtype) + " " +
            shapeText(t->shape) + ", the model expects " + dtypeName(dtype) +
            " " + shapeText(shape);
    return false;
  }
  return true;
}

std::unique_ptr<SafetensorsCheckpoint>
SafetensorsCheckpoint::open(const std::string &path, std::string &error) {
  std::unique_ptr<SafetensorsCheckpoint> ck(new SafetensorsCheckpoint());
  const bool isIndex =
      path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0;
  if (!isIndex) {
    auto file = SafetensorsFile::open(path, error);
    if (!file)
      return nullptr;
    for (const TensorInfo &t : file->tensors())
      ck->shardOf[t.name] = 0;
    ck->shards.push_back(std::move(file));
    return ck;
  }
  auto fail = [&](const std::string &msg) {
    error = path + ": " + msg;
    return nullptr;
  };
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return fail("cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  mlir::xformer::NestingError deep;
  if (mlir::xformer::tooDeep(text.str(), /*mlir=*/false, deep)) {
    error = path + ":" + deep.message();
    return nullptr;
  }
  nlohmann::json index =
      nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (index.is_discarded() || !index.is_object())
    return fail("the index is not a JSON object");
  auto map = index.find("weight_map");
  if (map == index.end() || !map->is_object() || map->empty())
    return fail("the index has no weight_map object naming shards");
  const size_t slash = path.find_last_of('/');
  const std::string dir =
      slash == std::string::npos ? "" : path.substr(0, slash + 1);
  std::map<std::string, size_t> shardIndex;
  for (auto &[name, file] : map->items()) {
    if (!file.is_string())
      return fail("weight_map entry '" + name + "' is not a file name");
    const std::string shard = file.get<std::string>();
    if (shard.empty() || shard.find('/') != std::string::npos)
      return fail("weight_map entry '" + name + "' names '" + shard +
                  "', not a file beside the index");
    auto it = shardIndex.find(shard);
    if (it == shardIndex.end()) {
      auto opened = SafetensorsFile::open(dir + shard, error);
      if (!opened)
        return nullptr; // the shard's own message, with its path
      it = shardIndex.emplace(shard, ck->shards.size()).first;
      ck->shards.push_back(std::move(opened));
    }
    if (!ck->shards[it->second]->find(name))
      return fail("weight_map puts '" + name + "' in " + shard +
                  ", which has no such tensor");
    ck->shardOf[name] = it->second;
  }
  return ck;
}

const TensorInfo *
SafetensorsCheckpoint::find(const std::string &name,
                            const SafetensorsFile **file) const {
  auto it = shardOf.find(name);
  if (it == shardOf.end())
    return nullptr;
  *file = shards[it->second].get();
  return (*file)->find(name);
}

std::vector<std::string> SafetensorsCheckpoint::names() const {
  std::vector<std::string> out;
  for (const auto &[name, shard] : shardOf)
    out.push_back(name);
  return out;
}

bool SafetensorsFile::unchanged(std::string &error) const {
  return identity.matches(path, error);
}

bool SafetensorsCheckpoint::unchanged(std::string &error) const {
  for (const auto &shard : shards)
    if (!shard->unchanged(error))
      return false;
  return true;
}
