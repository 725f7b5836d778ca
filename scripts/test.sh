#!/usr/bin/env bash
# Runs every test: set up and build, the Python venv of the end-to-end
# oracle (scripts/setup-venv.sh), the lit + GoogleTest suite (check-xformer,
# including compiled models against Hugging Face transformers), the generated docs against docs/, a downstream project
# that consumes the installed package with find_package(Xformer), and the
# same suite under ASan + UBSan followed by 60 s of fuzzing
# (scripts/sanitize.sh; XFORMER_SKIP_SANITIZERS=1 skips it).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
export BUILD_DIR
"$ROOT/scripts/setup.sh"
"$ROOT/scripts/setup-venv.sh"

echo "==> check-xformer"
litlog="$BUILD_DIR/check-xformer.log"
set +e
cmake --build "$BUILD_DIR" --target check-xformer 2>&1 | tee "$litlog"
status=${PIPESTATUS[0]}
set -e
passed=$(grep -oP '^\s*Passed\s*:\s*\K[0-9]+' "$litlog" || echo 0)
failed=$(grep -oP '^\s*Failed\s*:\s*\K[0-9]+' "$litlog" || echo 0)
if [[ $status -ne 0 ]]; then
  echo "check-xformer: ${passed} passed, ${failed:-?} failed"
  exit "$status"
fi

echo "==> generated docs are current"
"$ROOT/scripts/update-docs.sh" --check

echo "==> install and find_package(Xformer) from a downstream project"
rm -rf "$BUILD_DIR/install" "$BUILD_DIR/downstream"
cmake --install "$BUILD_DIR" >/dev/null
log="$BUILD_DIR/downstream.log"
{ cmake -G Ninja -S "$ROOT/test/Downstream" -B "$BUILD_DIR/downstream" \
    -DCMAKE_CXX_COMPILER=/usr/lib/llvm-22/bin/clang++ \
    -DCMAKE_PREFIX_PATH="$BUILD_DIR/install" &&
  cmake --build "$BUILD_DIR/downstream"; } >"$log" 2>&1 || { cat "$log"; exit 1; }
out="$("$BUILD_DIR/downstream/xformer-downstream")"
echo "$out"
grep -q '#xformer.mask<sliding_window, window = 4096>' <<<"$out"

if [[ "${XFORMER_SKIP_SANITIZERS:-0}" != 1 ]]; then
  echo "==> ASan + UBSan build, test suite and ${FUZZ_SECONDS:-60}s of fuzzing"
  "$ROOT/scripts/sanitize.sh"
fi

echo "==> all tests passed"
echo "${passed} passed, ${failed} failed"
