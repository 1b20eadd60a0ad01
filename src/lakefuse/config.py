"""Settings as data: one dataclass that fully describes a run, serialisable to run.json."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Settings:
    """Every knob of a lakefuse run. Stage implementations are chosen by name.

    ``*_options`` hold strategy-specific keyword arguments, so that a new strategy
    needs no new field here.
    """

    engine: str = "duckdb"
    blocker: str = "token"
    #: ssacl: the best measured pairwise F1 in every noise setting (bench)
    judge: str = "ssacl"
    sets: str = "hybrid"
    #: typo_vote: best conflict accuracy in the full bench (>= truth on every task)
    resolver: str = "typo_vote"
    #: decision threshold on the judge score; None = chosen without labels
    threshold: float | None = None
    #: cap on candidate pairs per tuple (blocking)
    max_candidates_per_tuple: int = 50
    seed: int = 0
    #: header -> attribute mapping (from --columns)
    columns: dict[str, str] | None = None
    #: where ``columns`` came from (named in errors)
    columns_file: str | None = None
    #: per-table row-id columns to ignore as evidence; None = detect (lakefuse.io.profile)
    surrogate_keys: list[str] | None = None
    #: saved judge model to reuse (``lakefuse train``)
    model_path: str | None = None
    #: pairs.parquet of an earlier run with the same inputs and judge: its scores are reused
    #: when its candidate pairs are exactly this run's (bench variants of sets or resolver)
    pairs_cache: str | None = None
    quiet: bool = False
    blocker_options: dict[str, Any] = field(default_factory=dict)
    judge_options: dict[str, Any] = field(default_factory=dict)
    sets_options: dict[str, Any] = field(default_factory=dict)
    resolver_options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Settings:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown settings: {sorted(unknown)}")
        return cls(**data)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def parse_options(pairs: Iterable[str] | None) -> dict[str, Any]:
    """``key=value`` strings (``--judge-opt`` and the like) as a dict; values parsed as JSON
    where they parse, else kept as text. ValueError names an item without ``=``."""
    out: dict[str, Any] = {}
    for item in pairs or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"option {item!r} is not key=value")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out
