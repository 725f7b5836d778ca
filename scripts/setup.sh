#!/usr/bin/env bash
# Installs what a fresh Debian machine is missing to build and test xformer,
# then configures and builds. Idempotent: installed packages are skipped.
#
#   scripts/setup.sh            # Release build in build/
#   BUILD_DIR=build-asan XFORMER_SANITIZE=1 scripts/setup.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
SANITIZE="${XFORMER_SANITIZE:-0}"

PACKAGES=(cmake ninja-build llvm-22-dev libmlir-22-dev mlir-22-tools
          llvm-22-tools clang-22 lld-22 libclang-rt-22-dev libgtest-dev
          nlohmann-json3-dev libdnnl-dev python3 python3-venv)

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "==> installing: ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

LLVM_PREFIX=/usr/lib/llvm-22
echo "==> configuring $BUILD_DIR"
cmake -G Ninja -S "$ROOT" -B "$BUILD_DIR" \
  -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_COMPILER="$LLVM_PREFIX/bin/clang" \
  -DCMAKE_CXX_COMPILER="$LLVM_PREFIX/bin/clang++" \
  -DLLVM_USE_LINKER=lld \
  -DMLIR_DIR="$LLVM_PREFIX/lib/cmake/mlir" \
  -DCMAKE_INSTALL_PREFIX="$BUILD_DIR/install" \
  -DXFORMER_ENABLE_SANITIZERS="$([[ $SANITIZE == 1 ]] && echo ON || echo OFF)" \
  -DXFORMER_ENABLE_FUZZER="$([[ $SANITIZE == 1 ]] && echo ON || echo OFF)" \
  >/tmp/xformer-configure.log 2>&1 || { cat /tmp/xformer-configure.log; exit 1; }

echo "==> building"
cmake --build "$BUILD_DIR"
