"""Draws docs/performance.png from the tables in docs/performance.md:
xformer's speed relative to PyTorch SDPA and ONNX Runtime for each attention
configuration, and relative to the faster peer for the model and decode
rows (above 1: xformer is faster; the dashed lines are the targets).

    .venv/bin/python bench/plot_performance.py
"""

import os
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "performance.md")


def rows(text, header_start):
    """The data rows of the Markdown table whose header starts so."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(header_start):
            out = []
            for row in lines[i + 2:]:
                if not row.startswith("|"):
                    break
                out.append([c.strip() for c in row.strip("|").split("|")])
            return out
    return []


def main():
    with open(DOC) as f:
        text = f.read()
    att = rows(text, "| mask | seq | head_dim")
    models = rows(text, "| workload |")
    decode = rows(text, "| cached tokens |")
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(14, 5), gridspec_kw={"width_ratios": [3, 1.4]})
    labels = ["%s\n%s/%s" % (r[0].replace("_", " "), r[1], r[2]) for r in att]
    vs_sdpa = [float(r[6]) for r in att]
    vs_ort = [float(r[7]) for r in att]
    x = range(len(att))
    ax1.bar([i - 0.2 for i in x], vs_sdpa, width=0.4, color="#4c72b0", label="vs PyTorch SDPA")
    ax1.bar([i + 0.2 for i in x], vs_ort, width=0.4, color="#dd8452", label="vs ONNX Runtime")
    ax1.set_xticks(list(x))
    ax1.set_xticklabels(labels, rotation=90, fontsize=7)
    ax1.axhline(1.0, color="black", linestyle="--", linewidth=0.8)
    ax1.axhline(1.5, color="gray", linestyle=":", linewidth=0.8)
    ax1.set_yscale("log")
    ax1.set_ylabel("peer time / xformer time")
    ax1.set_title("Attention (mask, seq/head_dim), CPU, 2 threads")
    ax1.legend(fontsize=8)
    names, vals = [], []
    for r in models:
        names.append(re.sub(r" \((ms|tokens/s)\)", "", r[0]).replace("BERT-base encode, ", "BERT ")
                     .replace("GPT-2 small: 32-token prompt + 64 tokens", "GPT-2 generate"))
        vals.append(float(r[4].rstrip("x")))
    for r in decode:
        names.append("decode %s tokens" % r[0])
        vals.append(float(r[3]))
    ax2.barh(range(len(vals)), vals, color="#64b5cd")
    ax2.set_yticks(range(len(vals)))
    ax2.set_yticklabels(names, fontsize=8)
    ax2.axvline(1.0, color="black", linestyle="--", linewidth=0.8)
    ax2.axvline(1.2, color="gray", linestyle=":", linewidth=0.8)
    ax2.set_xlabel("xformer speed / faster peer (decode: / SDPA)")
    ax2.set_title("Models and decode")
    fig.tight_layout()
    out = os.path.join(ROOT, "docs", "performance.png")
    fig.savefig(out, dpi=110)
    print("wrote", out)


if __name__ == "__main__":
    main()
