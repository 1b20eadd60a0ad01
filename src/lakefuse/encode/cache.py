"""On-disk embedding cache: one SQLite file, rows keyed by (model, sha1 of the value).

Vectors are stored as float16; a freshly computed vector is rounded the same way before it
is returned, so a run gives the same numbers whether its embeddings came from the cache or
not."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

STORE_DTYPE = np.float16


def cache_dir() -> Path:
    """``$LAKEFUSE_CACHE``, else ``$XDG_CACHE_HOME/lakefuse``, else ``~/.cache/lakefuse``."""
    env = os.environ.get("LAKEFUSE_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "lakefuse"


def value_key(value: str) -> bytes:
    return hashlib.sha1(value.encode("utf-8", "surrogatepass")).digest()


def round_trip(vectors: np.ndarray) -> np.ndarray:
    """What the cache gives back for ``vectors``."""
    return vectors.astype(STORE_DTYPE).astype(np.float32)


class EmbeddingCache:
    """Get/put vectors of one model. ``path=None`` or the env var ``LAKEFUSE_NO_CACHE=1``
    keeps everything in memory only. Vectors are held (and given back) as float16, as
    stored: half the memory of float32 in a large lake. Safe to share between threads (a
    judge scores batches on several): the SQLite connection is used under a lock."""

    def __init__(self, model: str, dim: int, path: str | Path | None = "default") -> None:
        self.model = model
        self.dim = dim
        self.memory: dict[bytes, np.ndarray] = {}
        self.con: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        if path == "default":
            path = None if os.environ.get("LAKEFUSE_NO_CACHE") == "1" else cache_dir()
        if path is not None:
            folder = Path(path)
            try:
                folder.mkdir(parents=True, exist_ok=True)
                self.con = sqlite3.connect(
                    str(folder / "embeddings.sqlite"), timeout=60, check_same_thread=False
                )
                self.con.execute(
                    "CREATE TABLE IF NOT EXISTS emb (model TEXT NOT NULL, key BLOB NOT NULL, "
                    "vec BLOB NOT NULL, PRIMARY KEY (model, key)) WITHOUT ROWID"
                )
                self.con.commit()
            except (OSError, sqlite3.Error):  # read-only home, locked file: memory only
                self.con = None

    def get(self, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        found = {k: self.memory[k] for k in keys if k in self.memory}
        missing = [k for k in keys if k not in found]
        if self.con is not None and missing:
            for s in range(0, len(missing), 900):
                chunk = missing[s : s + 900]
                marks = ",".join("?" * len(chunk))
                with self._lock:
                    rows = self.con.execute(
                        f"SELECT key, vec FROM emb WHERE model = ? AND key IN ({marks})",
                        [self.model, *chunk],
                    ).fetchall()
                for k, blob in rows:
                    v = np.frombuffer(blob, dtype=STORE_DTYPE).copy()
                    if v.shape[0] == self.dim:
                        found[bytes(k)] = v
                        self.memory[bytes(k)] = v
        return found

    def put(self, items: Iterable[tuple[bytes, np.ndarray]]) -> None:
        rows = []
        for k, v in items:
            v = v.astype(STORE_DTYPE)  # exact: vectors are rounded to it before they are put
            self.memory[k] = v
            rows.append((self.model, k, v.tobytes()))
        if self.con is not None and rows:
            with self._lock:
                try:
                    self.con.executemany("INSERT OR REPLACE INTO emb VALUES (?, ?, ?)", rows)
                    self.con.commit()
                except sqlite3.Error:
                    pass

    def close(self) -> None:
        with self._lock:
            if self.con is not None:
                self.con.close()
                self.con = None
