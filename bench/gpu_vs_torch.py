"""GPU benchmark: the CUDA target beside PyTorch on the same GPU, one run.

    python bench/gpu_vs_torch.py --stage compile --work DIR   # where xformer-compile is
    python bench/gpu_vs_torch.py --stage run --work DIR       # on the GPU machine

Attention (bench/cuda_attention_bench.cu, the kernels the generated code
calls) against scaled_dot_product_attention with its flash and cuDNN
backends (bidirectional, causal), the memory-efficient backend with a
materialised boolean mask (prefix-LM, sliding window, documents) and
FlexAttention compiled with a mask_mod (every kind): prefill TFLOP/s
counting only visible pairs, decode bandwidth over the cache. GPT-2-small
greedy generation (random weights from the default config; the timing does
not depend on the values) against Hugging Face generate. Prints Markdown
tables; --output writes them to a file. Not a test: nothing asserts a speed.
"""

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
BIN = os.environ.get("XFORMER_BIN", os.path.join(SRC, "build", "bin"))
os.environ.setdefault("XFORMER_BIN", BIN)
sys.path.insert(0, os.path.join(os.path.dirname(BIN), "python_packages"))

WINDOW = 1024    # as cuda_attention_bench.cu
DOCUMENT = 1024
GPT2_PROMPT, GPT2_NEW = 32, 128


def gpt2_config():
    from transformers import GPT2Config
    return GPT2Config()  # GPT-2 small: 12 layers, 768 hidden, 50257 vocab


def stage_compile(work):
    import xformer
    d = os.path.join(work, "gpt2")
    os.makedirs(d, exist_ok=True)
    gpt2_config().save_pretrained(d)
    ir = xformer.import_hf(d, batch=1, seq=GPT2_PROMPT)
    xformer.compile(ir, os.path.join(work, "gpt2.so"), target="cuda",
                    max_seq_len=GPT2_PROMPT + GPT2_NEW, arch=os.environ.get("XFORMER_CUDA_ARCH"))
    print("compiled:", os.path.join(work, "gpt2.so"))


def visible_pairs(kind, seq):
    import numpy as np
    i = np.arange(seq)
    first = np.zeros(seq, np.int64)
    last = np.full(seq, seq, np.int64)
    if kind in ("causal", "documents"):
        last = i + 1
    elif kind == "prefix-lm":
        last = np.maximum(i + 1, seq // 2)
    elif kind == "sliding-window":
        first, last = np.maximum(i - WINDOW + 1, 0), i + 1
    if kind == "documents":
        first = i // DOCUMENT * DOCUMENT
    return float(np.maximum(last - first, 0).sum())


def mask_mod(kind, seq):
    if kind == "bidirectional":
        return lambda b, h, q, k: q >= 0
    if kind == "causal":
        return lambda b, h, q, k: q >= k
    if kind == "prefix-lm":
        return lambda b, h, q, k: (q >= k) | (k < seq // 2)
    if kind == "sliding-window":
        return lambda b, h, q, k: (q >= k) & (q - k < WINDOW)
    return lambda b, h, q, k: (q >= k) & (q // DOCUMENT == k // DOCUMENT)


def peers(rows):
    import torch
    import triton
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.nn.attention.flex_attention import create_block_mask, flex_attention
    import torch.nn.functional as F
    flex = torch.compile(flex_attention, dynamic=False)
    bench = lambda fn: triton.testing.do_bench(fn, warmup=25, rep=100, return_mode="median")  # noqa: E731
    out = []
    for r in rows:
        if r["bench"] != "prefill":
            continue
        kind, seq, d, b, h = r["mask"], r["seq"], r["head_dim"], r["batch"], r["heads"]
        flops = 4.0 * d * visible_pairs(kind, seq) * b * h
        g = torch.Generator(device="cuda").manual_seed(0)
        q, k, v = (torch.randn(b, h, seq, d, device="cuda", dtype=torch.bfloat16, generator=g)
                   for _ in range(3))
        res = {"mask": kind, "seq": seq, "head_dim": d, "xformer": r["tflops"]}
        if kind in ("bidirectional", "causal"):
            for name, backend in (("flash", SDPBackend.FLASH_ATTENTION),
                                  ("cudnn", SDPBackend.CUDNN_ATTENTION)):
                try:
                    with sdpa_kernel(backend):
                        ms = bench(lambda: F.scaled_dot_product_attention(
                            q, k, v, is_causal=kind == "causal"))
                    res[name] = flops / ms * 1e-9
                except Exception as e:  # a backend that refuses the shape
                    print("# %s %s: %s" % (name, kind, str(e).splitlines()[0]), file=sys.stderr)
        else:
            ii = torch.arange(seq, device="cuda")
            dense = mask_mod(kind, seq)(0, 0, ii[:, None], ii[None, :])
            try:
                with sdpa_kernel(SDPBackend.EFFICIENT_ATTENTION):
                    ms = bench(lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=dense))
                res["sdpa_mask"] = flops / ms * 1e-9
            except Exception as e:
                print("# efficient %s: %s" % (kind, str(e).splitlines()[0]), file=sys.stderr)
            del dense
        try:
            bm = create_block_mask(mask_mod(kind, seq), None, None, seq, seq, device="cuda")
            ms = bench(lambda: flex(q, k, v, block_mask=bm))
            res["flex"] = flops / ms * 1e-9
        except Exception as e:
            print("# flex %s: %s" % (kind, str(e).splitlines()[0]), file=sys.stderr)
        out.append(res)
        print(json.dumps(res), flush=True)
    return out


def decode_peers(rows):
    import torch
    import triton
    import torch.nn.functional as F
    out = []
    for r in rows:
        if r["bench"] != "decode":
            continue
        b, h, kvh, d, n = r["batch"], r["heads"], r["kv_heads"], r["head_dim"], r["kv_len"]
        res = {"kv_len": n, "xformer_gbs": r["gbs"], "xformer_of_copy": r["of_copy"]}
        for dtype, name in ((torch.float32, "sdpa_f32_gbs"), (torch.bfloat16, "sdpa_bf16_gbs")):
            q = torch.randn(b, h, 1, d, device="cuda", dtype=dtype)
            k = torch.randn(b, kvh, n, d, device="cuda", dtype=dtype)
            v = torch.randn(b, kvh, n, d, device="cuda", dtype=dtype)
            ms = triton.testing.do_bench(lambda: F.scaled_dot_product_attention(q, k, v, enable_gqa=True),
                                         warmup=25, rep=100, return_mode="median")
            res[name] = 2.0 * k.numel() * k.element_size() / ms * 1e-6
        out.append(res)
        print(json.dumps(res), flush=True)
    return out


def gpt2(work):
    import numpy as np
    import torch
    import xformer
    from transformers import GPT2LMHeadModel
    d = os.path.join(work, "gpt2")
    torch.manual_seed(0)
    model = GPT2LMHeadModel(gpt2_config()).eval()
    model.save_pretrained(d, safe_serialization=True)
    ids = np.random.default_rng(0).integers(0, 50257, (1, GPT2_PROMPT)).astype(np.int64)
    ours = xformer.Model(os.path.join(work, "gpt2.so"), os.path.join(d, "model.safetensors"))

    def run_ours():
        ours.reset()
        return ours.generate(ids, max_new_tokens=GPT2_NEW)

    def timed(fn, repeats=5):
        fn()
        ts = []
        for _ in range(repeats):
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            fn()
            torch.cuda.synchronize()
            ts.append(time.perf_counter() - t0)
        return sorted(ts)[len(ts) // 2]

    res = {"xformer": GPT2_NEW / timed(run_ours)}
    tids = torch.tensor(ids, device="cuda")
    for dtype, name in ((torch.float32, "hf_f32"), (torch.bfloat16, "hf_bf16")):
        m = GPT2LMHeadModel.from_pretrained(d, dtype=dtype).cuda().eval()
        gen = lambda: m.generate(tids, max_new_tokens=GPT2_NEW, min_new_tokens=GPT2_NEW,  # noqa: E731
                                 do_sample=False, pad_token_id=0)
        with torch.no_grad():
            res[name] = GPT2_NEW / timed(gen)
    print(json.dumps(res), flush=True)
    return res


def table(pre, dec, g, device):
    lines = ["GPU: %s. Prefill attention TFLOP/s counting only visible pairs "
             "(batch x seq = 16k tokens, heads x head_dim = 2048; ours: f32 in/out, bf16 tensor cores; "
             "PyTorch: bf16 in/out). Window %d, documents of %d, prefix = seq/2." % (device, WINDOW, DOCUMENT),
             "",
             "| mask | seq | head_dim | xformer | SDPA flash | SDPA cuDNN | SDPA + mask | FlexAttention | xformer / best peer |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    f = lambda x: "%.1f" % x if x else "-"  # noqa: E731
    for r in pre:
        best = max([r.get(k, 0) for k in ("flash", "cudnn", "sdpa_mask", "flex")] or [0])
        lines.append("| %s | %d | %d | %s | %s | %s | %s | %s | %s |" % (
            r["mask"], r["seq"], r["head_dim"], f(r["xformer"]), f(r.get("flash")), f(r.get("cudnn")),
            f(r.get("sdpa_mask")), f(r.get("flex")), "%.2fx" % (r["xformer"] / best) if best else "-"))
    lines += ["", "Decode attention, one step, batch 8, 32 query heads over 8 KV heads, head_dim 128: "
              "GB/s of K/V read (ours: f32 cache).", "",
              "| cached tokens | xformer GB/s | of copy bandwidth | SDPA f32 GB/s | SDPA bf16 GB/s |",
              "| ---: | ---: | ---: | ---: | ---: |"]
    for r in dec:
        lines.append("| %d | %.0f | %.0f%% | %.0f | %.0f |" % (
            r["kv_len"], r["xformer_gbs"], 100 * r["xformer_of_copy"], r["sdpa_f32_gbs"], r["sdpa_bf16_gbs"]))
    if g:
        lines += ["", "GPT-2 small greedy generation, batch 1, prompt %d, %d new tokens: tokens/s." % (
            GPT2_PROMPT, GPT2_NEW), "", "| xformer (f32 weights, TF32 GEMMs) | HF generate f32 | HF generate bf16 |",
            "| ---: | ---: | ---: |", "| %.0f | %.0f | %.0f |" % (g["xformer"], g["hf_f32"], g["hf_bf16"])]
    return "\n".join(lines) + "\n"


def stage_run(work, output, quick):
    import torch
    bench = os.path.join(BIN, "xformer-cuda-attention-bench")
    r = subprocess.run([bench] + (["--quick"] if quick else []), capture_output=True, text=True)
    sys.stderr.write(r.stderr)
    if r.returncode != 0:
        raise SystemExit("%s failed" % bench)
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    for row in rows:
        print(json.dumps(row), flush=True)
    dev = [x for x in rows if x["bench"] == "device"]
    device = dev[0]["name"] if dev else torch.cuda.get_device_name()
    copy = [x["gbs"] for x in rows if x["bench"] == "copy"]
    pre, dec = peers(rows), decode_peers(rows)
    g = gpt2(work) if os.path.exists(os.path.join(work, "gpt2.so")) else None
    text = table(pre, dec, g, device)
    if copy:
        text += "\nMeasured device-to-device copy: %.0f GB/s (read + write).\n" % copy[0]
    print(text)
    if output:
        with open(output, "w") as fh:
            fh.write(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stage", choices=["compile", "run"], required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--output")
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    if a.stage == "compile":
        stage_compile(a.work)
    else:
        stage_run(a.work, a.output, a.quick)


if __name__ == "__main__":
    main()
