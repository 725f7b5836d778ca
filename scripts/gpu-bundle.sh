#!/usr/bin/env bash
# Packs what the GPU checks need for a machine that has a GPU but not the
# compiler (no LLVM/MLIR): the GPU test and benchmark binaries, xformer-run,
# libxformer_runtime.so with the shared libraries it needs (xz-packed), the
# CUDA libraries of every Hugging Face oracle model and of the GPT-2-small
# benchmark (compiled here; they depend on the configs alone, the weights
# are made there). The checkout travels beside it (the scripts, the tests'
# Python and python-bindings/standalone, which builds the Python runtime
# module there). There:
#
#   XFORMER_GPU_BUNDLE=DIR scripts/gpu-test.sh    # checks
#   XFORMER_GPU_BUNDLE=DIR scripts/gpu-bench.sh   # benchmark
#
#   scripts/gpu-bundle.sh [DIR]   # default build-gpu-bundle; after setup.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
PY="${XFORMER_PYTHON:-$ROOT/.venv/bin/python}"
OUT="${1:-$ROOT/build-gpu-bundle}"
ARCH="${XFORMER_CUDA_ARCH:-sm_90a,sm_80}"
export XFORMER_CUDA_ARCH="$ARCH" XFORMER_BIN="$BUILD_DIR/bin"

cmake --build "$BUILD_DIR" --target xformer-gpu-tests xformer-cuda-attention-bench \
  xformer-compile xformer-run xformer_runtime
rm -rf "$OUT"
mkdir -p "$OUT/bin" "$OUT/lib" "$OUT/models"
cp "$BUILD_DIR/bin/xformer-run" "$BUILD_DIR/test/GPU/xformer-gpu-attention-test" \
  "$BUILD_DIR/bin/xformer-cuda-attention-bench" "$OUT/bin/"
cp "$BUILD_DIR/lib/libxformer_runtime.so" "$OUT/lib/"
# Shared libraries of the runtime and xformer-run that a CUDA image lacks
# (oneDNN, ICU); the CUDA libraries come from the machine's toolkit.
libs=$(ldd "$BUILD_DIR/bin/xformer-run" "$BUILD_DIR/lib/libxformer_runtime.so" |
  awk '/=>/ {print $3}' | grep -E 'libdnnl|libicu|libOpenCL|libgomp' | sort -u)
tar -chJf "$OUT/libs.tar.xz" -C / $(for l in $libs; do echo "${l#/}"; done) \
  --transform 's,.*/,lib/,'

echo "==> compiling the oracle models for $ARCH"
for model in bert gpt2 llama mistral llama3-rope linear-rope t5 bart; do
  XFORMER_TARGET=cuda "$PY" "$ROOT/test/e2e/hf_oracle.py" "$model" \
    --work "$OUT/oracle/$model" --stage compile
  rm -rf "$OUT/oracle/$model/hf"
done
"$BUILD_DIR/bin/xformer-compile" "$ROOT/test/Examples/llama-fused.mlir" \
  --target=cuda --arch="$ARCH" -o "$OUT/models/llama-fused.so"
"$PY" "$ROOT/bench/gpu_vs_torch.py" --stage compile --work "$OUT/bench"
du -sh "$OUT"
