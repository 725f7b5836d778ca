//===- Linear.cpp - GEMMs of the CPU runtime through oneDNN ---------------===//

#include "xformer/Runtime/CPU/Linear.h"
#include "ThreadPool.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <tuple>
#include <vector>

using namespace xformer::runtime::cpu;

namespace {

struct Context {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  std::mutex lock;
  std::map<std::tuple<int64_t, int64_t, int64_t, bool, bool, int, bool, bool>,
           dnnl::matmul>
      primitives;
  /// Whether oneDNN has a bf16 GEMM on this CPU (-1: not asked yet).
  int bf16Gemm = -1;
};

Context &context() {
  static Context ctx;
  return ctx;
}

//===----------------------------------------------------------------------===//
// bf16 weights, streamed
//===----------------------------------------------------------------------===//

/// Rows up to which the bf16 mode streams the weights itself (decode, small
/// batches): one pass over the weight per group of kRowGroup rows, each
/// weight byte read once, where a GEMM would first repack the weight.
constexpr int64_t kStreamRows = 8;
constexpr int64_t kRowGroup = 4;

#ifdef __AVX512F__
constexpr int64_t kLanes = 16;
#else
constexpr int64_t kLanes = 8;
#endif
typedef float Vec __attribute__((vector_size(kLanes * sizeof(float))));
typedef uint32_t UVec __attribute__((vector_size(kLanes * sizeof(uint32_t))));
typedef uint16_t HVec __attribute__((vector_size(kLanes * sizeof(uint16_t))));

/// kLanes bf16 words as floats (exact: a bf16 is a float's top half).
inline Vec widen(const uint16_t *p) {
  HVec h;
  std::memcpy(&h, p, sizeof(h));
  UVec bits = __builtin_convertvector(h, UVec) << 16;
  Vec v;
  std::memcpy(&v, &bits, sizeof(v));
  return v;
}

inline float horizontalSum(Vec v) {
  float sum = 0.0f;
  for (int64_t l = 0; l < kLanes; ++l)
    sum += v[l];
  return sum;
}

/// f32 rounded to the nearest bf16 (even on ties), as a float.
inline float roundToBF16(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof(bits));
  if ((bits & 0x7f800000u) != 0x7f800000u) // NaN and Inf stay
    bits += 0x7fffu + ((bits >> 16) & 1u);
  bits &= 0xffff0000u;
  std::memcpy(&v, &bits, sizeof(v));
  return v;
}

inline float bf16ToFloat(uint16_t h) {
  const uint32_t bits = uint32_t(h) << 16;
  float v;
  std::memcpy(&v, &bits, sizeof(v));
  return v;
}

/// The epilogue oneDNN's post-ops apply, for the streamed path.
inline float activate(Activation act, float x) {
  switch (act) {
  case Activation::None:
    return x;
  case Activation::GeluErf:
    return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f));
  case Activation::GeluTanh:
    return 0.5f * x *
           (1.0f + std::tanh(0.79788456080286536f *
                             (x + 0.044715f * x * x * x)));
  case Activation::Silu:
    return x / (1.0f + std::exp(-x));
  case Activation::Relu:
    return x > 0.0f ? x : 0.0f;
  case Activation::Tanh:
    return std::tanh(x);
  }
  return x;
}

/// y[r][o] = act(sum_i x[r][i] w(o, i) + bias[o]) + residual[r][o] for the
/// rows in [0, rows) and outputs in [o0, o1), x already rounded to bf16.
/// W [out, in]: one dot product per output, the weight row widened once for
/// the whole row group.
void streamRowMajor(const LinearArgs &a, const float *x, int64_t o0,
                    int64_t o1) {
  const int64_t in = a.in, iv = in / kLanes * kLanes;
  for (int64_t r0 = 0; r0 < a.rows; r0 += kRowGroup) {
    const int64_t nr = std::min(kRowGroup, a.rows - r0);
    for (int64_t o = o0; o < o1; ++o) {
      const uint16_t *w = a.weightBF16 + o * in;
      Vec acc[kRowGroup] = {};
      for (int64_t i = 0; i < iv; i += kLanes) {
        const Vec wv = widen(w + i);
        for (int64_t r = 0; r < nr; ++r) {
          Vec xv;
          std::memcpy(&xv, x + (r0 + r) * in + i, sizeof(xv));
          acc[r] += xv * wv;
        }
      }
      for (int64_t r = 0; r < nr; ++r) {
        float sum = horizontalSum(acc[r]);
        for (int64_t i = iv; i < in; ++i)
          sum += x[(r0 + r) * in + i] * bf16ToFloat(w[i]);
        if (a.bias)
          sum += a.bias[o];
        sum = activate(a.activation, sum);
        const int64_t at = (r0 + r) * a.out + o;
        if (a.residual)
          sum += a.residual[at];
        a.output[at] = sum;
      }
    }
  }
}

/// The same for W [in, out] (transposed, GPT-2's Conv1D): the weight's rows
/// are streamed, each scaled into a block of output accumulators.
void streamTransposed(const LinearArgs &a, const float *x, int64_t o0,
                      int64_t o1) {
  constexpr int64_t kBlock = 256;
  float acc[kRowGroup][kBlock];
  for (int64_t r0 = 0; r0 < a.rows; r0 += kRowGroup) {
    const int64_t nr = std::min(kRowGroup, a.rows - r0);
    for (int64_t b0 = o0; b0 < o1; b0 += kBlock) {
      const int64_t nb = std::min(kBlock, o1 - b0), nv = nb / kLanes * kLanes;
      for (int64_t r = 0; r < nr; ++r)
        std::fill(acc[r], acc[r] + nb, 0.0f);
      for (int64_t i = 0; i < a.in; ++i) {
        const uint16_t *w = a.weightBF16 + i * a.out + b0;
        for (int64_t c = 0; c < nv; c += kLanes) {
          const Vec wv = widen(w + c);
          for (int64_t r = 0; r < nr; ++r) {
            Vec av;
            std::memcpy(&av, acc[r] + c, sizeof(av));
            av += x[(r0 + r) * a.in + i] * wv;
            std::memcpy(acc[r] + c, &av, sizeof(av));
          }
        }
        for (int64_t c = nv; c < nb; ++c)
          for (int64_t r = 0; r < nr; ++r)
            acc[r][c] += x[(r0 + r) * a.in + i] * bf16ToFloat(w[c]);
      }
      for (int64_t r = 0; r < nr; ++r)
        for (int64_t c = 0; c < nb; ++c) {
          const int64_t o = b0 + c, at = (r0 + r) * a.out + o;
          float sum = acc[r][c] + (a.bias ? a.bias[o] : 0.0f);
          sum = activate(a.activation, sum);
          a.output[at] = a.residual ? sum + a.residual[at] : sum;
        }
    }
  }
}

/// The streamed bf16 linear, its outputs spread over the kernel threads in
/// blocks (the output may alias nothing it reads but the residual, which
/// each output element reads before it is written).
void streamBF16(const LinearArgs &a) {
  std::vector<float> x(a.rows * a.in);
  for (int64_t e = 0; e < a.rows * a.in; ++e)
    x[e] = roundToBF16(a.input[e]);
  // Blocks of outputs: enough to balance the threads, each a multiple of
  // the transposed kernel's accumulator block.
  const int64_t block = a.transposed ? 256 : 64;
  const int64_t blocks = (a.out + block - 1) / block;
  parallelFor(blocks, [&](int64_t b) {
    const int64_t o0 = b * block, o1 = std::min(a.out, o0 + block);
    if (a.transposed)
      streamTransposed(a, x.data(), o0, o1);
    else
      streamRowMajor(a, x.data(), o0, o1);
  });
}

/// x rounded to bf16 words, the source operand of oneDNN's bf16 GEMM.
void toBF16(const float *x, int64_t n, std::vector<uint16_t> &out) {
  out.resize(n);
  for (int64_t e = 0; e < n; ++e) {
    const float v = roundToBF16(x[e]);
    uint32_t bits;
    std::memcpy(&bits, &v, sizeof(bits));
    out[e] = uint16_t(bits >> 16);
  }
}

/// Whether oneDNN implements a bf16 matmul on this CPU (AVX-512 and up).
bool haveBF16Gemm(Context &ctx) {
  std::lock_guard<std::mutex> guard(ctx.lock);
  if (ctx.bf16Gemm < 0) {
    using dt = dnnl::memory::data_type;
    using tag = dnnl::memory::format_tag;
    try {
      dnnl::memory::desc src({16, 64}, dt::bf16, tag::ab);
      dnnl::memory::desc wei({64, 64}, dt::bf16, tag::ba);
      dnnl::memory::desc dst({16, 64}, dt::f32, tag::ab);
      dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src, wei, dst),
                                      ctx.engine);
      ctx.bf16Gemm = 1;
    } catch (const dnnl::error &) {
      ctx.bf16Gemm = 0;
    }
  }
  return ctx.bf16Gemm == 1;
}

} // namespace

bool xformer::runtime::cpu::hasBF16Gemm() { return haveBF16Gemm(context()); }

bool xformer::runtime::cpu::linear(const LinearArgs &a, std::string &error) {
  const bool bf16 = a.weightBF16 != nullptr;
  if (a.rows < 0 || a.in <= 0 || a.out <= 0 || !a.input ||
      !a.weight == !bf16 || !a.output) {
    error = "linear: invalid arguments";
    return false;
  }
  if (a.rows == 0)
    return true;
  Context &ctx = context();
  if (bf16 && (a.rows <= kStreamRows || !haveBF16Gemm(ctx))) {
    streamBF16(a);
    return true;
  }
  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;
  const dt in = bf16 ? dt::bf16 : dt::f32;
  std::vector<uint16_t> inputBF16;
  if (bf16)
    toBF16(a.input, a.rows * a.in, inputBF16);
  try {
    dnnl::memory::desc src({a.rows, a.in}, in, tag::ab);
    // Weights as the [in, out] operand of the product: an [out, in] matrix
    // is its transpose (tag ba), an [in, out] matrix is plain (tag ab).
    dnnl::memory::desc wei({a.in, a.out}, in,
                           a.transposed ? tag::ab : tag::ba);
    dnnl::memory::desc bia({1, a.out}, dt::f32, tag::ab);
    dnnl::memory::desc dst({a.rows, a.out}, dt::f32, tag::ab);
    auto key = std::make_tuple(a.rows, a.in, a.out, a.transposed,
                               a.bias != nullptr,
                               static_cast<int>(a.activation),
                               a.residual != nullptr, bf16);
    dnnl::matmul prim;
    {
      std::lock_guard<std::mutex> guard(ctx.lock);
      auto it = ctx.primitives.find(key);
      if (it == ctx.primitives.end()) {
        auto desc = a.bias ? dnnl::matmul::desc(src, wei, bia, dst)
                           : dnnl::matmul::desc(src, wei, dst);
        dnnl::post_ops ops;
        using alg = dnnl::algorithm;
        switch (a.activation) {
        case Activation::None:
          break;
        case Activation::GeluErf:
          ops.append_eltwise(1.0f, alg::eltwise_gelu_erf, 0.0f, 0.0f);
          break;
        case Activation::GeluTanh:
          ops.append_eltwise(1.0f, alg::eltwise_gelu_tanh, 0.0f, 0.0f);
          break;
        case Activation::Silu:
          ops.append_eltwise(1.0f, alg::eltwise_swish, 1.0f, 0.0f);
          break;
        case Activation::Relu:
          ops.append_eltwise(1.0f, alg::eltwise_relu, 0.0f, 0.0f);
          break;
        case Activation::Tanh:
          ops.append_eltwise(1.0f, alg::eltwise_tanh, 0.0f, 0.0f);
          break;
        }
        if (a.residual)
          ops.append_binary(alg::binary_add, dst);
        dnnl::primitive_attr attr;
        attr.set_post_ops(ops);
        dnnl::matmul::primitive_desc pd(desc, attr, ctx.engine);
        it = ctx.primitives.emplace(key, dnnl::matmul(pd)).first;
      }
      prim = it->second;
    }
    void *input = bf16 ? static_cast<void *>(inputBF16.data())
                       : const_cast<float *>(a.input);
    void *weight = bf16 ? const_cast<uint16_t *>(a.weightBF16)
                        : static_cast<void *>(const_cast<float *>(a.weight));
    std::unordered_map<int, dnnl::memory> args = {
        {DNNL_ARG_SRC, dnnl::memory(src, ctx.engine, input)},
        {DNNL_ARG_WEIGHTS, dnnl::memory(wei, ctx.engine, weight)},
        {DNNL_ARG_DST, dnnl::memory(dst, ctx.engine, a.output)}};
    if (a.bias)
      args.insert({DNNL_ARG_BIAS, dnnl::memory(bia, ctx.engine,
                                               const_cast<float *>(a.bias))});
    if (a.residual) {
      // The residual is post-op number 0 or 1 (after an activation).
      int index = a.activation == Activation::None ? 0 : 1;
      args.insert({DNNL_ARG_ATTR_MULTIPLE_POST_OP(index) | DNNL_ARG_SRC_1,
                   dnnl::memory(dst, ctx.engine,
                                const_cast<float *>(a.residual))});
    }
    prim.execute(ctx.stream, args);
    ctx.stream.wait();
  } catch (const dnnl::error &e) {
    error = std::string("linear: oneDNN: ") + e.what();
    return false;
  }
  return true;
}
