#!/usr/bin/env bash
# Builds llama.cpp's llama-bench, llama-quantize and llama-tokenize from the
# copy vendored in PyPI's llama-cpp-python source distribution (the peer of
# bench/gguf_vs_llamacpp.py). Prints the folder holding the binaries.
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
cmake -S "$SRC" -B "$SRC/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DLLAMA_CURL=OFF -DGGML_NATIVE=ON -DLLAMA_BUILD_SERVER=OFF >/dev/null
cmake --build "$SRC/build" --target llama-bench llama-quantize llama-tokenize >/dev/null
echo "$SRC/build/bin"
