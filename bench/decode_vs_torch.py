"""Decode attention: one query per head over 1k and 8k cached tokens (32
query heads, 8 K/V heads, head_dim 128, f32), xformer's kernel beside
PyTorch SDPA (enable_gqa), and the K/V read rate as a fraction of this
machine's read bandwidth (xformer-attention-bench membw). Same 2 threads.

    .venv/bin/python bench/decode_vs_torch.py [--output docs/performance.md]
"""

import argparse
import datetime
import os
import statistics
import subprocess
import time

import torch

from bench_common import emit, read_bandwidth

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "build", "bin", "xformer-attention-bench")
THREADS = 2


def llc_bytes():
    """The last-level cache's size, as glibc reports it (what the xformer
    side reads through sysconf), else 0."""
    try:
        out = subprocess.run(["getconf", "LEVEL3_CACHE_SIZE"], capture_output=True,
                             text=True, check=True).stdout.strip()
        return max(0, int(out or 0))
    except (OSError, ValueError, subprocess.CalledProcessError):
        return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--output")
    a = ap.parse_args()
    torch.set_num_threads(THREADS)
    env = dict(os.environ, XFORMER_NUM_THREADS=str(THREADS))
    bw = read_bandwidth(THREADS)
    lines = ["", "## Decode attention", "",
             "Measured %s by `bench/decode_vs_torch.py`: one query per head, 32 query heads over "
             "8 K/V heads, head_dim 128, f32, %d threads, median of %d steps. Read bandwidth "
             "of the machine (`xformer-attention-bench membw`): %.1f GB/s. Target: >= 70%% of it "
             "at 8k cached tokens. Each step reads another of several caches that together take "
             "twice the last-level cache (%d MiB here), as a model's layers do, so K and V come "
             "from memory on both sides." % (datetime.date.today().isoformat(), THREADS,
                                              a.repeats, bw, llc_bytes() >> 20),
             "", "| cached tokens | xformer ms | PyTorch SDPA ms | ratio | xformer K/V GB/s | "
             "fraction of read bandwidth |", "|---|---|---|---|---|---|"]
    for seq in (1024, 8192):
        out = subprocess.run([BENCH, "decode", str(seq), "128", "32", str(a.repeats)], env=env,
                             check=True, capture_output=True, text=True).stdout.strip().split(",")
        ours_ms, gbs = float(out[5]), float(out[6])
        # As the xformer side: separate caches (a model's layers) taking twice
        # the last-level cache, one per step, so K/V come from memory.
        q = torch.randn(1, 32, 1, 128)
        k = torch.randn(1, 8, seq, 128)
        v = torch.randn(1, 8, seq, 128)
        layer_bytes = 2 * k.numel() * 4
        layers = max(1, min(-(-2 * llc_bytes() // layer_bytes), int(4e9 // layer_bytes)))
        kv = [(k.clone(), v.clone()) for _ in range(layers)]
        f = lambda kl, vl: torch.nn.functional.scaled_dot_product_attention(q, kl, vl, enable_gqa=True)
        for i in range(3):
            f(*kv[i % layers])
        ts = []
        for i in range(a.repeats):
            kl, vl = kv[i % layers]
            t0 = time.perf_counter()
            f(kl, vl)
            ts.append(time.perf_counter() - t0)
        pt = statistics.median(ts) * 1e3
        lines.append("| %d | %.3f | %.3f | %.2f | %.2f | %.0f%% |" % (
            seq, ours_ms, pt, pt / ours_ms, gbs, 100 * gbs / bw))
    emit(lines, a.output)


if __name__ == "__main__":
    main()
