"""Exported ONNX graphs: imported, fused, compiled and run against ONNX Runtime.

    python onnx_oracle.py {bert,gpt2} --work DIR

Builds a small Hugging Face model with seeded random weights (eager
attention, the unfused form), exports it with torch.onnx.export (the dynamo
exporter) at test time, imports the .onnx with xformer-import, checks that
xformer-fuse-attention raised every attention with the mask kind the
architecture has, compiles the IR and runs it through the Python bindings
against the same .onnx run by ONNX Runtime (and, for generation, against
transformers). Every check prints one line; any failure exits non-zero.
"""

import argparse
import os
import re
import sys
import warnings

import numpy as np
import torch

from checks import check, close, finish, i64  # noqa: E402
import xformer  # noqa: E402


def randomize(model):
    """Every parameter perturbed: no two initializers are equal (exporters
    merge equal constants) and no bias is zero."""
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.05)
    return model.eval()


def export(model, args, kwargs, names, path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, args, path, kwargs=kwargs, input_names=names, dynamo=True,
                          verbose=False)


def fused_masks(ir, layers, kind):
    """Checks that fusion left no softmax and one attention per layer with
    the expected mask."""
    fused = xformer.run_pipeline(ir, "func.func(xformer-fuse-attention),canonicalize,cse,"
                                     "xformer-verify-masks")
    masks = re.findall(r"xformer\.attention .*mask = (#xformer\.mask<[^>]*>)", fused)
    softmax = fused.count("xformer.softmax")
    check("every attention fused (%d layers)" % layers,
          len(masks) == layers and softmax == 0,
          "%d xformer.attention, %d softmax left" % (len(masks), softmax))
    check("mask kind %s" % kind, masks and all(m == "#xformer.mask<%s>" % kind for m in masks),
          ", ".join(masks))
    return fused


def session(path):
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def test_bert(work):
    from transformers import BertConfig, BertModel
    B, S = 2, 16
    cfg = BertConfig(vocab_size=128, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=128, max_position_embeddings=64, type_vocab_size=2,
                     attn_implementation="eager")
    torch.manual_seed(0)
    model = randomize(BertModel(cfg))
    rng = np.random.default_rng(3)
    ids = i64(rng.integers(0, 128, (B, S)))
    types = i64(rng.integers(0, 2, (B, S)))
    lengths = i64([16, 9])
    mask = i64(np.arange(S)[None, :] < lengths[:, None])
    path = os.path.join(work, "bert.onnx")
    export(model, (torch.tensor(ids),), {"attention_mask": torch.tensor(mask),
                                         "token_type_ids": torch.tensor(types)},
           ["input_ids", "attention_mask", "token_type_ids"], path)
    weights = os.path.join(work, "bert.safetensors")
    ir = xformer.import_onnx(path, weights)
    check("imported as an encoder", "#xformer.model<encoder>" in ir and "%lengths" in ir,
          ir.splitlines()[1][:160])
    fused_masks(ir, 2, "bidirectional")
    m = xformer.Model(xformer.compile(ir, os.path.join(work, "bert.so")), weights)
    ref_hidden, ref_pooled = session(path).run(None, {"input_ids": ids, "attention_mask": mask,
                                                      "token_type_ids": types})
    hidden, pooled = m.encode(ids, lengths, types)
    for b in range(B):
        n = lengths[b]
        close("hidden states vs ONNX Runtime, sequence %d (%d of %d tokens)" % (b, n, S),
              hidden[b, :n], ref_hidden[b, :n])
    close("pooled output vs ONNX Runtime", pooled, ref_pooled)


def test_gpt2(work):
    from transformers import GPT2Config, GPT2LMHeadModel
    B, S, V = 2, 8, 128
    cfg = GPT2Config(vocab_size=V, n_embd=64, n_layer=2, n_head=4, n_positions=64,
                     attn_implementation="eager", use_cache=False)
    torch.manual_seed(0)
    model = randomize(GPT2LMHeadModel(cfg))
    rng = np.random.default_rng(4)
    ids = i64(rng.integers(0, V, (B, S)))
    pos = i64(np.broadcast_to(np.arange(S), (B, S)))
    ones = np.ones((B, S), np.int64)
    path = os.path.join(work, "gpt2.onnx")
    export(model, (torch.tensor(ids),), {"attention_mask": torch.tensor(ones),
                                         "position_ids": torch.tensor(pos)},
           ["input_ids", "attention_mask", "position_ids"], path)
    weights = os.path.join(work, "gpt2.safetensors")
    ir = xformer.import_onnx(path, weights)
    check("imported as a decoder", "#xformer.model<decoder>" in ir, ir.splitlines()[1][:160])
    fused_masks(ir, 2, "causal")
    m = xformer.Model(xformer.compile(ir, os.path.join(work, "gpt2.so"), max_seq_len=64), weights)
    ref = session(path).run(None, {"input_ids": ids, "attention_mask": ones, "position_ids": pos})[0]
    # Prefill of prompts of 8 and 5 tokens: the last position's logits. Under
    # the causal mask ONNX Runtime's logits at position n-1 of the full row
    # are the logits of the n-token prompt.
    lengths = i64([8, 5])
    got = m.prefill(ids, lengths)
    for b in range(B):
        n = lengths[b]
        close("prefill logits vs ONNX Runtime, sequence %d (%d tokens)" % (b, n), got[b], ref[b, n - 1])
    # Generation past the exported length: decode steps derived from the
    # imported graph, against transformers' greedy search.
    ours = m.generate(ids, lengths, max_new_tokens=24)
    for b in range(B):
        p = ids[b, :lengths[b]]
        with torch.no_grad():
            out = model.generate(torch.tensor(p[None]), max_new_tokens=24, min_new_tokens=24,
                                 do_sample=False, pad_token_id=0, eos_token_id=None, use_cache=True)
        theirs = out[0, len(p):].tolist()
        check("greedy generation vs transformers, sequence %d (24 tokens)" % b, ours[b] == theirs,
              "identical" if ours[b] == theirs else "ours %s, transformers %s" % (ours[b], theirs))
    # A decoder exported without position_ids has its positions folded for
    # the exported length: refused, not compiled into a wrong decode.
    path2 = os.path.join(work, "gpt2-nopos.onnx")
    export(model, (torch.tensor(ids),), {}, ["input_ids"], path2)
    try:
        xformer.import_onnx(path2, os.path.join(work, "nopos.safetensors"))
        check("a decoder without position_ids is refused", False, "imported")
    except ValueError as e:
        check("a decoder without position_ids is refused", "position_ids" in str(e), str(e))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", choices=["bert", "gpt2"])
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    torch.set_num_threads(2)
    globals()["test_" + a.model](a.work)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
