"""A static embedding model distilled from MiniLM, the model2vec way: every vocabulary token
is passed once through the frozen MiniLM (``[CLS] token [SEP]``, mean pooled); a string is
the normalised, Zipf-weighted mean of its tokens' vectors. No transformer at run time, so
it embeds tens of thousands of strings a second: meant for blocking.

The token table is computed on first use (about a minute on 2 cores) and kept in the cache
folder as ``static-minilm-v1.npy``."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np

from lakefuse.encode.cache import cache_dir
from lakefuse.encode.minilm import DIM
from lakefuse.text.words import tokenizer

log = logging.getLogger("lakefuse")
VERSION = "static-minilm-v1"
_LOCK = threading.Lock()


def distill(batch: int = 512) -> np.ndarray:
    """Token table (vocab x 384), rows L2-normalised, scaled by a Zipf weight by id."""
    from lakefuse.encode.minilm import OnnxMiniLM

    tok = tokenizer()
    vocab = tok.get_vocab_size()
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    model = OnnxMiniLM()
    table = np.zeros((vocab, DIM), dtype=np.float32)
    for s in range(0, vocab, batch):
        ids = [[cls_id, t, sep_id] for t in range(s, min(vocab, s + batch))]
        table[s : s + len(ids)] = model.encode_ids(ids)
    # model2vec's SIF-style weight: rarer (later, by WordPiece id order) tokens weigh more
    rank = np.arange(vocab, dtype=np.float64) + 1.0
    prob = 1.0 / (rank * np.log(vocab))
    weight = 1e-4 / (1e-4 + prob)
    return (table * weight[:, None].astype(np.float32)).astype(np.float32)


class StaticMiniLM:
    name = "static"
    dim = DIM
    cache_key = VERSION
    _instance: StaticMiniLM | None = None

    def __init__(self, table: np.ndarray) -> None:
        self.table = table
        tok = tokenizer()
        self.special = {tok.token_to_id(t) for t in ("[CLS]", "[SEP]", "[PAD]", "[UNK]")}

    @classmethod
    def get(cls, folder: Path | None = None) -> StaticMiniLM:
        with _LOCK:
            if cls._instance is None:
                path = (folder or cache_dir()) / f"{VERSION}.npy"
                table: np.ndarray | None = None
                if path.exists():
                    try:
                        table = np.load(path)
                    except (OSError, ValueError):
                        table = None
                if table is None:
                    log.info("distilling the static MiniLM token table (once)")
                    table = distill()
                    try:
                        path.parent.mkdir(parents=True, exist_ok=True)
                        tmp = path.with_suffix(".tmp.npy")
                        np.save(tmp, table)
                        tmp.replace(path)
                    except OSError:
                        pass
                cls._instance = cls(table)
            return cls._instance

    def encode_ids(self, batch: list[list[int]]) -> np.ndarray:
        out = np.zeros((len(batch), DIM), dtype=np.float32)
        for i, ids in enumerate(batch):
            keep = [t for t in ids if t not in self.special] or ids
            out[i] = self.table[keep].mean(axis=0)
        n = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(n, 1e-12)
