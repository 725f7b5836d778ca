"""Writes a safetensors file of zeros for every `xformer.weight_decl` of an IR
file (name, shape, f32), so a compiled model can be opened without real
weights: python zero_weights.py model.mlir out.safetensors"""
import re
import sys

import numpy as np
from safetensors.numpy import save_file

text = open(sys.argv[1]).read()
tensors = {}
decl = r'xformer\.weight_decl @(?:"([^"]+)"|([A-Za-z0-9_$.]+)) : tensor<([0-9x]+)xf32>'
for quoted, bare, dims in re.findall(decl, text):
    name = quoted or bare
    tensors[name] = np.zeros([int(d) for d in dims.split("x")], np.float32)
save_file(tensors, sys.argv[2])
