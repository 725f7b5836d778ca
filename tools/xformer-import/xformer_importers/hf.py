"""Hugging Face config.json (bert, gpt2, llama, mistral, qwen2, t5, bart) to
fused model IR, the weights checked against the safetensors header."""

import json
import math
import os
import struct

from .ir import ImportError_, tensor, f64, Builder, rope, rope_scaling, activation, activate, require


SUPPORTED = ("bert", "gpt2", "llama", "mistral", "qwen2", "t5", "bart")

def import_bert(cfg, batch, seq):
    H = require(cfg, "hidden_size")
    heads = require(cfg, "num_attention_heads")
    layers = require(cfg, "num_hidden_layers")
    inter = require(cfg, "intermediate_size")
    vocab = require(cfg, "vocab_size")
    maxpos = require(cfg, "max_position_embeddings")
    types = cfg.get("type_vocab_size", 2)
    eps = cfg.get("layer_norm_eps", 1e-12)
    act = activation(cfg.get("hidden_act", "gelu"), "hidden_act")
    if cfg.get("position_embedding_type", "absolute") != "absolute":
        raise ImportError_("bert: only absolute position embeddings are supported")
    if seq > maxpos:
        raise ImportError_("--seq %d exceeds max_position_embeddings %d" % (seq, maxpos))
    if H % heads:
        raise ImportError_("hidden_size %d is not a multiple of num_attention_heads %d" % (H, heads))
    b = Builder()
    args = "%%input_ids: %s, %%token_type_ids: %s, %%lengths: %s" % (
        tensor([batch, seq], "i64"), tensor([batch, seq], "i64"), tensor([batch], "i64"))
    b.types.update({"%input_ids": tensor([batch, seq], "i64"),
                    "%token_type_ids": tensor([batch, seq], "i64"),
                    "%lengths": tensor([batch], "i64")})
    we = b.weight("embeddings.word_embeddings.weight", [vocab, H])
    pe = b.weight("embeddings.position_embeddings.weight", [maxpos, H])
    te = b.weight("embeddings.token_type_embeddings.weight", [types, H])
    x = b.embedding(we, "%input_ids")
    p = b.embedding(pe, b.positions(seq))
    t = b.embedding(te, "%token_type_ids")
    x = b.binary("add", b.binary("add", x, t), p)
    x = b.layer_norm(x, "embeddings.LayerNorm", eps, H)
    hd = H // heads
    for i in range(layers):
        pre = "encoder.layer.%d." % i
        q = b.split_heads(b.linear(x, pre + "attention.self.query.weight", H, H, pre + "attention.self.query.bias"), heads)
        k = b.split_heads(b.linear(x, pre + "attention.self.key.weight", H, H, pre + "attention.self.key.bias"), heads)
        v = b.split_heads(b.linear(x, pre + "attention.self.value.weight", H, H, pre + "attention.self.value.bias"), heads)
        ctx = b.attention(q, k, v, "#xformer.mask<bidirectional>", 1.0 / math.sqrt(hd),
                          kv_lengths="%lengths", layer=pre + "attention")
        o = b.linear(b.merge_heads(ctx), pre + "attention.output.dense.weight", H, H, pre + "attention.output.dense.bias")
        x = b.layer_norm(b.binary("add", o, x), pre + "attention.output.LayerNorm", eps, H)
        h = b.linear(x, pre + "intermediate.dense.weight", inter, H, pre + "intermediate.dense.bias")
        h = activate(b, act, h)
        o = b.linear(h, pre + "output.dense.weight", H, inter, pre + "output.dense.bias")
        x = b.layer_norm(b.binary("add", o, x), pre + "output.LayerNorm", eps, H)
    outs = [x]
    if cfg.get("add_pooling_layer", True) and not cfg.get("xformer_no_pooler", False):
        zero = b.op("cst", "arith.constant dense<0> : %s" % tensor([batch], "i64"), tensor([batch], "i64"))
        first = b.op("cls", "xformer.gather_positions %s, %s : %s, %s -> %s" % (
            x, zero, b.types[x], b.types[zero], tensor([batch, H])), tensor([batch, H]))
        pooled = b.unary("tanh", b.linear(first, "pooler.dense.weight", H, H, "pooler.dense.bias"))
        outs.append(pooled)
    return b, "encoder", args, outs


def import_gpt2(cfg, batch, seq):
    H = require(cfg, "n_embd")
    heads = require(cfg, "n_head")
    layers = require(cfg, "n_layer")
    vocab = require(cfg, "vocab_size")
    npos = require(cfg, "n_positions")
    inter = cfg.get("n_inner") or 4 * H
    eps = cfg.get("layer_norm_epsilon", 1e-5)
    act = activation(cfg.get("activation_function", "gelu_new"), "activation_function")
    if cfg.get("scale_attn_by_inverse_layer_idx") or cfg.get("reorder_and_upcast_attn"):
        raise ImportError_("gpt2: scale_attn_by_inverse_layer_idx and reorder_and_upcast_attn are not supported")
    if seq > npos:
        raise ImportError_("--seq %d exceeds n_positions %d" % (seq, npos))
    b = Builder()
    args = "%%input_ids: %s" % tensor([batch, seq], "i64")
    b.types["%input_ids"] = tensor([batch, seq], "i64")
    wte = b.weight("transformer.wte.weight", [vocab, H])
    wpe = b.weight("transformer.wpe.weight", [npos, H])
    x = b.binary("add", b.embedding(wte, "%input_ids"), b.embedding(wpe, b.positions(seq)))
    hd = H // heads
    scale = 1.0 / math.sqrt(hd) if cfg.get("scale_attn_weights", True) else 1.0
    for i in range(layers):
        pre = "transformer.h.%d." % i
        h = b.layer_norm(x, pre + "ln_1", eps, H)
        qkv = b.linear(h, pre + "attn.c_attn.weight", 3 * H, H, pre + "attn.c_attn.bias", transposed=True)
        parts = []
        for j in range(3):
            parts.append(b.op("sl", "xformer.slice %s [0, 0, %d] : %s -> %s" % (
                qkv, j * H, b.types[qkv], tensor([batch, seq, H])), tensor([batch, seq, H])))
        q, k, v = (b.split_heads(p, heads) for p in parts)
        ctx = b.attention(q, k, v, "#xformer.mask<causal>", scale, layer=pre + "attn")
        o = b.linear(b.merge_heads(ctx), pre + "attn.c_proj.weight", H, H, pre + "attn.c_proj.bias", transposed=True)
        x = b.binary("add", o, x)
        h = b.layer_norm(x, pre + "ln_2", eps, H)
        h = activate(b, act, b.linear(h, pre + "mlp.c_fc.weight", inter, H, pre + "mlp.c_fc.bias", transposed=True))
        o = b.linear(h, pre + "mlp.c_proj.weight", H, inter, pre + "mlp.c_proj.bias", transposed=True)
        x = b.binary("add", o, x)
    x = b.layer_norm(x, "transformer.ln_f", eps, H)
    head = "transformer.wte.weight" if cfg.get("tie_word_embeddings", True) else "lm_head.weight"
    logits = b.linear(x, head, vocab, H)
    return b, "decoder", args, [logits]


def import_llama(cfg, batch, seq, mistral, names=lambda n: n, rope_mode="half", qkv_bias=False,
                 storage=None):
    H = require(cfg, "hidden_size")
    heads = require(cfg, "num_attention_heads")
    kv_heads = cfg.get("num_key_value_heads") or heads
    layers = require(cfg, "num_hidden_layers")
    inter = require(cfg, "intermediate_size")
    vocab = require(cfg, "vocab_size")
    eps = cfg.get("rms_norm_eps", 1e-6)
    theta = cfg.get("rope_theta", 10000.0)
    rp = cfg.get("rope_parameters") or {}
    theta = rp.get("rope_theta", theta)
    scaling = rope_scaling(cfg)
    hd = cfg.get("head_dim") or H // heads
    act = activation(cfg.get("hidden_act", "silu"), "hidden_act")
    if cfg.get("attention_bias") or cfg.get("mlp_bias"):
        raise ImportError_("attention_bias / mlp_bias are not supported")
    if heads % kv_heads:
        raise ImportError_("num_attention_heads %d is not a multiple of num_key_value_heads %d" % (heads, kv_heads))
    window = cfg.get("sliding_window") if mistral else None
    mask = "#xformer.mask<sliding_window, window = %d>" % window if window else "#xformer.mask<causal>"
    b = Builder(storage)
    weight = b.weight
    b.weight = lambda name, shape: weight(names(name), shape)
    args = "%%input_ids: %s" % tensor([batch, seq], "i64")
    b.types["%input_ids"] = tensor([batch, seq], "i64")
    emb = b.weight("model.embed_tokens.weight", [vocab, H])
    x = b.embedding(emb, "%input_ids")
    pos = b.positions(seq)
    for i in range(layers):
        pre = "model.layers.%d." % i
        h = b.rms_norm(x, pre + "input_layernorm.weight", eps, H)
        def proj(name, n):  # Qwen2: q, k and v carry biases
            bias = pre + "self_attn.%s.bias" % name if qkv_bias else None
            return b.linear(h, pre + "self_attn.%s.weight" % name, n, H, bias=bias)
        q = b.split_heads(proj("q_proj", heads * hd), heads)
        k = b.split_heads(proj("k_proj", kv_heads * hd), kv_heads)
        v = b.split_heads(proj("v_proj", kv_heads * hd), kv_heads)
        q, k = rope(b, q, pos, theta, scaling, rope_mode), rope(b, k, pos, theta, scaling, rope_mode)
        ctx = b.attention(q, k, v, mask, 1.0 / math.sqrt(hd), layer=pre + "self_attn")
        o = b.linear(b.merge_heads(ctx), pre + "self_attn.o_proj.weight", H, heads * hd)
        x = b.binary("add", o, x)
        h = b.rms_norm(x, pre + "post_attention_layernorm.weight", eps, H)
        g = activate(b, act, b.linear(h, pre + "mlp.gate_proj.weight", inter, H))
        u = b.linear(h, pre + "mlp.up_proj.weight", inter, H)
        o = b.linear(b.binary("mul", g, u), pre + "mlp.down_proj.weight", H, inter)
        x = b.binary("add", o, x)
    x = b.rms_norm(x, "model.norm.weight", eps, H)
    head = "model.embed_tokens.weight" if cfg.get("tie_word_embeddings", False) else "lm_head.weight"
    logits = b.linear(x, head, vocab, H)
    return b, "decoder", args, [logits]


def const_i64(b, value, shape):
    return b.op("cst", "arith.constant dense<%d> : %s" % (value, tensor(shape, "i64")), tensor(shape, "i64"))


def import_bart(cfg, batch, seq, src):
    D = require(cfg, "d_model")
    vocab = require(cfg, "vocab_size")
    maxpos = require(cfg, "max_position_embeddings")
    act = activation(cfg.get("activation_function", "gelu"), "activation_function")
    if cfg.get("normalize_before") or cfg.get("add_final_layer_norm"):
        raise ImportError_("bart: pre-norm (normalize_before / add_final_layer_norm, mBART) is not supported")
    if seq > maxpos or src > maxpos:
        raise ImportError_("--seq/--source-len exceed max_position_embeddings %d" % maxpos)
    eps = 1e-5
    b = Builder()
    args = "%%src_ids: %s, %%src_lengths: %s, %%tgt_ids: %s" % (
        tensor([batch, src], "i64"), tensor([batch], "i64"), tensor([batch, seq], "i64"))
    b.types.update({"%src_ids": tensor([batch, src], "i64"), "%src_lengths": tensor([batch], "i64"),
                    "%tgt_ids": tensor([batch, seq], "i64")})
    shared = b.weight("model.shared.weight", [vocab, D])
    two = const_i64(b, 2, [])
    scale_emb = math.sqrt(D) if cfg.get("scale_embedding") else None

    def embed(part, ids, n):
        x = b.embedding(shared, ids)
        if scale_emb:
            c = b.op("cst", "arith.constant dense<%s> : tensor<f32>" % f64(scale_emb), "tensor<f32>")
            x = b.binary("mul", x, c)
        table = b.weight("model.%s.embed_positions.weight" % part, [maxpos + 2, D])
        pos = b.binary("add", b.positions(n), two)
        x = b.binary("add", x, b.embedding(table, pos))
        return b.layer_norm(x, "model.%s.layernorm_embedding" % part, eps, D)

    def attn(x, kv, pre, heads, mask, kv_lengths=None):
        hd = D // heads
        q = b.split_heads(b.linear(x, pre + ".q_proj.weight", D, D, pre + ".q_proj.bias"), heads)
        k = b.split_heads(b.linear(kv, pre + ".k_proj.weight", D, D, pre + ".k_proj.bias"), heads)
        v = b.split_heads(b.linear(kv, pre + ".v_proj.weight", D, D, pre + ".v_proj.bias"), heads)
        ctx = b.attention(q, k, v, mask, 1.0 / math.sqrt(hd), kv_lengths=kv_lengths, layer=pre)
        return b.linear(b.merge_heads(ctx), pre + ".out_proj.weight", D, D, pre + ".out_proj.bias")

    def ffn(x, pre, ffn_dim):
        h = activate(b, act, b.linear(x, pre + ".fc1.weight", ffn_dim, D, pre + ".fc1.bias"))
        return b.linear(h, pre + ".fc2.weight", D, ffn_dim, pre + ".fc2.bias")

    x = embed("encoder", "%src_ids", src)
    for i in range(require(cfg, "encoder_layers")):
        pre = "model.encoder.layers.%d" % i
        x = b.layer_norm(b.binary("add", x, attn(x, x, pre + ".self_attn", cfg["encoder_attention_heads"],
                                                  "#xformer.mask<bidirectional>", "%src_lengths")),
                         pre + ".self_attn_layer_norm", eps, D)
        x = b.layer_norm(b.binary("add", x, ffn(x, pre, cfg["encoder_ffn_dim"])), pre + ".final_layer_norm", eps, D)
    enc = x
    y = embed("decoder", "%tgt_ids", seq)
    for i in range(require(cfg, "decoder_layers")):
        pre = "model.decoder.layers.%d" % i
        heads = cfg["decoder_attention_heads"]
        y = b.layer_norm(b.binary("add", y, attn(y, y, pre + ".self_attn", heads, "#xformer.mask<causal>")),
                         pre + ".self_attn_layer_norm", eps, D)
        y = b.layer_norm(b.binary("add", y, attn(y, enc, pre + ".encoder_attn", heads, "#xformer.mask<cross>",
                                                  "%src_lengths")), pre + ".encoder_attn_layer_norm", eps, D)
        y = b.layer_norm(b.binary("add", y, ffn(y, pre, cfg["decoder_ffn_dim"])), pre + ".final_layer_norm", eps, D)
    logits = b.linear(y, "model.shared.weight", vocab, D)
    bias = b.weight("final_logits_bias", [1, vocab])
    logits = b.binary("add", logits, bias)
    return b, "encoder_decoder", args, [enc, logits]


def import_t5(cfg, batch, seq, src):
    D = require(cfg, "d_model")
    dkv = require(cfg, "d_kv")
    heads = require(cfg, "num_heads")
    dff = require(cfg, "d_ff")
    vocab = require(cfg, "vocab_size")
    eps = cfg.get("layer_norm_epsilon", 1e-6)
    buckets = cfg.get("relative_attention_num_buckets", 32)
    maxdist = cfg.get("relative_attention_max_distance", 128)
    proj = cfg.get("feed_forward_proj", "relu")
    # As T5Config: "[gated-]ACT", where "gated-gelu" means gelu_new (the
    # tanh form, as the T5 v1.1 and Flan-T5 checkpoints were trained).
    parts = proj.split("-")
    if (len(parts) > 1 and parts[0] != "gated") or len(parts) > 2:
        raise ImportError_("t5: feed_forward_proj '%s' is not of the form '[gated-]ACT'" % proj)
    gated = parts[0] == "gated"
    act = activation("gelu_new" if proj == "gated-gelu" else parts[-1], "t5: feed_forward_proj")
    inner = heads * dkv
    b = Builder()
    args = "%%src_ids: %s, %%src_lengths: %s, %%tgt_ids: %s" % (
        tensor([batch, src], "i64"), tensor([batch], "i64"), tensor([batch, seq], "i64"))
    b.types.update({"%src_ids": tensor([batch, src], "i64"), "%src_lengths": tensor([batch], "i64"),
                    "%tgt_ids": tensor([batch, seq], "i64")})
    shared = b.weight("shared.weight", [vocab, D])

    def bias_for(part, n, bidirectional):
        table = b.weight("%s.block.0.layer.0.SelfAttention.relative_attention_bias.weight" % part, [buckets, heads])
        pos = b.positions(n)
        rs = [1, heads, n, n]
        return b.op("rpb", "xformer.relative_position_bias %s, %s, %s, num_buckets = %d, max_distance = %d, "
                    "bidirectional = %s : %s, %s, %s -> %s" % (
                        table, pos, pos, buckets, maxdist, "true" if bidirectional else "false",
                        b.types[table], b.types[pos], b.types[pos], tensor(rs)), tensor(rs))

    def attn(x, kv, pre, mask, bias=None, kv_lengths=None):
        q = b.split_heads(b.linear(x, pre + ".q.weight", inner, D), heads)
        k = b.split_heads(b.linear(kv, pre + ".k.weight", inner, D), heads)
        v = b.split_heads(b.linear(kv, pre + ".v.weight", inner, D), heads)
        ctx = b.attention(q, k, v, mask, 1.0, kv_lengths=kv_lengths, bias=bias, layer=pre)
        return b.linear(b.merge_heads(ctx), pre + ".o.weight", D, inner)

    def ffn(x, pre):
        if gated:
            g = b.linear(x, pre + ".wi_0.weight", dff, D)
            g = activate(b, act, g)
            h = b.binary("mul", g, b.linear(x, pre + ".wi_1.weight", dff, D))
        else:
            h = b.linear(x, pre + ".wi.weight", dff, D)
            h = activate(b, act, h)
        return b.linear(h, pre + ".wo.weight", D, dff)

    x = b.embedding(shared, "%src_ids")
    ebias = bias_for("encoder", src, True)
    for i in range(require(cfg, "num_layers")):
        pre = "encoder.block.%d" % i
        h = b.rms_norm(x, pre + ".layer.0.layer_norm.weight", eps, D)
        x = b.binary("add", x, attn(h, h, pre + ".layer.0.SelfAttention", "#xformer.mask<bidirectional>",
                                    ebias, "%src_lengths"))
        h = b.rms_norm(x, pre + ".layer.1.layer_norm.weight", eps, D)
        x = b.binary("add", x, ffn(h, pre + ".layer.1.DenseReluDense"))
    enc = b.rms_norm(x, "encoder.final_layer_norm.weight", eps, D)
    y = b.embedding(shared, "%tgt_ids")
    dbias = bias_for("decoder", seq, False)
    for i in range(cfg.get("num_decoder_layers") or cfg["num_layers"]):
        pre = "decoder.block.%d" % i
        h = b.rms_norm(y, pre + ".layer.0.layer_norm.weight", eps, D)
        y = b.binary("add", y, attn(h, h, pre + ".layer.0.SelfAttention", "#xformer.mask<causal>", dbias))
        h = b.rms_norm(y, pre + ".layer.1.layer_norm.weight", eps, D)
        y = b.binary("add", y, attn(h, enc, pre + ".layer.1.EncDecAttention", "#xformer.mask<cross>",
                                    kv_lengths="%src_lengths"))
        h = b.rms_norm(y, pre + ".layer.2.layer_norm.weight", eps, D)
        y = b.binary("add", y, ffn(h, pre + ".layer.2.DenseReluDense"))
    y = b.rms_norm(y, "decoder.final_layer_norm.weight", eps, D)
    if cfg.get("tie_word_embeddings", True):
        if cfg.get("scale_decoder_outputs", True):
            c = b.op("cst", "arith.constant dense<%s> : tensor<f32>" % f64(D ** -0.5), "tensor<f32>")
            y = b.binary("mul", y, c)
        logits = b.linear(y, "shared.weight", vocab, D)
    else:
        logits = b.linear(y, "lm_head.weight", vocab, D)
    return b, "encoder_decoder", args, [enc, logits]


def safetensors_header(path):
    try:
        with open(path, "rb") as f:
            raw = f.read(8)
            if len(raw) != 8:
                raise ImportError_("%s: truncated safetensors header" % path)
            (n,) = struct.unpack("<Q", raw)
            if n > 100 * 1024 * 1024:
                raise ImportError_("%s: safetensors header of %d bytes" % (path, n))
            header = json.loads(f.read(n))
    except OSError as e:
        raise ImportError_("cannot read %s: %s" % (path, e.strerror))
    except ValueError:
        raise ImportError_("%s: the safetensors header is not JSON" % path)
    if not isinstance(header, dict):
        raise ImportError_("%s: the safetensors header is not a JSON object" % path)
    header.pop("__metadata__", None)
    return header


def checkpoint_header(path):
    """The tensors of a .safetensors file, or of every shard a
    model.safetensors.index.json maps them to (each from its own shard)."""
    if not path.endswith(".json"):
        return safetensors_header(path)
    try:
        with open(path) as f:
            weight_map = json.load(f)["weight_map"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ImportError_("%s: not a safetensors index with a weight_map (%s)" % (path, e))
    header, shards = {}, {}
    for name, shard in weight_map.items():
        if shard not in shards:
            shards[shard] = safetensors_header(os.path.join(os.path.dirname(path), shard))
        if name in shards[shard]:
            header[name] = shards[shard][name]
    return header


def check_weights(weights, path):
    header = checkpoint_header(path)
    problems = []
    for name, shape in weights.items():
        t = header.get(name)
        if t is None:
            problems.append("missing '%s'" % name)
        elif t["dtype"] not in ("F32", "BF16", "F16"):  # the runtime widens 16-bit floats
            problems.append("'%s' is %s, the model reads F32 (or BF16/F16, widened)" % (
                name, t["dtype"]))
        elif list(t["shape"]) != shape:
            problems.append("'%s' has shape %s, the model reads %s" % (name, t["shape"], shape))
    if problems:
        raise ImportError_("%s does not match the config: %s" % (path, "; ".join(problems[:8])))


# Hugging Face weight names -> GGUF's (llama.cpp's tensor names).
