"""The serving engine from Python: many requests on one decoder Model,
batched at every step (xformer.h's xf_engine_*).

    engine = xformer.Engine(model)
    async for token in engine.generate_async([1, 2, 3], max_new_tokens=16):
        ...
    for token in engine.stream([1, 2, 3], max_new_tokens=16):
        ...

A background thread steps the engine while requests are pending (the GIL
is released while the model computes); each request's tokens reach its
consumer as they are made. Leaving an `async for` or a `for` early (a
client that went away) cancels the request, which frees its row at the
next step.
"""

import asyncio
import queue
import threading

from ._runtime import _Engine

_SAMPLING = ("max_new_tokens", "eos_token_id", "eos_token_ids", "temperature", "top_k",
             "top_p", "seed")


class Engine:
    """Continuous batching over `model` (a decoder or encoder-decoder
    xformer.Model, which the engine then owns: its direct sequence calls
    are refused until close(); or an encoder, for embeddings).
    An encoder-decoder's requests pass their `source` (token ids); their
    prompt is the decoder's start.
    `max_sequences` bounds the rows in use (0: all of the model's),
    `max_queued` the requests waiting for one, `prefix_cache` keeps
    prompt prefixes for later requests that share them (what prefilling
    them computes), and `speculate` drafts tokens from n-grams (n <=
    `ngram`) of each request's context and checks them in one call when
    the model was compiled with speculate=K. `sized_calls` runs each call
    over the rows in use where the library has programs over fewer rows
    (False: every call computes all rows, so a request's results are the
    same bits whatever else runs)."""

    def __init__(self, model, max_sequences=0, max_queued=1024, prefix_cache=True,
                 speculate=True, ngram=3, sized_calls=True):
        self._engine = _Engine(model, max_sequences, max_queued, prefix_cache, speculate, ngram,
                               sized_calls)
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._listeners = {}
        self._pending = 0
        self._submits = 0
        self._closed = False
        self._error = None
        self._thread = None

    # -- requests ---------------------------------------------------------

    def submit(self, prompt, on_token=None, source=None, **sampling):
        """Queues a request for `prompt` (a list of token ids; with
        `source`, the source ids of an encoder-decoder); returns its
        id. `on_token(token, finish)` is called on the stepping thread for
        each token (finish None) and once at the end (finish 'stop',
        'length', 'cancelled' or 'error'; token -1 when it ended without
        one). Sampling options as for Model.generate. Raises xformer.Error
        for a request the engine refuses (nothing is queued then)."""
        unknown = set(sampling) - set(_SAMPLING)
        if unknown:
            raise TypeError("unknown sampling option(s): %s" % ", ".join(sorted(unknown)))
        with self._lock:
            if self._closed:
                raise ValueError("the engine is closed" if self._error is None else
                                 "the engine is closed: " + self._error)
            if source is not None:
                sampling["source"] = [int(t) for t in source]
            rid = self._engine.submit([int(t) for t in prompt], **sampling)
            if on_token is not None:
                self._listeners[rid] = (on_token, False)
            self._pending += 1
            self._submits += 1
            self._wake.notify()
        return rid

    def submit_embedding(self, ids, on_embedding=None, type_ids=None, pooling="mean",
                         normalize=False):
        """Queues an embedding request (an engine over an encoder): `ids`
        a list of token ids; `on_embedding(vector, finish)` gets the
        pooled vector (numpy float32; None when cancelled or failed) on
        the stepping thread. pooling: 'mean' of the tokens' hidden states,
        'cls' (the first token's) or 'model' (the model's pooler);
        normalize=True scales it to unit length."""
        with self._lock:
            if self._closed:
                raise ValueError("the engine is closed")
            rid = self._engine.submit_embedding([int(t) for t in ids],
                                                [int(t) for t in (type_ids or [])],
                                                pooling, normalize)
            if on_embedding is not None:
                self._listeners[rid] = (on_embedding, True)
            self._pending += 1
            self._submits += 1
            self._wake.notify()
        return rid

    def embed(self, batch, **options):
        """Embeddings of every id list of `batch` (a float32 array, one row
        each), batched into encoder calls on the calling thread."""
        import numpy as np
        if self._thread is not None:
            raise ValueError("embed() steps on the calling thread; this engine already "
                             "steps on its background thread")
        out = {}
        for i, ids in enumerate(batch):
            self.submit_embedding(ids, on_embedding=lambda v, f, i=i: out.__setitem__(i, v),
                                  **options)
        while self._pending > 0:
            self._step()
        self._raise_if_failed(None)
        return np.stack([out[i] for i in range(len(batch))])

    async def embed_async(self, ids, **options):
        """The embedding of one request, awaited (asyncio); stepped on the
        background thread with the requests submitted meanwhile."""
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        def finish(vector, reason):
            loop.call_soon_threadsafe(
                lambda: done.done() or done.set_result((vector, reason)))
        rid = self.submit_embedding(ids, on_embedding=finish, **options)
        self._start()
        try:
            vector, reason = await done
        except asyncio.CancelledError:
            self._cancel_quietly(rid)
            raise
        self._raise_if_failed(reason)
        if vector is None:
            raise ValueError("request %d was cancelled" % rid)
        return vector

    def cancel(self, request):
        """Ends a queued or running request at the next step."""
        self._engine.cancel(request)

    def stream(self, prompt, source=None, **sampling):
        """The tokens of one request as they are made (a generator);
        raises xformer.Error if a program call fails under it."""
        q = queue.SimpleQueue()
        rid = self.submit(prompt, on_token=lambda t, f: q.put((t, f)), source=source,
                          **sampling)
        self._start()
        done = False
        try:
            while True:
                token, finish = q.get()
                if token >= 0:
                    yield token
                if finish is not None:
                    done = True
                    self._raise_if_failed(finish)
                    return
        finally:
            if not done:
                self._cancel_quietly(rid)

    async def generate_async(self, prompt, source=None, **sampling):
        """The tokens of one request as they are made (an async generator
        for asyncio); leaving it early cancels the request."""
        loop = asyncio.get_running_loop()
        q = asyncio.Queue()
        rid = self.submit(prompt, on_token=lambda t, f: loop.call_soon_threadsafe(
            q.put_nowait, (t, f)), source=source, **sampling)
        self._start()
        done = False
        try:
            while True:
                token, finish = await q.get()
                if token >= 0:
                    yield token
                if finish is not None:
                    done = True
                    self._raise_if_failed(finish)
                    return
        finally:
            if not done:
                self._cancel_quietly(rid)

    def generate(self, prompts, sources=None, **sampling):
        """Runs every prompt (a list of token lists; an encoder-decoder's
        with `sources`, one source per prompt) to its end on the calling
        thread; their tokens, in order."""
        if sources is not None and len(sources) != len(prompts):
            raise ValueError("%d sources for %d prompts" % (len(sources), len(prompts)))
        if self._thread is not None:
            raise ValueError("generate() steps on the calling thread; this engine "
                             "already steps on its background thread")
        out = {}
        ids = [self.submit(p, on_token=lambda t, f, i=i: out.setdefault(i, []).append(t)
                           if t >= 0 else None,
                           source=None if sources is None else sources[i], **sampling)
               for i, p in enumerate(prompts)]
        while self._pending > 0:
            self._step()
        self._raise_if_failed(None)
        return [out.get(i, []) for i in range(len(ids))]

    # -- state ------------------------------------------------------------

    @property
    def stats(self):
        """Counts: queued, running, finished, steps, prefill_calls,
        decode_calls, prompt_tokens, generated_tokens, prefix_hits,
        prefix_tokens, verify_calls, drafted_tokens, accepted_tokens,
        encode_calls, sources_encoded, source_hits, rows_computed,
        row_moves."""
        return self._engine.stats()

    def close(self):
        """Cancels what is pending, stops the stepping thread and gives the
        model back."""
        with self._lock:
            self._closed = True
            self._wake.notify()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        self._engine.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    # -- stepping ---------------------------------------------------------

    def _start(self):
        with self._lock:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._loop, name="xformer-engine",
                                                daemon=True)
                self._thread.start()

    def _loop(self):
        while True:
            with self._lock:
                while self._pending == 0 and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
            try:
                self._step()
            except BaseException as e:  # end every waiting consumer, not hang it
                self._break(e)
                return

    def _break(self, error):
        with self._lock:
            self._error = "the stepping thread failed: %r" % (error,)
            self._closed = True
            listeners = list(self._listeners.values())
            self._listeners.clear()
        for fn, embedding in listeners:
            fn(None if embedding else -1, "error")

    def _step(self):
        with self._lock:
            submits = self._submits
        pending, events, error = self._engine.step()
        with self._lock:
            if error is not None:
                self._error = error
            # A request submitted during the step may be missing from its
            # count: step again to find out.
            self._pending = pending if self._submits == submits else max(pending, 1)
            listeners = []
            for rid, token, finish, vector in events:
                listener = self._listeners.get(rid)
                if finish is not None:
                    self._listeners.pop(rid, None)
                if listener is not None:
                    fn, embedding = listener
                    listeners.append((fn, vector if embedding else token, finish))
        for fn, token, finish in listeners:
            fn(token, finish)

    def _raise_if_failed(self, finish):
        if finish == "error" or (finish is None and self._error is not None):
            from . import Error
            raise Error("engine", self._error or "a program call failed", 8)

    def _cancel_quietly(self, rid):
        try:
            self._engine.cancel(rid)
        except Exception:
            pass  # it ended meanwhile
