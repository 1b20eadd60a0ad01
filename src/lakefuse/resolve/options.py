"""Options of each resolver (``--resolver-opt KEY=VALUE``): types, defaults, ranges.

Light on purpose (pydantic only): the CLI and ``Settings.validate`` read these models without
importing a language model. The resolver options of a run are one pool: each strategy in use
(``--resolver`` and those named in ``per_attribute``) takes the ones in its model."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from lakefuse.registry import Options


class SharedOptions(Options):
    """Options of the resolver stage itself, whichever strategy is chosen."""

    per_attribute: dict[str, str] = Field(
        default_factory=dict,
        description='A strategy per attribute, e.g. {"Location": "typo_vote"}; the other '
        "attributes use --resolver.",
    )


class VoteOptions(Options):
    """Majority vote: the value most tuples hold (ties: the earliest tuple's)."""


class TypoVoteOptions(Options):
    """Vote with spelling variants (typos, case, abbreviations) pooled, answered in the
    column's usual spelling; ties broken by context evidence."""

    context_min_mi: float | None = Field(
        0.3,
        ge=0,
        description="Attributes whose mutual information with the conflicted one reaches "
        "this break ties (null: no context tie-break).",
    )
    context_key_share: float | None = Field(
        0.9,
        ge=0,
        le=1,
        description="Also consulted: attributes on whose rows at least this share of the "
        "conflicted attribute's values are distinct (nearly a key; null: off).",
    )


class TruthOptions(Options):
    """Truth discovery: each source's accuracy and each value's probability, estimated
    together until they settle."""

    iterations: int = Field(20, ge=1, description="Most iterations.")
    prior_accuracy: float = Field(
        0.8, gt=0, lt=1, description="A source's accuracy before any evidence."
    )
    smoothing: float = Field(
        2.0, ge=0, description="Pseudo-claims pulling a source's accuracy toward the prior."
    )
    pool_variants: bool = Field(True, description="Spelling variants count as one value.")
    by_attribute: bool = Field(True, description="A source's accuracy per attribute.")
    column_weight: float = Field(
        0.0, ge=0, description="Weight of how often a value occurs elsewhere in its column."
    )
    context_weight: float = Field(0.0, ge=0, description="Weight of the context evidence.")


class ICLCROptions(Options):
    """In-context learning: a language model picks among the candidates, shown the nearest
    rows of the table as demonstrations; a classic resolver when the model is missing or
    fails."""

    backend: Literal["llama", "openai"] = Field(
        "llama",
        description="llama (llama.cpp, offline) or openai (an OpenAI-compatible server at url).",
    )
    model: str = Field(
        "smollm2", description="smollm2, qwen0.5b or the path of a GGUF file (backend llama)."
    )
    k: int = Field(3, ge=0, description="Demonstrations per conflict.")
    compress: bool = Field(
        True, description="Show only attributes informative about the conflicted one."
    )
    mi_threshold: float = Field(
        0.1, ge=0, description="Mutual information an attribute needs to be shown (compress)."
    )
    max_attributes: int | None = Field(3, ge=1, description="Most attributes shown (null: no cap).")
    selection: Literal["knn", "random"] = Field(
        "knn", description="Demonstrations: the nearest rows, or random ones."
    )
    norm: Literal["sum", "mean", "pmi"] = Field(
        "sum",
        description="Candidate score: log-probability of the whole value (sum), per token "
        "(mean), or minus the log-probability without demonstrations (pmi).",
    )
    prior: float = Field(
        0.0, ge=0, description="Weight of the log prior from prior_from (0: the paper's ICLCR)."
    )
    prior_from: Literal["support", "truth"] = Field(
        "support", description="Prior: share of cells (support) or truth discovery (truth)."
    )
    timeout_s: float = Field(60.0, gt=0, description="Seconds per conflict.")
    fallback: Literal["vote", "typo_vote", "truth"] = Field(
        "typo_vote", description="Classic resolver for conflicts the model does not answer."
    )
    max_failures: int = Field(
        3, ge=1, description="Failures in a row before the model is given up for the run."
    )
    url: str | None = Field(None, description="Server URL (backend openai).")
    api_model: str | None = Field(None, description="Model name on the server (backend openai).")
    cache: bool = Field(True, description="Keep answers per (prompt, model) on disk.")
    n_threads: int | None = Field(
        None, ge=1, description="llama.cpp threads (null: every core this process may use)."
    )
    n_ctx: int = Field(2048, ge=1, description="Context length of the model, in tokens.")
    pool_variants: bool = Field(True, description="Spelling variants of one value are one option.")
    restarts: int = Field(
        1, ge=0, description="New model processes after a crash or hang (0: give up at once)."
    )
