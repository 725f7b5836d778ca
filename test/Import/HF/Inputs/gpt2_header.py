"""Writes a tiny GPT-2's config.json and a header-only safetensors file (the
importer reads only the header) naming its tensors as transformers saves
them, every one in DTYPE, except: --set NAME=DTYPE, --drop NAME.

    gpt2_header.py DIR DTYPE [--set NAME=DTYPE] [--drop NAME] [--shards N]

With --shards N the tensors go round-robin into N header-only shards and a
model.safetensors.index.json maps them (its last entry names a shard that
does not exist with --missing-shard).
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
ap.add_argument("--shards", type=int, default=0)
ap.add_argument("--missing-shard", action="store_true")
a = ap.parse_args()
cfg = transformers.GPT2Config(n_layer=1, n_embd=32, n_head=2, vocab_size=64, n_positions=32)
model = transformers.GPT2LMHeadModel(cfg)
os.makedirs(a.dir, exist_ok=True)
cfg.save_pretrained(a.dir)
dtypes = dict(s.split("=") for s in a.set)
headers = [{} for _ in range(max(1, a.shards))]
offsets = [0] * len(headers)
weight_map = {}
for i, (name, t) in enumerate(model.state_dict().items()):
    if name == "lm_head.weight" or name in a.drop:  # tied to the embedding
        continue
    dtype = dtypes.get(name, a.dtype)
    size = SIZES[dtype] * t.numel()
    k = i % len(headers)
    headers[k][name] = {"dtype": dtype, "shape": list(t.shape),
                        "data_offsets": [offsets[k], offsets[k] + size]}
    offsets[k] += size
    weight_map[name] = "model-%05d-of-%05d.safetensors" % (k + 1, len(headers))


def write(path, header):
    raw = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw)


if not a.shards:
    write(os.path.join(a.dir, "model.safetensors"), headers[0])
else:
    for k, header in enumerate(headers):
        write(os.path.join(a.dir, "model-%05d-of-%05d.safetensors" % (k + 1, len(headers))), header)
    if a.missing_shard:
        weight_map[name] = "model-gone.safetensors"
    with open(os.path.join(a.dir, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {}, "weight_map": weight_map}, f)
