"""Candidate generation (blocking): which pairs the judge looks at."""

from __future__ import annotations

from typing import Protocol

from lakefuse.block.options import ANNOptions, HybridOptions, QGramOptions, TokenOptions
from lakefuse.config import Settings
from lakefuse.registry import Registry
from lakefuse.types import CandidatePairs, UnionTable


class Blocker(Protocol):
    name: str

    def candidates(self, union: UnionTable, settings: Settings) -> CandidatePairs: ...


BLOCKERS = Registry(
    "blocker",
    {
        "token": ("lakefuse.block.token:TokenBlocker", TokenOptions),
        "qgram": ("lakefuse.block.token:QGramBlocker", QGramOptions),
        "ann": ("lakefuse.block.ann:ANNBlocker", ANNOptions),
        "hybrid": ("lakefuse.block.ann:HybridBlocker", HybridOptions),
    },
    flag="--blocker",
)


def get_blocker(name: str, **options: object) -> Blocker:
    return BLOCKERS.create(name, **options)
