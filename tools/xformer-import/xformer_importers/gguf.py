"""GGUF files (architectures llama and qwen2) to fused model IR: the config
from the metadata, the weights named and typed as the file stores them."""

from .ir import ImportError_, tensor, rope
from .hf import import_llama


GGUF_LLAMA_NAMES = {
    "model.embed_tokens.weight": "token_embd.weight",
    "model.norm.weight": "output_norm.weight",
    "lm_head.weight": "output.weight",
}
GGUF_LLAMA_LAYER = {
    "input_layernorm.weight": "attn_norm.weight",
    "self_attn.q_proj.bias": "attn_q.bias",
    "self_attn.k_proj.bias": "attn_k.bias",
    "self_attn.v_proj.bias": "attn_v.bias",
    "self_attn.q_proj.weight": "attn_q.weight",
    "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.v_proj.weight": "attn_v.weight",
    "self_attn.o_proj.weight": "attn_output.weight",
    "post_attention_layernorm.weight": "ffn_norm.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
}
GGUF_SUPPORTED = ("llama", "qwen2")
# Weight formats the runtime decodes on open.
GGUF_TYPES = ("F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K",
              "Q4_K", "Q5_K", "Q6_K")


def gguf_llama_name(name):
    if name in GGUF_LLAMA_NAMES:
        return GGUF_LLAMA_NAMES[name]
    parts = name.split(".", 3)  # model, layers, N, rest
    if len(parts) == 4 and parts[:2] == ["model", "layers"] and parts[3] in GGUF_LLAMA_LAYER:
        return "blk.%s.%s" % (parts[2], GGUF_LLAMA_LAYER[parts[3]])
    raise ImportError_("no GGUF name for weight '%s'" % name)


# ggml's block formats, stored in the IR as the file stores them
# (!xformer.ggml<...>): linears compute on the blocks, embeddings decode
# the rows they read.
GGUF_BLOCK_TYPES = ("Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K")


def gguf_storage(t):
    """The IR element type of a GGUF matrix (a linear weight or an embedding
    table): as the file stores it, its ggml block format, bf16 or f16; f32
    for the rest (vectors, which the runtime widens on open)."""
    if t is None or len(t["shape"]) != 2:
        return "f32"
    if t["type"] in GGUF_BLOCK_TYPES:
        return "!xformer.ggml<%s>" % t["type"].lower()
    if t["type"] in ("BF16", "F16"):
        return t["type"].lower()
    return "f32"


def read_gguf(path):
    try:
        from xformer import _gguf
    except ImportError:
        try:
            from .. import _gguf
        except ImportError:
            raise ImportError_("reading GGUF needs the xformer Python package (the build's "
                               "python_packages on PYTHONPATH)")
    try:
        return _gguf.read_gguf(path)
    except ValueError as e:
        raise ImportError_(str(e))


def import_gguf(path, batch, seq):
    """A GGUF file's model as IR: the config from its metadata, the weights
    named as the file names them (the runtime reads them from it). llama.cpp
    stores a Llama's q and k rows permuted for its interleaved RoPE, so the
    IR rotates interleaved pairs (the same attention scores)."""
    g = read_gguf(path)
    meta = g["metadata"]
    arch = meta.get("general.architecture")
    if arch not in GGUF_SUPPORTED:
        raise ImportError_("%s: architecture '%s' is not supported (supported: %s)" % (
            path, arch, ", ".join(GGUF_SUPPORTED)))
    tensors = {t["name"]: t for t in g["tensors"]}

    def key(k, default=None, required=True):
        v = meta.get("%s.%s" % (arch, k), default)
        if v is None and required:
            raise ImportError_("%s: metadata key '%s.%s' is missing" % (path, arch, k))
        return v

    emb = tensors.get("token_embd.weight")
    if emb is None or len(emb["shape"]) != 2:
        raise ImportError_("%s: no 2-D tensor 'token_embd.weight'" % path)
    vocab = emb["shape"][0]
    tokens = meta.get("tokenizer.ggml.tokens")
    if tokens is not None and len(tokens) != vocab:
        raise ImportError_("%s: the vocabulary has %d tokens but token_embd.weight has %d rows" % (
            path, len(tokens), vocab))
    heads = key("attention.head_count")
    hidden = key("embedding_length")
    cfg = {
        "hidden_size": hidden,
        "num_attention_heads": heads,
        "num_key_value_heads": key("attention.head_count_kv", heads),
        "num_hidden_layers": key("block_count"),
        "intermediate_size": key("feed_forward_length"),
        "vocab_size": vocab,
        "rms_norm_eps": key("attention.layer_norm_rms_epsilon"),
        "rope_theta": key("rope.freq_base", 10000.0),
        "tie_word_embeddings": "output.weight" not in tensors,
        "hidden_act": "silu",
    }
    head_dim = key("attention.key_length", hidden // heads)
    if key("attention.value_length", head_dim) != head_dim:
        raise ImportError_("%s: key and value head sizes differ" % path)
    cfg["head_dim"] = head_dim
    if key("rope.dimension_count", head_dim) != head_dim:
        raise ImportError_("%s: partial rotary embeddings (rope.dimension_count %d of head size %d) "
                           "are not supported" % (path, key("rope.dimension_count"), head_dim))
    scaling = key("rope.scaling.type", "none", required=False)
    if scaling not in ("none", None):
        raise ImportError_("%s: rope scaling '%s' is not supported for GGUF yet" % (path, scaling))
    if "rope_freqs.weight" in tensors:
        raise ImportError_("%s: per-frequency RoPE factors (rope_freqs.weight) are not supported" % path)
    # llama.cpp permutes a Llama's q/k rows for its interleaved RoPE; Qwen2
    # keeps Hugging Face's rows and rotates halves (NEOX), with q/k/v biases.
    qwen2 = arch == "qwen2"
    b, kind, args, outs = import_llama(cfg, batch, seq, False, names=gguf_llama_name,
                                       rope_mode="half" if qwen2 else "interleaved",
                                       qkv_bias=qwen2,
                                       storage=lambda name: gguf_storage(tensors.get(name)))
    problems = []
    for name, shape in b.weights.items():
        t = tensors.get(name)
        if t is None:
            problems.append("missing '%s'" % name)
        elif list(t["shape"]) != shape:
            problems.append("'%s' has shape %s, the model reads %s" % (name, list(t["shape"]), shape))
        elif t["type"] not in GGUF_TYPES:
            problems.append("'%s' is %s (supported: %s)" % (name, t["type"], ", ".join(GGUF_TYPES)))
    extra = sorted(set(tensors) - set(b.weights))
    if extra:
        problems.append("tensors the model does not use: %s" % ", ".join(extra[:8]))
    if problems:
        raise ImportError_("%s does not match its metadata: %s" % (path, "; ".join(problems[:8])))
    return b, kind, args, outs, arch
