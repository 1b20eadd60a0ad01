"""Options of each blocker (``--blocker-opt KEY=VALUE``): types, defaults, ranges.

Light on purpose (pydantic only): the CLI and ``Settings.validate`` read these models without
importing the blockers themselves."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from lakefuse.registry import Options

#: the text encoders of :mod:`lakefuse.encode` (``ENCODERS``; a test keeps the two equal)
Encoder = Literal["auto", "minilm", "minilm-bf16", "minilm-onnx", "static", "qgram"]


class TokenOptions(Options):
    """Pairs sharing a rare-enough key (a word, a code, a number with its unit, a short value,
    a token one edit away), ranked by summed IDF within the per-tuple budget
    (``--max-candidates``)."""

    max_df: int | None = Field(
        None,
        ge=2,
        le=2**31 - 1,
        description="Keys shared by more tuples than this are skipped (null: 4 sqrt(n), "
        "clipped to 50..max_df_cap).",
    )
    fill: bool = Field(
        True,
        description="Take pairs until the mean per tuple reaches the budget (false: each "
        "tuple keeps exactly its budget of best partners).",
    )
    local_scale: int = Field(
        10,
        ge=0,
        le=100_000,
        description="With fill: rank a pair by its score over both sides' mean score with "
        "their this many best partners (0: by the better side's rank).",
    )
    phrase_jaccard: float = Field(
        0.8,
        ge=0,
        le=1,
        description="Words that occur together with at least this Jaccard overlap count "
        "once, as one phrase (0: off).",
    )
    phrase_min_df: int = Field(
        20, ge=1, le=2**31 - 1, description="Fewest tuples a phrase must occur in to count as one."
    )

    compound: bool = Field(
        True,
        description="Whole values and words too common to be keys are combined two by two "
        "within a tuple (a given name with a town): keys again where each alone is not.",
    )
    max_df_cap: int = Field(
        100,
        ge=2,
        le=2**31 - 1,
        description="Upper clip of the default max_df: fixed, so that the pairs one key makes "
        "do not grow with the lake (common values meet through compound keys instead).",
    )


class QGramOptions(TokenOptions):
    """Token blocking plus the character 3-grams of each token: survives typos inside
    tokens."""


class ANNOptions(Options):
    """Each tuple's nearest tuples by embedding (faiss)."""

    k: int | None = Field(
        None, ge=1, description="Neighbours per tuple (null: a third of the budget)."
    )
    encoder: Encoder = Field(
        "auto",
        description="Text encoder of the cell values (auto: minilm-bf16 on a CPU with AMX, "
        "else the float32 minilm).",
    )
    threads: int | None = Field(
        None,
        ge=1,
        description="Threads for encoding and the neighbour search (null: $LAKEFUSE_THREADS, "
        "else every available core).",
    )


class HybridOptions(ANNOptions):
    """The union of embedding neighbours of the whole tuple, value neighbours attribute by
    attribute and token blocking."""

    k: int | None = Field(
        None, ge=1, description="Embedding neighbours per tuple (null: a fifth of the budget)."
    )

    value_share: float = Field(
        0.2, ge=0, le=1, description="Share of the budget for value neighbours."
    )
    token_share: float = Field(
        0.1, ge=0, le=1, description="Share of the budget for token blocking."
    )
