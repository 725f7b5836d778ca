"""Writes a tiny GPT-2's config.json and a header-only safetensors file (the
importer reads only the header) naming its tensors as transformers saves
them, every one in DTYPE, except: --set NAME=DTYPE, --drop NAME.

    gpt2_header.py DIR DTYPE [--set NAME=DTYPE] [--drop NAME]
"""
import argparse
import json
import os
import struct

import transformers

SIZES = {"F32": 4, "F64": 8, "BF16": 2, "F16": 2, "I32": 4}

ap = argparse.ArgumentParser()
ap.add_argument("dir")
ap.add_argument("dtype")
ap.add_argument("--set", action="append", default=[])
ap.add_argument("--drop", action="append", default=[])
a = ap.parse_args()
cfg = transformers.GPT2Config(n_layer=1, n_embd=32, n_head=2, vocab_size=64, n_positions=32)
model = transformers.GPT2LMHeadModel(cfg)
os.makedirs(a.dir, exist_ok=True)
cfg.save_pretrained(a.dir)
dtypes = dict(s.split("=") for s in a.set)
header, offset = {}, 0
for name, t in model.state_dict().items():
    if name == "lm_head.weight" or name in a.drop:  # tied to the embedding
        continue
    dtype = dtypes.get(name, a.dtype)
    size = SIZES[dtype] * t.numel()
    header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + size]}
    offset += size
raw = json.dumps(header).encode()
with open(os.path.join(a.dir, "model.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(raw)) + raw)
