"""Writes small ONNX graphs for the importer's tests into a directory.

    python make_graphs.py OUT_DIR

attention.onnx is one encoder layer in the TorchScript exporter's form
(additive mask (1 - mask) * -10000, scale by division, Gemm-free MatMul +
bias Add); the others are inputs the importer must refuse with a clear
error. Built with onnx.helper, so nothing binary is committed.
"""

import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

B, S, D, H, V = 2, 4, 8, 2, 16
rng = np.random.default_rng(0)


def init(name, shape=None, value=None, dtype=np.float32):
    a = np.asarray(value, dtype=dtype) if value is not None else rng.standard_normal(shape).astype(dtype)
    return numpy_helper.from_array(a, name)


def model(nodes, inputs, outputs, inits, opset=17):
    g = helper.make_graph(nodes, "g", inputs, outputs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def ids_input(name="input_ids", shape=(B, S), elem=TensorProto.INT64):
    return helper.make_tensor_value_info(name, elem, list(shape))


def attention():
    n = helper.make_node
    inits = [init("emb", (V, D)), init("wq", (D, D)), init("bq", (D,)), init("wk", (D, D)),
             init("bk", (D,)), init("wv", (D, D)), init("bv", (D,)),
             init("heads", value=[B, S, H, D // H], dtype=np.int64),
             init("merged", value=[B, S, D], dtype=np.int64),
             init("sqrt_d", value=2.0), init("one", value=1.0), init("big", value=-10000.0),
             init("axes12", value=[1, 2], dtype=np.int64)]
    nodes = [n("Gather", ["emb", "input_ids"], ["x"], name="embed")]
    for p in "qkv":
        nodes += [n("MatMul", ["x", "w" + p], [p + "0"], name=p + "_proj"),
                  n("Add", [p + "0", "b" + p], [p + "1"], name=p + "_bias"),
                  n("Reshape", [p + "1", "heads"], [p + "2"], name=p + "_view")]
    nodes += [n("Transpose", ["q2"], ["q"], perm=[0, 2, 1, 3], name="q_t"),
              n("Transpose", ["k2"], ["kt"], perm=[0, 2, 3, 1], name="k_t"),
              n("Transpose", ["v2"], ["v"], perm=[0, 2, 1, 3], name="v_t"),
              n("MatMul", ["q", "kt"], ["s0"], name="scores"),
              n("Div", ["s0", "sqrt_d"], ["s1"], name="scale"),
              n("Cast", ["attention_mask"], ["mf"], to=TensorProto.FLOAT, name="mask_cast"),
              n("Sub", ["one", "mf"], ["inv"], name="mask_invert"),
              n("Mul", ["inv", "big"], ["add_mask"], name="mask_scale"),
              n("Unsqueeze", ["add_mask", "axes12"], ["m4"], name="mask_rows"),
              n("Add", ["s1", "m4"], ["s2"], name="mask_add"),
              n("Softmax", ["s2"], ["p"], axis=-1, name="softmax"),
              n("MatMul", ["p", "v"], ["c0"], name="context"),
              n("Transpose", ["c0"], ["c1"], perm=[0, 2, 1, 3], name="c_t"),
              n("Reshape", ["c1", "merged"], ["y"], name="c_view")]
    return model(nodes, [ids_input(), ids_input("attention_mask")],
                 [helper.make_tensor_value_info("y", TensorProto.FLOAT, [B, S, D])], inits)


def single(op_nodes, extra_inits=(), inputs=None, out_shape=(B, S, D), out_type=TensorProto.FLOAT):
    inits = [init("emb", (V, D))] + list(extra_inits)
    nodes = [helper.make_node("Gather", ["emb", "input_ids"], ["x"], name="embed")] + op_nodes
    return model(nodes, inputs or [ids_input()],
                 [helper.make_tensor_value_info("y", out_type, list(out_shape))], inits)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    n = helper.make_node
    graphs = {
        "attention": attention(),
        "dynamic": single([n("Relu", ["x"], ["y"], name="act")],
                          inputs=[helper.make_tensor_value_info("input_ids", TensorProto.INT64,
                                                                ["batch", S])]),
        "unsupported-op": single([n("Sin", ["x"], ["y"], name="the_sine")]),
        "float-input": single([n("Relu", ["x"], ["y"], name="act")],
                              inputs=[ids_input(elem=TensorProto.FLOAT)]),
        "custom-domain": single([n("FastGelu", ["x"], ["y"], domain="com.microsoft", name="fast")]),
        "fp16-cast": single([n("Cast", ["x"], ["y"], to=TensorProto.FLOAT16, name="to_half")],
                            out_type=TensorProto.FLOAT16),
        "gathernd": single([n("GatherND", ["x", "idx"], ["y"], name="shuffle")],
                           [init("idx", value=np.tile(np.array([[1, 0], [0, 0]]), (1, 1)).reshape(2, 1, 2)
                                 .repeat(S, axis=1), dtype=np.int64)],
                           out_shape=(B, S, D)),
        "pow": single([n("Pow", ["x", "e"], ["y"], name="pow_half")], [init("e", value=0.5)]),
        "two-token-inputs": single([n("Relu", ["x"], ["y"], name="act")],
                                   inputs=[ids_input(), ids_input("other_ids")]),
    }
    for name, m in graphs.items():
        onnx.save(m, os.path.join(out, name + ".onnx"))
    with open(os.path.join(out, "not-onnx.onnx"), "wb") as f:
        f.write(b"this is not a protobuf\xff\xfe")


if __name__ == "__main__":
    main()
