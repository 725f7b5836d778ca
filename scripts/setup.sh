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
          nlohmann-json3-dev libdnnl-dev libicu-dev python3 python3-venv
          python3-dev python3-jinja2 libcpp-httplib-dev pkg-config curl)

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

# The Python venv (test oracle, nanobind) comes before configuring: the
# bindings build against it. Sanitized builds leave the bindings out (a
# Python process cannot load ASan-instrumented libraries).
PYTHON_ARGS=(-DXFORMER_ENABLE_PYTHON=OFF)
if [[ $SANITIZE != 1 ]]; then
  "$ROOT/scripts/setup-venv.sh"
  PYTHON_ARGS=(-DXFORMER_ENABLE_PYTHON=ON -DPython_EXECUTABLE="$ROOT/.venv/bin/python")
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
  "${PYTHON_ARGS[@]}" \
  >/tmp/xformer-configure.log 2>&1 || { cat /tmp/xformer-configure.log; exit 1; }

echo "==> building"
cmake --build "$BUILD_DIR"

# The bindings, installed into the venv: a .pth file naming the package
# folder of this build.
if [[ $SANITIZE != 1 ]]; then
  site="$("$ROOT/.venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  echo "$BUILD_DIR/python_packages" > "$site/xformer-build.pth"
fi
