//===- Attention.cpp - Attention ------------------------------------------===//
//
// xfk_attention: the arguments checked and handed to the fused kernel of
// Attention.h (mask kind, lengths, prefix, documents, bias, custom masks).
//
//===----------------------------------------------------------------------===//

#include "Common.h"

#include "xformer/Runtime/CPU/Attention.h"

#include <string>

using namespace xformer::runtime;
using namespace xformer::runtime::cpu;
using namespace xformer::runtime::cpu::kernels;

extern "C" {

int32_t xfk_attention(xfk_frame *f, const xfk_attention_args *a) {
  AttentionArgs args;
  args.query = a->q;
  args.key = a->k;
  args.value = a->v;
  args.out = a->out;
  args.batch = a->batch;
  args.heads = a->heads;
  args.kvHeads = a->kv_heads;
  args.qLen = a->q_len;
  args.kvLen = a->kv_len;
  args.headDim = a->head_dim;
  args.vHeadDim = a->v_head_dim;
  args.scale = a->scale;
  // Index tensors reach the kernel as int64.
  std::vector<int64_t> qLens, kvLens, prefixes, segments;
  auto widen = [&](const void *p, int32_t dtype, int64_t n,
                   std::vector<int64_t> &store) -> const int64_t * {
    if (!p)
      return nullptr;
    if (dtype == XFM_I64)
      return static_cast<const int64_t *>(p);
    store.resize(n);
    for (int64_t i = 0; i < n; ++i)
      store[i] = readIndex(p, dtype, i);
    return store.data();
  };
  args.qLengths = widen(a->q_lengths, a->q_lengths_dtype, a->batch, qLens);
  args.kvLengths = widen(a->kv_lengths, a->kv_lengths_dtype, a->batch, kvLens);
  args.prefixLengths =
      widen(a->prefix_lengths, a->prefix_lengths_dtype, a->batch, prefixes);
  args.segmentIds = widen(a->segment_ids, a->segment_ids_dtype,
                          a->batch * a->kv_len, segments);
  args.bias = a->bias;
  args.biasBatchStride = a->bias_batch_stride;
  args.biasHeadStride = a->bias_head_stride;
  if (a->mask_kind == XFK_MASK_CUSTOM) {
    attentionCustom(args, reinterpret_cast<const bool *>(a->mask),
                    a->mask_batch_stride, a->mask_head_stride);
    return 0;
  }
  mask::Spec spec;
  switch (a->mask_kind) {
  case XFK_MASK_BIDIRECTIONAL:
    spec.kind = mask::Kind::Bidirectional;
    break;
  case XFK_MASK_CAUSAL:
    spec.kind = mask::Kind::Causal;
    break;
  case XFK_MASK_PREFIX_LM:
    spec.kind = mask::Kind::PrefixLM;
    break;
  case XFK_MASK_SLIDING_WINDOW:
    spec.kind = mask::Kind::SlidingWindow;
    break;
  case XFK_MASK_CROSS:
    spec.kind = mask::Kind::Cross;
    break;
  default:
    return xfk_fail(f, XF_ERROR_INTERNAL, "attention: unknown mask kind");
  }
  spec.window = a->window;
  spec.prefix = a->prefix;
  spec.documents = a->documents != 0;
  attention(spec, args);
  return 0;
}

} // extern "C"
