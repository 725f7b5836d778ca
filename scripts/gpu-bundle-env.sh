# Sourced by scripts/gpu-test.sh and scripts/gpu-bench.sh with BUNDLE set
# (scripts/gpu-bundle.sh's output) and ROOT the checkout: unpacks the
# bundle's shared libraries, builds the Python runtime module against its
# libxformer_runtime (python-bindings/standalone) and sets BIN, PY,
# LD_LIBRARY_PATH and PYTHONPATH.
BUNDLE="$(cd "$BUNDLE" && pwd)"
PY="${XFORMER_PYTHON:-python3}"
tar -xJf "$BUNDLE/libs.tar.xz" -C "$BUNDLE"
export LD_LIBRARY_PATH="$BUNDLE/lib:${CUDA_HOME:-/usr/local/cuda}/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
BIN="$BUNDLE/bin"
if [[ ! -d "$BUNDLE/python/xformer" ]]; then
  echo "==> the Python runtime module (python-bindings/standalone)"
  cmake -S "$ROOT/python-bindings/standalone" -B "$BUNDLE/python" -G Ninja \
    -DXFORMER_RUNTIME_LIBRARY="$BUNDLE/lib/libxformer_runtime.so" \
    -DPython_EXECUTABLE="$(command -v "$PY")" >/dev/null
  cmake --build "$BUNDLE/python" >/dev/null
fi
export PYTHONPATH="$BUNDLE/python${PYTHONPATH:+:$PYTHONPATH}"
