"""Bad input through the command line (xformer-run) and the Python bindings.

    python bad_input.py --work DIR --include INCLUDE_DIR --cxx CXX

Compiles a small GPT-2 (batch 2, cache of 64 positions), writes broken
variants of its weights file and a model library of another ABI version,
and checks that both interfaces refuse each with the status that names the
cause (the C API has the same cases in unittests/RuntimeAPITest.cpp).
Every check prints one line; any failure exits non-zero.
"""

import argparse
import json
import os
import struct
import subprocess
import sys

import numpy as np
import torch

from checks import BIN, check, finish  # noqa: E402
import xformer  # noqa: E402
from safetensors.numpy import load_file, save_file  # noqa: E402


def weights_variants(good, work):
    """name -> (path, expected status) of broken weights files."""
    w = load_file(good)
    names = sorted(w)
    out = {}

    def write(name, tensors):
        p = os.path.join(work, name + ".safetensors")
        save_file(tensors, p)
        return p

    out["missing file"] = (os.path.join(work, "nowhere.safetensors"), "io")
    raw = open(good, "rb").read()
    p = os.path.join(work, "truncated.safetensors")
    with open(p, "wb") as f:
        f.write(raw[: len(raw) // 2])
    out["truncated file"] = (p, "weights")
    p = os.path.join(work, "garbage-header.safetensors")
    with open(p, "wb") as f:
        f.write(struct.pack("<Q", 12) + b"{not json!!}")
    out["header that is not JSON"] = (p, "weights")
    t = dict(w)
    t[names[0]] = w[names[0]].astype(np.float64)
    out["wrong dtype (F64)"] = (write("dtype", t), "weights")
    t = dict(w)
    t[names[0]] = np.concatenate([w[names[0]], w[names[0]]])
    out["wrong shape"] = (write("shape", t), "weights")
    t = dict(w)
    del t[names[-1]]
    out["missing tensor"] = (write("missing", t), "weights")
    t = dict(w)
    t["extra.weight"] = np.zeros(3, np.float32)
    out["extra tensor"] = (write("extra", t), "weights")
    # A sharded checkpoint's index: a shard that is not there, a tensor the
    # map puts in a shard that lacks it, an index that is not JSON.
    shard = write("shard-1", {k: w[k] for k in names[:2]})
    idx = os.path.join(work, "gone.safetensors.index.json")
    with open(idx, "w") as f:
        json.dump({"weight_map": dict({k: "shard-1.safetensors" for k in names[:2]},
                                      **{k: "shard-gone.safetensors" for k in names[2:]})}, f)
    out["index naming a missing shard"] = (idx, "weights")
    idx = os.path.join(work, "misplaced.safetensors.index.json")
    with open(idx, "w") as f:
        json.dump({"weight_map": {k: "shard-1.safetensors" for k in names}}, f)
    out["index putting a tensor in a shard that lacks it"] = (idx, "weights")
    idx = os.path.join(work, "garbage.safetensors.index.json")
    with open(idx, "w") as f:
        f.write("{weight_map")
    out["index that is not JSON"] = (idx, "weights")
    assert os.path.exists(shard)
    for kind, value in (("NaN", np.nan), ("Inf", np.inf)):
        t = dict(w)
        a = w[names[1]].copy()
        a.reshape(-1)[a.size // 2] = value
        t[names[1]] = a
        out["%s in a weight" % kind] = (write(kind.lower(), t), "non-finite")
    return out


def refused(name, status, cli_args, call):
    """The same bad input through xformer-run and through the bindings."""
    r = subprocess.run([os.path.join(BIN, "xformer-run")] + cli_args, capture_output=True, text=True)
    err = r.stderr.strip()
    check("CLI: %s" % name, r.returncode == 1 and "(%s)" % status in err,
          "exit %d, %s" % (r.returncode, err[:400]))
    try:
        call()
        check("Python: %s" % name, False, "accepted")
    except xformer.Error as e:
        check("Python: %s" % name, e.name == status, str(e)[:200])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--include", required=True)
    ap.add_argument("--cxx", required=True)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    import transformers
    torch.manual_seed(0)
    cfg = transformers.GPT2Config(vocab_size=96, n_positions=64, n_embd=32, n_layer=2, n_head=4,
                                  initializer_range=0.1)
    d = os.path.join(a.work, "gpt2")
    transformers.GPT2LMHeadModel(cfg).eval().save_pretrained(d)
    good = os.path.join(d, "model.safetensors")
    so = xformer.compile(xformer.import_hf(d, batch=2, seq=8), os.path.join(a.work, "m.so"), max_seq_len=64)

    # A model library of another ABI version.
    old_src, old_so = os.path.join(a.work, "old.cpp"), os.path.join(a.work, "old.so")
    with open(old_src, "w") as f:
        f.write('#include "xformer/Runtime/ModelABI.h"\n'
                'extern "C" const xfm_model_desc *xformer_model() {\n'
                '  static xfm_model_desc d = {};\n'
                '  d.abi_version = XFORMER_MODEL_ABI_VERSION + 7;\n'
                '  d.compiler_version = "0.0.1";\n'
                '  return &d;\n}\n')
    subprocess.run([a.cxx, "-shared", "-fPIC", "-I" + a.include, old_src, "-o", old_so], check=True)

    # Opening: each broken file or library through both interfaces.
    cases = weights_variants(good, a.work)
    cases = [(name, so, p, st) for name, (p, st) in cases.items()]
    cases.append(("library of another ABI version", old_so, good, "version"))
    # The bf16 mode rounds linear weights to bf16 on open: a value past
    # bf16's range, or not finite, in one of them.
    so16 = xformer.compile(xformer.import_hf(d, batch=2, seq=8), os.path.join(a.work, "m16.so"),
                           max_seq_len=64, precision="bf16")
    w = load_file(good)
    lin = "transformer.h.0.attn.c_attn.weight"
    for name, value in (("f32 value past bf16's range", 3.4e38), ("NaN", np.nan)):
        t = dict(w)
        t[lin] = w[lin].copy()
        t[lin].reshape(-1)[5] = value
        p = os.path.join(a.work, "bf16-%d.safetensors" % len(cases))
        save_file(t, p)
        cases.append(("bf16 mode: %s in a linear weight" % name, so16, p, "non-finite"))
    for name, lib, weights, status in cases:
        refused(name, status, [lib, weights, "--ids", "1 2 3", "--max-new-tokens", "1"],
                lambda: xformer.Model(lib, weights))

    # Running: inputs outside what the model was compiled for.
    long_prompt = " ".join(["1"] * 65)
    runs = [("token id outside the vocabulary", [["1 96 2"]], np.array([[1, 96, 2]]), "out-of-range"),
            ("negative token id", [["1 -3"]], np.array([[1, -3]]), "out-of-range"),
            ("sequence longer than the planned cache", [[long_prompt]], np.ones((1, 65)), "capacity"),
            ("batch larger than planned", [["1"], ["2"], ["3"]], np.ones((3, 1)), "capacity")]
    m = xformer.Model(so, good)
    for name, ids_args, ids, status in runs:
        args = [so, good, "--max-new-tokens", "1"]
        for row in ids_args:
            args += ["--ids"] + row
        m.reset()
        refused(name, status, args,
                lambda: m.generate(np.ascontiguousarray(ids, dtype=np.int64), max_new_tokens=1))
    # Generation that runs out of cache: the tokens made, then the error.
    r = subprocess.run([os.path.join(BIN, "xformer-run"), so, good, "--json", "--eos", "-1",
                        "--max-new-tokens", "100", "--ids", " ".join(["1"] * 60)],
                       capture_output=True, text=True)
    made = json.loads(r.stdout.splitlines()[0])["tokens"] if r.stdout.strip() else []
    want = m.generate(np.ones((1, 60), dtype=np.int64), max_new_tokens=5)[0]
    check("CLI: generation past the cache prints the tokens made",
          r.returncode == 1 and "(capacity)" in r.stderr and made == want,
          "exit %d, %s, %s" % (r.returncode, made, r.stderr.strip()[:200]))
    # The model still works after every refusal.
    m.reset()
    out = m.generate(np.array([[1, 2, 3]], dtype=np.int64), max_new_tokens=2)
    check("the model runs after the refusals", len(out) == 1 and len(out[0]) == 2, json.dumps(out))
    return finish()


if __name__ == "__main__":
    sys.exit(main())
