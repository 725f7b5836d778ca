#!/usr/bin/env bash
# The main job: set up, build, and run xformer-opt over an example model as
# an exporter writes it: fuse its attention (the mask kind proved from the
# ops that build it), check the masks, print the fused IR and each mask.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
MODEL="${1:-$ROOT/test/Examples/llama-unfused.mlir}"
echo "==> xformer-opt $MODEL --xformer-fuse-attention --xformer-verify-masks"
"$BUILD_DIR/bin/xformer-opt" "$MODEL" --xformer-fuse-attention \
  --xformer-verify-masks --canonicalize --cse
echo "==> xformer-opt --xformer-print-masks"
"$BUILD_DIR/bin/xformer-opt" "$MODEL" --xformer-fuse-attention \
  --xformer-print-masks="block-q=2 block-k=2" -o /dev/null
echo "==> prefill/decode programs and their KV cache plan (JSON)"
"$BUILD_DIR/bin/xformer-opt" "$MODEL" --xformer-fuse-attention \
  --xformer-fuse-projections --canonicalize --cse \
  --xformer-derive-generation \
  --xformer-plan-kv-cache="max-seq-len=4096 max-batch=8 budget=1GiB report=-" \
  -o /dev/null
