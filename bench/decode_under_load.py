"""Decode on a shared machine: a SmolLM2-135M-shaped Llama (30 layers,
hidden 576, 9 query / 3 K/V heads, vocabulary 49152, random weights:
timings do not depend on the values) decoding alone and beside busy
processes that each keep a core spinning, xformer (f32 and bf16) beside
transformers (PyTorch eager, the same threads). A serving box is always
shared; what matters is that a loaded machine slows decode in proportion to
the cores taken, not by a multiple of it.

    .venv/bin/python bench/decode_under_load.py [--threads 2] [--output docs/performance.md]

Each row: tokens/s of greedy decode (a 16-token prompt, then --steps
tokens, the decode steps timed), median of --repeats runs, idle and with 1 and `threads` busy
processes. Not a test: nothing here asserts a speed.
"""

import argparse
import datetime
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
BIN = os.environ.get("XFORMER_BIN", os.path.join(SRC, "build", "bin"))
os.environ.setdefault("XFORMER_BIN", BIN)
sys.path.insert(0, os.path.join(os.path.dirname(BIN), "python_packages"))
import xformer  # noqa: E402
from bench_common import cpu_name, emit, isa  # noqa: E402

PROMPT = 16


class Busy:
    """`n` processes spinning on a core each, for the duration of a with
    block."""

    def __init__(self, n):
        self.n = n
        self.procs = []

    def __enter__(self):
        self.procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                      for _ in range(self.n)]
        time.sleep(0.5)
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            p.kill()
            p.wait()


def median_rate(fn, steps, repeats):
    """fn(steps) prefills, decodes and returns the seconds decode took."""
    fn(2)  # warm up
    return statistics.median(steps / fn(steps) for _ in range(repeats))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--output")
    a = ap.parse_args()
    os.environ["XFORMER_NUM_THREADS"] = str(a.threads)
    torch.set_num_threads(a.threads)
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                      num_attention_heads=9, num_key_value_heads=3, vocab_size=49152,
                      max_position_embeddings=2048, rope_theta=100000.0,
                      tie_word_embeddings=True, torch_dtype="float32")
    torch.manual_seed(0)
    hf = LlamaForCausalLM(cfg).eval()
    rng = np.random.default_rng(0)
    prompt = rng.integers(0, cfg.vocab_size, size=(1, PROMPT), dtype=np.int64)
    max_len = PROMPT + a.steps + 8

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = os.path.join(tmp, "smol")
        hf.save_pretrained(model_dir)
        ir = xformer.import_hf(model_dir, batch=1, seq=PROMPT)
        engines = {}
        for precision in ("f32", "bf16"):
            lib = xformer.compile(ir, os.path.join(tmp, "smol-%s.so" % precision),
                                  max_seq_len=256, precision=precision)
            engines["xformer " + precision] = xformer.Model(
                lib, os.path.join(model_dir, "model.safetensors"))

        def xformer_decode(model):
            def run(steps):
                model.reset()
                logits = model.prefill(prompt)
                tok = np.array([int(np.argmax(logits[0, -1]))], dtype=np.int64)
                t0 = time.perf_counter()
                for _ in range(steps):
                    logits = model.decode(tok)
                    tok = np.array([int(np.argmax(logits[0]))], dtype=np.int64)
                return time.perf_counter() - t0
            return run

        def hf_decode(steps):
            with torch.no_grad():
                out = hf(torch.from_numpy(prompt), use_cache=True)
                past = out.past_key_values
                tok = out.logits[:, -1:].argmax(-1)
                t0 = time.perf_counter()
                for _ in range(steps):
                    out = hf(tok, past_key_values=past, use_cache=True)
                    past = out.past_key_values
                    tok = out.logits[:, -1:].argmax(-1)
                return time.perf_counter() - t0

        runs = [(name, xformer_decode(m)) for name, m in engines.items()]
        runs.append(("transformers f32", hf_decode))
        loads = sorted({0, 1, a.threads})
        table = {}
        for load in loads:
            with Busy(load):
                for name, fn in runs:
                    table[(name, load)] = median_rate(fn, a.steps, a.repeats)
                    print("%s, %d busy: %.2f tokens/s" % (name, load, table[(name, load)]),
                          file=sys.stderr)

    lines = ["", "## Decode on a shared machine", "",
             "Measured %s by `bench/decode_under_load.py` on %s (%s), %d threads: a "
             "SmolLM2-135M-shaped Llama (random weights), greedy decode of %d tokens after a "
             "%d-token prompt, tokens/s (median of %d runs) with 0, 1 and %d other processes "
             "each spinning on a core. In parentheses: the fraction of the idle rate kept."
             % (datetime.date.today().isoformat(), cpu_name(), isa(), a.threads, a.steps,
                PROMPT, a.repeats, a.threads),
             "", "| engine | " + " | ".join("%d busy" % l for l in loads) + " |",
             "|---|" + "---|" * len(loads)]
    for name, _ in runs:
        idle = table[(name, 0)]
        cells = ["%.1f" % idle] + ["%.1f (%.0f%%)" % (table[(name, l)], 100 * table[(name, l)] / idle)
                                   for l in loads[1:]]
        lines.append("| %s | %s |" % (name, " | ".join(cells)))
    emit(lines, a.output)


if __name__ == "__main__":
    main()
