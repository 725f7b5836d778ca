#!/usr/bin/env bash
# The GPU benchmark (bench/gpu_vs_torch.py: attention per mask kind and
# decode beside PyTorch's SDPA backends and FlexAttention, GPT-2-small
# generation beside Hugging Face generate) on a GPU machine, from
# scripts/gpu-bundle.sh's output; writes the tables to $1 (default
# gpu-performance.md). Without a device it prints SKIP and exits 0.
#
#   XFORMER_GPU_BUNDLE=DIR scripts/gpu-bench.sh [OUTPUT.md]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUNDLE="${XFORMER_GPU_BUNDLE:?set XFORMER_GPU_BUNDLE to scripts/gpu-bundle.sh output}"
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "SKIP: no CUDA device (nvidia-smi finds none): the GPU benchmark did not run"
  exit 0
fi
source "$ROOT/scripts/gpu-bundle-env.sh"
XFORMER_BIN="$BIN" "$PY" "$ROOT/bench/gpu_vs_torch.py" --stage run \
  --work "$BUNDLE/bench" --output "${1:-gpu-performance.md}"
