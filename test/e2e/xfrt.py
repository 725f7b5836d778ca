"""ctypes access to libxformer_runtime's C API (xformer/Runtime/xformer.h)
for the end-to-end tests."""

import ctypes
import os

import numpy as np

I64P = ctypes.POINTER(ctypes.c_int64)
F32P = ctypes.POINTER(ctypes.c_float)


class Info(ctypes.Structure):
    _fields_ = [("kind", ctypes.c_int), ("max_batch", ctypes.c_int64),
                ("seq_len", ctypes.c_int64), ("chunk", ctypes.c_int64),
                ("max_seq_len", ctypes.c_int64), ("source_len", ctypes.c_int64),
                ("vocab", ctypes.c_int64), ("hidden", ctypes.c_int64),
                ("has_pooled", ctypes.c_int32), ("has_token_types", ctypes.c_int32),
                ("kv_arena_bytes", ctypes.c_int64)]


PROGRESS = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64)


class GenerateOptions(ctypes.Structure):
    _fields_ = [("max_new_tokens", ctypes.c_int64), ("eos_token_id", ctypes.c_int64),
                ("temperature", ctypes.c_float), ("top_k", ctypes.c_int64),
                ("top_p", ctypes.c_float), ("seed", ctypes.c_uint64),
                ("progress", PROGRESS), ("user", ctypes.c_void_p)]


class Error(RuntimeError):
    def __init__(self, status, name, message):
        super().__init__("%s: %s" % (name, message))
        self.status = status
        self.name = name
        self.message = message


def _lib():
    path = os.environ.get("XFORMER_RUNTIME_LIB")
    lib = ctypes.CDLL(path)
    lib.xf_last_error.restype = ctypes.c_char_p
    lib.xf_status_name.restype = ctypes.c_char_p
    return lib


LIB = _lib()


def _check(status):
    if status != 0:
        raise Error(status, LIB.xf_status_name(status).decode(),
                    LIB.xf_last_error().decode())


def _i64(a):
    a = np.ascontiguousarray(a, dtype=np.int64)
    return a, a.ctypes.data_as(I64P)


class Model:
    def __init__(self, library, weights, allow_extra=False):
        self.handle = ctypes.c_void_p()
        _check(LIB.xf_open_ex(library.encode(), weights.encode(),
                              ctypes.c_uint32(1 if allow_extra else 0),
                              ctypes.byref(self.handle)))
        self.info = Info()
        _check(LIB.xf_get_info(self.handle, ctypes.byref(self.info)))

    def close(self):
        if self.handle:
            LIB.xf_close(self.handle)
            self.handle = None

    def __del__(self):
        self.close()

    def encode(self, ids, lengths=None, type_ids=None):
        ids, pids = _i64(ids)
        b, s = ids.shape
        lens, plens = _i64(lengths if lengths is not None else [s] * b)
        types, ptypes = _i64(type_ids) if type_ids is not None else (None, None)
        hidden = np.zeros((b, s, self.info.hidden), np.float32)
        pooled = np.zeros((b, self.info.hidden), np.float32)
        _check(LIB.xf_encode(self.handle, pids, ptypes, plens, ctypes.c_int64(b),
                             ctypes.c_int64(s), hidden.ctypes.data_as(F32P),
                             pooled.ctypes.data_as(F32P)))
        return hidden, pooled

    def encode_source(self, ids, lengths=None):
        ids, pids = _i64(ids)
        b, s = ids.shape
        lens, plens = _i64(lengths if lengths is not None else [s] * b)
        _check(LIB.xf_encode_source(self.handle, pids, plens, ctypes.c_int64(b), ctypes.c_int64(s)))

    def reset(self):
        _check(LIB.xf_reset(self.handle))

    def prefill(self, ids, lengths=None):
        ids, pids = _i64(ids)
        b, s = ids.shape
        lens, plens = _i64(lengths if lengths is not None else [s] * b)
        logits = np.zeros((b, self.info.vocab), np.float32)
        _check(LIB.xf_prefill(self.handle, pids, plens, ctypes.c_int64(b), ctypes.c_int64(s),
                              logits.ctypes.data_as(F32P)))
        return logits

    def decode(self, tokens):
        tokens, ptok = _i64(tokens)
        b = tokens.shape[0]
        logits = np.zeros((b, self.info.vocab), np.float32)
        _check(LIB.xf_decode(self.handle, ptok, ctypes.c_int64(b), logits.ctypes.data_as(F32P)))
        return logits

    def generate(self, ids, lengths=None, max_new_tokens=32, eos=-1, temperature=0.0,
                 top_k=0, top_p=1.0, seed=0):
        ids, pids = _i64(ids)
        b, s = ids.shape
        lens, plens = _i64(lengths if lengths is not None else [s] * b)
        o = GenerateOptions()
        LIB.xf_generate_options_init(ctypes.byref(o))
        o.max_new_tokens, o.eos_token_id = max_new_tokens, eos
        o.temperature, o.top_k, o.top_p, o.seed = temperature, top_k, top_p, seed
        tokens = np.zeros((b, max_new_tokens), np.int64)
        counts = np.zeros((b,), np.int64)
        _check(LIB.xf_generate(self.handle, pids, plens, ctypes.c_int64(b), ctypes.c_int64(s),
                               ctypes.byref(o), tokens.ctypes.data_as(I64P),
                               counts.ctypes.data_as(I64P)))
        return [tokens[i, :counts[i]].tolist() for i in range(b)]
