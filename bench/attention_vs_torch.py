#!/usr/bin/env python3
"""Attention on the CPU: xformer's kernel beside PyTorch SDPA, one run.

Runs build/bin/xformer-attention-bench and torch.nn.functional.
scaled_dot_product_attention (with an equivalent mask) on the same 2
threads, interleaved per configuration, and writes docs/performance.md.
Each side is checked before it is timed: the xformer binary against a naive
evaluation of sampled rows, PyTorch against a float64 softmax(QK^T)V with the
same mask.

    .venv/bin/python bench/attention_vs_torch.py [--repeats 5] [--quick]
"""
import argparse
import datetime
import os
import platform
import subprocess
import sys
import time

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "build", "bin", "xformer-attention-bench")
THREADS = 2
HEADS = 8


def visible(kind, sq, sk):
    """Boolean [sq, sk] mask, True where visible (bottom-right aligned)."""
    i = torch.arange(sq).unsqueeze(1) + (sk - sq)
    j = torch.arange(sk).unsqueeze(0)
    if kind in ("bidirectional", "cross"):
        return torch.ones(sq, sk, dtype=torch.bool)
    causal = j <= i
    if kind == "causal":
        return causal
    if kind == "prefix_lm":
        return causal | (j < sk // 2)
    if kind == "sliding_window":
        return causal & (i - j < 256)
    raise ValueError(kind)


def torch_time(kind, seq, hd, repeats):
    sq = seq // 4 if kind == "cross" else seq
    g = torch.Generator().manual_seed(0)
    q = torch.randn(1, HEADS, sq, hd, generator=g)
    k = torch.randn(1, HEADS, seq, hd, generator=g)
    v = torch.randn(1, HEADS, seq, hd, generator=g)
    m = visible(kind, sq, seq)
    if kind == "causal":
        call = lambda: torch.nn.functional.scaled_dot_product_attention(
            q, k, v, is_causal=True)
    elif kind in ("bidirectional", "cross"):
        call = lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v)
    else:
        call = lambda: torch.nn.functional.scaled_dot_product_attention(
            q, k, v, attn_mask=m)
    # Check against float64 softmax(QK^T)V with the same visibility.
    if seq <= 2048:
        s = (q.double() @ k.double().transpose(-1, -2)) / hd ** 0.5
        s = s.masked_fill(~m, float("-inf"))
        ref = torch.softmax(s, dim=-1) @ v.double()
        got = call().double()
        err = (got - ref).abs().max().item()
        if err > 1e-3:
            sys.exit(f"PyTorch SDPA disagrees with the reference for {kind} "
                     f"{seq} {hd}: {err}")
    call()  # warm up
    ms = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        ms.append((time.perf_counter() - t0) * 1e3)
    ms.sort()
    return ms[len(ms) // 2]


def ours(kind, seq, hd, repeats):
    env = dict(os.environ, XFORMER_NUM_THREADS=str(THREADS))
    out = subprocess.run([BENCH, kind, str(seq), str(hd), str(HEADS),
                          str(repeats)], env=env, check=True,
                         capture_output=True, text=True).stdout.strip()
    f = out.split(",")
    return float(f[5]), int(f[4]), float(f[8])


def machine():
    model = "unknown CPU"
    flags = set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and model == "unknown CPU":
                    model = line.split(":", 1)[1].strip()
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    isa = [x for x in ("avx2", "avx512f", "avx512_bf16", "amx_bf16")
           if x in flags]
    return f"{model}, {os.cpu_count()} cores, ISA: {', '.join(isa)}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true",
                    help="seq 512 only (a smoke run)")
    args = ap.parse_args()
    if not os.path.exists(BENCH):
        sys.exit(f"{BENCH} is missing: run scripts/setup.sh first")
    torch.set_num_threads(THREADS)
    seqs = [512] if args.quick else [512, 2048, 4096]
    rows = []
    for kind in ("bidirectional", "causal", "prefix_lm", "sliding_window",
                 "cross"):
        for seq in seqs:
            for hd in (64, 128):
                # seq 4096: the causal / bidirectional comparison only.
                if seq == 4096 and (hd != 64 or kind not in
                                    ("bidirectional", "causal")):
                    continue
                t_ours, pairs, gf = ours(kind, seq, hd, args.repeats)
                t_torch = torch_time(kind, seq, hd, args.repeats)
                gf_torch = 4 * HEADS * hd * pairs / (t_torch * 1e6)
                rows.append((kind, seq, hd, t_ours, t_torch, gf, gf_torch))
                print(f"{kind:15s} seq {seq:5d} hd {hd:3d}: xformer "
                      f"{t_ours:9.2f} ms, torch {t_torch:9.2f} ms, "
                      f"ratio {t_torch / t_ours:5.2f}", flush=True)
    by = {(r[0], r[1], r[2]): r for r in rows}
    lines = [
        "# Performance",
        "",
        f"Measured {datetime.date.today().isoformat()} on {machine()}, "
        f"{THREADS} threads for both sides, by `bench/attention_vs_torch.py` "
        f"(PyTorch {torch.__version__}, Python {platform.python_version()}), "
        f"median of {args.repeats} runs after a warm-up, batch 1, "
        f"{HEADS} heads, f32. GFLOP/s counts visible pairs only "
        "(4 x heads x head_dim x pairs, ../shared/PERF.md); compare masks by "
        "time. Ratio = PyTorch time / xformer time (above 1: xformer is "
        "faster). PyTorch gets `is_causal=True` for causal, no mask for "
        "bidirectional and cross, a materialised boolean mask otherwise. "
        "Prefix-LM uses prefix seq/2, sliding window 256, cross attends "
        "seq/4 queries over seq keys.",
        "",
        "## Attention",
        "",
        "| mask | seq | head_dim | xformer ms | PyTorch SDPA ms | ratio | "
        "xformer GFLOP/s | PyTorch GFLOP/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for kind, seq, hd, a, b, ga, gb in rows:
        lines.append(f"| {kind} | {seq} | {hd} | {a:.2f} | {b:.2f} | "
                     f"{b / a:.2f} | {ga:.1f} | {gb:.1f} |")
    lines += ["", "## Causal against bidirectional (xformer)", ""]
    for seq in seqs:
        for hd in (64, 128):
            if ("causal", seq, hd) not in by:
                continue
            c = by[("causal", seq, hd)][3]
            full = by[("bidirectional", seq, hd)][3]
            lines.append(f"- seq {seq}, head_dim {hd}: bidirectional / causal "
                         f"time = {full / c:.2f}")
    lines += [
        "",
        "## Where this stands",
        "",
        "Targets (CPU issue): attention >= 1.0x SDPA for bidirectional and "
        "causal and >= 1.5x for prefix-LM and sliding window; causal at seq "
        "4096 >= 1.8x faster than bidirectional. The kernel skips empty "
        "tiles and runs full tiles unmasked (causal costs about half of "
        "bidirectional); per 32x64 tile it transposes the K tile so Q K^T "
        "and P V are vectorised axpy loops with register-resident "
        "accumulators for head_dim 64/128, and a vectorisable exp. It is "
        "not a register-blocked GEMM micro-kernel (one query row at a time "
        "re-reads the K tile from L1), and threads split only (batch, kv "
        "head) pairs. PyTorch's SDPA on CPU runs blocked GEMM micro-kernels "
        "and wins where no tiles can be skipped; the gap is the remaining "
        "work. The machine has AVX2 and no AVX-512 or AMX.",
        "",
    ]
    with open(os.path.join(ROOT, "docs", "performance.md"), "w") as f:
        f.write("\n".join(lines))
    print("wrote docs/performance.md")


if __name__ == "__main__":
    main()
