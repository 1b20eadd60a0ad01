"""Pairwise integrability judgment: may two tuples be merged?"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from lakefuse.config import Settings
from lakefuse.judge.options import SimilarityOptions, SSACLOptions
from lakefuse.registry import Registry
from lakefuse.types import ScoredPairs, UnionTable


class Judge(Protocol):
    name: str

    def fit(self, union: UnionTable, settings: Settings) -> None:
        """Prepare on the union (self-supervised judges train here; no labels)."""

    def score(self, union: UnionTable, left: np.ndarray, right: np.ndarray) -> ScoredPairs:
        """Judge pairs of tids (left[i], right[i])."""


JUDGES = Registry(
    "judge",
    {
        "similarity": ("lakefuse.judge.similarity:SimilarityJudge", SimilarityOptions),
        "ssacl": ("lakefuse.judge.ssacl:SSACLJudge", SSACLOptions),
    },
    flag="--judge",
    # embedding (torch), neighbour search (faiss), the optimiser's first step (torch's
    # compiler stack, over a second to import)
    heavy={"ssacl": ("torch", "faiss", "torch._dynamo")},
)


def get_judge(name: str, **options: object) -> Judge:
    return JUDGES.create(name, **options)


def load_judge(path: str) -> Judge:
    """Load a judge saved by ``lakefuse train`` (a folder with ``judge.json`` naming it)."""
    import json
    from pathlib import Path

    from lakefuse.errors import InputError

    meta = Path(path) / "judge.json"
    if not meta.exists():
        raise InputError("not a lakefuse model folder (no judge.json)", file=str(path))
    name = json.loads(meta.read_text())["name"]
    return JUDGES.load(name).load(path)
