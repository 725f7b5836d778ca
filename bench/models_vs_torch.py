"""Model-level CPU benchmark: compiled models beside PyTorch eager (and ONNX
Runtime when it is installed), same threads, one run.

    .venv/bin/python bench/models_vs_torch.py [--threads 2] [--repeats 5]

BERT-base encode latency (seq 128, batch 1 and 32) and GPT-2-small greedy
generation (32-token prompt, 64 new tokens), random weights from the
default configs (timings do not depend on the values). Prints a Markdown
table; --output appends it to a file. Not a test: nothing here asserts
a speed.
"""

import argparse
import copy
import os
import statistics
import sys
import tempfile
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
BIN = os.environ.get("XFORMER_BIN", os.path.join(SRC, "build", "bin"))
os.environ.setdefault("XFORMER_BIN", BIN)
sys.path.insert(0, os.path.join(os.path.dirname(BIN), "python_packages"))
import xformer  # noqa: E402


def compile_model(model_dir, out, batch, seq, max_seq_len=512, precision="f32"):
    ir = xformer.import_hf(model_dir, batch=batch, seq=seq)
    return xformer.compile(ir, out + ".so", max_seq_len=max_seq_len, precision=precision)


def timeit(fn, repeats):
    fn()  # warm up
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def try_ort(model, inputs, path):
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    try:
        torch.onnx.export(model, tuple(inputs.values()), path, input_names=list(inputs),
                          dynamo=True, opset_version=17)
        so = ort.SessionOptions()
        so.intra_op_num_threads = torch.get_num_threads()
        so.inter_op_num_threads = 1
        sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        feed = {k: v.numpy() for k, v in inputs.items()}
        return lambda: sess.run(None, feed)
    except Exception as e:  # an export the exporter refuses: report, no number
        print("onnxruntime: %s" % e, file=sys.stderr)
        return None


def ort_gpt2_generate(model, prompt, new, path):
    """Greedy generation in ONNX Runtime with a KV cache: one graph (token
    ids, positions, past keys and values per layer in; last logits and the
    present keys and values out) exported from the Hugging Face model with
    dynamic sequence and past lengths, run once over the prompt (empty
    past) and once per new token. Returns (callable, token ids) or None."""
    try:
        import onnxruntime as ort
        from transformers import DynamicCache
    except ImportError:
        return None
    cfg = model.config
    layers, heads, head_dim = cfg.n_layer, cfg.n_head, cfg.n_embd // cfg.n_head

    class Step(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.m = model

        def forward(self, input_ids, position_ids, past):
            cache = DynamicCache(config=cfg)
            for i in range(layers):
                cache.update(past[2 * i], past[2 * i + 1], i)
            out = self.m(input_ids=input_ids, position_ids=position_ids,
                         past_key_values=cache, use_cache=True)
            present = []
            for layer in out.past_key_values.layers:
                present += [layer.keys, layer.values]
            return (out.logits[:, -1],) + tuple(present)

    names = ["input_ids", "position_ids"] + ["past_%d" % i for i in range(2 * layers)]
    try:
        seq = torch.export.Dim("seq", min=1, max=1024)
        past_len = torch.export.Dim("past", min=0, max=1024)
        example = (torch.zeros(1, 3, dtype=torch.long), torch.arange(2, 5)[None],
                   tuple(torch.zeros(1, heads, 2, head_dim) for _ in range(2 * layers)))
        torch.onnx.export(Step().eval(), example, path, input_names=names, dynamo=True,
                          opset_version=18, dynamic_shapes=(
                              {1: seq}, {1: seq}, tuple({2: past_len} for _ in range(2 * layers))))
        so = ort.SessionOptions()
        so.intra_op_num_threads = torch.get_num_threads()
        so.inter_op_num_threads = 1
        sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    except Exception as e:  # an export the exporter refuses: report, no number
        print("onnxruntime: %s" % e, file=sys.stderr)
        return None

    def generate():
        past = [np.zeros((1, heads, 0, head_dim), np.float32) for _ in range(2 * layers)]
        cur, start, tokens = prompt.astype(np.int64), 0, []
        for _ in range(new):
            n = cur.shape[1]
            pos = np.arange(start, start + n, dtype=np.int64)[None]
            out = sess.run(None, dict(zip(names, [cur, pos] + past)))
            tokens.append(int(out[0][0].argmax()))
            past, start, cur = out[1:], start + n, np.array([[tokens[-1]]], np.int64)
        return tokens

    return generate, generate()


def ort_version():
    try:
        import onnxruntime
        return onnxruntime.__version__
    except ImportError:
        return "(not installed)"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--output")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    os.environ["XFORMER_NUM_THREADS"] = str(a.threads)
    os.environ["OMP_NUM_THREADS"] = str(a.threads)
    import transformers
    work = tempfile.mkdtemp(prefix="xformer-bench-")
    rows = []

    # BERT-base encode.
    torch.manual_seed(0)
    bert = transformers.BertModel(transformers.BertConfig(attn_implementation="sdpa")).eval()
    bdir = os.path.join(work, "bert")
    bert.save_pretrained(bdir)
    bert16 = copy.deepcopy(bert).to(torch.bfloat16)
    for batch in (1, 32):
        m = xformer.Model(compile_model(bdir, os.path.join(work, "bert%d" % batch), batch, 128), os.path.join(bdir, "model.safetensors"))
        ids = np.random.default_rng(0).integers(0, 30000, (batch, 128))
        ours = timeit(lambda: m.encode(ids), a.repeats)
        t_ids = torch.tensor(ids)
        with torch.no_grad():
            pt = timeit(lambda: bert(t_ids), a.repeats)
        ort_fn = try_ort(bert, {"input_ids": t_ids}, os.path.join(work, "bert%d.onnx" % batch))
        ortt = timeit(ort_fn, a.repeats) if ort_fn else None
        rows.append(("BERT-base encode, batch %d, seq 128 (ms)" % batch, ours * 1e3, pt * 1e3,
                     ortt * 1e3 if ortt else None, "lower"))
        del m
        # The bf16 mode beside PyTorch running the model in bf16.
        m = xformer.Model(compile_model(bdir, os.path.join(work, "bert16-%d" % batch), batch, 128,
                                        precision="bf16"), os.path.join(bdir, "model.safetensors"))
        ours = timeit(lambda: m.encode(ids), a.repeats)
        with torch.no_grad():
            pt = timeit(lambda: bert16(t_ids), a.repeats)
        rows.append(("BERT-base encode, batch %d, seq 128, bf16 (ms)" % batch, ours * 1e3, pt * 1e3,
                     None, "lower"))
        del m

    # GPT-2 small generation.
    torch.manual_seed(0)
    gpt2 = transformers.GPT2LMHeadModel(transformers.GPT2Config(attn_implementation="sdpa")).eval()
    gdir = os.path.join(work, "gpt2")
    gpt2.save_pretrained(gdir)
    m = xformer.Model(compile_model(gdir, os.path.join(work, "gpt2"), 1, 32), os.path.join(gdir, "model.safetensors"))
    prompt = np.random.default_rng(0).integers(0, 50000, (1, 32))
    new = 64
    ours = timeit(lambda: m.generate(prompt, max_new_tokens=new), a.repeats)
    tp = torch.tensor(prompt)
    with torch.no_grad():
        pt = timeit(lambda: gpt2.generate(tp, max_new_tokens=new, min_new_tokens=new, do_sample=False,
                                          pad_token_id=0), a.repeats)
    ort_gen = ort_gpt2_generate(gpt2, prompt, new, os.path.join(work, "gpt2.onnx"))
    ortt = None
    if ort_gen:
        ours_ids = m.generate(prompt, max_new_tokens=new)[0]
        if list(ours_ids) != ort_gen[1]:  # a peer that computes something else is no peer
            print("onnxruntime GPT-2 tokens differ from xformer's: %s vs %s" % (
                ort_gen[1], list(ours_ids)), file=sys.stderr)
        ortt = timeit(ort_gen[0], a.repeats)
    rows.append(("GPT-2 small: 32-token prompt + 64 tokens (tokens/s)", new / ours, new / pt,
                 new / ortt if ortt else None, "higher"))
    del m
    m = xformer.Model(compile_model(gdir, os.path.join(work, "gpt2-16"), 1, 32, precision="bf16"),
                      os.path.join(gdir, "model.safetensors"))
    ours = timeit(lambda: m.generate(prompt, max_new_tokens=new), a.repeats)
    gpt2_16 = copy.deepcopy(gpt2).to(torch.bfloat16)
    with torch.no_grad():
        pt = timeit(lambda: gpt2_16.generate(tp, max_new_tokens=new, min_new_tokens=new,
                                             do_sample=False, pad_token_id=0), a.repeats)
    rows.append(("GPT-2 small, bf16: 32-token prompt + 64 tokens (tokens/s)", new / ours, new / pt,
                 None, "higher"))

    lines = ["| workload | xformer | PyTorch eager | ONNX Runtime | xformer / best peer |",
             "|---|---|---|---|---|"]
    for name, ours, pt, ortv, better in rows:
        peers = [v for v in (pt, ortv) if v]
        best = min(peers) if better == "lower" else max(peers)
        ratio = best / ours if better == "lower" else ours / best
        lines.append("| %s | %.1f | %.1f | %s | %.2fx |" % (
            name, ours, pt, "%.1f" % ortv if ortv else "not run", ratio))
    table = "\n".join(lines)
    print(table)
    if a.output:
        import datetime
        import platform
        head = ["", "## Models", "",
                "Measured %s by `bench/models_vs_torch.py` on the same machine, %d threads for "
                "every runtime (PyTorch %s eager with SDPA attention, ONNX Runtime %s CPU; GPT-2 in "
                "ONNX Runtime runs one exported graph with a KV cache, prompt then token by token, "
                "greedy in numpy), median "
                "of %d runs after a warm-up, f32, random weights from the default configs. "
                "Rows marked bf16: xformer compiled with `--precision=bf16` (linear weights "
                "stored in bf16, f32 sums) beside PyTorch running the whole model in bf16 "
                "(`model.to(torch.bfloat16)`); ONNX Runtime's CPU provider has no bf16 "
                "kernels for these graphs and is not run. "
                "Ratio: above 1 means xformer is faster than the faster peer." % (
                    datetime.date.today().isoformat(), a.threads, torch.__version__,
                    ort_version(), a.repeats), ""]
        with open(a.output, "a") as f:
            f.write("\n".join(head) + "\n" + table + "\n")


if __name__ == "__main__":
    main()
