#!/usr/bin/env bash
# Builds xformer with AddressSanitizer + UndefinedBehaviorSanitizer and the
# libFuzzer targets, runs the whole test suite under the sanitizers, then
# fuzzes parse -> verify -> the xformer-opt pipeline for FUZZ_SECONDS
# (default 60) seeded with every .mlir file of the test suite, and the
# tokenizer (tokenizer.json loading, text and ids through every model kind)
# for TOKENIZER_FUZZ_SECONDS (default 30) seeded with test/Fuzz/tokenizer/,
# and the GGUF reader with the block formats for GGUF_FUZZ_SECONDS (default
# 30) seeded with test/Fuzz/gguf/.
#
#   scripts/sanitize.sh                      # as CI runs it
#   FUZZ_SECONDS=3600 TOKENIZER_FUZZ_SECONDS=3600 scripts/sanitize.sh
#
# A crash leaves its input in $BUILD_DIR/fuzz-artifacts/; add it to
# test/Fuzz/regressions/ (or test/Fuzz/tokenizer/, test/Fuzz/gguf/) with the
# fix.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export BUILD_DIR="${SANITIZE_BUILD_DIR:-$ROOT/build-asan}"
export XFORMER_SANITIZE=1
"$ROOT/scripts/setup.sh"

# allow_user_poisoning=0: LLVM's headers poison bump-allocator slabs in our
# instrumented code while the uninstrumented libMLIR.so reuses them, which
# ASan reports as use-after-poison inside MLIR; heap, stack and global errors
# in the project's code are still caught.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:allow_user_poisoning=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# The end-to-end tests load the runtime into Python, which cannot host an
# ASan-instrumented library; under the sanitizers the runtime is exercised by
# the C API unit test (unittests/, XformerRuntimeAPITests) instead.
export XFORMER_SANITIZED=1
echo "==> check-xformer under ASan + UBSan"
cmake --build "$BUILD_DIR" --target check-xformer

FUZZ_SECONDS="${FUZZ_SECONDS:-60}"
TOKENIZER_FUZZ_SECONDS="${TOKENIZER_FUZZ_SECONDS:-30}"
GGUF_FUZZ_SECONDS="${GGUF_FUZZ_SECONDS:-30}"

# fuzz NAME SECONDS SEED_DIR...: runs bin/NAME on a corpus seeded from the
# given directories; a failure prints the report and keeps the input.
fuzz() {
  local name="$1" seconds="$2"
  shift 2
  echo "==> $name for ${seconds}s"
  local corpus="$BUILD_DIR/$name-corpus" artifacts="$BUILD_DIR/fuzz-artifacts"
  mkdir -p "$corpus" "$artifacts"
  for dir in "$@"; do
    [[ -d "$dir" ]] && find "$dir" -type f -exec cp {} "$corpus/" \;
  done
  local log="$BUILD_DIR/$name.log"
  if ! "$BUILD_DIR/bin/$name" "$corpus" -max_total_time="$seconds" \
      -max_len=65536 -timeout=20 -rss_limit_mb=4096 \
      -artifact_prefix="$artifacts/$name-" -print_final_stats=1 >"$log" 2>&1; then
    grep -a -v '^"' "$log" | grep -a -A80 -m1 -E 'ERROR|runtime error|deadly signal|timeout' \
      | head -120
    echo "$name found a failure; input saved in $artifacts" >&2
    exit 1
  fi
  grep -a '^stat::' "$log"
}

# Parse -> verify -> passes, seeded with every .mlir file of the tests.
mlirSeeds="$BUILD_DIR/fuzz-mlir-seeds"
rm -rf "$mlirSeeds" && mkdir -p "$mlirSeeds"
find "$ROOT/test" -name '*.mlir' -exec cp {} "$mlirSeeds/" \;
fuzz xformer-fuzz "$FUZZ_SECONDS" "$mlirSeeds" "$ROOT/test/Fuzz/regressions"
# tokenizer.json loading and text/ids through every model kind.
fuzz xformer-tokenizer-fuzz "$TOKENIZER_FUZZ_SECONDS" "$ROOT/test/Fuzz/tokenizer"
# GGUF headers, offsets and block formats.
fuzz xformer-gguf-fuzz "$GGUF_FUZZ_SECONDS" "$ROOT/test/Fuzz/gguf"
echo "==> sanitizers and fuzzing: clean"
