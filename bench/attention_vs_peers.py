#!/usr/bin/env python3
"""Attention on the CPU: xformer's kernel beside PyTorch SDPA and ONNX
Runtime, one run.

Runs build/bin/xformer-attention-bench, torch.nn.functional.
scaled_dot_product_attention and ONNX Runtime's CPU kernel for the ONNX
Attention operator (opset 23), each with an equivalent mask, on the same 2
threads, interleaved per configuration, and writes docs/performance.md.
Each side is checked before it is timed: the xformer binary against a naive
evaluation of sampled rows, PyTorch and ONNX Runtime against a float64
softmax(QK^T)V with the same mask (up to seq 2048).

    .venv/bin/python bench/attention_vs_peers.py [--repeats 3] [--quick]
"""
import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import TensorProto, helper

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


def inputs(kind, seq, hd):
    sq = seq // 4 if kind == "cross" else seq
    g = torch.Generator().manual_seed(0)
    q = torch.randn(1, HEADS, sq, hd, generator=g)
    k = torch.randn(1, HEADS, seq, hd, generator=g)
    v = torch.randn(1, HEADS, seq, hd, generator=g)
    return q, k, v, visible(kind, sq, seq)


def check(name, kind, seq, hd, q, k, v, m, got):
    """Compare with float64 softmax(QK^T)V under the same visibility."""
    if seq > 2048:
        return
    s = (q.double() @ k.double().transpose(-1, -2)) / hd ** 0.5
    s = s.masked_fill(~m, float("-inf"))
    ref = torch.softmax(s, dim=-1) @ v.double()
    err = (torch.as_tensor(got).double() - ref).abs().max().item()
    if err > 1e-3:
        sys.exit(f"{name} disagrees with the reference for {kind} {seq} {hd}: "
                 f"{err}")


def median_ms(call, repeats):
    call()  # warm up
    ms = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        ms.append((time.perf_counter() - t0) * 1e3)
    ms.sort()
    return ms[len(ms) // 2]


def torch_time(kind, seq, hd, repeats):
    q, k, v, m = inputs(kind, seq, hd)
    if kind == "causal":
        call = lambda: torch.nn.functional.scaled_dot_product_attention(
            q, k, v, is_causal=True)
    elif kind in ("bidirectional", "cross"):
        call = lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v)
    else:
        call = lambda: torch.nn.functional.scaled_dot_product_attention(
            q, k, v, attn_mask=m)
    check("PyTorch SDPA", kind, seq, hd, q, k, v, m, call())
    return median_ms(call, repeats)


def ort_time(kind, seq, hd, repeats):
    """ONNX Attention (opset 23): is_causal for causal, a boolean mask for
    prefix-LM and sliding window, nothing for bidirectional and cross."""
    q, k, v, m = inputs(kind, seq, hd)
    masked = kind in ("prefix_lm", "sliding_window")
    names = ["Q", "K", "V"] + (["M"] if masked else [])
    ins = [helper.make_tensor_value_info(n, TensorProto.FLOAT,
                                         [1, HEADS, None, hd])
           for n in ("Q", "K", "V")]
    if masked:
        ins.append(helper.make_tensor_value_info("M", TensorProto.BOOL,
                                                 [None, None]))
    node = helper.make_node("Attention", names, ["O"],
                            is_causal=int(kind == "causal"))
    out = helper.make_tensor_value_info("O", TensorProto.FLOAT,
                                        [1, HEADS, None, hd])
    model = helper.make_model(helper.make_graph([node], "attention", ins, [out]),
                              opset_imports=[helper.make_opsetid("", 23)])
    model.ir_version = 10
    onnx.checker.check_model(model)
    so = ort.SessionOptions()
    so.intra_op_num_threads = THREADS
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), so,
                                providers=["CPUExecutionProvider"])
    feed = {"Q": q.numpy(), "K": k.numpy(), "V": v.numpy()}
    if masked:
        feed["M"] = m.numpy()
    call = lambda: sess.run(None, feed)[0]
    check("ONNX Runtime", kind, seq, hd, q, k, v, m, call())
    return median_ms(call, repeats)


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


def summary(rows):
    """Which targets the rows meet, as Markdown bullet lines. Rows are
    (kind, seq, hd, ours ms, sdpa ms, ort ms)."""
    def verdict(name, picked, need, peer):
        ratios = [(r[4] if peer == "sdpa" else r[5]) / r[3] for r in picked]
        if not ratios:
            return None
        met = sum(x >= need for x in ratios)
        return (f"- {name}: {met} of {len(ratios)} configurations at or above "
                f"{need}x (range {min(ratios):.2f}x to {max(ratios):.2f}x)")
    out = []
    for kinds, need, peer, label in (
            (("bidirectional", "causal"), 1.0, "sdpa",
             "bidirectional and causal vs SDPA"),
            (("prefix_lm", "sliding_window"), 1.5, "sdpa",
             "prefix-LM and sliding window vs SDPA"),
            (("bidirectional", "causal", "prefix_lm", "sliding_window", "cross"),
             1.5, "ort", "every kind vs ONNX Runtime")):
        line = verdict(label, [r for r in rows if r[0] in kinds], need, peer)
        if line:
            out.append(line)
    by = {(r[0], r[1], r[2]): r for r in rows}
    if ("causal", 4096, 64) in by and ("bidirectional", 4096, 64) in by:
        x = by[("bidirectional", 4096, 64)][3] / by[("causal", 4096, 64)][3]
        out.append(f"- causal at seq 4096 faster than bidirectional: {x:.2f}x "
                   f"(target 1.8x): {'met' if x >= 1.8 else 'not met'}")
    return out


def sgemm_gflops():
    """PyTorch's sgemm (2048^3) on THREADS threads: the f32 bound of this
    machine, measured with the run."""
    torch.set_num_threads(THREADS)
    a = torch.randn(2048, 2048)
    b = torch.randn(2048, 2048)
    torch.mm(a, b)
    times = []
    for _ in range(5):
        t = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - t)
    return 2 * 2048 ** 3 / statistics.median(times) / 1e9


def where_text(gflops):
    return (
        "The kernel works on tiles of 48 queries (times the GQA group) by 64 "
        "keys: S = Q K^T and O += P V run through 6 x 16 register-blocked "
        "micro-kernels (K transposed once per head), the online softmax in "
        "the base-2 domain in between, empty tiles skipped and full tiles "
        "unmasked. On this machine PyTorch's own sgemm (2048^3) reaches "
        f"{gflops:.0f} GFLOP/s on the {THREADS} threads, which bounds every "
        "f32 kernel here. Where every pair is visible (bidirectional, cross) "
        "no kernel can skip work, so the ratios sit near the three "
        "implementations' efficiency relative to that bound and move with "
        "the machine's noise (a shared VM: single configurations can be off "
        "by a third); 1.5x over ONNX Runtime for those kinds is out of reach "
        "in f32. Attention computes in f32 on every machine; the bf16 mode "
        "(`--precision=bf16`) changes the linear layers only (see Models).")


def where_section(rows, gflops):
    return ["## Where attention stands", "",
            "Targets (CPU issue): >= 1.0x SDPA for bidirectional and causal, "
            ">= 1.5x SDPA for prefix-LM and sliding window, >= 1.5x ONNX Runtime "
            "for every kind; causal at seq 4096 >= 1.8x faster than "
            "bidirectional. In this run:", ""] + summary(rows) + ["", where_text(gflops), ""]


def resummarize(path):
    """Rewrites the 'Where attention stands' section of an existing
    performance.md from its attention table."""
    text = open(path).read()
    rows = []
    for line in text.splitlines():
        c = [x.strip() for x in line.strip("|").split("|")]
        if len(c) == 9 and c[1].isdigit():
            rows.append((c[0], int(c[1]), int(c[2]), float(c[3]), float(c[4]),
                         float(c[5])))
    start = text.index("## Where attention stands")
    end = text.index("\n## ", start + 1)
    text = text[:start] + "\n".join(where_section(rows, sgemm_gflops())) + text[end:]
    with open(path, "w") as f:
        f.write(text)


GPU_NOTE = (
    '## GPU\n'
    '\n'
    'No GPU timings yet. The GPU benchmark exists (`bench/cuda_attention_bench.cu`:\n'
    'prefill attention per mask kind at seq 2048 and 8192, head_dim 64 and 128,\n'
    "and flash-decoding over GQA caches against the device's copy bandwidth;\n"
    "`bench/gpu_vs_torch.py` runs it beside PyTorch SDPA's flash, cuDNN and\n"
    'memory-efficient backends, FlexAttention and Hugging Face `generate`;\n'
    '`XFORMER_GPU_BUNDLE=DIR scripts/gpu-bench.sh` on a GPU machine), but it has\n'
    "not been run on one: the CUDA target's correctness was checked on an H100\n"
    '(docs/reliability.md), its speed was not measured. Every number below is\n'
    "the CPU target's.\n"
)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true",
                    help="seq 512 only (a smoke run)")
    ap.add_argument("--resummarize", action="store_true",
                    help="only rewrite the summary of docs/performance.md "
                         "from its table")
    args = ap.parse_args()
    if args.resummarize:
        resummarize(os.path.join(ROOT, "docs", "performance.md"))
        return
    if not os.path.exists(BENCH):
        sys.exit(f"{BENCH} is missing: run scripts/setup.sh first")
    torch.set_num_threads(THREADS)
    configs = []
    for kind in ("bidirectional", "causal", "prefix_lm", "sliding_window",
                 "cross"):
        for seq in [512] if args.quick else [512, 2048, 4096, 8192]:
            for hd in (64, 128):
                # seq 4096: the causal / bidirectional comparison only.
                if seq == 4096 and (hd != 64 or kind not in
                                    ("bidirectional", "causal")):
                    continue
                configs.append((kind, seq, hd))
    rows = []
    for kind, seq, hd in configs:
        t_ours, pairs, gf = ours(kind, seq, hd, args.repeats)
        t_torch = torch_time(kind, seq, hd, args.repeats)
        t_ort = ort_time(kind, seq, hd, args.repeats)
        rows.append((kind, seq, hd, t_ours, t_torch, t_ort, gf))
        print(f"{kind:15s} seq {seq:5d} hd {hd:3d}: xformer {t_ours:9.2f} ms, "
              f"torch {t_torch:9.2f} ms ({t_torch / t_ours:5.2f}x), "
              f"onnxruntime {t_ort:9.2f} ms ({t_ort / t_ours:5.2f}x)",
              flush=True)
    by = {(r[0], r[1], r[2]): r for r in rows}
    lines = [
        "# Performance",
        "",
        f"Measured {datetime.date.today().isoformat()} on {machine()}, "
        f"{THREADS} threads for every side, by `bench/attention_vs_peers.py` "
        f"(PyTorch {torch.__version__}, ONNX Runtime {ort.__version__}, "
        f"Python {platform.python_version()}), median of {args.repeats} runs "
        f"after a warm-up, batch 1, {HEADS} heads, f32. GFLOP/s counts "
        "visible pairs only (4 x heads x head_dim x pairs, ../shared/PERF.md); "
        "compare masks by time. Ratios are peer time / xformer time (above 1: "
        "xformer is faster). PyTorch SDPA gets `is_causal=True` for causal, no "
        "mask for bidirectional and cross, a materialised boolean mask "
        "otherwise; ONNX Runtime runs the ONNX `Attention` operator (opset 23) "
        "with `is_causal` or the same boolean mask. Prefix-LM uses prefix "
        "seq/2, sliding window 256, cross attends seq/4 queries over seq keys.",
        "",
        "![xformer beside its peers](performance.png)",
        "",
        "(`bench/plot_performance.py` draws the chart from the tables below; "
        "`bench/run.sh` runs every benchmark and rewrites this file.)",
        "",
        GPU_NOTE,
        "## Attention",
        "",
        "| mask | seq | head_dim | xformer ms | PyTorch SDPA ms | ONNX Runtime ms "
        "| vs SDPA | vs ONNX Runtime | xformer GFLOP/s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for kind, seq, hd, a, b, c, ga in rows:
        lines.append(f"| {kind} | {seq} | {hd} | {a:.2f} | {b:.2f} | {c:.2f} | "
                     f"{b / a:.2f} | {c / a:.2f} | {ga:.1f} |")
    lines += ["", "## Causal against bidirectional (xformer)", ""]
    for kind, seq, hd in configs:
        if kind != "causal" or ("bidirectional", seq, hd) not in by:
            continue
        c = by[("causal", seq, hd)][3]
        full = by[("bidirectional", seq, hd)][3]
        lines.append(f"- seq {seq}, head_dim {hd}: bidirectional / causal "
                     f"time = {full / c:.2f}")
    lines += [""] + where_section([r[:6] for r in rows], sgemm_gflops())
    with open(os.path.join(ROOT, "docs", "performance.md"), "w") as f:
        f.write("\n".join(lines))
    print("wrote docs/performance.md")


if __name__ == "__main__":
    main()
