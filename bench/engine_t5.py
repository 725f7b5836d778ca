"""Encoder-decoder serving: a T5-small-shaped model (random weights: 6 + 6
layers, 512 wide, 8 heads, feed-forward 2048, vocabulary 32128) through
the engine beside CTranslate2's Translator on the same weights, same
threads, one run.

Each workload is N requests arriving at once (N = 1, 4, 16, 64), each a
48-token source and 32 greedy tokens (the end of sequence ignored:
CTranslate2 with min_decoding_length = max_decoding_length). xformer: the
engine over a library compiled for R rows (sources encoded in one call per
step for the rows that took a request, then batched decode), requests
joining rows as they free up. CTranslate2 (PyPI, installed when missing):
translate_batch of the N sources in one call (its own static batching,
all N at once, the best case for it), float32, intra_threads = threads.
Tokens/s counts generated tokens; latency is each request's completion
from the common start (p50 / p99), time to first token is xformer's
(CTranslate2's batch call returns all at once). The greedy tokens of the
two engines are compared.

    .venv/bin/python bench/engine_t5.py [--threads 2] [--rows 4,16] [--output FILE]

Not a test: nothing here asserts a speed.
"""

import argparse
import datetime
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
BIN = os.environ.get("XFORMER_BIN", os.path.join(SRC, "build", "bin"))
os.environ.setdefault("XFORMER_BIN", BIN)
sys.path.insert(0, os.path.join(os.path.dirname(BIN), "python_packages"))
import xformer  # noqa: E402
from bench_common import cpu_name, emit, isa  # noqa: E402

SOURCE, NEW = 48, 32


def t5_small(work):
    """A random T5-small-shaped checkpoint with a word-level tokenizer
    (token i is "w<i>"), which CTranslate2's converter needs."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, T5Config, T5ForConditionalGeneration
    cfg = T5Config(vocab_size=32128, d_model=512, d_kv=64, d_ff=2048, num_layers=6, num_heads=8,
                   relative_attention_num_buckets=32, relative_attention_max_distance=128,
                   dropout_rate=0.0, feed_forward_proj="relu", decoder_start_token_id=0,
                   eos_token_id=1, pad_token_id=0)
    torch.manual_seed(0)
    T5ForConditionalGeneration(cfg).eval().save_pretrained(work, safe_serialization=True)
    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2}
    vocab.update({"w%d" % i: i for i in range(3, cfg.vocab_size)})
    tk = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    PreTrainedTokenizerFast(tokenizer_object=tk, pad_token="<pad>", eos_token="</s>",
                            unk_token="<unk>").save_pretrained(work)
    return cfg


def ensure_ctranslate2():
    try:
        import ctranslate2  # noqa: F401
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "ctranslate2"], check=True)


def pct(values, q):
    return float(np.percentile(np.array(values), q))


def run_xformer(engine, sources):
    """All requests at once, stepped on this thread: (seconds, completion
    times, first-token times, tokens)."""
    t0 = time.perf_counter()
    first, done, tokens = {}, {}, {}

    def listener(i):
        def on_token(t, finish):
            now = time.perf_counter() - t0
            if t >= 0:
                first.setdefault(i, now)
                tokens.setdefault(i, []).append(t)
            if finish is not None:
                done[i] = now
        return on_token
    for i, s in enumerate(sources):
        engine.submit([0], on_token=listener(i), source=s, max_new_tokens=NEW)
    while engine._pending > 0:
        engine._step()
    secs = time.perf_counter() - t0
    n = len(sources)
    return secs, [done[i] for i in range(n)], [first[i] for i in range(n)], \
        [tokens[i] for i in range(n)]


def run_ctranslate2(translator, sources):
    t0 = time.perf_counter()
    out = translator.translate_batch([["w%d" % t for t in s] for s in sources], beam_size=1,
                                     max_decoding_length=NEW, min_decoding_length=NEW,
                                     max_batch_size=len(sources))
    secs = time.perf_counter() - t0
    tokens = [[int(w[1:]) if w.startswith("w") else {"<pad>": 0, "</s>": 1}.get(w, 2)
               for w in r.hypotheses[0]] for r in out]
    return secs, tokens


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rows", default="4,16")
    ap.add_argument("--clients", default="1,4,16,64")
    ap.add_argument("--chunk", type=int, default=4)
    ap.add_argument("--unsized", action="store_true",
                    help="also each library with sized_calls=False (every call computes all rows)")
    ap.add_argument("--output")
    a = ap.parse_args()
    os.environ["XFORMER_NUM_THREADS"] = str(a.threads)
    ensure_ctranslate2()
    import ctranslate2
    work = tempfile.mkdtemp()
    cfg = t5_small(work)
    weights = os.path.join(work, "model.safetensors")
    ct2_dir = os.path.join(work, "ct2")
    ctranslate2.converters.TransformersConverter(work).convert(ct2_dir, quantization="float32")
    translator = ctranslate2.Translator(ct2_dir, device="cpu", compute_type="float32",
                                        intra_threads=a.threads, inter_threads=1)
    rows = [int(r) for r in a.rows.split(",")]
    libs = {r: xformer.compile(xformer.import_hf(work, batch=r, seq=a.chunk, source_len=SOURCE),
                               os.path.join(work, "t5-%d.so" % r), max_seq_len=NEW)
            for r in rows}
    rng = np.random.default_rng(0)
    clients = [int(c) for c in a.clients.split(",")]
    sources = [rng.integers(3, cfg.vocab_size, size=SOURCE).tolist() for _ in range(max(clients))]

    now = datetime.date.today().isoformat()
    lines = ["Measured %s by `bench/engine_t5.py` on %s (%s), %d threads, no GPU: a random "
             "T5-small-shaped model (6 + 6 layers, 512 wide, 8 heads, feed-forward 2048, "
             "vocabulary 32128), float32 in both engines; N requests at once, each a %d-token "
             "source and %d greedy tokens; CTranslate2 %s `translate_batch` of all N in one call "
             "(intra_threads %d); xformer's engine on a library of R rows, requests joining rows "
             "as they free up. One run each." % (now, cpu_name(), isa(), a.threads, SOURCE, NEW,
                                                  ctranslate2.__version__, a.threads),
             "",
             "| requests | engine | generated tokens/s | latency p50 / p99 | first token p50 | "
             "tokens equal to CTranslate2's |",
             "|---|---|---|---|---|---|"]
    kinds = [(r, True) for r in rows] + ([(r, False) for r in rows] if a.unsized else [])
    engines = {k: xformer.Engine(xformer.Model(libs[k[0]], weights), sized_calls=k[1])
               for k in kinds}
    for e in engines.values():
        run_xformer(e, sources[:2])  # warm-up
    run_ctranslate2(translator, sources[:2])
    for n in clients:
        batch = sources[:n]
        secs, ref = run_ctranslate2(translator, batch)
        lines.append("| %d | CTranslate2 | %.0f | %.2f s / %.2f s | - | - |" % (
            n, n * NEW / secs, secs, secs))
        for r, sized in kinds:
            secs, done, first, toks = run_xformer(engines[(r, sized)], batch)
            equal = sum(t == c for t, c in zip(toks, ref))
            lines.append("| %d | xformer, %d rows%s | %.0f | %.2f s / %.2f s | %.0f ms | %d of %d |" % (
                n, r, "" if sized else ", every row each call", n * NEW / secs, pct(done, 50), pct(done, 99), 1000 * pct(first, 50),
                equal, n))
    for e in engines.values():
        e.close()
    emit(lines, a.output)


if __name__ == "__main__":
    main()
