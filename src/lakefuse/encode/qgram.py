"""A model-free encoder: hashed character q-gram counts, L2-normalised. Cosine ~ the share
of q-grams two values have in common, so it is robust to typos and blind to meaning. Used by
blocking beside the semantic encoder, and as a fast stand-in in tests."""

from __future__ import annotations

import zlib

import numpy as np

from lakefuse.text.normalize import normalize


def qgram_vectors(values: list[str], q: int = 3, dim: int = 1024) -> np.ndarray:
    out = np.zeros((len(values), dim), dtype=np.float32)
    for i, v in enumerate(values):
        s = f" {normalize(v)} "
        for k in range(max(1, len(s) - q + 1)):
            out[i, zlib.crc32(s[k : k + q].encode()) % dim] += 1.0
    n = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.maximum(n, 1e-12)


class QGramEncoder:
    name = "qgram"
    dim = 384
    cache_key = "qgram-3-384"

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        return qgram_vectors(texts, dim=self.dim)
