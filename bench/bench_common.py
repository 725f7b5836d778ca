"""What the CPU benchmarks share: the machine's name and instruction sets
for their tables, its read bandwidth (xformer-attention-bench membw), and
writing a table to stdout and, with --output, to docs/performance.md."""

import os
import platform
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("XFORMER_BIN", os.path.join(ROOT, "build", "bin"))


def cpu_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def isa():
    flags = open("/proc/cpuinfo").read()
    have = [f for f in ("avx512f", "avx512_bf16", "avx512_vnni", "amx_tile", "avx2")
            if " %s" % f in flags]
    return ", ".join(have)


def read_bandwidth(threads):
    """GB/s the machine reads on `threads` threads (membw over 1 GiB)."""
    env = dict(os.environ, XFORMER_NUM_THREADS=str(threads))
    out = subprocess.run([os.path.join(BIN, "xformer-attention-bench"), "membw", "1024", "0", "1",
                          "5"], env=env, check=True, capture_output=True, text=True).stdout
    return float(out.split(",")[2])


def emit(lines, output=None):
    """Prints the table's lines and appends them to `output` when given."""
    text = "\n".join(lines) + "\n"
    print(text)
    if output:
        with open(output, "a") as f:
            f.write(text)
