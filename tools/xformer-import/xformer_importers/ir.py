"""The IR text builder the importers share: values, ops, RoPE and activation
helpers, config checks."""

import math
import re


class ImportError_(Exception):
    pass


def tensor(shape, dtype="f32"):
    return "tensor<" + "x".join(str(d) for d in shape) + ("x" if shape else "") + dtype + ">"


def symbol(name):
    """`name` as an MLIR symbol reference: bare where the syntax allows it,
    else quoted."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$.]*", name):
        return "@" + name
    return '@"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def weight_decls(decls):
    """The module-level declarations of the weights `decls` maps to their
    types, in order of first use."""
    return ["xformer.weight_decl %s : %s" % (symbol(n), t) for n, t in decls.items()]


def f64(v):
    v = float(v)
    if not math.isfinite(v):
        raise ImportError_("non-finite value %r in the config" % v)
    return "%.17e" % v


class Builder:
    """Emits one function's ops with fresh SSA names and known types."""

    def __init__(self, storage=None):
        # storage(name) -> the element type a weight is stored in ("f32",
        # "bf16", "!xformer.ggml<q4_k>"); f32 when not given.
        self.storage = storage
        self.lines = []
        self.types = {}
        self.count = 0
        self.weights = {}
        self.decls = {}  # name -> declared type, in order of first use

    def fresh(self, hint):
        self.count += 1
        return "%" + hint + str(self.count)

    def op(self, hint, text, result_type):
        name = self.fresh(hint)
        self.lines.append("  %s = %s" % (name, text))
        self.types[name] = result_type
        return name

    def shape(self, v):
        dims = []
        rest = self.types[v][len("tensor<"):-1]
        while True:
            d, sep, tail = rest.partition("x")
            if not sep or not d.isdigit():
                return dims
            dims.append(int(d))
            rest = tail

    def weight(self, name, shape):
        self.weights[name] = list(shape)
        t = tensor(shape, self.storage(name) if self.storage else "f32")
        self.decls.setdefault(name, t)
        return self.op("w", "xformer.weight %s : %s" % (symbol(name), t), t)

    def linear(self, x, wname, out, inp, bias=None, transposed=False):
        xs = self.shape(x)
        w = self.weight(wname, [inp, out] if transposed else [out, inp])
        operands = [x, w]
        types = [self.types[x], self.types[w]]
        if bias:
            b = self.weight(bias, [out])
            operands.append(b)
            types.append(self.types[b])
        rs = xs[:-1] + [out]
        attr = " {weight_transposed}" if transposed else ""
        return self.op("lin", "xformer.linear %s%s : %s -> %s" % (
            ", ".join(operands), attr, ", ".join(types), tensor(rs)), tensor(rs))

    def binary(self, kind, a, b):
        sa, sb = self.shape(a), self.shape(b)
        rank = max(len(sa), len(sb))
        pa = [1] * (rank - len(sa)) + sa
        pb = [1] * (rank - len(sb)) + sb
        rs = [max(x, y) for x, y in zip(pa, pb)]
        et = self.types[a].split("x")[-1][:-1]
        return self.op(kind, "xformer.%s %s, %s : %s, %s -> %s" % (
            kind, a, b, self.types[a], self.types[b], tensor(rs, et)), tensor(rs, et))

    def layer_norm(self, x, prefix, eps, dim, bias=True):
        g = self.weight(prefix + ".weight", [dim])
        if bias:
            b = self.weight(prefix + ".bias", [dim])
            return self.op("ln", "xformer.layer_norm %s, %s, %s epsilon = %s : %s, %s, %s" % (
                x, g, b, f64(eps), self.types[x], self.types[g], self.types[b]), self.types[x])
        return self.op("ln", "xformer.layer_norm %s, %s epsilon = %s : %s, %s" % (
            x, g, f64(eps), self.types[x], self.types[g]), self.types[x])

    def rms_norm(self, x, name, eps, dim):
        g = self.weight(name, [dim])
        return self.op("rms", "xformer.rms_norm %s, %s epsilon = %s : %s, %s" % (
            x, g, f64(eps), self.types[x], self.types[g]), self.types[x])

    def unary(self, kind, x, extra=""):
        return self.op(kind, "xformer.%s %s%s : %s" % (kind, extra, x, self.types[x]), self.types[x])

    def split_heads(self, x, heads):
        b, s, d = self.shape(x)
        rs = [b, heads, s, d // heads]
        return self.op("sh", "xformer.split_heads %s, heads = %d : %s -> %s" % (
            x, heads, self.types[x], tensor(rs)), tensor(rs))

    def merge_heads(self, x):
        b, h, s, d = self.shape(x)
        rs = [b, s, h * d]
        return self.op("mh", "xformer.merge_heads %s : %s -> %s" % (
            x, self.types[x], tensor(rs)), tensor(rs))

    def embedding(self, table, ids):
        ts, ids_shape = self.shape(table), self.shape(ids)
        rs = ids_shape + [ts[1]]
        return self.op("emb", "xformer.embedding %s, %s : %s, %s -> %s" % (
            table, ids, self.types[table], self.types[ids], tensor(rs)), tensor(rs))

    def positions(self, n):
        return self.op("pos", "xformer.positions : %s" % tensor([n], "i64"), tensor([n], "i64"))

    def attention(self, q, k, v, mask, scale, kv_lengths=None, bias=None, layer=None):
        extra = ""
        if kv_lengths:
            extra += " kv_lengths(%s : %s)" % (kv_lengths, self.types[kv_lengths])
        if bias:
            extra += " bias(%s : %s)" % (bias, self.types[bias])
        qs, vs = self.shape(q), self.shape(v)
        rs = qs[:3] + [vs[3]]
        loc = ' loc("%s")' % layer if layer else ""
        return self.op("attn", "xformer.attention %s, %s, %s, mask = %s, scale = %s%s : %s, %s, %s -> %s%s" % (
            q, k, v, mask, f64(scale), extra, self.types[q], self.types[k], self.types[v],
            tensor(rs), loc), tensor(rs))


def rope(b, x, pos, theta, scaling="", mode="half"):
    return b.op("rope", "xformer.rope %s %s, %s, theta = %s%s : %s, %s" % (
        mode, x, pos, f64(theta), scaling, b.types[x], b.types[pos]), b.types[x])


ROPE_TYPES = ("default", "linear", "llama3")


def rope_scaling(cfg):
    """The #xformer.rope_scaling of a config's rope_parameters (transformers
    5) or rope_scaling (older configs), as an attribute dictionary, or ''."""
    sc = cfg.get("rope_scaling") or cfg.get("rope_parameters") or {}
    kind = sc.get("rope_type", sc.get("type", "default")) or "default"
    if kind not in ROPE_TYPES:
        raise ImportError_("rope scaling '%s' is not supported (supported: %s)" % (kind, ", ".join(ROPE_TYPES)))
    if kind == "default":
        return ""
    factor = sc.get("factor")
    if not isinstance(factor, (int, float)) or not factor > 0:
        raise ImportError_("rope scaling '%s' needs a positive factor, got %r" % (kind, factor))
    if kind == "linear":
        return " {scaling = #xformer.rope_scaling<linear, factor = %s>}" % f64(factor)
    low = sc.get("low_freq_factor", 1.0)
    high = sc.get("high_freq_factor", 4.0)
    orig = sc.get("original_max_position_embeddings")
    if not isinstance(orig, int) or orig <= 0 or not 0 < low < high:
        raise ImportError_("llama3 rope scaling needs original_max_position_embeddings > 0 and "
                           "0 < low_freq_factor < high_freq_factor, got %r, %r, %r" % (orig, low, high))
    return (" {scaling = #xformer.rope_scaling<llama3, factor = %s, low_freq_factor = %s, "
            "high_freq_factor = %s, original_max_positions = %d>}" % (f64(factor), f64(low), f64(high), orig))


# Activation names as transformers maps them (ACT2FN in activations.py):
# the xformer op and, for GELU, its form. gelu_fast and gelu_accurate are
# the tanh form written differently. Any other name is refused.
ACTIVATIONS = {
    "gelu": ("gelu", "erf"),
    "gelu_python": ("gelu", "erf"),
    "gelu_new": ("gelu", "tanh"),
    "gelu_pytorch_tanh": ("gelu", "tanh"),
    "gelu_fast": ("gelu", "tanh"),
    "gelu_accurate": ("gelu", "tanh"),
    "relu": ("relu", None),
    "silu": ("silu", None),
    "swish": ("silu", None),
    "tanh": ("tanh", None),
}


def activation(name, key):
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ImportError_("%s: activation %r is not supported (supported: %s)"
                           % (key, name, ", ".join(sorted(ACTIVATIONS))))
    return name


def activate(b, name, x):
    op, form = ACTIVATIONS[name]
    return b.unary(op, x, form + " " if form else "")


def require(cfg, key):
    if key not in cfg:
        raise ImportError_("config.json lacks '%s'" % key)
    return cfg[key]
