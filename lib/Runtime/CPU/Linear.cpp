//===- Linear.cpp - GEMMs of the CPU runtime through oneDNN ---------------===//

#include "xformer/Runtime/CPU/Linear.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <map>
#include <mutex>
#include <tuple>

using namespace xformer::runtime::cpu;

namespace {

struct Context {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  std::mutex lock;
  std::map<std::tuple<int64_t, int64_t, int64_t, bool, bool, int, bool>,
           dnnl::matmul>
      primitives;
};

Context &context() {
  static Context ctx;
  return ctx;
}

} // namespace

bool xformer::runtime::cpu::linear(const LinearArgs &a, std::string &error) {
  if (a.rows < 0 || a.in <= 0 || a.out <= 0 || !a.input || !a.weight ||
      !a.output) {
    error = "linear: invalid arguments";
    return false;
  }
  if (a.rows == 0)
    return true;
  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;
  Context &ctx = context();
  try {
    dnnl::memory::desc src({a.rows, a.in}, dt::f32, tag::ab);
    // Weights as the [in, out] operand of the product: an [out, in] matrix
    // is its transpose (tag ba), an [in, out] matrix is plain (tag ab).
    dnnl::memory::desc wei({a.in, a.out}, dt::f32,
                           a.transposed ? tag::ab : tag::ba);
    dnnl::memory::desc bia({1, a.out}, dt::f32, tag::ab);
    dnnl::memory::desc dst({a.rows, a.out}, dt::f32, tag::ab);
    auto key = std::make_tuple(a.rows, a.in, a.out, a.transposed,
                               a.bias != nullptr,
                               static_cast<int>(a.activation),
                               a.residual != nullptr);
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
    std::unordered_map<int, dnnl::memory> args = {
        {DNNL_ARG_SRC,
         dnnl::memory(src, ctx.engine, const_cast<float *>(a.input))},
        {DNNL_ARG_WEIGHTS,
         dnnl::memory(wei, ctx.engine, const_cast<float *>(a.weight))},
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
