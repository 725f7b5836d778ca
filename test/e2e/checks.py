"""What the end-to-end scripts share: the built `xformer` package on the
path, PASS/FAIL lines, error measures, and the exit status.

Each check prints one line; `finish()` returns 1 when any failed.
"""

import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
BIN = os.environ.get("XFORMER_BIN", os.path.join(SRC, "build", "bin"))
os.environ.setdefault("XFORMER_BIN", BIN)
sys.path.insert(0, os.path.join(os.path.dirname(BIN), "python_packages"))

# XFORMER_TARGET=cuda runs the same checks on models compiled for the GPU
# (scripts/gpu-test.sh), where attention runs on bf16 tensor cores and GEMMs
# in TF32: the limit is then 2e-2.
TARGET = os.environ.get("XFORMER_TARGET", "cpu")
TOL = 1e-4 if TARGET == "cpu" else 2e-2  # max abs error relative to the reference's largest magnitude
failures = []


def check(name, ok, detail):
    print("%s %s: %s" % ("PASS" if ok else "FAIL", name, detail))
    if not ok:
        failures.append(name)


def rel_err(x, ref):
    x, ref = np.asarray(x, np.float64), np.asarray(ref, np.float64)
    return float(np.max(np.abs(x - ref)) / max(np.max(np.abs(ref)), 1e-30))


def close(name, x, ref, tol=TOL):
    e = rel_err(x, ref)
    check(name, e <= tol, "max abs error / scale = %.3g (limit %.0e)" % (e, tol))


def i64(x):
    """Token ids and lengths as the bindings take them."""
    return np.ascontiguousarray(x, dtype=np.int64)


def finish():
    if failures:
        print("%d check(s) failed: %s" % (len(failures), ", ".join(failures)))
        return 1
    return 0
