"""Augmentations that make self-supervised training pairs from the table being integrated.

Positives: semantic equivalents (SE, :mod:`lakefuse.augment.semantic`), typos (TE,
:mod:`lakefuse.augment.typo`) and dropped attributes (nulls). Hard negatives: the anchor with
an identifying attribute swapped for another tuple's value (a small change that flips the
match)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lakefuse.augment.semantic import (
    canonical,
    parse_number,
    same_meaning,
    semantic_variant,
    semantic_variants,
)
from lakefuse.augment.typo import typo

Row = list[str | None]

__all__ = [
    "Augmenter",
    "Row",
    "canonical",
    "same_meaning",
    "semantic_variant",
    "semantic_variants",
    "typo",
]


@dataclass
class Augmenter:
    """Per-attribute corruption of tuples. ``identifying``: indices of attributes a positive
    must keep at least one of (so that no positive rests on a shared city alone)."""

    se: bool = True
    te: bool = True
    drop: bool = True
    p_se: float = 0.25
    p_te: float = 0.25
    p_drop: float = 0.25
    max_typos: int = 2

    def value(self, v: str, rng: np.random.Generator) -> tuple[str, str]:
        """One corrupted form of ``v`` and the kind of change ('se', 'te', '')."""
        kinds = []
        if self.se and rng.random() < self.p_se:
            kinds.append("se")
        if self.te and rng.random() < self.p_te:
            kinds.append("te")
        out, made = v, []
        for k in kinds:
            if k == "se":
                alt = semantic_variant(out, rng)
                if alt is not None:
                    out, made = alt, [*made, "se"]
            elif parse_number(out) is None:  # a typo in a number makes another number
                n = 1 + int(rng.integers(self.max_typos)) if len(out) > 6 else 1
                alt = typo(out, rng, n)
                if alt != out and alt.strip():
                    out, made = alt, [*made, "te"]
        return out, "+".join(made)

    def positive(
        self, row: Sequence[str | None], identifying: Sequence[int], rng: np.random.Generator
    ) -> Row:
        """A corrupted copy of ``row`` that still denotes the same entity."""
        out: Row = [self.value(v, rng)[0] if v is not None else None for v in row]
        if self.drop:
            present = [j for j, v in enumerate(row) if v is not None]
            keep_id = [j for j in identifying if row[j] is not None]
            must = keep_id[int(rng.integers(len(keep_id)))] if keep_id else None
            for j in present:
                if j != must and rng.random() < self.p_drop:
                    out[j] = None
            if all(v is None for v in out) and present:
                j = must if must is not None else present[0]
                out[j] = row[j]
        return out

    def dropped(self, row: Sequence[str | None], rng: np.random.Generator, keep: int) -> Row:
        """``row`` with some attributes nulled, never attribute ``keep``."""
        if not self.drop:
            return list(row)
        return [
            v if (j == keep or rng.random() >= self.p_drop) else None for j, v in enumerate(row)
        ]
