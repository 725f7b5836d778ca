"""xformer from Python: import a model definition, run pass pipelines,
compile for a target, and run compiled models on numpy arrays.

    import xformer
    ir = xformer.import_hf("gpt2-dir", batch=1, seq=32)
    lib = xformer.compile(ir, "gpt2.so", max_seq_len=256)
    model = xformer.Model(lib, "gpt2-dir/model.safetensors")
    print(model.generate(numpy.array([[464, 2068, 7586]]), max_new_tokens=16))
"""

import os
import subprocess
import tempfile

from ._runtime import Model, _set_error_type
from .engine import Engine
from .chat import chat_prompt

try:  # the compiler links MLIR; a deployment of the runtime alone has no _compiler
    from ._compiler import run_pipeline, translate_to_cpp
except ImportError as _e:
    _compiler_missing = str(_e)

    def run_pipeline(ir, pipeline):
        raise ImportError("xformer was built without its compiler module: %s" % _compiler_missing)

    def translate_to_cpp(ir, target="cpu"):
        raise ImportError("xformer was built without its compiler module: %s" % _compiler_missing)

try:  # the GGUF reader comes with the compiler, not a runtime-only deployment
    from ._gguf import read_gguf, dequantize, quantize
except ImportError as _e:
    _gguf_missing = str(_e)

    def read_gguf(path):
        raise ImportError("xformer was built without its GGUF module: %s" % _gguf_missing)

    dequantize = quantize = read_gguf

__all__ = ["Error", "Model", "Engine", "import_hf", "import_onnx", "compile", "run_pipeline",
           "translate_to_cpp", "read_gguf", "dequantize", "quantize", "import_gguf", "chat_prompt",
           "gguf_chat_prompt"]


class Error(RuntimeError):
    """A failed call of a compiled model: `name` is the status
    ('weights', 'capacity', 'out-of-range', ...), `message` the cause."""

    def __init__(self, name, message, status):
        super().__init__("%s: %s" % (name, message))
        self.name = name
        self.message = message
        self.status = status


_set_error_type(Error)

_HERE = os.path.dirname(os.path.abspath(__file__))


def _tool(name):
    bindir = os.environ.get("XFORMER_BIN") or os.path.join(os.path.dirname(os.path.dirname(_HERE)), "bin")
    path = os.path.join(bindir, name)
    if not os.path.exists(path):
        raise FileNotFoundError("%s not found in %s (set XFORMER_BIN)" % (name, bindir))
    return path


def import_hf(model, batch=1, seq=128, source_len=32, no_pooler=False, weights=None):
    """A Hugging Face model directory (or its config.json) as xformer IR."""
    from .importers import cli as hf_import
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "model.mlir")
        argv = [model, "--batch", str(batch), "--seq", str(seq), "--source-len", str(source_len), "-o", out]
        if no_pooler:
            argv.append("--no-pooler")
        if weights:
            argv += ["--weights", weights]
        if hf_import.main(argv) != 0:
            raise ValueError("xformer-import failed for %s (see stderr)" % model)
        with open(out) as f:
            return f.read()


def import_gguf(path, batch=1, seq=128):
    """A GGUF file (llama.cpp's format; architecture llama) as xformer IR,
    its weights named as the file names them: open the compiled model with
    the same file as its weights. Raises ValueError naming the key or
    tensor at fault."""
    from .importers import cli as hf_import, gguf
    try:
        b, kind, args, outs, arch = gguf.import_gguf(path, batch, seq)
    except gguf.ImportError_ as e:
        raise ValueError(str(e)) from None
    return hf_import.emit(b, kind, args, outs, os.path.basename(path), "GGUF, architecture " + arch)


def gguf_chat_prompt(path, messages, add_generation_prompt=True, **variables):
    """A chat rendered by the template a GGUF file carries
    (tokenizer.chat_template), with its BOS and EOS tokens. Raises
    ValueError when the file has no template."""
    meta = read_gguf(path)["metadata"]
    template = meta.get("tokenizer.chat_template")
    if not isinstance(template, str):
        raise ValueError("%s has no chat template (tokenizer.chat_template)" % path)
    tokens = meta.get("tokenizer.ggml.tokens") or []

    def token(key):
        i = meta.get(key)
        return tokens[i] if isinstance(i, int) and 0 <= i < len(tokens) else ""
    return chat_prompt(template, messages, add_generation_prompt,
                       bos_token=token("tokenizer.ggml.bos_token_id"),
                       eos_token=token("tokenizer.ggml.eos_token_id"), **variables)


def import_onnx(path, weights_out=None, kind=None):
    """An exported ONNX graph as xformer IR in the unfused form (run
    `xformer-fuse-attention` or `compile` on it); its weights are written
    to `weights_out` (default: the path with .safetensors). `kind` is
    'encoder' or 'decoder' (default: inferred). Raises ValueError naming the
    node that cannot be imported."""
    from .importers import onnx as onnx_import
    if weights_out is None:
        weights_out = os.path.splitext(path)[0] + ".safetensors"
    if not os.path.exists(path):
        raise ValueError("%s does not exist" % path)
    try:
        return onnx_import.import_onnx(path, weights_out, kind=kind)
    except onnx_import.OnnxImportError as e:
        raise ValueError(str(e)) from None


def compile(ir, output, target="cpu", max_seq_len=1024, max_batch=0, arch=None,
            precision="f32", weights=None, fuse_projections=True, speculate=0,
            row_counts="auto"):
    """Compiles model IR (text) into the shared library `output` with
    xformer-compile; returns `output`. `arch` picks the GPU architectures of
    the CUDA target (e.g. "sm_90a,sm_80"); `precision="bf16"` stores the
    linear layers' weights in bf16 (CPU); `weights` picks the storage of
    linear weights ("f32", "bf16", "q8_0", "q4_0", "q4_1", ...: see
    xformer-compile --weights); `fuse_projections=False` keeps Q, K, V and
    gate, up as separate linears; `speculate=K` adds the program an
    Engine checks K drafted tokens a step with (speculative decoding);
    `row_counts` the programs over fewer rows than the batch ("auto": the
    powers of two below it, "none", or "1,2"), so a call computes only
    the rows in use. Raises ValueError with the compiler's diagnostics."""
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "model.mlir")
        with open(src, "w") as f:
            f.write(ir)
        cmd = [_tool("xformer-compile"), src, "--target=" + target,
               "--max-seq-len=%d" % max_seq_len, "-o", output]
        if max_batch:
            cmd.append("--max-batch=%d" % max_batch)
        if arch:
            cmd.append("--arch=" + arch)
        if precision != "f32":
            cmd.append("--precision=" + precision)
        if weights:
            cmd.append("--weights=" + weights)
        if not fuse_projections:
            cmd.append("--fuse-projections=false")
        if row_counts != "auto":
            cmd.append("--row-counts=" + row_counts)
        if speculate:
            cmd.append("--speculate=%d" % speculate)
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise ValueError("xformer-compile failed:\n" + r.stderr)
    return output
