#!/usr/bin/env bash
# The GPU checks of the CUDA target, where a CUDA device answers:
#   1. the attention kernels against a double-precision reference
#      (test/GPU/attention_test.cu: every mask kind, tensor-core and
#      split-key paths);
#   2. compute-sanitizer memcheck, racecheck and initcheck over that test
#      and over a compiled model generating tokens (every kernel the model
#      library launches: GEMMs, norms, RoPE, caches, attention);
#   3. the Hugging Face oracle suite (test/e2e/hf_oracle.py) on models
#      compiled with --target=cuda (limit 2e-2: bf16 attention, TF32 GEMMs).
# Without a device it prints SKIP and exits 0; CI still compiles every
# kernel for sm_80 and sm_90a (check-xformer).
#
#   scripts/gpu-test.sh            # after scripts/setup.sh
#   XFORMER_GPU_BUNDLE=DIR scripts/gpu-test.sh
#
# The second form runs on a GPU machine without the compiler, from what
# scripts/gpu-bundle.sh packed where the compiler is: prebuilt binaries and
# model libraries, the Python runtime module built there against the
# bundle's libxformer_runtime (python-bindings/standalone; python3 with
# torch, transformers and nanobind).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
PY="${XFORMER_PYTHON:-$ROOT/.venv/bin/python}"
BUNDLE="${XFORMER_GPU_BUNDLE:-}"

if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "SKIP: no CUDA device (nvidia-smi finds none): the GPU checks did not run"
  exit 0
fi
nvidia-smi -L
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
if [[ -n "$BUNDLE" ]]; then
  source "$ROOT/scripts/gpu-bundle-env.sh"
  test_bin="$BIN/xformer-gpu-attention-test"
  llama_so="$BUNDLE/models/llama-fused.so"
  models="bert gpt2 llama mistral llama3-rope linear-rope t5 bart"
else
  cmake --build "$BUILD_DIR" --target xformer-gpu-tests xformer-compile xformer-run
  BIN="$BUILD_DIR/bin"
  test_bin="$BUILD_DIR/test/GPU/xformer-gpu-attention-test"
  llama_so="$work/llama.so"
  "$BIN/xformer-compile" "$ROOT/test/Examples/llama-fused.mlir" --target=cuda -o "$llama_so"
  models="bert gpt2 llama mistral llama3-rope linear-rope t5 bart minilm"
fi

echo "==> attention kernels against the reference"
"$test_bin"

echo "==> compute-sanitizer"
cs="$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)"
"$PY" "$ROOT/test/Target/CUDA/Inputs/zero_weights.py" \
  "$ROOT/test/Examples/llama-fused.mlir" "$work/llama.safetensors"
for tool in memcheck racecheck initcheck; do
  echo "--- $tool"
  "$cs" --tool "$tool" --error-exitcode 1 "$test_bin" >/dev/null
  "$cs" --tool "$tool" --error-exitcode 1 "$BIN/xformer-run" \
    "$llama_so" "$work/llama.safetensors" --ids "1 2 3 4 5" \
    --ids "6 7" --max-new-tokens 8 >/dev/null
  echo "$tool: clean"
done

echo "==> Hugging Face oracle on the GPU"
failed=""
for model in $models; do
  echo "--- $model"
  if [[ -n "$BUNDLE" ]]; then
    args=(--work "$BUNDLE/oracle/$model" --stage run)
  else
    args=(--work "$work/$model")
  fi
  XFORMER_TARGET=cuda XFORMER_BIN="$BIN" "$PY" "$ROOT/test/e2e/hf_oracle.py" "$model" \
    "${args[@]}" || failed="$failed $model"
done
if [[ -n "$failed" ]]; then
  echo "==> Hugging Face oracle failed on the GPU for:$failed"
  exit 1
fi
echo "==> GPU checks passed"
