"""Text encoders for cell values: frozen, offline, cached on disk.

``get_embedder(name)`` gives an :class:`Embedder` whose ``embed(values)`` returns one
L2-normalised float32 row per value. Each distinct value is embedded once; vectors are kept
in an on-disk cache keyed by model name and value hash (see :mod:`lakefuse.encode.cache`).

Encoders: ``minilm`` (all-MiniLM-L6-v2, torch, float32), ``minilm-bf16`` (the same weights,
bfloat16 matrix products), ``minilm-onnx`` (the same model, int8 ONNX on onnxruntime, no
torch), ``static`` (a static token-embedding model distilled from MiniLM, model2vec-style:
~100x faster, for blocking), ``qgram`` (hashed character 3-grams: no model at all;
typo-robust, meaning-blind). ``auto`` (the default) is ``minilm-bf16`` on a CPU that
multiplies bfloat16 matrices in hardware (Intel AMX), else ``minilm``
(:func:`resolve_encoder`)."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Protocol

import numpy as np

from lakefuse.encode.cache import EmbeddingCache, round_trip, value_key
from lakefuse.text.rows import ArrowStrings, Strings

log = logging.getLogger("lakefuse")

ENCODERS = ("auto", "minilm", "minilm-bf16", "minilm-onnx", "static", "qgram")

#: a value of digits and separators only: an id, a date, a postcode, a phone number, a price
_NUMERIC = re.compile(r"[(+]?[0-9][0-9\s.,:;/+#()-]*")


def numeric_only(value: str) -> bool:
    """Digits and separators only ("1978-03-12", "2170", "(02) 9876 5432", "29.99"): a
    language model reads such a string as word pieces of digits, which says little more than
    its characters do."""
    return _NUMERIC.fullmatch(value.strip()) is not None


class Encoder(Protocol):
    name: str
    dim: int

    def encode_ids(self, batch: list[list[int]]) -> np.ndarray: ...


@lru_cache(maxsize=1)
def amx() -> bool:
    """Whether this CPU multiplies bfloat16 matrices in hardware (Intel AMX tiles), as torch
    sees it."""
    try:
        import torch

        return bool(torch.cpu._is_amx_tile_supported())
    except Exception:  # an older or newer torch without the probe: assume not
        return False


def resolve_encoder(name: str) -> str:
    """``name`` itself, or for ``auto`` the MiniLM to use: ``minilm-bf16`` on a CPU with AMX,
    else the float32 model ``minilm`` (without AMX bfloat16 is emulated and slow).

    Chosen by ``lakefuse bench scale encoders`` (2 cores each). On an AMX Xeon the bfloat16
    model embeds cell values about 3x as fast as the int8 ONNX one (FEBRL4's 3,288 against
    1,132 a second, Abt-Buy's 823 against 266), its vectors nearer the float32 model's
    (cosine > 0.9999 against 0.997). On an AVX-512 Xeon without AMX the float32 model is the
    faster: 1.48x / 1.26x the int8 model's rate there (FEBRL4 1,653 against 1,115 a second,
    Abt-Buy 341 against 271; bfloat16 emulated 410 and 92), and 1.3x on the 10k generated
    people's 8,604 non-numeric values (4.6 s against 6.0 s); it is the reference the other
    two round. The int8 model stays a choice (``encoder=minilm-onnx``), as on a CPU with
    neither (AVX2 only, not measured here) it may be the faster. Until the one-to-one step
    stopped counting a product line's models as a catalogue's duplicates bfloat16 was kept to
    large lakes: abt_buy swung between F1 0.90 and 0.05 with the encoder's rounding as with
    the training seed."""
    if name != "auto":
        return name
    return "minilm-bf16" if amx() else "minilm"


@lru_cache(maxsize=8)
def get_encoder(name: str, threads: int | None = None) -> Encoder:
    """The encoder ``name`` (``auto``: :func:`resolve_encoder`); the model encoders run on
    ``threads`` threads (None: every available core, see :mod:`lakefuse.threads`)."""
    name = resolve_encoder(name)
    if name == "minilm-onnx":
        from lakefuse.encode.minilm import OnnxMiniLM

        return OnnxMiniLM(threads)
    if name == "minilm":
        from lakefuse.encode.minilm import TorchMiniLM

        return TorchMiniLM(threads)
    if name == "minilm-bf16":
        from lakefuse.encode.minilm import TorchMiniLM

        return TorchMiniLM(threads, bf16=True)
    if name == "static":
        from lakefuse.encode.static import StaticMiniLM

        return StaticMiniLM.get()
    if name == "qgram":
        from lakefuse.encode.qgram import QGramEncoder

        return QGramEncoder()  # type: ignore[return-value]
    raise ValueError(f"unknown encoder {name!r} (available: {', '.join(ENCODERS)})")


class Embedder:
    """Batched, cached embedding of strings with one encoder."""

    def __init__(
        self,
        name: str = "auto",
        cache: str | None = "default",
        batch_tokens: int = 4096,
        progress: Callable[[int, int], None] | None = None,
        threads: int | None = None,
        numbers_by_chars: bool = False,
    ) -> None:
        self.name = resolve_encoder(name)
        #: numeric-only values (:func:`numeric_only`) as hashed character 3-grams (the qgram
        #: encoder, same dimension) instead of through the model: a lake's ids, dates and
        #: postcodes are most of its distinct values and the model's slowest work
        self.numbers_by_chars = numbers_by_chars
        self.encoder = get_encoder(self.name, threads)
        self.dim = self.encoder.dim
        self.cache = EmbeddingCache(self.encoder_key, self.dim, cache)
        self.batch_tokens = batch_tokens
        self.progress = progress
        self.stats = {"requested": 0, "computed": 0, "seconds": 0.0}

    @property
    def encoder_key(self) -> str:
        return getattr(self.encoder, "cache_key", self.name)

    def embed(self, values: Sequence[str]) -> np.ndarray:
        """One row per value (duplicates share a computation)."""
        if self.numbers_by_chars and self.name != "qgram":
            return self._routed(values)
        return self._embed(values)

    def embed_all(self, values: Strings) -> np.ndarray:
        """:meth:`embed` of many values (a whole dictionary): Arrow-held strings are embedded
        a batch at a time, never read into one list."""
        if not isinstance(values, ArrowStrings):
            return self.embed(values)
        out = np.zeros((len(values), self.dim), dtype=np.float32)
        for start, batch in values.batches():
            out[start : start + len(batch)] = self.embed(batch)
        return out

    def _embed(self, values: Sequence[str]) -> np.ndarray:
        from lakefuse.text.words import tokenize

        t0 = time.perf_counter()
        distinct = list(dict.fromkeys(values))
        keys = [value_key(v) for v in distinct]
        found = self.cache.get(keys)
        todo = [i for i, k in enumerate(keys) if k not in found]
        self.stats["requested"] += len(distinct)
        if todo and hasattr(self.encoder, "encode_texts"):
            vecs = round_trip(self.encoder.encode_texts([distinct[i] for i in todo]))
            self.cache.put((keys[i], vecs[j]) for j, i in enumerate(todo))
            for j, i in enumerate(todo):
                found[keys[i]] = vecs[j]
            self.stats["computed"] += len(todo)
        elif todo:
            ids = tokenize([distinct[i] for i in todo])
            order = sorted(range(len(todo)), key=lambda j: (len(ids[j]), j))
            vecs = np.zeros((len(todo), self.dim), dtype=np.float32)
            s = 0
            done = 0
            while s < len(order):
                width = len(ids[order[s]])
                e = s
                while e < len(order) and (e - s + 1) * max(width, len(ids[order[e]])) <= max(
                    self.batch_tokens, len(ids[order[e]])
                ):
                    width = max(width, len(ids[order[e]]))
                    e += 1
                e = max(e, s + 1)
                chunk = order[s:e]
                vecs[chunk] = self.encoder.encode_ids([ids[j] for j in chunk])
                done += len(chunk)
                if self.progress is not None:
                    self.progress(done, len(todo))
                s = e
            vecs = round_trip(vecs)
            self.cache.put((keys[i], vecs[j]) for j, i in enumerate(todo))
            for j, i in enumerate(todo):
                found[keys[i]] = vecs[j]
            self.stats["computed"] += len(todo)
            log.debug("embedded %d new values with %s", len(todo), self.name)
        index = {v: i for i, v in enumerate(distinct)}
        table = (
            np.stack([found[k] for k in keys]).astype(np.float32)
            if keys
            else np.zeros((0, self.dim), np.float32)
        )
        self.stats["seconds"] += time.perf_counter() - t0
        return table[[index[v] for v in values]] if len(values) else table

    def _routed(self, values: Sequence[str]) -> np.ndarray:
        """:meth:`embed` with numeric-only values as hashed character 3-grams."""
        from lakefuse.encode.qgram import qgram_vectors

        out = np.zeros((len(values), self.dim), dtype=np.float32)
        numeric = np.array([numeric_only(v) for v in values], dtype=bool)
        rest, nums = np.flatnonzero(~numeric), np.flatnonzero(numeric)
        if len(rest):
            out[rest] = self._embed([values[i] for i in rest.tolist()])
        if len(nums):
            t0 = time.perf_counter()
            # rounded as every vector the embedder gives is (float16 tables hold them exactly)
            out[nums] = round_trip(qgram_vectors([values[i] for i in nums.tolist()], dim=self.dim))
            self.stats["requested"] += len(nums)
            self.stats["seconds"] += time.perf_counter() - t0
        return out
