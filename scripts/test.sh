#!/usr/bin/env bash
# Runs every test: set up and build, the Python venv of the end-to-end
# oracle (scripts/setup-venv.sh), the lit + GoogleTest suite (check-xformer,
# including compiled models against Hugging Face transformers), the
# generated docs against docs/, a downstream project that consumes the
# installed package with find_package(Xformer), and the same suite under
# ASan + UBSan followed by fuzzing (scripts/sanitize.sh;
# XFORMER_SKIP_SANITIZERS=1 skips it).
#
# The last line is always "N passed, M failed": every lit test of both
# check-xformer runs, plus the docs check, the downstream build and each
# fuzzer counted as one test each. A step that cannot run counts as failed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
export BUILD_DIR
passed=0
failed=0
status=0
trap 'rc=$?; [[ $rc -ne 0 && $status -eq 0 ]] && failed=$((failed + 1)); echo "${passed} passed, ${failed} failed"; exit $(( rc ? rc : status ))' EXIT

# count LOG: adds lit's totals in LOG (a log may hold binary bytes: -a).
count() {
  local p f
  p=$(grep -aoP '^\s*Passed\s*:\s*\K[0-9]+' "$1" | tail -1 || true)
  f=$(grep -aoP '^\s*Failed\s*:\s*\K[0-9]+' "$1" | tail -1 || true)
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
  # A run that failed without lit reporting a failed test (a build error).
  if [[ $2 -ne 0 && ${f:-0} -eq 0 ]]; then failed=$((failed + 1)); fi
}

# one NAME CMD...: a step that is one test.
one() {
  local name="$1"
  shift
  if "$@"; then
    passed=$((passed + 1))
  else
    echo "FAILED: $name"
    failed=$((failed + 1))
    status=1
  fi
}

"$ROOT/scripts/setup.sh"
"$ROOT/scripts/setup-venv.sh"

echo "==> check-xformer"
litlog="$BUILD_DIR/check-xformer.log"
set +e
cmake --build "$BUILD_DIR" --target check-xformer 2>&1 | tee "$litlog"
rc=${PIPESTATUS[0]}
set -e
count "$litlog" "$rc"
[[ $rc -eq 0 ]] || { status=$rc; exit "$rc"; }

echo "==> generated docs are current"
one "generated docs" "$ROOT/scripts/update-docs.sh" --check

echo "==> install and find_package(Xformer) from a downstream project"
downstream() {
  rm -rf "$BUILD_DIR/install" "$BUILD_DIR/downstream"
  cmake --install "$BUILD_DIR" >/dev/null
  local log="$BUILD_DIR/downstream.log" out
  { cmake -G Ninja -S "$ROOT/test/Downstream" -B "$BUILD_DIR/downstream" \
      -DCMAKE_CXX_COMPILER=/usr/lib/llvm-22/bin/clang++ \
      -DCMAKE_PREFIX_PATH="$BUILD_DIR/install" &&
    cmake --build "$BUILD_DIR/downstream"; } >"$log" 2>&1 || { cat "$log"; return 1; }
  out="$("$BUILD_DIR/downstream/xformer-downstream")" || return 1
  echo "$out"
  grep -q '#xformer.mask<sliding_window, window = 4096>' <<<"$out"
}
one "downstream project" downstream

if [[ "${XFORMER_SKIP_SANITIZERS:-0}" != 1 ]]; then
  echo "==> ASan + UBSan build, test suite and fuzzing"
  sanlog="$BUILD_DIR/sanitize.log"
  set +e
  "$ROOT/scripts/sanitize.sh" 2>&1 | tee "$sanlog"
  rc=${PIPESTATUS[0]}
  set -e
  count "$sanlog" "$rc"
  fuzzers=$(grep -ac '^==> xformer-.*fuzz.* for ' "$sanlog" || true)
  # Every fuzzer that started and was not the one that failed passed.
  if [[ $rc -eq 0 ]]; then passed=$((passed + fuzzers)); else passed=$((passed + (fuzzers > 0 ? fuzzers - 1 : 0))); status=$rc; fi
fi

if [[ $status -eq 0 ]]; then echo "==> all tests passed"; fi
exit "$status"
