"""Candidate generation (blocking): which pairs the judge looks at."""

from __future__ import annotations

from typing import Protocol

from lakefuse.config import Settings
from lakefuse.registry import Registry
from lakefuse.types import CandidatePairs, UnionTable


class Blocker(Protocol):
    name: str

    def candidates(self, union: UnionTable, settings: Settings) -> CandidatePairs: ...


BLOCKERS = Registry(
    "blocker",
    {
        "token": "lakefuse.block.token:TokenBlocker",
        "qgram": "lakefuse.block.token:QGramBlocker",
        "ann": "lakefuse.block.ann:ANNBlocker",
        "hybrid": "lakefuse.block.ann:HybridBlocker",
    },
)


def get_blocker(name: str, **options: object) -> Blocker:
    return BLOCKERS.create(name, **options)
