//===- Model.cpp - The C API of compiled xformer models -------------------===//
//
// Loads a library from xformer-compile, binds its weights from a
// safetensors file, owns its scratch and KV arena, and turns the C API's
// flexible calls (fewer sequences than compiled, prompts longer than a
// chunk, sampling) into calls of the compiled functions, whose shapes are
// static.
//
//===----------------------------------------------------------------------===//

#include "xformer/Runtime/GGMLFormats.h"
#include "xformer/Runtime/GGUF.h"
#include "xformer/Runtime/ModelABI.h"
#include "xformer/Runtime/Safetensors.h"
#include "xformer/Runtime/xformer.h"

#include "ModelInternal.h"
#include "PackedWeights.h"
#include "RuntimeError.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <memory>
#include <mutex>
#include <new>
#include <numeric>
#include <random>
#include <string>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <unordered_map>
#include <unordered_set>
#include <vector>

using namespace xformer::runtime;

namespace {

thread_local std::string lastErrorMessage;

struct AlignedFree {
  void operator()(void *p) const { std::free(p); }
};
using Buffer = std::unique_ptr<char, AlignedFree>;

Buffer allocate(int64_t bytes) {
  bytes = std::max<int64_t>(64, (bytes + 63) / 64 * 64);
  return Buffer(static_cast<char *>(std::aligned_alloc(64, bytes)));
}

/// Elements of a descriptor's tensor (checked when the model is opened:
/// every shape's byte count fits in int64_t).
int64_t numElements(const xfm_tensor_desc &t) {
  int64_t n = 1;
  for (int32_t d = 0; d < t.rank; ++d)
    n *= t.shape[d];
  return n;
}

/// a * b, or false when it overflows int64_t.
bool mulChecked(int64_t a, int64_t b, int64_t &out) {
  return !__builtin_mul_overflow(a, b, &out);
}

int64_t dtypeBytes(const xfm_tensor_desc &t) {
  return t.dtype == XFM_BOOL   ? 1
         : t.dtype == XFM_BF16 ? 2
         : t.dtype == XFM_F16  ? 2
         : t.dtype == XFM_I32  ? 4
         : t.dtype == XFM_I64  ? 8
                               : 4;
}

DType toDType(int32_t dtype) {
  switch (dtype) {
  case XFM_I64:
    return DType::I64;
  case XFM_I32:
    return DType::I32;
  case XFM_BOOL:
    return DType::Bool;
  case XFM_BF16:
    return DType::BF16;
  case XFM_F16:
    return DType::F16;
  default:
    return DType::F32;
  }
}

bool is(const xfm_tensor_desc &t, int32_t dtype, int32_t rank) {
  return t.dtype == dtype && t.rank == rank;
}

} // namespace

void xformer::runtime::setLastError(const std::string &message) {
  lastErrorMessage = message;
}
const char *xformer::runtime::lastError() { return lastErrorMessage.c_str(); }

/// Memory on a model's device (xfm_device_ops), freed with it.
struct DeviceBuffer {
  const xfm_device_ops *ops = nullptr;
  void *ptr = nullptr;
  int64_t bytes = 0;
  DeviceBuffer() = default;
  DeviceBuffer(const DeviceBuffer &) = delete;
  DeviceBuffer(DeviceBuffer &&o) noexcept
      : ops(o.ops), ptr(o.ptr), bytes(o.bytes) {
    o.ptr = nullptr;
  }
  DeviceBuffer &operator=(DeviceBuffer &&o) noexcept {
    if (this != &o) {
      reset();
      ops = o.ops;
      ptr = o.ptr;
      bytes = o.bytes;
      o.ptr = nullptr;
    }
    return *this;
  }
  ~DeviceBuffer() { reset(); }
  void reset() {
    if (ptr)
      ops->free(ptr);
    ptr = nullptr;
    bytes = 0;
  }
};

struct xf_model {
  void *handle = nullptr;
  int libraryFd = -1; // the private copy of the library dlopen mapped
  /// Calls on one model run one at a time (recursive: xf_generate calls
  /// xf_reset and xf_prefill).
  std::recursive_mutex callMutex;
  const xfm_model_desc *desc = nullptr;
  std::unique_ptr<SafetensorsCheckpoint> file;
  /// A GGUF file whose tensors some weights point into (XF_OPEN_MMAP).
  std::unique_ptr<GGUFFile> gguf;
  std::vector<const void *> weights;
  std::vector<Buffer> weightCopies;
  /// Weights in ggml blocks packed for decode (packedWeight), by the
  /// address of their blocks.
  std::mutex packMutex;
  std::unordered_map<const void *, std::unique_ptr<cpu::PackedBlocks>> packed;
  Buffer scratch, arena;
  std::vector<int64_t> cacheFill;
  const xfm_function_desc *forward = nullptr, *encode = nullptr,
                          *prefill = nullptr, *decode = nullptr,
                          *verify = nullptr;
  /// Programs over the first `rows` sequences (xformer-derive-generation's
  /// row-counts: @decode_r1, ...) of each of the whole batch's programs.
  struct Variant {
    const xfm_function_desc *full, *fn;
    int64_t rows;
  };
  std::vector<Variant> variants;
  /// Whether calls run the variant over the rows in use (false while an
  /// engine created with sized_calls = 0 drives the model).
  bool sizedCalls = true;
  int64_t lastRows = 0; // the rows of the last program run
  xf_info info{};
  int64_t batch = 0;                  // compiled sequences per call
  std::vector<int64_t> position;      // cached positions per sequence
  std::vector<int64_t> lastToken;     // the token at position - 1
  std::vector<int64_t> sourceLengths; // encoder-decoder
  bool sourceEncoded = false;
  /// Per row: whether the running call may write its caches (the frame's
  /// `active`).
  std::vector<uint8_t> active;
  /// Rows whose sliding-window cache a failed call overwrote in part: they
  /// refuse calls until xf_reset.
  std::vector<uint8_t> stale;
  bool hasRing = false;
  /// XF_OPEN_MMAP: weights are read in place from the mapped file, whose
  /// identity is checked before each call.
  bool mapped = false;
  xf_timings timings{};
  /// The xf_engine driving the rows, if any; `engineCall` while it calls.
  const void *engine = nullptr;
  bool engineCall = false;

  // A device model (desc->device): weights, scratch, arena and the staged
  // inputs and outputs of each call live in device memory. Freed before the
  // library that provides the device operations is closed.
  std::vector<DeviceBuffer> deviceWeights;
  DeviceBuffer deviceScratch, deviceArena;
  std::vector<DeviceBuffer> staged;

  ~xf_model() {
    packed.clear();
    staged.clear();
    deviceWeights.clear();
    deviceScratch.reset();
    deviceArena.reset();
    file.reset();
    gguf.reset();
    if (handle)
      dlclose(handle);
    if (libraryFd >= 0)
      ::close(libraryFd);
  }

  /// Marks the rows of a call: the first `batch` rows, those of them with
  /// `rows[b]` set when given.
  void setActive(int64_t batch, const bool *rows = nullptr) {
    for (int64_t b = 0; b < int64_t(active.size()); ++b)
      active[b] = b < batch && (!rows || rows[b]);
  }

  const xfm_device_ops *device() const { return desc ? desc->device : nullptr; }

  xfk_frame frame() {
    xfk_frame f;
    f.runtime = this;
    f.weights = weights.data();
    f.scratch =
        device() ? static_cast<char *>(deviceScratch.ptr) : scratch.get();
    f.arena = device() ? static_cast<char *>(deviceArena.ptr) : arena.get();
    f.cache_fill = cacheFill.data();
    f.active = active.empty() ? nullptr : active.data();
    return f;
  }

  /// The program of the fewest rows that computes `fn` for every active
  /// row: `fn` itself, or a variant over the first rows holding them all.
  /// Its inputs and outputs are the leading rows of `fn`'s.
  const xfm_function_desc *sized(const xfm_function_desc *fn) const {
    if (!sizedCalls)
      return fn;
    int64_t needed = 1;
    for (int64_t b = 0; b < int64_t(active.size()); ++b)
      if (active[b])
        needed = b + 1;
    const Variant *best = nullptr;
    for (const Variant &v : variants)
      if (v.full == fn && v.rows >= needed && (!best || v.rows < best->rows))
        best = &v;
    return best ? best->fn : fn;
  }

  /// Runs `fn`, or its variant over the fewest rows that hold every active
  /// one; on a device model its inputs are copied to the device first and
  /// its outputs back afterwards. Rows past the variant's are not written.
  xf_status run(const xfm_function_desc *fn, const void *const *in,
                void *const *out) {
    fn = sized(fn);
    lastRows = fn->num_inputs > 0 && fn->inputs[0].rank > 0
                   ? fn->inputs[0].shape[0]
                   : 0;
    xfk_frame f = frame();
    int32_t rc = 0;
    if (const xfm_device_ops *ops = device()) {
      int32_t n = fn->num_inputs + fn->num_outputs;
      std::vector<void *> ptrs(n);
      if (staged.size() < static_cast<size_t>(n))
        staged.resize(n);
      for (int32_t i = 0; i < n; ++i) {
        const xfm_tensor_desc &t = i < fn->num_inputs
                                       ? fn->inputs[i]
                                       : fn->outputs[i - fn->num_inputs];
        int64_t bytes = std::max<int64_t>(1, numElements(t) * dtypeBytes(t));
        if (xf_status s = deviceAlloc(staged[i], bytes))
          return s;
        ptrs[i] = staged[i].ptr;
        if (i < fn->num_inputs)
          if (xf_status s = deviceCall(
                  ops->to_device(ptrs[i], in[i], numElements(t) * dtypeBytes(t),
                                 deviceError, sizeof deviceError),
                  "copying an input to the device"))
            return s;
      }
      rc = fn->entry(&f, ptrs.data(), ptrs.data() + fn->num_inputs);
      if (rc != 0)
        return static_cast<xf_status>(rc);
      for (int32_t o = 0; o < fn->num_outputs; ++o)
        if (xf_status s =
                deviceCall(ops->to_host(out[o], ptrs[fn->num_inputs + o],
                                        numElements(fn->outputs[o]) *
                                            dtypeBytes(fn->outputs[o]),
                                        deviceError, sizeof deviceError),
                           "copying a result to the host"))
          return s;
    } else {
      rc = fn->entry(&f, in, out);
    }
    if (rc != 0)
      return static_cast<xf_status>(rc);
    // A NaN or Inf result means non-finite weights or an overflow: say so
    // rather than hand it on.
    for (int32_t o = 0; o < fn->num_outputs; ++o) {
      if (fn->outputs[o].dtype != XFM_F32)
        continue;
      const float *p = static_cast<const float *>(out[o]);
      int64_t n = numElements(fn->outputs[o]);
      for (int64_t i = 0; i < n; ++i)
        if (!std::isfinite(p[i]))
          return fail(XF_ERROR_NONFINITE,
                      "@" + std::string(fn->name) + " result #" +
                          std::to_string(o) + " holds " +
                          (std::isnan(p[i]) ? "NaN" : "Inf") + " at element " +
                          std::to_string(i));
    }
    return XF_OK;
  }

  char deviceError[512] = {};

  xf_status deviceCall(int32_t rc, const char *what) {
    if (rc == 0)
      return XF_OK;
    return fail(XF_ERROR_DEVICE,
                std::string(device()->name) + ": " + what + ": " + deviceError);
  }

  /// Makes `b` a device buffer of at least `bytes`.
  xf_status deviceAlloc(DeviceBuffer &b, int64_t bytes) {
    if (b.ptr && b.bytes >= bytes)
      return XF_OK;
    b.reset();
    b.ops = device();
    if (xf_status s = deviceCall(
            b.ops->alloc(&b.ptr, bytes, deviceError, sizeof deviceError),
            ("allocating " + std::to_string(bytes) + " bytes").c_str()))
      return s;
    b.bytes = bytes;
    return XF_OK;
  }
};

namespace {

const xfm_function_desc *findFunction(const xfm_model_desc *d,
                                      const char *name) {
  for (int32_t i = 0; i < d->num_functions; ++i)
    if (std::strcmp(d->functions[i].name, name) == 0)
      return &d->functions[i];
  return nullptr;
}

/// Whether `t` is `full` over `rows` sequences: the same but for a leading
/// batch dimension of `rows`.
bool sameOverRows(const xfm_tensor_desc &t, const xfm_tensor_desc &full,
                  int64_t batch, int64_t rows) {
  if (t.dtype != full.dtype || t.rank != full.rank)
    return false;
  for (int32_t k = 0; k < t.rank; ++k)
    if (t.shape[k] != (k == 0 && full.shape[0] == batch ? rows : full.shape[k]))
      return false;
  return true;
}

/// The programs over fewer rows (@decode_r1, ...) of each program the
/// runtime drives, checked against the whole batch's signature.
xf_status bindVariants(xf_model &m) {
  const xfm_model_desc *d = m.desc;
  for (const xfm_function_desc *full :
       {m.encode, m.prefill, m.decode, m.verify}) {
    if (!full)
      continue;
    const std::string prefix = std::string(full->name) + "_r";
    for (int32_t i = 0; i < d->num_functions; ++i) {
      const xfm_function_desc *fn = &d->functions[i];
      const std::string name = fn->name;
      if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0 ||
          name.find_first_not_of("0123456789", prefix.size()) != std::string::npos ||
          name.size() - prefix.size() > 9)
        continue;
      const int64_t rows = std::stoll(name.substr(prefix.size()));
      bool ok = rows >= 1 && rows < m.batch &&
                fn->num_inputs == full->num_inputs &&
                fn->num_outputs == full->num_outputs;
      for (int32_t k = 0; ok && k < fn->num_inputs; ++k)
        ok = sameOverRows(fn->inputs[k], full->inputs[k], m.batch, rows);
      for (int32_t k = 0; ok && k < fn->num_outputs; ++k)
        ok = sameOverRows(fn->outputs[k], full->outputs[k], m.batch, rows);
      if (!ok)
        return fail(XF_ERROR_INVALID_ARGUMENT,
                    "@" + std::string(fn->name) + " is not @" + full->name +
                        " over " + std::to_string(rows) + " of its " +
                        std::to_string(m.batch) +
                        " rows: its signature differs");
      m.variants.push_back({full, fn, rows});
    }
  }
  return XF_OK;
}

/// Checks that the compiled entry points have the shapes the C API drives.
xf_status bindSignatures(xf_model &m) {
  const xfm_model_desc *d = m.desc;
  auto bad = [&](const xfm_function_desc *fn, const char *expected) {
    return fail(XF_ERROR_INVALID_ARGUMENT,
                "@" + std::string(fn->name) + " does not have the signature " +
                    "the runtime drives: expected " + expected);
  };
  xf_info &info = m.info;
  info.kind = static_cast<xf_model_kind>(d->model_kind);
  info.kv_arena_bytes = d->arena_bytes;
  info.max_seq_len = d->max_seq_len;
  if (d->model_kind == XFM_ENCODER) {
    m.forward = findFunction(d, "forward");
    if (!m.forward)
      return fail(XF_ERROR_INVALID_ARGUMENT, "encoder model without @forward");
    const xfm_function_desc *fn = m.forward;
    const char *sig = "(ids [B,S] i64, [type ids [B,S] i64,] [lengths [B] "
                      "i64]) -> (hidden [B,S,H] f32, [pooled [B,H] f32])";
    if (fn->num_inputs < 1 || fn->num_inputs > 3 || fn->num_outputs < 1 ||
        fn->num_outputs > 2 || !is(fn->inputs[0], XFM_I64, 2) ||
        !is(fn->outputs[0], XFM_F32, 3))
      return bad(fn, sig);
    m.batch = fn->inputs[0].shape[0];
    info.seq_len = fn->inputs[0].shape[1];
    info.hidden = fn->outputs[0].shape[2];
    for (int32_t i = 1; i < fn->num_inputs; ++i) {
      const xfm_tensor_desc &t = fn->inputs[i];
      if (is(t, XFM_I64, 2) && i == 1 && t.shape[0] == m.batch &&
          t.shape[1] == info.seq_len)
        info.has_token_types = 1;
      else if (!(is(t, XFM_I64, 1) && t.shape[0] == m.batch &&
                 i == fn->num_inputs - 1))
        return bad(fn, sig);
    }
    if (fn->num_outputs == 2) {
      if (!is(fn->outputs[1], XFM_F32, 2))
        return bad(fn, sig);
      info.has_pooled = 1;
    }
    info.max_batch = m.batch;
    return XF_OK;
  }
  bool encDec = d->model_kind == XFM_ENCODER_DECODER;
  m.prefill = findFunction(d, "prefill");
  m.decode = findFunction(d, "decode");
  if (!m.prefill || !m.decode)
    return fail(XF_ERROR_INVALID_ARGUMENT,
                "decoder model without @prefill and @decode: compile with "
                "xformer-compile (it derives them)");
  const int extra = encDec ? 1 : 0;
  const xfm_function_desc *p = m.prefill, *dc = m.decode;
  if (p->num_inputs != 3 + extra || p->num_outputs != 1 ||
      !is(p->inputs[0], XFM_I64, 2) || !is(p->outputs[0], XFM_F32, 2))
    return bad(p, encDec ? "(ids [B,C], start [B], lengths [B], source "
                           "lengths [B]) -> logits [B,V]"
                         : "(ids [B,C], start [B], lengths [B]) -> logits "
                           "[B,V]");
  if (dc->num_inputs != 2 + extra || dc->num_outputs != 1 ||
      !is(dc->inputs[0], XFM_I64, 2) || dc->inputs[0].shape[1] != 1)
    return bad(dc, "(token [B,1], position [B]...) -> logits [B,V]");
  m.batch = p->inputs[0].shape[0];
  info.max_batch = m.batch;
  info.chunk = p->inputs[0].shape[1];
  info.vocab = p->outputs[0].shape[1];
  // Speculative decoding's program (--speculate): prefill's inputs, every
  // position's logits.
  if ((m.verify = findFunction(d, "verify"))) {
    const xfm_function_desc *v = m.verify;
    if (v->num_inputs != p->num_inputs || v->num_outputs != 1 ||
        !is(v->inputs[0], XFM_I64, 2) || v->inputs[0].shape[0] != m.batch ||
        v->inputs[0].shape[1] > info.chunk || !is(v->outputs[0], XFM_F32, 3) ||
        v->outputs[0].shape[0] != m.batch ||
        v->outputs[0].shape[1] != v->inputs[0].shape[1] ||
        v->outputs[0].shape[2] != info.vocab)
      return bad(v, "(ids [B,N], start [B], lengths [B]...) -> logits "
                    "[B,N,V] with N at most the prefill chunk");
    info.verify_chunk = v->inputs[0].shape[1];
  }
  if (encDec) {
    m.encode = findFunction(d, "encode");
    if (!m.encode || m.encode->num_inputs != 2 ||
        !is(m.encode->inputs[0], XFM_I64, 2))
      return fail(XF_ERROR_INVALID_ARGUMENT,
                  "encoder-decoder model without @encode(ids [B,S], lengths "
                  "[B])");
    info.source_len = m.encode->inputs[0].shape[1];
  }
  if (d->max_batch < m.batch)
    return fail(XF_ERROR_CAPACITY,
                "the KV plan holds " + std::to_string(d->max_batch) +
                    " sequences; the program runs " + std::to_string(m.batch));
  return bindVariants(m);
}

/// IEEE binary16 to float (exact).
float halfToFloat(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
  uint32_t bits;
  if (exponent == 0x1f) // Inf, NaN
    bits = sign | 0x7f800000u | (mantissa << 13);
  else if (exponent != 0) // normal: rebias 15 -> 127
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  else if (mantissa == 0)
    bits = sign;
  else { // subnormal: mantissa * 2^-24
    const float f = std::ldexp(float(mantissa), -24);
    return sign ? -f : f;
  }
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

/// Why a weight with a NaN or Inf at element e is refused.
std::string nonFinite(const char *name, float v, int64_t e) {
  return "weight '" + std::string(name) + "' holds " +
         (std::isnan(v) ? "NaN" : "Inf") + " at element " + std::to_string(e);
}

/// Element e of a float checkpoint tensor (f32, bf16 or f16) as a float:
/// exact, every value of the narrower types is a float.
float floatElement(const uint8_t *src, DType dtype, int64_t e) {
  float v;
  if (dtype == DType::F32) {
    std::memcpy(&v, src + 4 * e, sizeof(v));
    return v;
  }
  uint16_t h;
  std::memcpy(&h, src + 2 * e, sizeof(h));
  if (dtype == DType::F16)
    return halfToFloat(h);
  const uint32_t bits = uint32_t(h) << 16;
  std::memcpy(&v, &bits, sizeof(v));
  return v;
}

/// A bf16 or f16 checkpoint tensor widened to the f32 the model computes
/// in: exact, so the model runs on the checkpoint's own weights.
Buffer widenToF32(const SafetensorsFile &file, const TensorInfo &t) {
  const int64_t n = t.numElements();
  Buffer out = allocate(std::max<int64_t>(1, n) * int64_t(sizeof(float)));
  const auto *src = static_cast<const uint8_t *>(file.data(t));
  float *dst = reinterpret_cast<float *>(out.get());
  for (int64_t e = 0; e < n; ++e)
    dst[e] = floatElement(src, t.dtype, e);
  return out;
}

/// `v` rounded to the nearest bf16 (ties to even) into `out`; fails on a
/// value that is not finite or that overflows bf16.
bool narrowElement(float v, const char *name, int64_t e, uint16_t &out,
                   std::string &error) {
  if (!std::isfinite(v)) {
    error = nonFinite(name, v, e);
    return false;
  }
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof(bits));
  bits += 0x7fffu + ((bits >> 16) & 1u); // round to nearest even
  out = uint16_t(bits >> 16);
  if ((out & 0x7f80u) == 0x7f80u) {
    error = "weight '" + std::string(name) + "' element " + std::to_string(e) +
            " (" + std::to_string(v) + ") overflows bf16";
    return false;
  }
  return true;
}

/// `v` rounded to the nearest f16 (ties to even) into `out`; fails on a
/// value that is not finite or that overflows f16.
bool halfElement(float v, const char *name, int64_t e, uint16_t &out,
                 std::string &error) {
  if (!std::isfinite(v)) {
    error = nonFinite(name, v, e);
    return false;
  }
  out = floatToHalf(v);
  if ((out & 0x7c00u) == 0x7c00u) {
    error = "weight '" + std::string(name) + "' element " + std::to_string(e) +
            " (" + std::to_string(v) + ") overflows f16";
    return false;
  }
  return true;
}

/// `n` floats as 16-bit words of a model's bf16 or f16 weight (`dtype`),
/// rounded to nearest even; null with `error` set on a value that is not
/// finite or does not fit.
Buffer narrowFloats(const float *v, int64_t n, int32_t dtype, const char *name,
                    std::string &error) {
  Buffer out = allocate(std::max<int64_t>(1, n) * int64_t(sizeof(uint16_t)));
  uint16_t *dst = reinterpret_cast<uint16_t *>(out.get());
  for (int64_t e = 0; e < n; ++e)
    if (!(dtype == XFM_F16 ? halfElement(v[e], name, e, dst[e], error)
                           : narrowElement(v[e], name, e, dst[e], error)))
      return nullptr;
  return out;
}

/// A checkpoint tensor (f32, f16 or bf16) as the bf16 a model compiled
/// with --xformer-narrow-weights stores its linear weights in: f32 (and
/// f16, exact in f32) rounded to nearest even, bf16 taken as it is.
Buffer narrowToBF16(const SafetensorsFile &file, const TensorInfo &t,
                    const char *name, std::string &error) {
  const int64_t n = t.numElements();
  Buffer out = allocate(std::max<int64_t>(1, n) * int64_t(sizeof(uint16_t)));
  const auto *src = static_cast<const uint8_t *>(file.data(t));
  uint16_t *dst = reinterpret_cast<uint16_t *>(out.get());
  for (int64_t e = 0; e < n; ++e)
    if (!narrowElement(floatElement(src, t.dtype, e), name, e, dst[e], error))
      return nullptr;
  return out;
}

std::string shapeText(const int64_t *shape, int32_t rank) {
  std::string s = "[";
  for (int32_t d = 0; d < rank; ++d)
    s += (d ? ", " : "") + std::to_string(shape[d]);
  return s + "]";
}

/// The ggml block type of a weight's dtype (XFM_GGML + n), if it is one.
std::optional<GGMLTypeTraits> blockTraits(int32_t dtype) {
  if (dtype <= XFM_GGML)
    return std::nullopt;
  std::optional<GGMLTypeTraits> t = ggmlTypeTraits(uint32_t(dtype - XFM_GGML));
  if (!t || t->blockElements == 1 || t->type == GGMLType::Q8_K)
    return std::nullopt;
  return t;
}

/// Checks that every row of a stored tensor decodes to finite values (in
/// ggml blocks, a NaN or infinite scale would poison every output it
/// touches).
bool storedFinite(GGMLType type, const void *data, int64_t rows, int64_t cols,
                  int64_t rowBytes, const char *name, std::string &error) {
  std::vector<float> row(size_t(std::max<int64_t>(cols, 1)));
  for (int64_t r = 0; r < rows; ++r) {
    dequantizeRow(type, static_cast<const uint8_t *>(data) + r * rowBytes,
                  row.data(), cols);
    for (int64_t c = 0; c < cols; ++c)
      if (!std::isfinite(row[size_t(c)])) {
        error = nonFinite(name, row[size_t(c)], r * cols + c);
        return false;
      }
  }
  return true;
}

/// `n` finite floats quantized to `traits`' format, row by row, into a new
/// buffer; null with `error` set if the format is not one xformer writes.
Buffer quantizeWeight(const float *f, int64_t rows, int64_t cols,
                      const GGMLTypeTraits &traits, const char *name,
                      const std::string &path, const std::string &stored,
                      std::string &error) {
  if (!canQuantize(traits.type)) {
    error = path + ": tensor '" + name + "' is " + stored +
            "; the model expects " + traits.name +
            ", which xformer does not quantize to (it writes Q8_0, Q4_0, "
            "Q4_1, Q4_K and Q6_K; give a file that stores " + traits.name + ")";
    return nullptr;
  }
  const int64_t rowBytes = cols / traits.blockElements * traits.blockBytes;
  Buffer out = allocate(std::max<int64_t>(1, rows * rowBytes));
  for (int64_t r = 0; r < rows; ++r)
    quantizeRow(traits.type, f + r * cols, out.get() + r * rowBytes, cols);
  return out;
}

/// Weights from a GGUF file (xformer-import model.gguf names the IR's
/// weights as the file does). A tensor stored as the model expects it
/// (f32, bf16 or the same ggml blocks) is read in place from the mapped
/// file with XF_OPEN_MMAP and copied as it is otherwise; any other is
/// decoded to f32 as ggml decodes it and then rounded to bf16 or quantized
/// to the model's blocks.
xf_status bindGGUFWeights(xf_model &m, const char *path, bool allowExtra,
                          bool mapped) {
  std::string error;
  std::unique_ptr<GGUFFile> file = GGUFFile::open(path, error);
  if (!file)
    return fail(XF_ERROR_WEIGHTS, error);
  const xfm_model_desc *d = m.desc;
  m.weights.assign(d->num_weights, nullptr);
  std::vector<bool> used(file->tensors().size(), false);
  bool inPlace = false;
  for (int32_t i = 0; i < d->num_weights; ++i) {
    const xfm_tensor_desc &w = d->weights[i];
    const GGUFTensor *t = file->find(w.name);
    if (!t)
      return fail(XF_ERROR_WEIGHTS, std::string(path) + " lacks tensor '" +
                                        w.name + "' the model uses");
    used[size_t(t - file->tensors().data())] = true;
    const std::vector<int64_t> shape = t->shape();
    if (shape != std::vector<int64_t>(w.shape, w.shape + w.rank))
      return fail(XF_ERROR_WEIGHTS,
                  std::string(path) + ": tensor '" + w.name + "' has shape " +
                      shapeText(shape.data(), int32_t(shape.size())) +
                      "; the model expects " + shapeText(w.shape, w.rank));
    const std::optional<GGMLTypeTraits> blocks = blockTraits(w.dtype);
    const std::string stored = ggmlTypeName(uint32_t(t->type));
    if (w.dtype != XFM_F32 && w.dtype != XFM_BF16 && w.dtype != XFM_F16 &&
        !blocks)
      return fail(XF_ERROR_WEIGHTS,
                  std::string(path) + ": tensor '" + w.name + "' is " +
                      stored + "; the model expects an integer tensor");
    const int64_t n = t->numElements;
    const int64_t cols = shape.empty() ? 1 : shape.back();
    const int64_t rows = cols ? n / cols : 0;
    const GGMLType asStored = w.dtype == XFM_F32    ? GGMLType::F32
                              : w.dtype == XFM_BF16 ? GGMLType::BF16
                              : w.dtype == XFM_F16  ? GGMLType::F16
                                                    : blocks->type;
    if (t->type == asStored) {
      // As stored: finite values checked, then in place or copied.
      const void *data = file->data(*t);
      if (!storedFinite(t->type, data, rows, cols,
                        rows ? int64_t(t->bytes) / rows : 0, w.name, error))
        return fail(XF_ERROR_NONFINITE, error);
      if (mapped && reinterpret_cast<uintptr_t>(data) % 32 == 0) {
        m.weights[i] = data;
        inPlace = true;
        continue;
      }
      Buffer copy = allocate(int64_t(t->bytes));
      std::memcpy(copy.get(), data, t->bytes);
      m.weights[i] = copy.get();
      m.weightCopies.push_back(std::move(copy));
      continue;
    }
    Buffer wide = allocate(std::max<int64_t>(1, n) * int64_t(sizeof(float)));
    float *f = reinterpret_cast<float *>(wide.get());
    if (!dequantizeRow(t->type, file->data(*t), f, n))
      return fail(XF_ERROR_WEIGHTS, std::string(path) + ": tensor '" +
                                        w.name + "' of type " + stored +
                                        " cannot be decoded");
    for (int64_t e = 0; e < n; ++e)
      if (!std::isfinite(f[e]))
        return fail(XF_ERROR_NONFINITE, nonFinite(w.name, f[e], e));
    if (blocks) {
      Buffer q = quantizeWeight(f, rows, cols, *blocks, w.name, path, stored,
                                error);
      if (!q)
        return fail(XF_ERROR_WEIGHTS, error);
      m.weights[i] = q.get();
      m.weightCopies.push_back(std::move(q));
      continue;
    }
    if (w.dtype == XFM_BF16 || w.dtype == XFM_F16) {
      Buffer narrow = narrowFloats(f, n, w.dtype, w.name, error);
      if (!narrow)
        return fail(XF_ERROR_NONFINITE, error);
      m.weights[i] = narrow.get();
      m.weightCopies.push_back(std::move(narrow));
      continue;
    }
    m.weights[i] = wide.get();
    m.weightCopies.push_back(std::move(wide));
  }
  if (!allowExtra)
    for (size_t k = 0; k < used.size(); ++k)
      if (!used[k])
        return fail(XF_ERROR_WEIGHTS,
                    std::string(path) + " holds tensor '" +
                        file->tensors()[k].name +
                        "' the model does not use (open with "
                        "XF_OPEN_ALLOW_EXTRA_WEIGHTS to ignore it)");
  m.mapped = inPlace;
  if (inPlace)
    m.gguf = std::move(file);
  return XF_OK;
}

xf_status bindWeights(xf_model &m, const char *path, bool allowExtra,
                      bool mapped) {
  struct stat st;
  if (::stat(path, &st) != 0)
    return fail(XF_ERROR_IO, std::string("cannot open weights '") + path +
                                 "': " + std::strerror(errno));
  std::string error;
  if (GGUFFile::isGGUF(path))
    return bindGGUFWeights(m, path, allowExtra, mapped);
  m.file = SafetensorsCheckpoint::open(path, error);
  if (!m.file)
    return fail(XF_ERROR_WEIGHTS, error);
  const xfm_model_desc *d = m.desc;
  m.weights.resize(d->num_weights);
  std::vector<std::string> missing, wrong;
  for (int32_t i = 0; i < d->num_weights; ++i) {
    const xfm_tensor_desc &w = d->weights[i];
    std::vector<int64_t> shape(w.shape, w.shape + w.rank);
    const SafetensorsFile *f = nullptr;
    const TensorInfo *found = m.file->find(w.name, &f);
    if (!found) {
      missing.push_back(w.name);
      continue;
    }
    const TensorInfo &t = *found;
    // A bf16 or f16 checkpoint (as most are published) feeds an f32 model,
    // widened on open; anything else must be the model's dtype.
    const bool widen =
        w.dtype == XFM_F32 && (t.dtype == DType::BF16 || t.dtype == DType::F16);
    // A bf16 linear weight (the bf16 mode) or an f16 weight is fed by any
    // float checkpoint (copied, rounded to nearest even where it narrows).
    const bool narrow = (w.dtype == XFM_BF16 || w.dtype == XFM_F16) &&
                        (t.dtype == DType::F32 || t.dtype == DType::F16 ||
                         t.dtype == DType::BF16);
    // A weight in ggml blocks (xformer-compile --weights=q8_0) is quantized
    // from any float checkpoint on open.
    const std::optional<GGMLTypeTraits> blocks = blockTraits(w.dtype);
    const bool quantize = blocks && (t.dtype == DType::F32 ||
                                     t.dtype == DType::F16 ||
                                     t.dtype == DType::BF16);
    // (A converted tensor of another shape is reported against the dtype
    // the model expects.)
    if (!f->expect(w.name,
                   (widen || narrow || quantize) && t.shape == shape
                       ? t.dtype
                       : toDType(w.dtype),
                   shape, error)) {
      wrong.push_back(error);
      continue;
    }
    const void *data = f->data(t);
    if (blocks) {
      if (!quantize) {
        wrong.push_back(std::string(path) + ": tensor '" + w.name +
                        "' is not a float tensor; the model expects " +
                        blocks->name + " blocks");
        continue;
      }
      Buffer wide = widenToF32(*f, t);
      const float *v = reinterpret_cast<const float *>(wide.get());
      const int64_t n = t.numElements();
      for (int64_t e = 0; e < n; ++e)
        if (!std::isfinite(v[e]))
          return fail(XF_ERROR_NONFINITE, nonFinite(w.name, v[e], e));
      Buffer q = quantizeWeight(v, shape[0], shape[1], *blocks, w.name, path,
                                dtypeName(t.dtype), error);
      if (!q)
        return fail(XF_ERROR_WEIGHTS, error);
      m.weights[i] = q.get();
      m.weightCopies.push_back(std::move(q));
      continue;
    }
    if (narrow && w.dtype == XFM_F16) {
      Buffer wide = widenToF32(*f, t);
      Buffer half = narrowFloats(reinterpret_cast<const float *>(wide.get()),
                                 t.numElements(), XFM_F16, w.name, error);
      if (!half)
        return fail(XF_ERROR_NONFINITE, error);
      data = half.get();
      m.weightCopies.push_back(std::move(half));
    } else if (narrow) {
      Buffer bf = narrowToBF16(*f, t, w.name, error);
      if (!bf)
        return fail(XF_ERROR_NONFINITE, error);
      data = bf.get();
      m.weightCopies.push_back(std::move(bf));
    } else if (widen) {
      Buffer wide = widenToF32(*f, t);
      data = wide.get();
      m.weightCopies.push_back(std::move(wide));
    } else if (!mapped || !f->isAligned(t, 64)) {
      // Copied (the default): the model keeps the bytes it opened, whatever
      // happens to the file later.
      Buffer copy = allocate(t.end - t.begin);
      f->copy(t, copy.get());
      data = copy.get();
      m.weightCopies.push_back(std::move(copy));
    }
    if (w.dtype == XFM_F32) {
      const float *f = static_cast<const float *>(data);
      int64_t n = t.numElements();
      for (int64_t e = 0; e < n; ++e)
        if (!std::isfinite(f[e]))
          return fail(XF_ERROR_NONFINITE, nonFinite(w.name, f[e], e));
    }
    m.weights[i] = data;
  }
  auto list = [](const std::vector<std::string> &names) {
    std::string s;
    for (size_t i = 0; i < names.size() && i < 8; ++i)
      s += (i ? ", '" : "'") + names[i] + "'";
    if (names.size() > 8)
      s += " and " + std::to_string(names.size() - 8) + " more";
    return s;
  };
  if (!missing.empty())
    return fail(XF_ERROR_WEIGHTS,
                std::string(path) + " lacks " + std::to_string(missing.size()) +
                    " tensor(s) the model uses: " + list(missing));
  if (!wrong.empty())
    // SafetensorsFile::expect's messages start with the file's path.
    return fail(
        XF_ERROR_WEIGHTS,
        wrong.front() +
            (wrong.size() > 1
                 ? " (and " + std::to_string(wrong.size() - 1) + " more)"
                 : ""));
  if (!allowExtra) {
    std::vector<std::string> extra;
    for (const std::string &name : m.file->names()) {
      bool used = false;
      for (int32_t i = 0; i < d->num_weights && !used; ++i)
        used = name == d->weights[i].name;
      if (!used)
        extra.push_back(name);
    }
    if (!extra.empty())
      return fail(XF_ERROR_WEIGHTS,
                  std::string(path) + " holds " + std::to_string(extra.size()) +
                      " tensor(s) the model does not use: " + list(extra) +
                      " (open with XF_OPEN_ALLOW_EXTRA_WEIGHTS to ignore "
                      "them)");
  }
  // Copied weights need the mapping no longer.
  if (!mapped)
    m.file.reset();
  m.mapped = mapped;
  return XF_OK;
}

/// Bytes of a weight as the model stores it: elements times the dtype's
/// size, or rows of whole ggml blocks (bindDescriptor checked both).
int64_t storedBytes(const xfm_tensor_desc &t) {
  if (std::optional<GGMLTypeTraits> b = blockTraits(t.dtype))
    return numElements(t) / b->blockElements * b->blockBytes;
  return numElements(t) * dtypeBytes(t);
}

/// The weights the model joins on open (xfm_fused_weight_desc), after the
/// table's: for each run of dimensions before the axis, each part's run in
/// turn. Copies of parts no code reads but through their fused weight are
/// freed afterwards.
xf_status fuseWeights(xf_model &m) {
  const xfm_model_desc *d = m.desc;
  std::vector<bool> release(size_t(d->num_weights), false);
  for (int32_t k = 0; k < d->num_fused_weights; ++k) {
    const xfm_fused_weight_desc &fw = d->fused_weights[k];
    int64_t outer = 1;
    for (int32_t a = 0; a < fw.axis; ++a)
      outer *= fw.tensor.shape[a];
    const int64_t bytes = storedBytes(fw.tensor);
    Buffer joined = allocate(bytes);
    if (!joined)
      return fail(XF_ERROR_WEIGHTS,
                  "cannot allocate " + std::to_string(bytes) +
                      " bytes for the fused weight '" + fw.tensor.name + "'");
    char *dst = joined.get();
    for (int64_t o = 0; o < outer; ++o)
      for (int32_t i = 0; i < fw.num_parts; ++i) {
        const int32_t p = fw.parts[i];
        const int64_t run = outer ? storedBytes(d->weights[p]) / outer : 0;
        std::memcpy(dst, static_cast<const char *>(m.weights[size_t(p)]) +
                             o * run,
                    size_t(run));
        dst += run;
      }
    m.weights.push_back(joined.get());
    m.weightCopies.push_back(std::move(joined));
    if (fw.parts_unread)
      for (int32_t i = 0; i < fw.num_parts; ++i)
        release[size_t(fw.parts[i])] = true;
  }
  // Copies no code reads any more are freed; the pages of a part read in
  // place from the weights file (mapped read-only: the pages are the
  // file's, and dropping them loses nothing) leave the process's memory.
  const uintptr_t page = uintptr_t(sysconf(_SC_PAGESIZE));
  std::unordered_set<const void *> copies;
  for (const Buffer &b : m.weightCopies)
    copies.insert(b.get());
  std::unordered_set<const void *> freed;
  for (int32_t p = 0; p < d->num_weights; ++p) {
    if (!release[size_t(p)])
      continue;
    if (copies.count(m.weights[size_t(p)])) {
      freed.insert(m.weights[size_t(p)]);
    } else if (m.mapped) {
      // Whole pages inside the tensor only: its neighbours stay.
      const uintptr_t begin = reinterpret_cast<uintptr_t>(m.weights[size_t(p)]);
      const uintptr_t first = (begin + page - 1) / page * page;
      const uintptr_t last =
          (begin + uintptr_t(storedBytes(d->weights[p]))) / page * page;
      if (last > first)
        ::madvise(reinterpret_cast<void *>(first), last - first,
                  MADV_DONTNEED);
    }
    m.weights[size_t(p)] = nullptr;
  }
  m.weightCopies.erase(
      std::remove_if(m.weightCopies.begin(), m.weightCopies.end(),
                     [&](const Buffer &b) { return freed.count(b.get()) != 0; }),
      m.weightCopies.end());
  return XF_OK;
}

double msSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now() - t0)
      .count();
}

xf_status checkBatch(const xf_model *m, int64_t batch, const char *call) {
  if (batch < 1 || batch > m->batch)
    return fail(XF_ERROR_CAPACITY,
                std::string(call) + ": batch of " + std::to_string(batch) +
                    " sequences; the model was compiled for 1 to " +
                    std::to_string(m->batch) +
                    (batch > m->batch
                         ? " (import the model with xformer-import --batch " +
                               std::to_string(batch) +
                               " and compile it again for larger batches)"
                         : ""));
  return XF_OK;
}

/// A length of sequence `b` must lie in [lo, hi].
xf_status checkLength(int64_t b, int64_t len, int64_t lo, int64_t hi,
                      const char *what) {
  if (len >= lo && len <= hi)
    return XF_OK;
  return fail(XF_ERROR_INVALID_ARGUMENT,
              std::string(what) + " " + std::to_string(len) + " of sequence " +
                  std::to_string(b) + " is outside [" + std::to_string(lo) +
                  ", " + std::to_string(hi) + "]");
}

/// `batch` rows of `seq` elements must be addressable.
xf_status checkExtent(int64_t batch, int64_t seq, const char *call) {
  int64_t n;
  if (seq < 0 || !mulChecked(batch, seq, n) ||
      !mulChecked(n, int64_t(sizeof(int64_t)), n))
    return fail(XF_ERROR_INVALID_ARGUMENT,
                std::string(call) + ": " + std::to_string(batch) + " x " +
                    std::to_string(seq) + " ids do not fit in memory");
  return XF_OK;
}

/// Token ids of `fn`'s input #0 must index its embedding table; checked
/// before anything runs so that a bad id in a later chunk fails the call
/// before the first chunk changed any cache.
xf_status checkIds(const xfm_function_desc *fn, const int64_t *ids,
                   const int64_t *lens, int64_t batch, int64_t stride,
                   const char *what) {
  const int64_t vocab = fn->token_vocab;
  if (vocab <= 0)
    return XF_OK;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < lens[b]; ++i) {
      const int64_t id = ids[b * stride + i];
      if (id < 0 || id >= vocab)
        return fail(XF_ERROR_OUT_OF_RANGE,
                    std::string(what) + " id " + std::to_string(id) +
                        " at position " + std::to_string(i) + " of sequence " +
                        std::to_string(b) + " is outside the vocabulary [0, " +
                        std::to_string(vocab) + ")");
    }
  return XF_OK;
}

/// In XF_OPEN_MMAP mode the weights file must still be the one mapped.
xf_status checkWeightsFile(const xf_model *m) {
  std::string error;
  if (m->mapped && m->file && !m->file->unchanged(error))
    return fail(XF_ERROR_IO, error);
  if (m->mapped && m->gguf && !m->gguf->unchanged(error))
    return fail(XF_ERROR_IO, error);
  return XF_OK;
}

/// What every decoder call needs: decoder programs, an encoded source for
/// encoder-decoders, a batch that fits, rows left consistent.
/// The model's sequences are an engine's while it exists.
xf_status checkNoEngine(const xf_model *m, const char *call) {
  if (m->engine && !m->engineCall)
    return fail(XF_ERROR_INVALID_ARGUMENT,
                std::string(call) +
                    ": an xf_engine drives this model's sequences; submit "
                    "requests to it (or destroy it first)");
  return XF_OK;
}

xf_status checkDecoderCall(const xf_model *m, int64_t batch, const char *call) {
  if (xf_status s = checkNoEngine(m, call))
    return s;
  if (!m->prefill)
    return fail(XF_ERROR_INVALID_ARGUMENT,
                std::string(call) +
                    " needs a decoder or encoder-decoder model; this one is "
                    "an encoder (use xf_encode)");
  if (m->encode && !m->sourceEncoded)
    return fail(XF_ERROR_INVALID_ARGUMENT,
                std::string(call) +
                    ": encoder-decoder model: call xf_encode_source first");
  if (xf_status s = checkBatch(m, batch, call))
    return s;
  for (int64_t b = 0; b < batch; ++b)
    if (m->stale[b])
      return fail(XF_ERROR_INVALID_ARGUMENT,
                  std::string(call) + ": sequence " + std::to_string(b) +
                      " lost part of its sliding-window cache to a failed "
                      "call: xf_reset the model first");
  return checkWeightsFile(m);
}

/// Sequence `b` may grow by `added` positions within the KV plan.
xf_status checkCapacity(const xf_model *m, int64_t b, int64_t added) {
  const int64_t total = m->position[b] + added;
  if (total <= m->desc->max_seq_len)
    return XF_OK;
  return fail(XF_ERROR_CAPACITY,
              "sequence " + std::to_string(b) + " would hold " +
                  std::to_string(total) +
                  " positions; the KV cache was planned for " +
                  std::to_string(m->desc->max_seq_len));
}

/// Puts a model's sequence state back as it was when a call began unless
/// the call commits: a failed call changes nothing. Caches the call wrote
/// past the restored positions are overwritten by the next append; a ring
/// cache (sliding window) cannot be restored that way, so its rows are
/// marked stale once a program ran.
class Rollback {
public:
  explicit Rollback(xf_model &m)
      : m(m), position(m.position), lastToken(m.lastToken),
        cacheFill(m.cacheFill) {}
  Rollback(const Rollback &) = delete;
  Rollback &operator=(const Rollback &) = delete;
  ~Rollback() {
    m.setActive(0);
    if (committed)
      return;
    m.position = std::move(position);
    m.lastToken = std::move(lastToken);
    m.cacheFill = std::move(cacheFill);
    if (ran && m.hasRing)
      for (size_t b = 0; b < rows.size(); ++b)
        m.stale[b] = m.stale[b] | rows[b];
  }
  /// A program is about to run on the rows marked active.
  void running() {
    ran = true;
    rows.assign(m.active.begin(), m.active.end());
  }
  void commit() { committed = true; }

private:
  xf_model &m;
  std::vector<int64_t> position, lastToken, cacheFill;
  std::vector<uint8_t> rows;
  bool ran = false, committed = false;
};

/// Runs `fn` (@prefill or @verify: ids [B, N], start, lengths, source
/// lengths) on the rows with lens[b] > 0, each reading lens[b] ids after
/// its cached positions, which then grow by them; the caller commits or
/// rolls back.
xf_status runChunk(xf_model *m, Rollback &rollback,
                   const xfm_function_desc *fn, const int64_t *ids,
                   const int64_t *lens, float *out) {
  const int64_t B = m->batch, N = fn->inputs[0].shape[1];
  std::vector<int64_t> start(m->position.begin(), m->position.end());
  const void *in[] = {ids, start.data(), lens, m->sourceLengths.data()};
  void *outs[] = {out};
  std::unique_ptr<bool[]> rows(new bool[B]);
  for (int64_t b = 0; b < B; ++b)
    rows[b] = lens[b] > 0;
  m->setActive(B, rows.get());
  rollback.running();
  if (xf_status s = m->run(fn, in, outs))
    return s;
  for (int64_t b = 0; b < B; ++b)
    if (lens[b] > 0) {
      m->position[b] += lens[b];
      m->lastToken[b] = ids[b * N + lens[b] - 1];
    }
  return XF_OK;
}

/// Runs @encode on sources padded to [B, S] with lengths [B] (their ids
/// checked) for the rows with rows[b] (null: all of them): only their cross
/// caches are written.
xf_status runEncode(xf_model *m, const std::vector<int64_t> &ids,
                    const std::vector<int64_t> &lengths, const bool *rows) {
  std::vector<float> hidden(numElements(m->encode->outputs[0]));
  const void *in[] = {ids.data(), lengths.data()};
  void *out[] = {hidden.data()};
  m->setActive(m->batch, rows);
  xf_status s = m->run(m->encode, in, out);
  m->setActive(0);
  return s;
}

/// Loads exactly the file named: a private copy of it (a memfd) is what
/// dlopen maps, so the dynamic loader searches no path, a library already
/// loaded from the same path (an older build) is not reused, and
/// rewriting the file while the model is open cannot change its code.
xf_status loadLibrary(xf_model &m, const char *library) {
  const int fd = ::open(library, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fail(XF_ERROR_IO, std::string("cannot open model library '") +
                                 library + "': " + std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail(XF_ERROR_IO, std::string("model library '") + library +
                                 "' is not a regular file");
  }
  int mem = ::memfd_create("xformer-model", MFD_CLOEXEC);
  if (mem < 0) {
    ::close(fd);
    return fail(XF_ERROR_IO, std::string("cannot copy model library '") +
                                 library + "': " + std::strerror(errno));
  }
  std::vector<char> chunk(1 << 20);
  bool ok = true;
  for (;;) {
    const ssize_t n = ::read(fd, chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      ok = n == 0;
      break;
    }
    for (ssize_t done = 0; done < n;) {
      const ssize_t w = ::write(mem, chunk.data() + done, n - done);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0) {
        ok = false;
        break;
      }
      done += w;
    }
    if (!ok)
      break;
  }
  const int readErrno = errno;
  ::close(fd);
  if (!ok) {
    ::close(mem);
    return fail(XF_ERROR_IO, std::string("cannot read model library '") +
                                 library + "': " + std::strerror(readErrno));
  }
  // A name some other (unloaded but undeletable) object still holds would
  // make dlopen hand that one back: move the descriptor until it is free.
  std::vector<int> parked;
  for (;;) {
    const std::string name = "/proc/self/fd/" + std::to_string(mem);
    void *old = dlopen(name.c_str(), RTLD_LAZY | RTLD_NOLOAD);
    if (!old) {
      m.handle = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
      break;
    }
    dlclose(old);
    parked.push_back(mem);
    mem = ::fcntl(mem, F_DUPFD_CLOEXEC, mem + 1);
    if (mem < 0)
      break;
  }
  for (int p : parked)
    ::close(p);
  if (mem < 0)
    return fail(XF_ERROR_IO, std::string("cannot load model library '") +
                                 library + "': no free descriptor");
  m.libraryFd = mem;
  if (!m.handle)
    return fail(XF_ERROR_IO, std::string("cannot load model library '") +
                                 library + "': " + dlerror());
  return XF_OK;
}

/// Finds the descriptor function and checks what it returns.
xf_status bindDescriptor(xf_model &m, const char *library) {
  void *sym = dlsym(m.handle, XFORMER_MODEL_SYMBOL);
  if (!sym)
    return fail(XF_ERROR_VERSION, std::string(library) +
                                      " is not a library made by "
                                      "xformer-compile (no '" +
                                      XFORMER_MODEL_SYMBOL + "' symbol)");
  Dl_info info;
  void *entry = nullptr;
  const bool found = dladdr1(sym, &info, &entry, RTLD_DL_SYMENT) != 0;
  const auto *elf = static_cast<const ElfW(Sym) *>(entry);
  if (!found || !elf || ELF64_ST_TYPE(elf->st_info) != STT_FUNC)
    return fail(XF_ERROR_VERSION, std::string(library) +
                                      " is not a library made by "
                                      "xformer-compile ('" +
                                      XFORMER_MODEL_SYMBOL +
                                      "' is not a function)");
  m.desc = reinterpret_cast<xfm_describe_fn>(sym)();
  if (!m.desc)
    return fail(XF_ERROR_VERSION, std::string(library) + ": '" +
                                      XFORMER_MODEL_SYMBOL +
                                      "' returned no model descriptor");
  const xfm_model_desc *d = m.desc;
  if (d->abi_version != XFORMER_MODEL_ABI_VERSION)
    return fail(XF_ERROR_VERSION,
                std::string(library) + " was built for model ABI " +
                    std::to_string(d->abi_version) + " by xformer " +
                    (d->compiler_version ? d->compiler_version : "(unknown)") +
                    "; this runtime reads ABI " +
                    std::to_string(XFORMER_MODEL_ABI_VERSION) +
                    ": recompile the model");
  // Every size the runtime computes from the descriptor must fit.
  auto badTensor = [&](const xfm_tensor_desc &t, const char *what) {
    int64_t n = 1;
    if (t.rank < 0 || t.rank > 16 || (t.rank && !t.shape))
      return true;
    for (int32_t r = 0; r < t.rank; ++r)
      if (t.shape[r] < 0 || !mulChecked(n, t.shape[r], n)) {
        fail(XF_ERROR_VERSION, std::string(library) + ": " + what + " '" +
                                   (t.name ? t.name : "?") +
                                   "' has a shape whose size overflows");
        return true;
      }
    if (!mulChecked(n, 8, n)) {
      fail(XF_ERROR_VERSION, std::string(library) + ": " + what + " '" +
                                 (t.name ? t.name : "?") +
                                 "' is too large to address");
      return true;
    }
    return false;
  };
  if (d->num_weights < 0 || d->num_functions < 0 || d->num_caches < 0 ||
      d->max_batch < 0 || d->max_seq_len < 0 || d->arena_bytes < 0)
    return fail(XF_ERROR_VERSION,
                std::string(library) + ": the model descriptor is malformed");
  for (int32_t i = 0; i < d->num_weights; ++i) {
    const xfm_tensor_desc &w = d->weights[i];
    if (badTensor(w, "weight"))
      return XF_ERROR_VERSION;
    const bool scalar = w.dtype == XFM_F32 || w.dtype == XFM_I64 ||
                        w.dtype == XFM_I32 || w.dtype == XFM_BOOL ||
                        w.dtype == XFM_BF16 || w.dtype == XFM_F16;
    const std::optional<GGMLTypeTraits> blocks = blockTraits(w.dtype);
    if (!scalar && !(blocks && w.rank == 2 && !d->device &&
                     w.shape[1] % blocks->blockElements == 0))
      return fail(XF_ERROR_VERSION,
                  std::string(library) + ": weight '" +
                      (w.name ? w.name : "?") + "' has dtype " +
                      std::to_string(w.dtype) +
                      (blocks ? " (ggml blocks), which needs a host model "
                                "and a shape of [rows, whole blocks]"
                              : ", which this runtime does not know"));
  }
  if (d->num_fused_weights < 0 ||
      (d->num_fused_weights > 0 && !d->fused_weights))
    return fail(XF_ERROR_VERSION,
                std::string(library) + ": the model descriptor is malformed");
  for (int32_t k = 0; k < d->num_fused_weights; ++k) {
    const xfm_fused_weight_desc &fw = d->fused_weights[k];
    const xfm_tensor_desc &t = fw.tensor;
    if (badTensor(t, "fused weight"))
      return XF_ERROR_VERSION;
    const std::string name = t.name ? t.name : "?";
    auto bad = [&](const std::string &why) {
      return fail(XF_ERROR_VERSION, std::string(library) +
                                        ": fused weight '" + name + "' " +
                                        why);
    };
    const std::optional<GGMLTypeTraits> blocks = blockTraits(t.dtype);
    if (fw.num_parts < 1 || !fw.parts || fw.axis < 0 || fw.axis >= t.rank ||
        (blocks && fw.axis != 0))
      return bad("has no parts or an axis outside its rank " +
                 std::to_string(t.rank) + " (ggml blocks join on axis 0)");
    int64_t along = 0;
    for (int32_t i = 0; i < fw.num_parts; ++i) {
      const int32_t p = fw.parts[i];
      if (p < 0 || p >= d->num_weights)
        return bad("names weight #" + std::to_string(p) + " of " +
                   std::to_string(d->num_weights));
      const xfm_tensor_desc &w = d->weights[p];
      if (w.dtype != t.dtype || w.rank != t.rank)
        return bad("joins '" + std::string(w.name ? w.name : "?") +
                   "' of another dtype or rank");
      for (int32_t r = 0; r < t.rank; ++r)
        if (r != fw.axis && w.shape[r] != t.shape[r])
          return bad("joins '" + std::string(w.name ? w.name : "?") +
                     "' of shape " + shapeText(w.shape, w.rank) +
                     ", which differs from " + shapeText(t.shape, t.rank) +
                     " outside axis " + std::to_string(fw.axis));
      if (__builtin_add_overflow(along, w.shape[fw.axis], &along))
        return bad("has parts whose sizes overflow");
    }
    if (along != t.shape[fw.axis])
      return bad("has " + std::to_string(t.shape[fw.axis]) + " along axis " +
                 std::to_string(fw.axis) + " but its parts sum to " +
                 std::to_string(along));
  }
  for (int32_t i = 0; i < d->num_functions; ++i) {
    const xfm_function_desc &fn = d->functions[i];
    for (int32_t k = 0; k < fn.num_inputs; ++k)
      if (badTensor(fn.inputs[k], "input"))
        return XF_ERROR_VERSION;
    for (int32_t k = 0; k < fn.num_outputs; ++k)
      if (badTensor(fn.outputs[k], "output"))
        return XF_ERROR_VERSION;
  }
  for (int32_t c = 0; c < d->num_caches; ++c) {
    const xfm_cache_desc &cache = d->caches[c];
    if (cache.offset < 0 || cache.bytes < 0 ||
        cache.offset > d->arena_bytes - cache.bytes)
      return fail(XF_ERROR_VERSION,
                  std::string(library) + ": cache '" + cache.name +
                      "' lies outside the KV arena");
    if (cache.kind == XFM_CACHE_RING)
      m.hasRing = true;
  }
  int64_t fill;
  if (!mulChecked(std::max(1, d->num_caches), d->max_batch, fill))
    return fail(XF_ERROR_VERSION,
                std::string(library) + ": the model descriptor is malformed");
  return XF_OK;
}

} // namespace

extern "C" {

const char *xf_last_error(void) { return lastError(); }

const char *xf_status_name(xf_status status) {
  switch (status) {
  case XF_OK:
    return "ok";
  case XF_ERROR_IO:
    return "io";
  case XF_ERROR_VERSION:
    return "version";
  case XF_ERROR_WEIGHTS:
    return "weights";
  case XF_ERROR_INVALID_ARGUMENT:
    return "invalid-argument";
  case XF_ERROR_OUT_OF_RANGE:
    return "out-of-range";
  case XF_ERROR_CAPACITY:
    return "capacity";
  case XF_ERROR_NONFINITE:
    return "non-finite";
  case XF_ERROR_INTERNAL:
    return "internal";
  case XF_ERROR_DEVICE:
    return "device";
  }
  return "unknown";
}

xf_status xf_open_ex(const char *library, const char *weights, uint32_t flags,
                     xf_model **out) {
  setLastError("");
  if (!out)
    return fail(XF_ERROR_INVALID_ARGUMENT, "xf_open: null result pointer");
  *out = nullptr;
  if (!library || !weights)
    return fail(XF_ERROR_INVALID_ARGUMENT,
                !library ? "xf_open: null library path"
                         : "xf_open: null weights path");
  if (flags & ~(XF_OPEN_ALLOW_EXTRA_WEIGHTS | XF_OPEN_MMAP))
    return fail(XF_ERROR_INVALID_ARGUMENT,
                "xf_open: unknown flags 0x" + [&] {
                  char b[16];
                  std::snprintf(b, sizeof b, "%x", flags);
                  return std::string(b);
                }());
  auto m = std::make_unique<xf_model>();
  if (xf_status s = loadLibrary(*m, library))
    return s;
  if (xf_status s = bindDescriptor(*m, library))
    return s;
  if (xf_status s = bindSignatures(*m))
    return s;
  if (xf_status s = bindWeights(*m, weights, flags & XF_OPEN_ALLOW_EXTRA_WEIGHTS,
                                flags & XF_OPEN_MMAP))
    return s;
  if (xf_status s = fuseWeights(*m))
    return s;
  int64_t scratch = 0;
  for (int32_t i = 0; i < m->desc->num_functions; ++i)
    scratch = std::max(scratch, m->desc->functions[i].scratch_bytes);
  if (const xfm_device_ops *ops = m->device()) {
    if (xf_status s = m->deviceCall(
            ops->init(m->deviceError, sizeof m->deviceError),
            "the model was compiled for this device and cannot run without "
            "it"))
      return s;
    // Weights were checked on the host (names, dtypes, shapes, NaN/Inf);
    // the device holds a copy of each.
    const int32_t numWeights = m->desc->num_weights;
    m->deviceWeights.resize(m->weights.size());
    for (size_t i = 0; i < m->weights.size(); ++i) {
      const xfm_tensor_desc &w =
          int32_t(i) < numWeights
              ? m->desc->weights[i]
              : m->desc->fused_weights[int32_t(i) - numWeights].tensor;
      if (!m->weights[i])
        continue; // read only through a fused weight, and freed
      int64_t bytes = storedBytes(w);
      if (xf_status s =
              m->deviceAlloc(m->deviceWeights[i], std::max<int64_t>(64, bytes)))
        return s;
      if (xf_status s = m->deviceCall(
              ops->to_device(m->deviceWeights[i].ptr, m->weights[i], bytes,
                             m->deviceError, sizeof m->deviceError),
              (std::string("copying weight '") + w.name + "' to the device")
                  .c_str()))
        return s;
      m->weights[i] = m->deviceWeights[i].ptr;
    }
    int64_t arenaBytes = std::max<int64_t>(64, m->desc->arena_bytes);
    if (xf_status s =
            m->deviceAlloc(m->deviceScratch, std::max<int64_t>(64, scratch)))
      return s;
    if (xf_status s = m->deviceAlloc(m->deviceArena, arenaBytes))
      return s;
    if (xf_status s =
            m->deviceCall(ops->zero(m->deviceArena.ptr, arenaBytes,
                                    m->deviceError, sizeof m->deviceError),
                          "clearing the KV arena"))
      return s;
    scratch = 0; // the host needs none
    m->weightCopies.clear();
    m->file.reset();
    m->gguf.reset();
    m->mapped = false;
  }
  m->scratch = allocate(scratch);
  m->arena = allocate(m->device() ? 0 : m->desc->arena_bytes);
  if (!m->scratch || !m->arena)
    return fail(XF_ERROR_CAPACITY, "cannot allocate " +
                                       std::to_string(scratch) +
                                       " scratch bytes and a KV arena of " +
                                       std::to_string(m->desc->arena_bytes));
  if (!m->device())
    std::memset(m->arena.get(), 0, std::max<int64_t>(64, m->desc->arena_bytes));
  m->cacheFill.assign(
      std::max<int64_t>(1, m->desc->num_caches * m->desc->max_batch), 0);
  m->active.assign(m->desc->max_batch, 0);
  m->stale.assign(m->desc->max_batch, 0);
  m->position.assign(m->batch, 0);
  m->lastToken.assign(m->batch, 0);
  m->sourceLengths.assign(m->batch, 0);
  *out = m.release();
  return XF_OK;
}

xf_status xf_open(const char *library, const char *weights, xf_model **out) {
  return xf_open_ex(library, weights, 0, out);
}

void xf_close(xf_model *model) { delete model; }

xf_status xf_get_info(const xf_model *m, xf_info *info) {
  if (!m || !info)
    return fail(XF_ERROR_INVALID_ARGUMENT,
                !m ? "xf_get_info: null model" : "xf_get_info: null info");
  *info = m->info;
  return XF_OK;
}

xf_status xf_get_timings(const xf_model *m, xf_timings *t) {
  if (!m || !t)
    return fail(XF_ERROR_INVALID_ARGUMENT, !m ? "xf_get_timings: null model"
                                              : "xf_get_timings: null timings");
  std::lock_guard<std::recursive_mutex> lock(
      const_cast<xf_model *>(m)->callMutex);
  *t = m->timings;
  return XF_OK;
}

xf_status xf_encode(xf_model *m, const int64_t *ids, const int64_t *typeIds,
                    const int64_t *lengths, int64_t batch, int64_t seq,
                    float *hidden, float *pooled) {
  if (!m)
    return fail(XF_ERROR_INVALID_ARGUMENT, "xf_encode: null model");
  std::lock_guard<std::recursive_mutex> lock(m->callMutex);
  if (!m->forward)
    return fail(XF_ERROR_INVALID_ARGUMENT,
                "xf_encode needs an encoder model; use xf_encode_source for "
                "encoder-decoders and xf_prefill for decoders");
  if (xf_status s = checkBatch(m, batch, "xf_encode"))
    return s;
  if (!ids || !hidden)
    return fail(XF_ERROR_INVALID_ARGUMENT, !ids ? "xf_encode: null ids"
                                                : "xf_encode: null hidden");
  if (xf_status s = checkWeightsFile(m))
    return s;
  const int64_t B = m->batch, S = m->info.seq_len, H = m->info.hidden;
  if (seq < 1 || seq > S)
    return fail(XF_ERROR_CAPACITY, "sequence length " + std::to_string(seq) +
                                       "; the model was compiled for 1 to " +
                                       std::to_string(S));
  const xfm_function_desc *fn = m->forward;
  bool hasLengths = fn->inputs[fn->num_inputs - 1].rank == 1;
  std::vector<int64_t> pIds(B * S, 0), pTypes(B * S, 0), pLens(B, 0);
  for (int64_t b = 0; b < batch; ++b) {
    int64_t len = lengths ? lengths[b] : seq;
    if (xf_status st = checkLength(b, len, 0, seq, "length"))
      return st;
    if (!hasLengths && len != S)
      return fail(XF_ERROR_INVALID_ARGUMENT,
                  "length " + std::to_string(len) + " of sequence " +
                      std::to_string(b) +
                      ": this encoder was compiled without a lengths input "
                      "and attends to all " +
                      std::to_string(S) +
                      " positions (import it with padding support to pass "
                      "shorter lengths)");
    pLens[b] = len;
    for (int64_t s = 0; s < seq; ++s) {
      pIds[b * S + s] = ids[b * seq + s];
      if (typeIds)
        pTypes[b * S + s] = typeIds[b * seq + s];
    }
  }
  if (!hasLengths && (seq != S || batch != B))
    return fail(XF_ERROR_INVALID_ARGUMENT,
                "this encoder has no lengths input: it takes exactly [" +
                    std::to_string(B) + ", " + std::to_string(S) + "] ids");
  if (xf_status s = checkIds(fn, pIds.data(), pLens.data(), batch, S, "token"))
    return s;
  std::vector<const void *> in = {pIds.data()};
  if (m->info.has_token_types)
    in.push_back(pTypes.data());
  if (hasLengths)
    in.push_back(pLens.data());
  std::vector<float> h(B * S * H), p(B * H);
  std::vector<void *> out = {h.data()};
  if (m->info.has_pooled)
    out.push_back(p.data());
  auto t0 = std::chrono::steady_clock::now();
  if (xf_status s = m->run(fn, in.data(), out.data()))
    return s;
  m->timings.prefill_ms = msSince(t0);
  for (int64_t b = 0; b < batch; ++b)
    std::memcpy(hidden + b * seq * H, h.data() + b * S * H,
                seq * H * sizeof(float));
  if (pooled && m->info.has_pooled)
    std::memcpy(pooled, p.data(), batch * H * sizeof(float));
  return XF_OK;
}

xf_status xf_reset(xf_model *m) {
  if (!m)
    return fail(XF_ERROR_INVALID_ARGUMENT, "xf_reset: null model");
  std::lock_guard<std::recursive_mutex> lock(m->callMutex);
  if (xf_status s = checkNoEngine(m, "xf_reset"))
    return s;
  std::fill(m->position.begin(), m->position.end(), 0);
  std::fill(m->lastToken.begin(), m->lastToken.end(), 0);
  std::fill(m->stale.begin(), m->stale.end(), 0);
  // Self and ring caches restart; cross caches keep the encoded source.
  const xfm_model_desc *d = m->desc;
  for (int32_t c = 0; c < d->num_caches; ++c)
    if (d->caches[c].kind != XFM_CACHE_CROSS)
      std::fill(m->cacheFill.begin() + c * d->max_batch,
                m->cacheFill.begin() + (c + 1) * d->max_batch, 0);
  return XF_OK;
}

xf_status xf_encode_source(xf_model *m, const int64_t *ids,
                           const int64_t *lengths, int64_t batch, int64_t seq) {
  if (!m)
    return fail(XF_ERROR_INVALID_ARGUMENT, "xf_encode_source: null model");
  std::lock_guard<std::recursive_mutex> lock(m->callMutex);
  if (!m->encode)
    return fail(XF_ERROR_INVALID_ARGUMENT,
                "xf_encode_source needs an encoder-decoder model");
  if (xf_status s = checkBatch(m, batch, "xf_encode_source"))
    return s;
  if (!ids)
    return fail(XF_ERROR_INVALID_ARGUMENT, "xf_encode_source: null ids");
  if (xf_status s = checkWeightsFile(m))
    return s;
  const int64_t B = m->batch, S = m->info.source_len;
  if (seq < 1 || seq > S)
    return fail(XF_ERROR_CAPACITY, "source length " + std::to_string(seq) +
                                       "; the model was compiled for 1 to " +
                                       std::to_string(S));
  std::vector<int64_t> pIds(B * S, 0), pLens(B, 0);
  for (int64_t b = 0; b < batch; ++b) {
    int64_t len = lengths ? lengths[b] : seq;
    if (xf_status st = checkLength(b, len, 1, seq, "source length"))
      return st;
    pLens[b] = len;
    std::memcpy(&pIds[b * S], ids + b * seq, seq * sizeof(int64_t));
  }
  if (xf_status s =
          checkIds(m->encode, pIds.data(), pLens.data(), B, S, "source"))
    return s;
  // Only the sources given are encoded (a program over their rows where
  // the library has one); the other rows hold no source (length 0).
  std::unique_ptr<bool[]> given(new bool[B]);
  for (int64_t b = 0; b < B; ++b)
    given[b] = b < batch;
  if (xf_status s = runEncode(m, pIds, pLens, given.get())) {
    // The cross caches hold part of a new source: no source is encoded.
    m->sourceEncoded = false;
    return s;
  }
  m->sourceLengths = pLens;
  m->sourceEncoded = true;
  return xf_reset(m);
}

xf_status xf_prefill(xf_model *m, const int64_t *ids, const int64_t *lengths,
                     int64_t batch, int64_t seq, float *logits) {
  if (!m)
    return fail(XF_ERROR_INVALID_ARGUMENT, "xf_prefill: null model");
  std::lock_guard<std::recursive_mutex> lock(m->callMutex);
  if (xf_status s = checkDecoderCall(m, batch, "xf_prefill"))
    return s;
  if (!ids || !logits)
    return fail(XF_ERROR_INVALID_ARGUMENT, !ids ? "xf_prefill: null ids"
                                                : "xf_prefill: null logits");
  if (seq < 1)
    return fail(XF_ERROR_INVALID_ARGUMENT,
                "xf_prefill: empty prompt (seq " + std::to_string(seq) + ")");
  if (xf_status s = checkExtent(batch, seq, "xf_prefill"))
    return s;
  const int64_t B = m->batch, C = m->info.chunk, V = m->info.vocab;
  std::vector<int64_t> lens(B, 0);
  int64_t longest = 0;
  for (int64_t b = 0; b < batch; ++b) {
    lens[b] = lengths ? lengths[b] : seq;
    if (xf_status s = checkLength(b, lens[b], 0, seq, "length"))
      return s;
    if (xf_status s = checkCapacity(m, b, lens[b]))
      return s;
    longest = std::max(longest, lens[b]);
  }
  if (xf_status s = checkIds(m->prefill, ids, lens.data(), batch, seq, "token"))
    return s;
  auto t0 = std::chrono::steady_clock::now();
  Rollback rollback(*m);
  std::vector<int64_t> chunkIds(B * C), chunkLens(B);
  std::vector<float> out(B * V), last(batch * V);
  // Chunks cover the longest row, not the row stride `seq`.
  const int64_t chunks = (longest + C - 1) / C;
  for (int64_t c = 0; c < chunks; ++c) {
    std::fill(chunkIds.begin(), chunkIds.end(), 0);
    for (int64_t b = 0; b < B; ++b) {
      int64_t from = c * C;
      chunkLens[b] = b < batch ? std::clamp<int64_t>(lens[b] - from, 0, C) : 0;
      for (int64_t i = 0; i < chunkLens[b]; ++i)
        chunkIds[b * C + i] = ids[b * seq + from + i];
    }
    if (xf_status s = runChunk(m, rollback, m->prefill, chunkIds.data(),
                               chunkLens.data(), out.data()))
      return s;
    for (int64_t b = 0; b < batch; ++b) {
      if (chunkLens[b] == 0)
        continue;
      if (lens[b] - c * C <= C)
        std::memcpy(last.data() + b * V, out.data() + b * V,
                    V * sizeof(float));
    }
  }
  rollback.commit();
  for (int64_t b = 0; b < batch; ++b)
    if (lens[b] > 0)
      std::memcpy(logits + b * V, last.data() + b * V, V * sizeof(float));
  m->timings.prefill_ms = msSince(t0);
  return XF_OK;
}

namespace {

/// One decode step of the first `batch` sequences; those with `rows[b]`
/// false (null: all take part) neither grow nor need room: a finished
/// sequence of a batched generation. The program still computes every
/// row, on token 0 at position 0, but only the rows of the call write
/// their caches (the frame's `active`).
xf_status decodeStep(xf_model *m, const int64_t *tokens, const bool *rows,
                     int64_t batch, float *logits) {
  if (xf_status s = checkDecoderCall(m, batch, "xf_decode"))
    return s;
  const int64_t B = m->batch, V = m->info.vocab;
  std::vector<int64_t> tok(B, 0), pos(B, 0), len(B, 0);
  for (int64_t b = 0; b < batch; ++b) {
    if (rows && !rows[b])
      continue;
    if (xf_status s = checkCapacity(m, b, 1))
      return s;
    tok[b] = tokens[b];
    pos[b] = m->position[b];
    len[b] = 1;
  }
  if (xf_status s = checkIds(m->decode, tok.data(), len.data(), B, 1, "token"))
    return s;
  Rollback rollback(*m);
  std::vector<float> out(B * V);
  const void *in[] = {tok.data(), pos.data(), m->sourceLengths.data()};
  void *outs[] = {out.data()};
  m->setActive(batch, rows);
  rollback.running();
  if (xf_status s = m->run(m->decode, in, outs))
    return s;
  rollback.commit();
  for (int64_t b = 0; b < batch; ++b) {
    if (rows && !rows[b])
      continue;
    ++m->position[b];
    m->lastToken[b] = tokens[b];
  }
  std::memcpy(logits, out.data(), batch * V * sizeof(float));
  return XF_OK;
}

} // namespace

xf_status xf_decode(xf_model *m, const int64_t *tokens, int64_t batch,
                    float *logits) {
  if (!m)
    return fail(XF_ERROR_INVALID_ARGUMENT, "xf_decode: null model");
  std::lock_guard<std::recursive_mutex> lock(m->callMutex);
  if (xf_status s = checkDecoderCall(m, batch, "xf_decode"))
    return s;
  if (!tokens || !logits)
    return fail(XF_ERROR_INVALID_ARGUMENT, !tokens ? "xf_decode: null tokens"
                                                   : "xf_decode: null logits");
  return decodeStep(m, tokens, nullptr, batch, logits);
}

void xf_generate_options_init(xf_generate_options *o) {
  if (!o)
    return;
  *o = xf_generate_options{};
  o->max_new_tokens = 32;
  o->eos_token_id = -1;
  o->temperature = 0.0f;
  o->top_k = 0;
  o->top_p = 1.0f;
  o->seed = 0;
}

} // extern "C"

/// Greedy (first maximum, as torch.argmax) or sampling with temperature,
/// top-k and top-p, in that order (as Hugging Face's logits warpers).
void xformer::runtime::samplingDistribution(const float *logits, int64_t V,
                                            const xf_generate_options &o,
                                            std::vector<int64_t> &tokens,
                                            std::vector<double> &weights) {
  std::vector<int64_t> order(V);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return logits[a] > logits[b]; });
  int64_t keep = V;
  if (o.top_k > 0)
    keep = std::min<int64_t>(keep, o.top_k);
  std::vector<double> p(keep);
  const double mx = logits[order[0]] / o.temperature;
  double sum = 0;
  for (int64_t i = 0; i < keep; ++i)
    sum += p[i] = std::exp(logits[order[i]] / o.temperature - mx);
  if (o.top_p < 1.0f) {
    double acc = 0;
    int64_t n = 0;
    while (n < keep) {
      acc += p[n] / sum;
      ++n;
      if (acc >= o.top_p)
        break;
    }
    keep = std::max<int64_t>(1, n);
  }
  order.resize(keep);
  p.resize(keep);
  tokens = std::move(order);
  weights = std::move(p);
}

int64_t xformer::runtime::pickToken(const float *logits, int64_t V,
                                    const xf_generate_options &o,
                                    std::mt19937_64 &rng) {
  if (o.temperature <= 0.0f)
    return std::max_element(logits, logits + V) - logits;
  std::vector<int64_t> tokens;
  std::vector<double> weights;
  samplingDistribution(logits, V, o, tokens, weights);
  std::discrete_distribution<int64_t> dist(weights.begin(), weights.end());
  return tokens[dist(rng)];
}

xf_status xformer::runtime::checkSampling(const xf_generate_options &o,
                                          const char *call) {
  if (o.max_new_tokens < 1)
    return fail(XF_ERROR_INVALID_ARGUMENT,
                std::string(call) + ": max_new_tokens must be >= 1, not " +
                    std::to_string(o.max_new_tokens));
  if (std::isnan(o.temperature) || std::isinf(o.temperature))
    return fail(XF_ERROR_INVALID_ARGUMENT,
                std::string(call) +
                    ": temperature must be a finite number (<= 0: greedy)");
  if (!(o.top_p > 0.0f) || std::isinf(o.top_p))
    return fail(XF_ERROR_INVALID_ARGUMENT,
                std::string(call) + ": top_p must be in (0, 1]");
  if (o.num_eos_token_ids < 0 || (o.num_eos_token_ids > 0 && !o.eos_token_ids))
    return fail(XF_ERROR_INVALID_ARGUMENT,
                std::string(call) + ": num_eos_token_ids " +
                    std::to_string(o.num_eos_token_ids) +
                    " without eos_token_ids");
  return XF_OK;
}

bool xformer::runtime::isStopToken(const xf_generate_options &o, int64_t t) {
  if (t == o.eos_token_id)
    return true;
  for (int64_t i = 0; i < o.num_eos_token_ids; ++i)
    if (t == o.eos_token_ids[i])
      return true;
  return false;
}

extern "C" xf_status xf_generate(xf_model *m, const int64_t *ids,
                                 const int64_t *lengths, int64_t batch,
                                 int64_t seq,
                                 const xf_generate_options *options,
                                 int64_t *tokens, int64_t *counts) {
  if (!m)
    return fail(XF_ERROR_INVALID_ARGUMENT, "xf_generate: null model");
  std::lock_guard<std::recursive_mutex> lock(m->callMutex);
  if (xf_status s = checkDecoderCall(m, batch, "xf_generate"))
    return s;
  if (!ids || !options || !tokens || !counts)
    return fail(XF_ERROR_INVALID_ARGUMENT,
                std::string("xf_generate: null ") +
                    (!ids ? "ids" : !options ? "options"
                                : !tokens    ? "tokens"
                                             : "counts"));
  const xf_generate_options &o = *options;
  if (xf_status s = checkSampling(o, "xf_generate"))
    return s;
  int64_t cells;
  if (!mulChecked(batch, o.max_new_tokens, cells) ||
      !mulChecked(cells, int64_t(sizeof(int64_t)), cells))
    return fail(XF_ERROR_INVALID_ARGUMENT,
                "max_new_tokens " + std::to_string(o.max_new_tokens) +
                    " for " + std::to_string(batch) +
                    " sequences: the tokens buffer cannot be that large");
  if (xf_status s = checkExtent(batch, seq, "xf_generate"))
    return s;
  auto isEos = [&](int64_t t) { return isStopToken(o, t); };
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t len = lengths ? lengths[b] : seq;
    if (len < 1)
      return fail(XF_ERROR_INVALID_ARGUMENT,
                  "xf_generate: the prompt of sequence " + std::to_string(b) +
                      " is empty (length " + std::to_string(len) +
                      "); every sequence needs at least one token" +
                      (m->encode ? " (the decoder start token)" : ""));
  }
  for (int64_t b = 0; b < batch; ++b)
    counts[b] = 0;
  // A failed prefill leaves the model as it was; reset only once the
  // arguments are known good.
  std::vector<int64_t> savedPos = m->position, savedLast = m->lastToken,
                       savedFill = m->cacheFill;
  std::vector<uint8_t> savedStale = m->stale;
  if (xf_status s = xf_reset(m))
    return s;
  const int64_t V = m->info.vocab;
  std::vector<float> logits(batch * V);
  if (xf_status s = xf_prefill(m, ids, lengths, batch, seq, logits.data())) {
    m->position = std::move(savedPos);
    m->lastToken = std::move(savedLast);
    m->cacheFill = std::move(savedFill);
    m->stale = std::move(savedStale);
    return s;
  }
  double prefillMs = m->timings.prefill_ms;
  std::mt19937_64 rng(o.seed);
  std::vector<int64_t> next(batch);
  std::unique_ptr<bool[]> active(new bool[batch]);
  for (int64_t b = 0; b < batch; ++b)
    active[b] = true;
  auto t0 = std::chrono::steady_clock::now();
  int64_t steps = 0;
  auto finish = [&] {
    m->timings.prefill_ms = prefillMs;
    m->timings.decode_ms = msSince(t0);
    m->timings.decode_steps = steps;
  };
  for (int64_t step = 0; step < o.max_new_tokens; ++step) {
    bool all = true;
    for (int64_t b = 0; b < batch; ++b) {
      if (!active[b]) {
        next[b] = 0;
        continue;
      }
      next[b] = pickToken(logits.data() + b * V, V, o, rng);
      tokens[b * o.max_new_tokens + counts[b]++] = next[b];
      if (isEos(next[b]))
        active[b] = false;
      all = all && !active[b];
    }
    if (o.progress)
      o.progress(o.user, step + 1, o.max_new_tokens);
    if (all || step + 1 == o.max_new_tokens)
      break;
    // Finished sequences stop: they take no room in the cache, so one that
    // ended early never fails the others for capacity. A sequence out of
    // room fails the call; the tokens made so far stay in `tokens`.
    if (xf_status s =
            decodeStep(m, next.data(), active.get(), batch, logits.data())) {
      finish();
      return s;
    }
    ++steps;
  }
  finish();
  return XF_OK;
}

const xformer::runtime::cpu::PackedBlocks *
xformer::runtime::packedWeight(void *runtime, const void *blocks, GGMLType type,
                               int64_t out, int64_t in) {
  if (!runtime || !blocks)
    return nullptr;
  xf_model &m = *static_cast<xf_model *>(runtime);
  if (m.device())
    return nullptr;
  std::lock_guard<std::mutex> lock(m.packMutex);
  auto [it, first] = m.packed.try_emplace(blocks);
  if (first) {
    try {
      it->second = cpu::packBlocks(type, blocks, out, in);
    } catch (const std::bad_alloc &) {
      it->second.reset(); // read as stored
    }
  }
  const cpu::PackedBlocks *p = it->second.get();
  return p && p->type == type && p->out == out && p->in == in ? p : nullptr;
}

//===----------------------------------------------------------------------===//
// What the engine uses (ModelInternal.h)
//===----------------------------------------------------------------------===//

namespace {

/// Runs `body` under the model's call lock as its engine.
template <typename Body> xf_status asEngine(xf_model *m, Body body) {
  std::lock_guard<std::recursive_mutex> lock(m->callMutex);
  m->engineCall = true;
  xf_status s = body();
  m->engineCall = false;
  return s;
}

} // namespace

xf_status xformer::runtime::attachEngine(xf_model *m, const void *engine,
                                         bool sizedCalls, DecoderRows &out) {
  std::lock_guard<std::recursive_mutex> lock(m->callMutex);
  if (!m->prefill)
    return fail(XF_ERROR_INVALID_ARGUMENT,
                "xf_engine_create: token requests need a decoder or an "
                "encoder-decoder; this model is an encoder");
  if (m->engine)
    return fail(XF_ERROR_INVALID_ARGUMENT,
                "xf_engine_create: the model already has an engine");
  if (xf_status s = xf_reset(m))
    return s;
  m->engine = engine;
  m->sizedCalls = sizedCalls;
  out.callRows.clear();
  if (sizedCalls)
    for (const xf_model::Variant &v : m->variants)
      if (v.full == m->decode)
        out.callRows.push_back(v.rows);
  std::sort(out.callRows.begin(), out.callRows.end());
  out.callRows.push_back(m->batch);
  out.rows = m->batch;
  out.chunk = m->info.chunk;
  out.vocab = m->info.vocab;
  out.maxSeqLen = m->info.max_seq_len;
  out.verifyChunk = m->info.verify_chunk;
  if (m->encode) {
    // Each row gets its source from its request. Until then it attends to
    // one position of whatever its cross caches hold (finite: zeros, or an
    // earlier source), so the rows left out of a call compute finite
    // values; nothing reads them.
    out.sourceLen = m->info.source_len;
    out.sourceVocab = m->encode->token_vocab;
    std::fill(m->sourceLengths.begin(), m->sourceLengths.end(), 1);
    m->sourceEncoded = true;
  }
  return XF_OK;
}

void xformer::runtime::detachEngine(xf_model *m) {
  std::lock_guard<std::recursive_mutex> lock(m->callMutex);
  m->engine = nullptr;
  m->engineCall = false;
  m->sizedCalls = true;
  // The rows' sources were the requests': none is the model's.
  if (m->encode) {
    m->sourceEncoded = false;
    std::fill(m->sourceLengths.begin(), m->sourceLengths.end(), 0);
  }
  (void)xf_reset(m);
}

xf_status xformer::runtime::engineEncode(xf_model *m, const int64_t *ids,
                                         const int64_t *lengths,
                                         const bool *rows) {
  return asEngine(m, [&]() -> xf_status {
    const int64_t B = m->batch, S = m->info.source_len;
    if (!m->encode)
      return fail(XF_ERROR_INVALID_ARGUMENT,
                  "xf_engine_step: the model has no @encode");
    // Rows left out read one token 0: their results are not written.
    std::vector<int64_t> pIds(B * S, 0), pLens(B, 1);
    for (int64_t b = 0; b < B; ++b) {
      if (!rows[b])
        continue;
      if (xf_status s = checkLength(b, lengths[b], 1, S, "source length"))
        return s;
      pLens[b] = lengths[b];
      std::copy_n(ids + b * S, lengths[b], pIds.begin() + b * S);
    }
    if (xf_status s =
            checkIds(m->encode, pIds.data(), pLens.data(), B, S, "source"))
      return s;
    if (xf_status s = checkWeightsFile(m))
      return s;
    Rollback rollback(*m);
    m->setActive(B, rows);
    rollback.running();
    if (xf_status s = runEncode(m, pIds, pLens, rows))
      return s;
    rollback.commit();
    for (int64_t b = 0; b < B; ++b)
      if (rows[b])
        m->sourceLengths[b] = pLens[b];
    return XF_OK;
  });
}

xf_status xformer::runtime::enginePrefill(xf_model *m, const int64_t *ids,
                                          const int64_t *lengths,
                                          float *logits) {
  return asEngine(m, [&] {
    return xf_prefill(m, ids, lengths, m->batch, m->info.chunk, logits);
  });
}

xf_status xformer::runtime::engineDecode(xf_model *m, const int64_t *tokens,
                                         const bool *rows, float *logits) {
  return asEngine(m,
                  [&] { return decodeStep(m, tokens, rows, m->batch, logits); });
}

bool xformer::runtime::engineKeepPrefix(xf_model *m, int64_t b, int64_t keep,
                                        int64_t lastToken) {
  std::lock_guard<std::recursive_mutex> lock(m->callMutex);
  const xfm_model_desc *d = m->desc;
  if (keep < 1 || keep > m->position[b] || m->stale[b])
    return false;
  // A ring that wrapped has overwritten positions the kept prefix's last
  // window may need; one that did not still holds them all.
  for (int32_t c = 0; c < d->num_caches; ++c)
    if (d->caches[c].kind == XFM_CACHE_RING &&
        m->cacheFill[c * d->max_batch + b] > d->caches[c].capacity &&
        keep != m->position[b])
      return false;
  m->position[b] = keep;
  m->lastToken[b] = lastToken;
  for (int32_t c = 0; c < d->num_caches; ++c)
    if (d->caches[c].kind != XFM_CACHE_CROSS)
      m->cacheFill[c * d->max_batch + b] = keep;
  return true;
}

xf_status xformer::runtime::engineVerify(xf_model *m, const int64_t *ids,
                                         const int64_t *lengths,
                                         float *logits) {
  return asEngine(m, [&]() -> xf_status {
    const char *call = "xf_engine_step";
    if (!m->verify)
      return fail(XF_ERROR_INVALID_ARGUMENT,
                  "the model has no @verify (compile it with --speculate)");
    const int64_t B = m->batch, N = m->info.verify_chunk;
    if (xf_status s = checkDecoderCall(m, B, call))
      return s;
    for (int64_t b = 0; b < B; ++b)
      if (xf_status s = checkCapacity(m, b, lengths[b]))
        return s;
    if (xf_status s = checkIds(m->verify, ids, lengths, B, N, "token"))
      return s;
    Rollback rollback(*m);
    if (xf_status s =
            runChunk(m, rollback, m->verify, ids, lengths, logits))
      return s;
    rollback.commit();
    return XF_OK;
  });
}

int64_t xformer::runtime::encoderVocab(const xf_model *m) {
  return m->forward ? m->forward->token_vocab : 0;
}

void xformer::runtime::engineRewind(xf_model *m, int64_t b, int64_t keep,
                                    int64_t lastToken) {
  std::lock_guard<std::recursive_mutex> lock(m->callMutex);
  const xfm_model_desc *d = m->desc;
  m->position[b] = keep;
  m->lastToken[b] = lastToken;
  for (int32_t c = 0; c < d->num_caches; ++c)
    if (d->caches[c].kind != XFM_CACHE_CROSS)
      m->cacheFill[c * d->max_batch + b] = keep;
}

int64_t xformer::runtime::lastCallRows(const xf_model *m) {
  return m->lastRows;
}

bool xformer::runtime::engineMoveRow(xf_model *m, int64_t from, int64_t to,
                                     bool swap) {
  std::lock_guard<std::recursive_mutex> lock(m->callMutex);
  if (m->device() || from == to)
    return from == to;
  const xfm_model_desc *d = m->desc;
  const int64_t B = d->max_batch;
  for (int32_t c = 0; c < d->num_caches; ++c) {
    const xfm_cache_desc &cache = d->caches[c];
    const int64_t perRow = cache.kv_heads * cache.capacity * cache.head_dim;
    if (perRow == 0)
      continue;
    const int64_t elt = cache.bytes / (2 * B * perRow);
    const int64_t fillFrom = m->cacheFill[c * B + from],
                  fillTo = m->cacheFill[c * B + to];
    // Positions held: a ring that wrapped holds all of its slots.
    const int64_t n = std::min(cache.capacity,
                               swap ? std::max(fillFrom, fillTo) : fillFrom);
    const int64_t rowBytes = cache.capacity * cache.head_dim * elt,
                  spanBytes = n * cache.head_dim * elt;
    char *keys = m->arena.get() + cache.offset;
    for (char *base : {keys, keys + B * perRow * elt})
      for (int64_t h = 0; h < cache.kv_heads; ++h) {
        char *a = base + (from * cache.kv_heads + h) * rowBytes;
        char *b = base + (to * cache.kv_heads + h) * rowBytes;
        if (swap)
          std::swap_ranges(a, a + spanBytes, b);
        else
          std::memcpy(b, a, spanBytes);
      }
    m->cacheFill[c * B + to] = fillFrom;
    if (swap)
      m->cacheFill[c * B + from] = fillTo;
  }
  auto move = [&](auto &v) {
    if (swap)
      std::swap(v[from], v[to]);
    else
      v[to] = v[from];
  };
  move(m->position);
  move(m->lastToken);
  move(m->stale);
  move(m->sourceLengths);
  return true;
}

void xformer::runtime::engineResetRow(xf_model *m, int64_t b) {
  std::lock_guard<std::recursive_mutex> lock(m->callMutex);
  m->position[b] = 0;
  m->lastToken[b] = 0;
  m->stale[b] = 0;
  const xfm_model_desc *d = m->desc;
  for (int32_t c = 0; c < d->num_caches; ++c)
    if (d->caches[c].kind != XFM_CACHE_CROSS)
      m->cacheFill[c * d->max_batch + b] = 0;
}
