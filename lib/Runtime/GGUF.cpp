//===- GGUF.cpp - Validating GGUF reader ----------------------------------===//

#include "xformer/Runtime/GGUF.h"
#include "xformer/Support/GGMLBlocks.h"

#include <algorithm>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace xformer::runtime;

namespace {

constexpr uint32_t kMagic = 0x46554747; // "GGUF", little-endian
/// ggml's limits: dimensions per tensor, bytes of a tensor name (without
/// the terminating zero).
constexpr uint32_t kMaxDims = 4;
constexpr uint64_t kMaxName = 63;
/// Arrays of arrays deeper than this are refused (the format allows
/// nesting; no model uses more than one level).
constexpr int kMaxArrayDepth = 8;


/// ggml's other type numbers, named in messages.
const char *otherTypeName(uint32_t type) {
  switch (type) {
  case 4:
  case 5:
    return "Q4_2/Q4_3 (removed from ggml)";
  case 9:
    return "Q8_1 (an activation format, not stored in files)";
  case 16:
    return "IQ2_XXS";
  case 17:
    return "IQ2_XS";
  case 18:
    return "IQ3_XXS";
  case 19:
    return "IQ1_S";
  case 20:
    return "IQ4_NL";
  case 21:
    return "IQ3_S";
  case 22:
    return "IQ2_S";
  case 23:
    return "IQ4_XS";
  case 29:
    return "IQ1_M";
  case 34:
    return "TQ1_0";
  case 35:
    return "TQ2_0";
  case 39:
    return "MXFP4";
  default:
    return nullptr;
  }
}

/// Bytes of one element of a numeric value type (0: not numeric).
uint64_t scalarBytes(GGUFValueType t) {
  switch (t) {
  case GGUFValueType::U8:
  case GGUFValueType::I8:
  case GGUFValueType::Bool:
    return 1;
  case GGUFValueType::U16:
  case GGUFValueType::I16:
    return 2;
  case GGUFValueType::U32:
  case GGUFValueType::I32:
  case GGUFValueType::F32:
    return 4;
  case GGUFValueType::U64:
  case GGUFValueType::I64:
  case GGUFValueType::F64:
    return 8;
  case GGUFValueType::String:
  case GGUFValueType::Array:
    return 0;
  }
  return 0;
}

bool knownValueType(uint32_t t) { return t <= 12; }

/// Reads little-endian values from [base, base + size) at a cursor; every
/// read checks the bytes left.
class Cursor {
public:
  Cursor(const uint8_t *base, size_t size, const std::string &file)
      : base(base), size(size), file(file) {}

  uint64_t at() const { return pos; }
  uint64_t left() const { return size - pos; }

  bool fail(const std::string &what) {
    if (error.empty())
      error = file + ": at byte " + std::to_string(pos) + ": " + what;
    return false;
  }
  bool bytes(void *dst, uint64_t n, const char *what) {
    if (n > left())
      return fail(std::string("the file ends inside ") + what + " (" +
                  std::to_string(n) + " bytes needed, " +
                  std::to_string(left()) + " left)");
    if (n) // an empty array has no buffer to copy into
      std::memcpy(dst, base + pos, n);
    pos += n;
    return true;
  }
  template <typename T> bool scalar(T &v, const char *what) {
    return bytes(&v, sizeof(T), what);
  }
  bool string(std::string &s, const char *what) {
    uint64_t n;
    if (!scalar(n, what))
      return false;
    if (n > left())
      return fail(std::string(what) + " claims " + std::to_string(n) +
                  " bytes; " + std::to_string(left()) + " are left");
    s.assign(reinterpret_cast<const char *>(base + pos), n);
    pos += n;
    return true;
  }

  std::string error;

private:
  const uint8_t *base;
  uint64_t size, pos = 0;
  const std::string &file;
};

bool readValue(Cursor &c, GGUFValueType type, GGUFValue &v,
               const std::string &key, int depth);

bool readArray(Cursor &c, GGUFValue &v, const std::string &key, int depth) {
  if (depth > kMaxArrayDepth)
    return c.fail("key '" + key + "': arrays nested more than " +
                  std::to_string(kMaxArrayDepth) + " deep");
  uint32_t et;
  if (!c.scalar(et, "an array's element type"))
    return false;
  if (!knownValueType(et))
    return c.fail("key '" + key + "': unknown array element type " +
                  std::to_string(et));
  v.elementType = GGUFValueType(et);
  if (!c.scalar(v.count, "an array's length"))
    return false;
  // The least an element takes: its bytes, a string's length, an array's
  // element type and length.
  const uint64_t least = v.elementType == GGUFValueType::String ? 8
                         : v.elementType == GGUFValueType::Array
                             ? 12
                             : scalarBytes(v.elementType);
  if (v.count > c.left() / least)
    return c.fail("key '" + key + "': an array of " + std::to_string(v.count) +
                  " " + ggufValueTypeName(v.elementType) +
                  " elements does not fit in the " + std::to_string(c.left()) +
                  " bytes left");
  if (const uint64_t eb = scalarBytes(v.elementType)) {
    v.raw.resize(v.count * eb);
    if (!c.bytes(v.raw.data(), v.raw.size(), "an array"))
      return false;
    if (v.elementType == GGUFValueType::Bool)
      for (uint64_t k = 0; k < v.count; ++k)
        if (v.raw[k] > 1)
          return c.fail("key '" + key + "': element " + std::to_string(k) +
                        " of a bool array is " + std::to_string(v.raw[k]));
    return true;
  }
  if (v.elementType == GGUFValueType::String) {
    v.strings.resize(v.count);
    for (std::string &s : v.strings)
      if (!c.string(s, "a string of an array"))
        return false;
    return true;
  }
  v.arrays.resize(v.count);
  for (GGUFValue &e : v.arrays)
    if (!readValue(c, GGUFValueType::Array, e, key, depth + 1))
      return false;
  return true;
}

bool readValue(Cursor &c, GGUFValueType type, GGUFValue &v,
               const std::string &key, int depth) {
  v.type = type;
  switch (type) {
  case GGUFValueType::U8: {
    uint8_t x;
    if (!c.scalar(x, "a value"))
      return false;
    v.u = x;
    return true;
  }
  case GGUFValueType::I8: {
    int8_t x;
    if (!c.scalar(x, "a value"))
      return false;
    v.i = x;
    return true;
  }
  case GGUFValueType::U16: {
    uint16_t x;
    if (!c.scalar(x, "a value"))
      return false;
    v.u = x;
    return true;
  }
  case GGUFValueType::I16: {
    int16_t x;
    if (!c.scalar(x, "a value"))
      return false;
    v.i = x;
    return true;
  }
  case GGUFValueType::U32: {
    uint32_t x;
    if (!c.scalar(x, "a value"))
      return false;
    v.u = x;
    return true;
  }
  case GGUFValueType::I32: {
    int32_t x;
    if (!c.scalar(x, "a value"))
      return false;
    v.i = x;
    return true;
  }
  case GGUFValueType::U64:
    return c.scalar(v.u, "a value");
  case GGUFValueType::I64:
    return c.scalar(v.i, "a value");
  case GGUFValueType::F32: {
    float x;
    if (!c.scalar(x, "a value"))
      return false;
    v.f = x;
    return true;
  }
  case GGUFValueType::F64:
    return c.scalar(v.f, "a value");
  case GGUFValueType::Bool: {
    uint8_t x;
    if (!c.scalar(x, "a value"))
      return false;
    if (x > 1)
      return c.fail("key '" + key + "': a bool of " + std::to_string(x));
    v.i = x;
    return true;
  }
  case GGUFValueType::String:
    return c.string(v.s, "a string value");
  case GGUFValueType::Array:
    return readArray(c, v, key, depth);
  }
  return c.fail("key '" + key + "': unknown value type");
}

std::string dimsText(const std::vector<int64_t> &dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i)
    s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

} // namespace

std::optional<GGMLTypeTraits> xformer::runtime::ggmlTypeTraits(uint32_t type) {
  const GGMLBlockLayout *l = ggmlBlockLayout(type);
  if (!l)
    return std::nullopt;
  return GGMLTypeTraits{GGMLType(l->type), l->name, l->blockElements,
                        l->blockBytes};
}

std::string xformer::runtime::ggmlTypeName(uint32_t type) {
  if (auto t = ggmlTypeTraits(type))
    return t->name;
  if (const char *n = otherTypeName(type))
    return n;
  return "type " + std::to_string(type);
}

const char *xformer::runtime::ggufValueTypeName(GGUFValueType type) {
  static const char *names[] = {"u8",  "i8",     "u16",   "i16", "u32",
                                "i32", "f32",    "bool",  "string",
                                "array", "u64",  "i64",   "f64"};
  const uint32_t t = uint32_t(type);
  return t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

bool GGUFValue::isInteger() const {
  switch (type) {
  case GGUFValueType::U8:
  case GGUFValueType::I8:
  case GGUFValueType::U16:
  case GGUFValueType::I16:
  case GGUFValueType::U32:
  case GGUFValueType::I32:
  case GGUFValueType::U64:
  case GGUFValueType::I64:
  case GGUFValueType::Bool:
    return true;
  default:
    return false;
  }
}

std::optional<int64_t> GGUFValue::asInt() const {
  switch (type) {
  case GGUFValueType::U8:
  case GGUFValueType::U16:
  case GGUFValueType::U32:
  case GGUFValueType::U64:
    if (u > uint64_t(std::numeric_limits<int64_t>::max()))
      return std::nullopt;
    return int64_t(u);
  case GGUFValueType::I8:
  case GGUFValueType::I16:
  case GGUFValueType::I32:
  case GGUFValueType::I64:
  case GGUFValueType::Bool:
    return i;
  default:
    return std::nullopt;
  }
}

std::optional<double> GGUFValue::asFloat() const {
  if (type == GGUFValueType::F32 || type == GGUFValueType::F64)
    return f;
  if (type == GGUFValueType::U8 || type == GGUFValueType::U16 ||
      type == GGUFValueType::U32 || type == GGUFValueType::U64)
    return double(u);
  if (auto v = asInt())
    return double(*v);
  return std::nullopt;
}

namespace {
template <typename T> T elementOf(const std::vector<uint8_t> &raw, uint64_t k) {
  T v;
  std::memcpy(&v, raw.data() + k * sizeof(T), sizeof(T));
  return v;
}
} // namespace

std::optional<int64_t> GGUFValue::intAt(uint64_t k) const {
  if (type != GGUFValueType::Array || k >= count)
    return std::nullopt;
  switch (elementType) {
  case GGUFValueType::U8:
  case GGUFValueType::Bool:
    return elementOf<uint8_t>(raw, k);
  case GGUFValueType::I8:
    return elementOf<int8_t>(raw, k);
  case GGUFValueType::U16:
    return elementOf<uint16_t>(raw, k);
  case GGUFValueType::I16:
    return elementOf<int16_t>(raw, k);
  case GGUFValueType::U32:
    return elementOf<uint32_t>(raw, k);
  case GGUFValueType::I32:
    return elementOf<int32_t>(raw, k);
  case GGUFValueType::I64:
    return elementOf<int64_t>(raw, k);
  case GGUFValueType::U64: {
    const uint64_t v = elementOf<uint64_t>(raw, k);
    if (v > uint64_t(std::numeric_limits<int64_t>::max()))
      return std::nullopt;
    return int64_t(v);
  }
  default:
    return std::nullopt;
  }
}

std::optional<double> GGUFValue::floatAt(uint64_t k) const {
  if (type != GGUFValueType::Array || k >= count)
    return std::nullopt;
  if (elementType == GGUFValueType::F32)
    return elementOf<float>(raw, k);
  if (elementType == GGUFValueType::F64)
    return elementOf<double>(raw, k);
  if (auto v = intAt(k))
    return double(*v);
  return std::nullopt;
}

std::vector<int64_t> GGUFTensor::shape() const {
  return std::vector<int64_t>(dims.rbegin(), dims.rend());
}

std::unique_ptr<GGUFFile> GGUFFile::open(const std::string &path,
                                         std::string &error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = path + ": cannot open: " + std::strerror(errno);
    return nullptr;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    error = path + ": not a regular file";
    ::close(fd);
    return nullptr;
  }
  std::unique_ptr<GGUFFile> f(new GGUFFile());
  f->filePath = path;
  f->size = size_t(st.st_size);
  f->identity = FileIdentity::of(st);
  if (f->size > 0) {
    void *m = ::mmap(nullptr, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
      error = path + ": cannot map: " + std::strerror(errno);
      ::close(fd);
      return nullptr;
    }
    f->mapping = m;
    f->base = static_cast<const uint8_t *>(m);
  }
  ::close(fd);
  if (!f->read(error))
    return nullptr;
  return f;
}

bool GGUFFile::unchanged(std::string &error) const {
  return !mapping || identity.matches(filePath, error);
}

std::unique_ptr<GGUFFile> GGUFFile::parse(const void *data, size_t size,
                                          const std::string &name,
                                          std::string &error) {
  std::unique_ptr<GGUFFile> f(new GGUFFile());
  f->filePath = name;
  const uint8_t *bytes = static_cast<const uint8_t *>(data);
  f->owned.assign(bytes, bytes + size);
  f->base = f->owned.data();
  f->size = size;
  if (!f->read(error))
    return nullptr;
  return f;
}

bool GGUFFile::isGGUF(const std::string &path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  uint32_t magic = 0;
  const bool yes = ::read(fd, &magic, 4) == 4 && magic == kMagic;
  ::close(fd);
  return yes;
}

GGUFFile::~GGUFFile() {
  if (mapping)
    ::munmap(mapping, size);
}

bool GGUFFile::read(std::string &error) {
  Cursor c(base, size, filePath);
  auto failed = [&] {
    error = c.error;
    return false;
  };
  uint32_t magic;
  if (!c.scalar(magic, "the magic"))
    return failed();
  if (magic != kMagic) {
    c.fail("not a GGUF file (the first four bytes are not 'GGUF')");
    return failed();
  }
  if (!c.scalar(fileVersion, "the version"))
    return failed();
  if (fileVersion == 1) {
    c.fail("GGUF version 1 (32-bit counts) is not supported: convert the "
           "model again with a current llama.cpp");
    return failed();
  }
  if (fileVersion != 2 && fileVersion != 3) {
    const uint32_t swapped = __builtin_bswap32(fileVersion);
    c.fail(swapped >= 1 && swapped <= 3
               ? "a big-endian GGUF file (version " + std::to_string(swapped) +
                     " byte-swapped): only little-endian files are read"
               : "GGUF version " + std::to_string(fileVersion) +
                     " is not supported (versions 2 and 3 are)");
    return failed();
  }
  uint64_t tensorCount, kvCount;
  if (!c.scalar(tensorCount, "the tensor count") ||
      !c.scalar(kvCount, "the metadata count"))
    return failed();
  // The least a key/value pair and a tensor description take.
  if (kvCount > c.left() / 13) {
    c.fail(std::to_string(kvCount) + " metadata entries cannot fit in the " +
           std::to_string(c.left()) + " bytes left");
    return failed();
  }
  if (tensorCount > c.left() / 24) {
    c.fail(std::to_string(tensorCount) + " tensors cannot fit in the " +
           std::to_string(c.left()) + " bytes left");
    return failed();
  }

  for (uint64_t k = 0; k < kvCount; ++k) {
    std::string key;
    if (!c.string(key, "a metadata key"))
      return failed();
    if (key.empty()) {
      c.fail("metadata entry " + std::to_string(k) + " has an empty key");
      return failed();
    }
    if (meta.count(key)) {
      c.fail("metadata key '" + key + "' appears twice");
      return failed();
    }
    uint32_t type;
    if (!c.scalar(type, "a value type"))
      return failed();
    if (!knownValueType(type)) {
      c.fail("key '" + key + "': unknown value type " + std::to_string(type));
      return failed();
    }
    GGUFValue v;
    if (!readValue(c, GGUFValueType(type), v, key, 1))
      return failed();
    meta.emplace(std::move(key), std::move(v));
  }

  if (const GGUFValue *a = get("general.alignment")) {
    if (a->type != GGUFValueType::U32) {
      error = filePath + ": general.alignment is a " +
              ggufValueTypeName(a->type) + ", not a u32";
      return false;
    }
    if (a->u == 0 || (a->u & (a->u - 1)) != 0) {
      error = filePath + ": general.alignment " + std::to_string(a->u) +
              " is not a power of two";
      return false;
    }
    align = a->u;
  }

  tensorList.resize(tensorCount);
  for (uint64_t t = 0; t < tensorCount; ++t) {
    GGUFTensor &ti = tensorList[t];
    if (!c.string(ti.name, "a tensor name"))
      return failed();
    if (ti.name.empty() || ti.name.size() > kMaxName) {
      c.fail("tensor " + std::to_string(t) + " has a name of " +
             std::to_string(ti.name.size()) + " bytes (1 to " +
             std::to_string(kMaxName) + " allowed)");
      return failed();
    }
    if (!tensorIndex.emplace(ti.name, t).second) {
      c.fail("tensor '" + ti.name + "' appears twice");
      return failed();
    }
    uint32_t nDims;
    if (!c.scalar(nDims, "a tensor's dimension count"))
      return failed();
    if (nDims == 0 || nDims > kMaxDims) {
      c.fail("tensor '" + ti.name + "' has " + std::to_string(nDims) +
             " dimensions (1 to " + std::to_string(kMaxDims) + " allowed)");
      return failed();
    }
    ti.dims.resize(nDims);
    for (int64_t &d : ti.dims) {
      uint64_t raw;
      if (!c.scalar(raw, "a tensor dimension"))
        return failed();
      if (raw > uint64_t(std::numeric_limits<int64_t>::max())) {
        c.fail("tensor '" + ti.name + "' has a dimension of " +
               std::to_string(raw));
        return failed();
      }
      d = int64_t(raw);
    }
    uint32_t type;
    if (!c.scalar(type, "a tensor type") ||
        !c.scalar(ti.offset, "a tensor offset"))
      return failed();
    const std::optional<GGMLTypeTraits> traits = ggmlTypeTraits(type);
    if (!traits) {
      error = filePath + ": tensor '" + ti.name + "' has type " +
              ggmlTypeName(type) + " (" + std::to_string(type) +
              "), which xformer does not read";
      return false;
    }
    ti.type = traits->type;
    if (ti.dims[0] % traits->blockElements != 0) {
      error = filePath + ": tensor '" + ti.name + "' of type " + traits->name +
              " has rows of " + std::to_string(ti.dims[0]) +
              " elements, not a multiple of its block of " +
              std::to_string(traits->blockElements);
      return false;
    }
    // Elements and bytes, refused past 2^62 rather than wrapped.
    unsigned __int128 elements = 1, bytes =
        (unsigned __int128)(ti.dims[0] / traits->blockElements) *
        traits->blockBytes;
    for (size_t d = 0; d < ti.dims.size(); ++d) {
      elements *= uint64_t(ti.dims[d]);
      if (d)
        bytes *= uint64_t(ti.dims[d]);
      if (elements > (unsigned __int128)1 << 62 ||
          bytes > (unsigned __int128)1 << 62) {
        error = filePath + ": tensor '" + ti.name + "' of shape " +
                dimsText(ti.dims) + " is too large";
        return false;
      }
    }
    ti.numElements = int64_t(elements);
    ti.bytes = uint64_t(bytes);
  }

  // The data section starts at the next multiple of the alignment.
  const uint64_t headerEnd = c.at();
  dataStart = (headerEnd + align - 1) / align * align;
  if (tensorCount && dataStart > size) {
    error = filePath + ": the file ends (" + std::to_string(size) +
            " bytes) before its data section at byte " +
            std::to_string(dataStart);
    return false;
  }
  const uint64_t dataSize = tensorCount ? size - dataStart : 0;
  std::vector<const GGUFTensor *> byOffset;
  for (const GGUFTensor &ti : tensorList) {
    if (ti.offset % align != 0) {
      error = filePath + ": tensor '" + ti.name + "' at data offset " +
              std::to_string(ti.offset) + " is not aligned to " +
              std::to_string(align) + " bytes";
      return false;
    }
    if (ti.offset > dataSize || ti.bytes > dataSize - ti.offset) {
      error = filePath + ": tensor '" + ti.name + "' of " +
              std::to_string(ti.bytes) + " bytes at data offset " +
              std::to_string(ti.offset) + " ends past the file (the data "
              "section has " + std::to_string(dataSize) +
              " bytes; is the file truncated?)";
      return false;
    }
    byOffset.push_back(&ti);
  }
  std::sort(byOffset.begin(), byOffset.end(),
            [](const GGUFTensor *a, const GGUFTensor *b) {
              return a->offset < b->offset;
            });
  for (size_t k = 1; k < byOffset.size(); ++k) {
    const GGUFTensor &prev = *byOffset[k - 1], &cur = *byOffset[k];
    if (cur.offset < prev.offset + prev.bytes) {
      error = filePath + ": tensors '" + prev.name + "' (bytes " +
              std::to_string(prev.offset) + " to " +
              std::to_string(prev.offset + prev.bytes) + ") and '" + cur.name +
              "' (from byte " + std::to_string(cur.offset) +
              ") overlap in the data section";
      return false;
    }
  }
  return true;
}

const GGUFValue *GGUFFile::get(const std::string &key) const {
  auto it = meta.find(key);
  return it == meta.end() ? nullptr : &it->second;
}

const GGUFTensor *GGUFFile::find(const std::string &name) const {
  auto it = tensorIndex.find(name);
  return it == tensorIndex.end() ? nullptr : &tensorList[it->second];
}

const void *GGUFFile::data(const GGUFTensor &tensor) const {
  return base + dataStart + tensor.offset;
}
