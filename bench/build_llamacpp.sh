#!/usr/bin/env bash
# Builds llama.cpp's llama-bench, llama-quantize, llama-tokenize and
# llama-server from the copy vendored in PyPI's llama-cpp-python source
# distribution (the peer of bench/gguf_vs_llamacpp.py and
# bench/engine_smollm2.py). Prints the folder holding the binaries.
#   bench/build_llamacpp.sh [WORK_DIR]     (default: build/llamacpp)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${1:-$ROOT/build/llamacpp}"
VERSION=0.3.36
mkdir -p "$WORK"
cd "$WORK"
if [[ ! -d llama_cpp_python-$VERSION ]]; then
  "$ROOT/.venv/bin/python" -m pip download -q --no-deps --no-binary :all: \
    "llama-cpp-python==$VERSION" -d .
  tar xzf "llama_cpp_python-$VERSION.tar.gz"
fi
SRC="$WORK/llama_cpp_python-$VERSION/vendor/llama.cpp"
# LLAMACPP_AMX=0 builds for this CPU without ggml's AMX kernels (in
# build-noamx/): on some AMX machines they crash in ldtilecfg, and ggml
# then runs its AVX-512 kernels instead.
OUT="$SRC/build"
FLAGS=()
if [[ ${LLAMACPP_AMX:-1} == 0 ]]; then
  OUT="$SRC/build-noamx"
  NOAMX="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
  FLAGS=(-DCMAKE_C_FLAGS="$NOAMX" -DCMAKE_CXX_FLAGS="$NOAMX")
fi
cmake -S "$SRC" -B "$OUT" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DLLAMA_CURL=OFF -DGGML_NATIVE=ON -DLLAMA_BUILD_SERVER=ON "${FLAGS[@]}" >/dev/null
cmake --build "$OUT" --target llama-bench llama-quantize llama-tokenize llama-server >/dev/null
echo "$OUT/bin"
