"""The xformer-import command line (usage: the xformer-import script's
docstring): a Hugging Face model directory or config.json, a GGUF file or
an ONNX graph to model IR."""

import argparse
import json
import os
import sys

from .ir import ImportError_, weight_decls
from .hf import SUPPORTED, import_bert, import_gpt2, import_llama, import_bart, import_t5, check_weights
from .gguf import import_gguf


def write_output(text, path):
    if path == "-":
        sys.stdout.write(text)
    else:
        with open(path, "w") as f:
            f.write(text)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="a model directory or its config.json")
    ap.add_argument("--batch", type=int, default=1,
                    help="sequences per call of the compiled programs: the most a library runs at once "
                    "(default 1; calls may pass fewer)")
    ap.add_argument("--seq", type=int, default=128,
                    help="positions per call: an encoder's longest input, a decoder's prefill chunk "
                    "(longer prompts run chunk by chunk; the cache length is xformer-compile's "
                    "--max-seq-len) (default 128)")
    ap.add_argument("--weights", help="safetensors file to check names, dtypes and shapes against")
    ap.add_argument("--source-len", type=int, default=32, help="encoder-decoders: source tokens")
    ap.add_argument("--no-pooler", action="store_true", help="bert: leave out the pooler")
    ap.add_argument("--weights-out", help="onnx: the safetensors file to write the graph's weights to "
                    "(default: the model's path with .safetensors)")
    ap.add_argument("--kind", choices=("encoder", "decoder"),
                    help="onnx: the model kind (default: a decoder when the output is logits over the "
                    "token embedding's vocabulary)")
    ap.add_argument("-o", "--output", default="-")
    a = ap.parse_args(argv)
    if a.batch < 1 or a.seq < 1 or a.source_len < 1:
        ap.error("--batch, --seq and --source-len must be positive")
    path = a.model
    if path.endswith(".onnx"):
        return main_onnx(a)
    if path.endswith(".gguf"):
        return main_gguf(a)
    config = os.path.join(path, "config.json") if os.path.isdir(path) else path
    try:
        if a.batch < 1 or a.seq < 1:
            raise ImportError_("--batch and --seq must be positive")
        try:
            with open(config) as f:
                cfg = json.load(f)
        except OSError as e:
            raise ImportError_("cannot read %s: %s" % (config, e.strerror))
        except ValueError as e:
            raise ImportError_("%s is not valid JSON: %s" % (config, e))
        mt = cfg.get("model_type")
        if a.no_pooler:
            cfg["xformer_no_pooler"] = True
        if mt == "bert":
            b, kind, args, outs = import_bert(cfg, a.batch, a.seq)
        elif mt == "gpt2":
            b, kind, args, outs = import_gpt2(cfg, a.batch, a.seq)
        elif mt in ("llama", "mistral"):
            b, kind, args, outs = import_llama(cfg, a.batch, a.seq, mt == "mistral")
        elif mt == "qwen2":
            if cfg.get("use_sliding_window"):
                raise ImportError_("qwen2 with use_sliding_window (windows on some layers only) is "
                                   "not supported")
            b, kind, args, outs = import_llama(cfg, a.batch, a.seq, False, qkv_bias=True)
        elif mt == "bart":
            b, kind, args, outs = import_bart(cfg, a.batch, a.seq, a.source_len)
        elif mt == "t5":
            b, kind, args, outs = import_t5(cfg, a.batch, a.seq, a.source_len)
        else:
            raise ImportError_("model_type '%s' is not supported; supported: %s" % (mt, ", ".join(SUPPORTED)))
        weights = a.weights
        for name in ("model.safetensors", "model.safetensors.index.json"):
            if not weights and os.path.isdir(path) and os.path.exists(os.path.join(path, name)):
                weights = os.path.join(path, name)
        if weights:
            check_weights(b.weights, weights)
    except ImportError_ as e:
        print("xformer-import: error: %s" % e, file=sys.stderr)
        return 1
    write_output(emit(b, kind, args, outs, os.path.basename(config), "model_type " + mt), a.output)
    return 0


def emit(b, kind, args, outs, source, what):
    text = ["// Imported by xformer-import from %s (%s)." % (source, what)]
    text += weight_decls(b.decls)
    text += ["func.func @forward(%s) -> (%s) attributes {xformer.model = #xformer.model<%s>} {" % (
                args, ", ".join(b.types[o] for o in outs), kind)]
    text += b.lines
    text.append("  return %s : %s" % (", ".join(outs), ", ".join(b.types[o] for o in outs)))
    text.append("}")
    return "\n".join(text) + "\n"


def main_gguf(a):
    try:
        b, kind, args, outs, arch = import_gguf(a.model, a.batch, a.seq)
    except ImportError_ as e:
        print("xformer-import: error: %s" % e, file=sys.stderr)
        return 1
    write_output(emit(b, kind, args, outs, os.path.basename(a.model), "GGUF, architecture " + arch),
                 a.output)
    return 0


def main_onnx(a):
    from . import onnx as onnx_import
    weights_out = a.weights_out or os.path.splitext(a.model)[0] + ".safetensors"
    try:
        if not os.path.exists(a.model):
            raise onnx_import.OnnxImportError("%s does not exist" % a.model)
        out = onnx_import.import_onnx(a.model, weights_out, kind=a.kind)
    except onnx_import.OnnxImportError as e:
        print("xformer-import: error: %s" % e, file=sys.stderr)
        return 1
    write_output(out, a.output)
    return 0
