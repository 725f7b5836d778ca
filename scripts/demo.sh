#!/usr/bin/env bash
# The main job: set up, build, and run xformer-opt over an example model,
# printing the verified IR of a Llama-style decoder layer.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
MODEL="${1:-$ROOT/test/Examples/llama-unfused.mlir}"
echo "==> xformer-opt $MODEL"
"$BUILD_DIR/bin/xformer-opt" "$MODEL" --canonicalize --cse
