"""ONNX graphs -> xformer model IR in the unfused form.

    xformer-import model.onnx --weights-out model.safetensors -o model.mlir

Exporters (torch.onnx.export, dynamo or TorchScript) write attention as
MatMul, Mul/Div by a scale, Add of a mask, Softmax, MatMul. This importer
keeps that form, op for op, so `--xformer-fuse-attention` raises it with the
mask kind it proves from the mask's own computation; it only folds what the
exporter spelled out in pieces and the dialect has as one op:

  * constants: every node whose inputs are all known is evaluated (ONNX's
    reference evaluator), and Shape/Size of the static shapes are known;
  * MatMul or Gemm with a constant weight (and a following bias Add) ->
    xformer.linear; GELU (erf and tanh forms), SiLU and RMSNorm written out
    elementwise -> xformer.gelu / silu / rms_norm;
  * GatherND with constant coordinate indices (the per-batch padding masks
    vmap produces) -> reshape and broadcast.

Graph inputs: `input_ids` (and `token_type_ids`) [batch, seq] int64 stay;
an `attention_mask` [batch, seq] becomes `lengths` [batch] (right padding:
the mask is `position < length`), which is the runtime's calling
convention. Shapes must be static (export with fixed batch and sequence).
Float tensors that are weights go to the safetensors file (--weights-out)
and are referenced by name; masks and small constants stay in the IR.

Needs numpy and onnx (scripts/requirements-test.txt).
"""

import math
import os

from .ir import symbol, weight_decls

SUPPORTED_OPS = (
    "Add Sub Mul Div Neg Pow(2, 3) MatMul Gemm Gather(embeddings, constant index) "
    "GatherND(coordinate indices) LayerNormalization Softmax Gelu Tanh Relu Sigmoid(SiLU) "
    "Erf(GELU) Sqrt/Reciprocal/ReduceMean(RMSNorm) Reshape Flatten Squeeze Unsqueeze "
    "Transpose Expand Slice Split Concat Cast Where And Or Not Equal Less LessOrEqual "
    "Greater GreaterOrEqual Identity Dropout Shape Size Constant, and any node whose "
    "inputs are all constants")


class OnnxImportError(Exception):
    pass


DTYPES = {1: "f32", 6: "i32", 7: "i64", 9: "i1"}
ONNX_TYPE_NAMES = {1: "float32", 2: "uint8", 3: "int8", 5: "int16", 6: "int32", 7: "int64",
                   9: "bool", 10: "float16", 11: "float64", 16: "bfloat16"}


def type_str(shape, dt):
    return "tensor<" + "".join("%dx" % d for d in shape) + dt + ">"


class Value:
    """An emitted SSA value: its name, static shape and element type."""

    def __init__(self, ssa, shape, dt):
        self.ssa, self.shape, self.dt = ssa, tuple(int(d) for d in shape), dt

    @property
    def type(self):
        return type_str(self.shape, self.dt)


class Importer:
    def __init__(self, model, kind=None, mask_input="attention_mask", weight_threshold=16):
        import numpy as np
        from onnx import numpy_helper
        self.np = np
        self.numpy_helper = numpy_helper
        self.model = model
        self.graph = model.graph
        self.kind = kind
        self.mask_input = mask_input
        self.weight_threshold = weight_threshold
        self.const = {}      # ONNX value name -> numpy array
        self.vals = {}       # ONNX value name -> Value
        self.lines = []
        self.weights = {}    # weight name -> numpy array (written to safetensors)
        self.decls = {}      # weight name -> declared type, in order of first use
        self.count = 0
        self.producer = {}
        self.consumers = {}
        self.fused = {}      # root node index -> (kind, info)
        self.absorbed = set()
        self.args = []

    # -- helpers ----------------------------------------------------------
    def fail(self, node, msg):
        where = "node '%s' (%s)" % (node.name or node.output[0], node.op_type) if node is not None else "graph"
        raise OnnxImportError("%s: %s" % (where, msg))

    def fresh(self):
        self.count += 1
        return "%%v%d" % self.count

    def loc(self, node):
        name = node.name or (node.output[0] if node.output else node.op_type)
        return ' loc("%s")' % name.replace("\\", "\\\\").replace('"', '\\"')

    def emit(self, node, text, shape, dt):
        v = Value(self.fresh(), shape, dt)
        self.lines.append("  %s = %s%s" % (v.ssa, text, self.loc(node) if node is not None else ""))
        return v

    def attrs(self, node):
        import onnx
        return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}

    def is_const(self, name):
        return name == "" or name in self.const

    def scalar(self, name):
        """The value of a constant with one element, else None."""
        a = self.const.get(name)
        if a is None or a.size != 1:
            return None
        return float(a.reshape(()))

    def np_dt(self, dt):
        np = self.np
        return {"f32": np.float32, "i64": np.int64, "i32": np.int32, "i1": np.bool_}[dt]

    def dt_of_array(self, a, node=None):
        np = self.np
        if a.dtype == np.float32:
            return "f32"
        if a.dtype == np.float64:
            return "f32"
        if a.dtype == np.int64:
            return "i64"
        if a.dtype == np.int32:
            return "i32"
        if a.dtype == np.bool_:
            return "i1"
        self.fail(node, "constant of dtype %s is not supported (float32, int64, int32, bool)" % a.dtype)

    def const_value(self, name, node):
        """Materialises a constant: a weight (float tensors that are not
        masks and have more than a few elements) or an arith.constant."""
        np = self.np
        a = self.const[name]
        dt = self.dt_of_array(a, node)
        if a.dtype == np.float64:
            a = a.astype(np.float32)
        maskish = dt == "f32" and bool(np.all((a == 0) | (a <= -1.0e4)))
        if dt == "f32" and a.size > self.weight_threshold and not maskish:
            if name not in self.weights:
                self.weights[name] = np.ascontiguousarray(a, dtype=np.float32)
            t = type_str(a.shape, dt)
            self.decls.setdefault(name, t)
            return self.emit(None, "xformer.weight %s : %s" % (symbol(name), t), a.shape, dt)
        return self.emit(None, "arith.constant %s : %s" % (self.dense(a, dt), type_str(a.shape, dt)),
                         a.shape, dt)

    def dense(self, a, dt):
        np = self.np
        flat = a.reshape(-1)
        if dt == "i1":
            if flat.size and np.all(flat == flat[0]):
                return "dense<%s>" % ("true" if flat[0] else "false")
            return "dense<%s>" % self.nested(a, lambda x: "true" if x else "false")
        if dt in ("i64", "i32"):
            if flat.size and np.all(flat == flat[0]):
                return "dense<%d>" % int(flat[0])
            return "dense<%s>" % self.nested(a, lambda x: "%d" % int(x))
        f = np.ascontiguousarray(a, dtype="<f4")
        if f.size and np.all(f.view("<u4") == f.reshape(-1).view("<u4")[0]):
            return "dense<0x%08X>" % int(f.reshape(-1).view("<u4")[0])
        return 'dense<"0x%s">' % f.tobytes().hex().upper()

    def nested(self, a, fmt):
        if a.ndim == 0:
            return fmt(a.item())
        if a.ndim == 1:
            return "[" + ", ".join(fmt(x) for x in a.tolist()) + "]"
        return "[" + ", ".join(self.nested(x, fmt) for x in a) + "]"

    def val(self, name, node):
        if name in self.vals:
            return self.vals[name]
        if name in self.const:
            v = self.const_value(name, node)
            self.vals[name] = v
            return v
        self.fail(node, "input '%s' has no producer" % name)

    def reshape(self, node, v, shape):
        shape = tuple(int(d) for d in shape)
        if shape == v.shape:
            return v
        if math.prod(shape) != math.prod(v.shape):
            self.fail(node, "cannot reshape %s to %s" % (list(v.shape), list(shape)))
        return self.emit(node, "xformer.reshape %s : %s -> %s" % (v.ssa, v.type, type_str(shape, v.dt)),
                         shape, v.dt)

    def broadcast(self, node, v, shape):
        shape = tuple(int(d) for d in shape)
        if shape == v.shape:
            return v
        return self.emit(node, "xformer.broadcast %s : %s -> %s" % (v.ssa, v.type, type_str(shape, v.dt)),
                         shape, v.dt)

    def cast(self, node, v, dt):
        if v.dt == dt:
            return v
        return self.emit(node, "xformer.cast %s : %s -> %s" % (v.ssa, v.type, type_str(v.shape, dt)),
                         v.shape, dt)

    def binary(self, node, op, a, b, dt=None):
        try:
            shape = self.np.broadcast_shapes(a.shape, b.shape)
        except ValueError:
            self.fail(node, "operands of shapes %s and %s do not broadcast" % (list(a.shape), list(b.shape)))
        if a.dt != b.dt:
            self.fail(node, "operands of types %s and %s" % (a.dt, b.dt))
        rdt = dt or a.dt
        return self.emit(node, "xformer.%s %s, %s : %s, %s -> %s" % (
            op, a.ssa, b.ssa, a.type, b.type, type_str(shape, rdt)), shape, rdt)

    def scalar_const(self, x, dt="f32"):
        a = self.np.array(x, dtype=self.np_dt(dt))
        return self.emit(None, "arith.constant %s : %s" % (self.dense(a, dt), type_str((), dt)), (), dt)

    # -- graph structure --------------------------------------------------
    def index(self):
        for i, n in enumerate(self.graph.node):
            for o in n.output:
                if o:
                    self.producer[o] = i
            for x in n.input:
                if x:
                    self.consumers.setdefault(x, []).append(i)
        for o in self.graph.output:
            self.consumers.setdefault(o.name, []).append(-1)

    def node_of(self, name):
        i = self.producer.get(name)
        return None if i is None else self.graph.node[i]

    def single_use(self, name):
        return len(self.consumers.get(name, [])) == 1

    def near(self, name, x, tol=1e-4):
        s = self.scalar(name)
        return s is not None and abs(s - x) <= tol * max(1.0, abs(x))

    def product_factors(self, name, root=True):
        """The factors of a tree of Mul nodes (through single-use inner Muls)."""
        n = self.node_of(name)
        if n is None or n.op_type != "Mul" or (not root and not self.single_use(name)) or self.is_const(name):
            return [name]
        return self.product_factors(n.input[0], False) + self.product_factors(n.input[1], False)

    def add_operands(self, name):
        n = self.node_of(name)
        if n is None or n.op_type != "Add" or self.is_const(name):
            return None
        return list(n.input)

    # -- pattern matching ------------------------------------------------
    def match_gelu(self, node):
        """x * 0.5 * (1 + erf(x / sqrt 2)) and
        x * 0.5 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))), any order."""
        if node.op_type != "Mul":
            return None
        f = self.product_factors(node.output[0])
        if len(f) != 3:
            return None
        half = [x for x in f if self.near(x, 0.5)]
        if len(half) != 1:
            return None
        rest = [x for x in f if x is not half[0]]
        for x, t in (rest, rest[::-1]):
            ops = self.add_operands(t)
            if not ops or not self.single_use(t):
                continue
            one = [o for o in ops if self.near(o, 1.0)]
            if len(one) != 1:
                continue
            inner = ops[1] if ops[0] == one[0] else ops[0]
            fn = self.node_of(inner)
            if fn is None:
                continue
            if fn.op_type == "Erf":
                d = self.node_of(fn.input[0])
                if d is not None and d.op_type == "Div" and d.input[0] == x and self.near(d.input[1], math.sqrt(2.0)):
                    return ("gelu", x, "erf")
                if d is not None and d.op_type == "Mul":
                    g = self.product_factors(fn.input[0])
                    if len(g) == 2 and x in g and any(self.near(c, 1 / math.sqrt(2.0)) for c in g):
                        return ("gelu", x, "erf")
            if fn.op_type == "Tanh":
                g = self.product_factors(fn.input[0])
                if len(g) != 2 or not any(self.near(c, math.sqrt(2 / math.pi)) for c in g):
                    continue
                u = [c for c in g if not self.near(c, math.sqrt(2 / math.pi))]
                uops = self.add_operands(u[0]) if u else None
                if not uops or x not in uops:
                    continue
                cube = uops[1] if uops[0] == x else uops[0]
                h = self.product_factors(cube)
                if len(h) != 2 or not any(self.near(c, 0.044715) for c in h):
                    continue
                p = [c for c in h if not self.near(c, 0.044715)][0]
                pn = self.node_of(p)
                if pn is not None and pn.op_type == "Pow" and pn.input[0] == x and self.near(pn.input[1], 3.0):
                    return ("gelu", x, "tanh")
        return None

    def match_silu(self, node):
        if node.op_type != "Mul":
            return None
        a, b = node.input
        for x, s in ((a, b), (b, a)):
            sn = self.node_of(s)
            if sn is not None and sn.op_type == "Sigmoid" and sn.input[0] == x:
                return ("silu", x)
        return None

    def match_rms_norm(self, node):
        """w * (x * 1/sqrt(mean(x^2, -1) + eps)) in the forms exporters write."""
        if node.op_type != "Mul":
            return None
        f = self.product_factors(node.output[0])
        if len(f) != 3:
            return None
        for inv in f:
            n = self.node_of(inv)
            if n is None or n.op_type != "Reciprocal":
                continue
            sq = self.node_of(n.input[0])
            if sq is None or sq.op_type != "Sqrt":
                continue
            ops = self.add_operands(sq.input[0])
            if not ops:
                continue
            eps = [o for o in ops if self.scalar(o) is not None]
            if len(eps) != 1:
                continue
            mean = ops[1] if ops[0] == eps[0] else ops[0]
            mn = self.node_of(mean)
            if mn is None or mn.op_type != "ReduceMean":
                continue
            axes = self.attrs(mn).get("axes")
            if axes is None and len(mn.input) > 1:
                axes = self.const.get(mn.input[1])
                axes = None if axes is None else [int(x) for x in axes.reshape(-1)]
            pw = self.node_of(mn.input[0])
            if pw is None or pw.op_type != "Pow" or not self.near(pw.input[1], 2.0):
                continue
            x = pw.input[0]
            others = [o for o in f if o != inv]
            if x not in others:
                continue
            w = [o for o in others if o != x]
            if len(w) != 1 or w[0] not in self.const or self.const[w[0]].ndim != 1:
                continue
            if axes is None or len(axes) != 1 or self.attrs(mn).get("keepdims", 1) != 1:
                continue
            return ("rms_norm", x, w[0], self.scalar(eps[0]), axes[0])
        return None

    def match_linear(self, node):
        """MatMul(x, W) / Gemm(x, W[, b]) with a constant 2-D W, plus a bias
        Add that only this product feeds."""
        if node.op_type == "MatMul":
            x, w = node.input
            if x in self.const or w not in self.const or self.const[w].ndim != 2:
                return None
            transposed, bias = True, None
        elif node.op_type == "Gemm":
            at = self.attrs(node)
            if at.get("transA", 0) or at.get("alpha", 1.0) != 1.0 or at.get("beta", 1.0) != 1.0:
                return None
            x, w = node.input[0], node.input[1]
            if x in self.const or w not in self.const:
                return None
            transposed = not at.get("transB", 0)
            bias = node.input[2] if len(node.input) > 2 and node.input[2] else None
            if bias is not None and (bias not in self.const or self.const[bias].ndim != 1):
                return None
        else:
            return None
        out = node.output[0]
        n_out = self.const[w].shape[1 if transposed else 0]
        absorb = None
        if bias is None and self.single_use(out):
            c = self.graph.node[self.consumers[out][0]] if self.consumers[out][0] >= 0 else None
            if c is not None and c.op_type == "Add":
                other = c.input[1] if c.input[0] == out else c.input[0]
                if other in self.const and self.const[other].shape == (n_out,):
                    bias, absorb = other, c
        return ("linear", x, w, bias, transposed, absorb)

    # -- constant folding ------------------------------------------------
    def fold(self, node):
        from onnx.reference import ReferenceEvaluator
        inputs = {x: self.const[x] for x in node.input if x}
        np = self.np
        if node.op_type == "GatherElements":
            # The reference evaluator mishandles index tensors smaller than
            # the data; numpy's take_along_axis is the definition.
            data, idx = self.const[node.input[0]], self.const[node.input[1]]
            axis = self.attrs(node).get("axis", 0) % data.ndim
            idx = np.where(idx < 0, idx + data.shape[axis], idx)
            self.const[node.output[0]] = np.take_along_axis(data, idx, axis)
            return
        try:
            outs = ReferenceEvaluator(node).run(None, inputs)
        except Exception as e:  # the reference evaluator raises many types
            self.fail(node, "cannot evaluate this constant node: %s" % e)
        for name, a in zip(node.output, outs):
            if name:
                self.const[name] = self.np.asarray(a)

    # -- import ----------------------------------------------------------
    def run(self):
        np = self.np
        g = self.graph
        for node in g.node:
            if node.domain not in ("", "ai.onnx"):
                self.fail(node, "operators of domain '%s' are not supported (only the default ONNX domain)"
                          % node.domain)
        for init in g.initializer:
            self.const[init.name] = self.numpy_helper.to_array(init)
        self.index()
        self.import_inputs()
        self.inferred_shapes()
        # Constant folding and static shapes first, in graph order.
        for node in g.node:
            if node.op_type == "Constant":
                self.fold(node)
            elif node.op_type in ("Shape", "Size") and node.input[0] in self.shapes:
                shape = self.shapes[node.input[0]]
                if node.op_type == "Size":
                    self.const[node.output[0]] = np.array(math.prod(shape), dtype=np.int64)
                else:
                    at = self.attrs(node)
                    s, e = at.get("start", 0), at.get("end", len(shape))
                    self.const[node.output[0]] = np.array(shape[s:e], dtype=np.int64)
            elif node.input and all(self.is_const(x) for x in node.input):
                self.fold(node)
        # Patterns, then what the outputs need, then emission in order.
        for i, node in enumerate(g.node):
            if node.output[0] in self.const:
                continue
            for m in (self.match_gelu, self.match_silu, self.match_rms_norm, self.match_linear):
                r = m(node)
                if r:
                    self.fused[i] = r
                    if r[0] == "linear" and r[5] is not None:
                        self.absorbed.add(id(r[5]))
                    break
        live = self.liveness()
        for i, node in enumerate(g.node):
            if i in live and id(node) not in self.absorbed and node.output[0] not in self.const:
                self.import_node(i, node)
        outs = []
        for o in g.output:
            if o.name in self.const and o.name not in self.vals:
                self.vals[o.name] = self.const_value(o.name, None)
            outs.append(self.val(o.name, None))
        return outs

    def liveness(self):
        live = set()
        stack = [o.name for o in self.graph.output]
        seen = set()
        while stack:
            name = stack.pop()
            if name in seen or name in self.const:
                continue
            seen.add(name)
            i = self.producer.get(name)
            if i is None:
                continue
            node = self.graph.node[i]
            live.add(i)
            if id(node) in self.absorbed:
                # The bias Add of a linear: its product is the live part.
                for x in node.input:
                    if x not in self.const:
                        stack.append(x)
                continue
            r = self.fused.get(i)
            if r:
                stack.extend(x for x in r[1:] if isinstance(x, str) and x not in self.const)
            else:
                stack.extend(x for x in node.input if x)
        return live

    def inferred_shapes(self):
        """Static shapes from ONNX shape inference, for Shape and Size."""
        import onnx
        try:
            inferred = onnx.shape_inference.infer_shapes(self.model)
        except Exception as e:
            raise OnnxImportError("ONNX shape inference failed: %s" % e)
        for vi in list(inferred.graph.value_info) + list(inferred.graph.output):
            dims = vi.type.tensor_type.shape.dim
            if vi.type.tensor_type.HasField("shape") and all(d.HasField("dim_value") for d in dims):
                self.shapes.setdefault(vi.name, tuple(d.dim_value for d in dims))

    def import_inputs(self):
        """Function arguments from the graph inputs (see the module doc)."""
        np = self.np
        self.shapes = {}
        inits = {i.name for i in self.graph.initializer}
        inputs = [i for i in self.graph.input if i.name not in inits]
        for inp in inputs:
            tt = inp.type.tensor_type
            shape = []
            for d in tt.shape.dim:
                if not d.HasField("dim_value"):
                    raise OnnxImportError(
                        "graph input '%s' has the symbolic dimension '%s': export with static shapes "
                        "(a fixed batch and sequence length)" % (inp.name, d.dim_param or "?"))
                shape.append(d.dim_value)
            self.shapes[inp.name] = tuple(shape)
            if tt.elem_type not in (6, 7):
                raise OnnxImportError("graph input '%s' is %s; the models take int64 token ids"
                                      % (inp.name, ONNX_TYPE_NAMES.get(tt.elem_type, tt.elem_type)))
            if len(shape) != 2:
                raise OnnxImportError("graph input '%s' has shape %s; inputs are [batch, seq]" % (inp.name, shape))
        names = [i.name for i in inputs]
        dtypes = {i.name: DTYPES[i.type.tensor_type.elem_type] for i in inputs}
        special = (self.mask_input, "token_type_ids", "position_ids")
        ids = [n for n in names if n not in special]
        if len(ids) != 1:
            raise OnnxImportError("the graph takes inputs %s; supported are one token id input "
                                  "(input_ids), token_type_ids, position_ids and %s" % (names, self.mask_input))
        if any(self.shapes[n] != self.shapes[ids[0]] for n in names):
            raise OnnxImportError("graph inputs of different shapes: %s"
                                  % ", ".join("%s %s" % (n, list(self.shapes[n])) for n in names))
        B, S = self.shapes[ids[0]]
        self.kind = self.kind or self.guess_kind()
        v = Value("%input_ids", (B, S), dtypes[ids[0]])
        self.vals[ids[0]] = v
        self.args.append(v)
        if "token_type_ids" in names:
            if self.kind != "encoder":
                raise OnnxImportError("token_type_ids is an encoder input; this graph is a %s" % self.kind)
            v = Value("%token_type_ids", (B, S), dtypes["token_type_ids"])
            self.vals["token_type_ids"] = v
            self.args.append(v)
        # Positions [1, seq]: the compiler's to compute (prefill chunks, decode).
        row = None
        if "position_ids" in names or (self.mask_input in names and self.kind != "decoder"):
            pos = self.emit(None, "xformer.positions : %s" % type_str((S,), "i64"), (S,), "i64")
            row = self.reshape(None, pos, (1, S))
        if "position_ids" in names:
            pos = self.broadcast(None, row, (B, S))
            self.vals["position_ids"] = self.cast(None, pos, dtypes["position_ids"])
        elif self.kind == "decoder":
            raise OnnxImportError(
                "a decoder's graph must take position_ids (export with position_ids=...): without it "
                "the exporter folds the position embeddings or rotary tables for the exported length, "
                "and the positions a decode step needs are lost")
        if self.mask_input in names:
            mdt = dtypes[self.mask_input]
            if self.kind == "decoder":
                # Right padding under a causal mask: a real token never sees
                # a pad (pads come after it), so the padding mask is all ones
                # on every position the runtime reads; the runtime tracks
                # each sequence's length itself.
                ones = np.ones((B, S), dtype=self.np_dt(mdt))
                self.vals[self.mask_input] = self.emit(
                    None, "arith.constant %s : %s" % (self.dense(ones, mdt), type_str((B, S), mdt)), (B, S), mdt)
            else:
                lengths = Value("%lengths", (B,), "i64")
                self.args.append(lengths)
                lens = self.reshape(None, lengths, (B, 1))
                keep = self.binary(None, "compare lt,", row, lens, "i1")
                # The exporter's mask: 1 for real tokens, 0 for padding.
                self.vals[self.mask_input] = self.cast(None, keep, mdt)

    def guess_kind(self):
        """A decoder when the graph's one output is logits over the
        vocabulary of an embedding table it gathers from; else an encoder."""
        vocab = set()
        for n in self.graph.node:
            if n.op_type == "Gather" and n.input[0] in self.const and self.const[n.input[0]].ndim == 2:
                vocab.add(self.const[n.input[0]].shape[0])
        outs = self.graph.output
        if len(outs) != 1:
            return "encoder"
        dims = outs[0].type.tensor_type.shape.dim
        if len(dims) == 3 and dims[2].HasField("dim_value") and dims[2].dim_value in vocab:
            return "decoder"
        return "encoder"

    # -- node by node ----------------------------------------------------
    def import_node(self, i, node):
        np = self.np
        r = self.fused.get(i)
        op = node.op_type
        at = self.attrs(node)
        out = node.output[0]
        if r:
            kind = r[0]
            if kind == "gelu":
                x = self.val(r[1], node)
                v = self.emit(node, "xformer.gelu %s %s : %s" % (r[2], x.ssa, x.type), x.shape, x.dt)
            elif kind == "silu":
                x = self.val(r[1], node)
                v = self.emit(node, "xformer.silu %s : %s" % (x.ssa, x.type), x.shape, x.dt)
            elif kind == "rms_norm":
                x = self.val(r[1], node)
                if r[4] not in (-1, len(x.shape) - 1):
                    self.fail(node, "RMSNorm over axis %d; xformer.rms_norm normalises the last one" % r[4])
                w = self.val(r[2], node)
                if w.shape != (x.shape[-1],):
                    self.fail(node, "RMSNorm weight of shape %s for rows of %d" % (list(w.shape), x.shape[-1]))
                v = self.emit(node, "xformer.rms_norm %s, %s epsilon = %.17e : %s, %s" % (
                    x.ssa, w.ssa, r[3], x.type, w.type), x.shape, x.dt)
            else:
                _, xn, wn, bn, transposed, absorb = r
                x = self.val(xn, node)
                w = self.val(wn, node)
                k, n = (w.shape if transposed else w.shape[::-1])
                if x.shape[-1] != k:
                    self.fail(node, "a product of %s with a weight of %s" % (list(x.shape), list(w.shape)))
                shape = x.shape[:-1] + (n,)
                operands, types = [x.ssa, w.ssa], [x.type, w.type]
                if bn is not None:
                    b = self.val(bn, node)
                    operands.append(b.ssa)
                    types.append(b.type)
                v = self.emit(node, "xformer.linear %s%s : %s -> %s" % (
                    ", ".join(operands), " {weight_transposed}" if transposed else "", ", ".join(types),
                    type_str(shape, x.dt)), shape, x.dt)
                if absorb is not None:
                    self.vals[absorb.output[0]] = v
            self.vals[out] = v
            return
        data_inputs = 1 if op in ("Reshape", "Expand", "Squeeze", "Unsqueeze", "Slice", "Split",
                                   "GatherND", "Pow") else 0 if op == "Gather" else len(node.input)
        ins = [self.val(x, node) if x else None for x in node.input[:data_inputs]]
        if op in ("Add", "Sub", "Mul", "Div"):
            v = self.binary(node, op.lower(), ins[0], ins[1])
        elif op in ("And", "Or"):
            v = self.binary(node, op.lower(), ins[0], ins[1])
        elif op in ("Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual"):
            pred = {"Equal": "eq", "Less": "lt", "LessOrEqual": "le", "Greater": "gt", "GreaterOrEqual": "ge"}[op]
            v = self.binary(node, "compare %s," % pred, ins[0], ins[1], "i1")
        elif op == "Not":
            v = self.emit(node, "xformer.not %s : %s" % (ins[0].ssa, ins[0].type), ins[0].shape, "i1")
        elif op == "Neg":
            v = self.binary(node, "mul", ins[0], self.scalar_const(-1, ins[0].dt))
        elif op == "Pow":
            e = self.scalar(node.input[1])
            if e not in (1.0, 2.0, 3.0):
                self.fail(node, "Pow with an exponent other than a constant 1, 2 or 3")
            v = ins[0]
            for _ in range(int(e) - 1):
                v = self.binary(node, "mul", v, ins[0])
        elif op == "Where":
            c, a, b = ins
            shape = np.broadcast_shapes(c.shape, a.shape, b.shape)
            v = self.emit(node, "xformer.select %s, %s, %s : %s, %s, %s -> %s" % (
                c.ssa, a.ssa, b.ssa, c.type, a.type, b.type, type_str(shape, a.dt)), shape, a.dt)
        elif op == "MatMul":
            a, b = ins
            if len(a.shape) < 2 or len(b.shape) < 2 or a.shape[-1] != b.shape[-2]:
                self.fail(node, "MatMul of %s and %s" % (list(a.shape), list(b.shape)))
            shape = tuple(np.broadcast_shapes(a.shape[:-2], b.shape[:-2])) + (a.shape[-2], b.shape[-1])
            v = self.emit(node, "xformer.matmul %s, %s : %s, %s -> %s" % (
                a.ssa, b.ssa, a.type, b.type, type_str(shape, a.dt)), shape, a.dt)
        elif op == "Softmax":
            x = ins[0]
            axis = at.get("axis", -1) % len(x.shape)
            v = self.emit(node, "xformer.softmax %s, axis = %d : %s" % (x.ssa, axis, x.type), x.shape, x.dt)
        elif op == "LayerNormalization":
            x, g = ins[0], ins[1]
            b = ins[2] if len(ins) > 2 else None
            axis = at.get("axis", -1) % len(x.shape)
            if axis != len(x.shape) - 1:
                self.fail(node, "LayerNormalization over axis %d; xformer.layer_norm normalises the last one" % axis)
            if len(node.output) > 1 and any(node.output[1:]):
                if any(self.consumers.get(o) for o in node.output[1:] if o):
                    self.fail(node, "the mean / inverse deviation outputs are used")
            text = "xformer.layer_norm %s, %s%s epsilon = %.17e : %s, %s%s" % (
                x.ssa, g.ssa, (", " + b.ssa) if b else "", at.get("epsilon", 1e-5), x.type, g.type,
                (", " + b.type) if b else "")
            v = self.emit(node, text, x.shape, x.dt)
        elif op == "Gelu":
            approx = at.get("approximate", b"none")
            approx = approx.decode() if isinstance(approx, bytes) else approx
            x = ins[0]
            v = self.emit(node, "xformer.gelu %s %s : %s" % ("tanh" if approx == "tanh" else "erf", x.ssa, x.type),
                          x.shape, x.dt)
        elif op in ("Tanh", "Relu"):
            x = ins[0]
            v = self.emit(node, "xformer.%s %s : %s" % (op.lower(), x.ssa, x.type), x.shape, x.dt)
        elif op in ("Identity", "Dropout"):
            v = ins[0]
        elif op == "Cast":
            to = at["to"]
            if to not in DTYPES and to != 11:
                self.fail(node, "Cast to %s; supported: float32, int64, int32, bool"
                          % ONNX_TYPE_NAMES.get(to, to))
            v = self.cast(node, ins[0], DTYPES.get(to, "f32"))
        elif op == "Transpose":
            x = ins[0]
            perm = list(at.get("perm", range(len(x.shape) - 1, -1, -1)))
            shape = tuple(x.shape[p] for p in perm)
            v = self.emit(node, "xformer.transpose %s, [%s] : %s -> %s" % (
                x.ssa, ", ".join(map(str, perm)), x.type, type_str(shape, x.dt)), shape, x.dt)
        elif op in ("Reshape", "Flatten", "Squeeze", "Unsqueeze"):
            v = self.reshape(node, ins[0], self.reshape_target(node, at, ins[0].shape))
        elif op == "Expand":
            shape = self.const_ints(node, 1)
            v = self.broadcast(node, ins[0], np.broadcast_shapes(ins[0].shape, tuple(shape)))
        elif op == "Slice":
            v = self.slice(node, ins[0])
        elif op == "Split":
            self.split(node, at, ins[0])
            return
        elif op == "Concat":
            axis = at["axis"] % len(ins[0].shape)
            shape = list(ins[0].shape)
            shape[axis] = sum(x.shape[axis] for x in ins)
            v = self.emit(node, "xformer.concat %s, axis = %d : %s -> %s" % (
                ", ".join(x.ssa for x in ins), axis, ", ".join(x.type for x in ins),
                type_str(shape, ins[0].dt)), shape, ins[0].dt)
        elif op == "Gather":
            v = self.gather(node, at, ins)
        elif op == "GatherND":
            v = self.gather_nd(node, at, ins)
        else:
            self.fail(node, "unsupported operator %s; supported: %s" % (op, SUPPORTED_OPS))
        self.vals[out] = v
        self.shapes[out] = v.shape

    def const_ints(self, node, k):
        if len(node.input) <= k or node.input[k] not in self.const:
            self.fail(node, "input #%d must be a constant" % k)
        return [int(x) for x in self.const[node.input[k]].reshape(-1)]

    def reshape_target(self, node, at, shape):
        op = node.op_type
        if op == "Reshape":
            target = self.const_ints(node, 1)
            allowzero = at.get("allowzero", 0)
            out = []
            for i, d in enumerate(target):
                out.append(shape[i] if d == 0 and not allowzero else d)
            if out.count(-1) > 1:
                self.fail(node, "more than one -1 in the target shape")
            if -1 in out:
                known = math.prod(d for d in out if d != -1)
                out[out.index(-1)] = math.prod(shape) // max(known, 1)
            return out
        if op == "Flatten":
            axis = at.get("axis", 1) % (len(shape) + 1)
            return [math.prod(shape[:axis]), math.prod(shape[axis:])]
        axes = at.get("axes")
        if axes is None and len(node.input) > 1 and node.input[1]:
            axes = self.const_ints(node, 1)
        if op == "Squeeze":
            if axes is None:
                return [d for d in shape if d != 1]
            axes = [a % len(shape) for a in axes]
            return [d for i, d in enumerate(shape) if i not in axes]
        rank = len(shape) + len(axes)
        axes = sorted(a % rank for a in axes)
        out, it = [], iter(shape)
        for i in range(rank):
            out.append(1 if i in axes else next(it))
        return out

    def slice_op(self, node, x, starts, sizes):
        shape = tuple(sizes)
        if shape == x.shape:
            return x
        return self.emit(node, "xformer.slice %s [%s] : %s -> %s" % (
            x.ssa, ", ".join(map(str, starts)), x.type, type_str(shape, x.dt)), shape, x.dt)

    def slice(self, node, x):
        starts, ends = self.const_ints(node, 1), self.const_ints(node, 2)
        rank = len(x.shape)
        axes = self.const_ints(node, 3) if len(node.input) > 3 and node.input[3] else list(range(len(starts)))
        steps = self.const_ints(node, 4) if len(node.input) > 4 and node.input[4] else [1] * len(starts)
        off, size = [0] * rank, list(x.shape)
        for s, e, a, st in zip(starts, ends, axes, steps):
            a %= rank
            if st != 1:
                self.fail(node, "Slice with step %d; only step 1 is supported" % st)
            d = x.shape[a]
            s = max(0, min(d, s + d if s < 0 else s))
            e = max(0, min(d, e + d if e < 0 else e))
            if e <= s:
                self.fail(node, "an empty Slice")
            off[a], size[a] = s, e - s
        return self.slice_op(node, x, off, size)

    def split(self, node, at, x):
        axis = at.get("axis", 0) % len(x.shape)
        n = len(node.output)
        if len(node.input) > 1 and node.input[1]:
            sizes = self.const_ints(node, 1)
        elif "split" in at:
            sizes = list(at["split"])
        else:
            d = x.shape[axis]
            per = -(-d // n)
            sizes = [min(per, d - per * i) for i in range(n)]
        start = 0
        for o, s in zip(node.output, sizes):
            off = [0] * len(x.shape)
            off[axis] = start
            shape = list(x.shape)
            shape[axis] = s
            if o:
                v = self.slice_op(node, x, off, shape)
                self.vals[o] = v
                self.shapes[o] = v.shape
            start += s

    def gather(self, node, at, ins):
        data, idx = node.input[0], node.input[1]
        axis = at.get("axis", 0)
        if data in self.const and idx not in self.const:
            table = self.val(data, node)
            if axis != 0 or len(table.shape) != 2:
                self.fail(node, "Gather from a constant table needs a 2-D table and axis 0 (an embedding)")
            ids = self.val(idx, node)
            if ids.dt not in ("i64", "i32"):
                self.fail(node, "embedding indices of type %s" % ids.dt)
            shape = ids.shape + (table.shape[1],)
            return self.emit(node, "xformer.embedding %s, %s : %s, %s -> %s" % (
                table.ssa, ids.ssa, table.type, ids.type, type_str(shape, table.dt)), shape, table.dt)
        if idx in self.const:
            x = self.val(data, node)
            axis %= len(x.shape)
            ia = self.const[idx]
            d = x.shape[axis]
            flat = [int(i) + d if int(i) < 0 else int(i) for i in ia.reshape(-1)]
            if len(flat) != 1 and flat != list(range(flat[0], flat[0] + len(flat))):
                self.fail(node, "Gather of non-contiguous constant indices")
            off = [0] * len(x.shape)
            off[axis] = flat[0]
            size = list(x.shape)
            size[axis] = len(flat)
            s = self.slice_op(node, x, off, size)
            return self.reshape(node, s, x.shape[:axis] + ia.shape + x.shape[axis + 1:])
        self.fail(node, "Gather with computed indices from a computed tensor")

    def gather_nd(self, node, at, ins):
        """Constant indices whose k-th component is the output coordinate
        along one dimension: a reshape plus a broadcast of the data."""
        np = self.np
        if at.get("batch_dims", 0) != 0 or node.input[1] not in self.const:
            self.fail(node, "GatherND needs constant indices and batch_dims 0")
        x = ins[0]
        idx = self.const[node.input[1]]
        K = idx.shape[-1]
        oshape = idx.shape[:-1]
        dims = []
        for k in range(K):
            comp = idx[..., k]
            found = None
            for d in range(len(oshape)):
                ar = np.arange(oshape[d]).reshape([-1 if i == d else 1 for i in range(len(oshape))])
                if oshape[d] == x.shape[k] and np.array_equal(comp, np.broadcast_to(ar, oshape)):
                    found = d
                    break
            if found is None and x.shape[k] == 1 and np.all(comp == 0):
                found = -1
            if found is None or (dims and found != -1 and found <= max(dims)):
                self.fail(node, "GatherND whose indices are not coordinates in order")
            dims.append(found)
        shape = [1] * len(oshape)
        for k, d in enumerate(dims):
            if d >= 0:
                shape[d] = x.shape[k]
        r = self.reshape(node, x, tuple(shape) + x.shape[K:])
        return self.broadcast(node, r, tuple(oshape) + x.shape[K:])


def import_onnx(path, weights_out, kind=None, mask_input="attention_mask"):
    """Returns the IR text; writes the weights to `weights_out`."""
    try:
        import numpy  # noqa: F401
        import onnx
    except ImportError as e:
        raise OnnxImportError("importing ONNX needs the onnx and numpy packages (%s)" % e)
    try:
        model = onnx.load(path)
    except Exception as e:
        raise OnnxImportError("cannot read %s as an ONNX model: %s" % (path, e))
    if not model.graph.node:
        raise OnnxImportError("%s: the graph has no nodes" % path)
    imp = Importer(model, kind, mask_input)
    outs = imp.run()
    kind = imp.kind
    if kind == "encoder":
        if not outs or len(outs[0].shape) != 3:
            raise OnnxImportError("an encoder's first output must be the [batch, seq, hidden] states")
        if len(outs) > 2 or (len(outs) == 2 and len(outs[1].shape) != 2):
            raise OnnxImportError("an encoder returns hidden states and at most a [batch, hidden] pooled output")
    elif kind == "decoder":
        if len(outs) != 1 or len(outs[0].shape) != 3:
            raise OnnxImportError("a decoder returns one [batch, seq, vocab] logits output")
    else:
        raise OnnxImportError("unknown model kind '%s' (encoder or decoder)" % kind)
    if outs and any(o.dt != "f32" for o in outs):
        raise OnnxImportError("outputs must be float32")
    from safetensors.numpy import save_file
    save_file(imp.weights, weights_out)
    text = ["// Imported by xformer-import from %s (ONNX, %d nodes)." % (os.path.basename(path),
                                                                       len(model.graph.node))]
    text += weight_decls(imp.decls)
    text += ["func.func @forward(%s) -> (%s) attributes {xformer.model = #xformer.model<%s>} {" % (
                ", ".join("%s: %s" % (a.ssa, a.type) for a in imp.args),
                ", ".join(o.type for o in outs), kind)]
    text += imp.lines
    text.append("  return %s : %s" % (", ".join(o.ssa for o in outs), ", ".join(o.type for o in outs)))
    text.append("}")
    return "\n".join(text) + "\n"
