#!/usr/bin/env bash
# Regenerates the dialect, op and pass docs from ODS into docs/generated/.
# With --check, fails if the committed docs differ from what ODS generates.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
cmake --build "$BUILD_DIR" --target xformer-doc >/dev/null
GEN="$BUILD_DIR/docs"
DEST="$ROOT/docs/generated"
if [[ "${1:-}" == "--check" ]]; then
  if ! diff -ru "$DEST" "$GEN" ; then
    echo "docs/generated is stale: run scripts/update-docs.sh" >&2
    exit 1
  fi
  exit 0
fi
rm -rf "$DEST"
mkdir -p "$DEST"
cp -r "$GEN"/. "$DEST"/
echo "docs written to $DEST"
