//===- GGUFModule.cpp - Python bindings of the GGUF reader (nanobind) ----===//
//
// xformer._gguf: the C++ GGUF reader (xformer/Runtime/GGUF.h) and ggml's
// block formats (xformer/Runtime/GGMLFormats.h) for the importer and tests.
// A file that fails validation raises ValueError with the reader's message.
//
//===----------------------------------------------------------------------===//

#include "xformer/Runtime/GGMLFormats.h"
#include "xformer/Runtime/GGUF.h"

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>

#include <cstring>
#include <string>

namespace nb = nanobind;
using namespace nb::literals;
using namespace xformer::runtime;

namespace {

/// A GGUF string as Python text; bytes that are not UTF-8 become lone
/// surrogates (surrogateescape), so nothing is lost.
nb::object text(const std::string &s) {
  PyObject *o = PyUnicode_DecodeUTF8(s.data(), Py_ssize_t(s.size()),
                                     "surrogateescape");
  if (!o)
    throw nb::python_error();
  return nb::steal(o);
}

template <typename T>
nb::object numbers(const GGUFValue &v) {
  T *data = new T[v.count ? v.count : 1];
  if (v.count)
    std::memcpy(data, v.raw.data(), v.count * sizeof(T));
  nb::capsule owner(data, [](void *p) noexcept { delete[] static_cast<T *>(p); });
  return nb::cast(nb::ndarray<nb::numpy, T, nb::ndim<1>>(
      data, {size_t(v.count)}, owner));
}

nb::object value(const GGUFValue &v) {
  switch (v.type) {
  case GGUFValueType::U8:
  case GGUFValueType::U16:
  case GGUFValueType::U32:
  case GGUFValueType::U64:
    return nb::int_(v.u);
  case GGUFValueType::I8:
  case GGUFValueType::I16:
  case GGUFValueType::I32:
  case GGUFValueType::I64:
    return nb::int_(v.i);
  case GGUFValueType::Bool:
    return nb::bool_(v.i != 0);
  case GGUFValueType::F32:
  case GGUFValueType::F64:
    return nb::float_(v.f);
  case GGUFValueType::String:
    return text(v.s);
  case GGUFValueType::Array:
    break;
  }
  switch (v.elementType) {
  case GGUFValueType::U8:
    return numbers<uint8_t>(v);
  case GGUFValueType::I8:
    return numbers<int8_t>(v);
  case GGUFValueType::U16:
    return numbers<uint16_t>(v);
  case GGUFValueType::I16:
    return numbers<int16_t>(v);
  case GGUFValueType::U32:
    return numbers<uint32_t>(v);
  case GGUFValueType::I32:
    return numbers<int32_t>(v);
  case GGUFValueType::U64:
    return numbers<uint64_t>(v);
  case GGUFValueType::I64:
    return numbers<int64_t>(v);
  case GGUFValueType::F32:
    return numbers<float>(v);
  case GGUFValueType::F64:
    return numbers<double>(v);
  case GGUFValueType::Bool: {
    nb::list l;
    for (uint8_t b : v.raw)
      l.append(nb::bool_(b != 0));
    return l;
  }
  case GGUFValueType::String: {
    nb::list l;
    for (const std::string &s : v.strings)
      l.append(text(s));
    return l;
  }
  case GGUFValueType::Array: {
    nb::list l;
    for (const GGUFValue &e : v.arrays)
      l.append(value(e));
    return l;
  }
  }
  return nb::none();
}

nb::dict readGGUF(const std::string &path) {
  std::string error;
  std::unique_ptr<GGUFFile> f = GGUFFile::open(path, error);
  if (!f)
    throw nb::value_error(error.c_str());
  nb::dict meta;
  for (const auto &[key, v] : f->metadata())
    meta[text(key)] = value(v);
  nb::list tensors;
  for (const GGUFTensor &t : f->tensors()) {
    nb::dict d;
    d["name"] = text(t.name);
    d["type"] = ggmlTypeName(uint32_t(t.type));
    nb::list shape;
    for (int64_t s : t.shape())
      shape.append(s);
    d["shape"] = nb::tuple(shape);
    d["offset"] = f->dataOffset() + t.offset; // from the start of the file
    d["bytes"] = t.bytes;
    tensors.append(d);
  }
  nb::dict out;
  out["version"] = f->version();
  out["alignment"] = f->alignment();
  out["data_offset"] = f->dataOffset();
  out["metadata"] = meta;
  out["tensors"] = tensors;
  return out;
}

GGMLType typeNamed(const std::string &name) {
  for (uint32_t t = 0; t < 64; ++t)
    if (auto traits = ggmlTypeTraits(t); traits && name == traits->name)
      return traits->type;
  throw nb::value_error(("unknown ggml type '" + name + "'").c_str());
}

using Bytes = nb::ndarray<const uint8_t, nb::ndim<1>, nb::c_contig,
                          nb::device::cpu>;
using Floats = nb::ndarray<const float, nb::ndim<1>, nb::c_contig,
                           nb::device::cpu>;

nb::object dequantize(const std::string &type, Bytes data) {
  const GGMLType t = typeNamed(type);
  const GGMLTypeTraits traits = *ggmlTypeTraits(uint32_t(t));
  if (data.size() % size_t(traits.blockBytes))
    throw nb::value_error(("dequantize: " + std::to_string(data.size()) +
                           " bytes are not whole " + traits.name + " blocks")
                              .c_str());
  const size_t n =
      data.size() / size_t(traits.blockBytes) * size_t(traits.blockElements);
  float *out = new float[n ? n : 1];
  nb::capsule owner(out, [](void *p) noexcept { delete[] static_cast<float *>(p); });
  dequantizeRow(t, data.data(), out, int64_t(n));
  return nb::cast(nb::ndarray<nb::numpy, float, nb::ndim<1>>(out, {n}, owner));
}

nb::object quantize(const std::string &type, Floats x) {
  const GGMLType t = typeNamed(type);
  const GGMLTypeTraits traits = *ggmlTypeTraits(uint32_t(t));
  if (!canQuantize(t))
    throw nb::value_error(("quantize: xformer does not write " +
                           std::string(traits.name)).c_str());
  if (x.size() % size_t(traits.blockElements))
    throw nb::value_error(("quantize: " + std::to_string(x.size()) +
                           " values are not whole " + traits.name + " blocks")
                              .c_str());
  const size_t bytes =
      x.size() / size_t(traits.blockElements) * size_t(traits.blockBytes);
  uint8_t *out = new uint8_t[bytes ? bytes : 1];
  nb::capsule owner(out, [](void *p) noexcept { delete[] static_cast<uint8_t *>(p); });
  quantizeRow(t, x.data(), out, int64_t(x.size()));
  return nb::cast(
      nb::ndarray<nb::numpy, uint8_t, nb::ndim<1>>(out, {bytes}, owner));
}

} // namespace

NB_MODULE(_gguf, m) {
  m.doc() = "xformer: the GGUF reader and ggml's block formats";
  m.def("read_gguf", &readGGUF, "path"_a,
        "Reads and validates a GGUF file: a dict with version, alignment, "
        "data_offset, metadata (numeric arrays as numpy arrays) and tensors "
        "(name, ggml type name, shape outermost first, offset from the start "
        "of the file, bytes). Raises ValueError naming the defect.");
  m.def("dequantize", &dequantize, "type"_a, "data"_a.noconvert(),
        "Decodes whole blocks of ggml type `type` (a name: 'Q4_K') to f32 as "
        "ggml's reference does.");
  m.def("quantize", &quantize, "type"_a, "values"_a.noconvert(),
        "Encodes f32 values as ggml type `type` (F32, F16, BF16, Q8_0, Q4_0, "
        "Q4_1) with ggml's round-to-nearest reference quantizers.");
}
