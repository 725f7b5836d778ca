#!/usr/bin/env bash
# Runs every CPU benchmark in one go and rewrites docs/performance.md and
# docs/performance.png: attention beside PyTorch SDPA and ONNX Runtime, the
# models beside PyTorch eager and ONNX Runtime, decode attention against
# the machine's read bandwidth. Needs a build (scripts/setup.sh) and the
# test venv with the benchmark extras:
#   .venv/bin/pip install -r scripts/requirements-bench.txt
# Not a test: nothing here asserts a speed. Takes about half an hour on a
# 2-core machine.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="$ROOT/.venv/bin/python"
DOC="$ROOT/docs/performance.md"
cd "$ROOT"
"$PY" bench/attention_vs_peers.py "$@"
"$PY" bench/models_vs_torch.py --output "$DOC"
"$PY" bench/decode_vs_torch.py --output "$DOC"
"$PY" bench/plot_performance.py
