"""Token and q-gram blocking, run by the engine (SQL), IDF-ranked and capped per tuple."""

from __future__ import annotations

import math

from lakefuse.config import Settings
from lakefuse.types import CandidatePairs, UnionTable


class TokenBlocker:
    """Pairs sharing a rare-enough key (a word token, a code without its punctuation, the
    letter and digit runs of a code, a number with its unit, a whole short value, or a token
    one edit away), ranked by summed IDF; each tuple keeps its best
    partners and a pair stays when either side keeps it, so hubs keep their links.

    The budget ``settings.max_candidates_per_tuple`` is a mean: with ``fill`` (the default)
    pairs are taken by their better side's rank until the mean reaches it; without, each
    tuple keeps exactly that many best partners (overlaps leave the mean below it)."""

    name = "token"
    qgram = 0

    def __init__(self, max_df: int | None = None, fill: bool = True) -> None:
        self.max_df = max_df
        self.fill = fill

    def _max_df(self, n: int) -> int:
        if self.max_df is not None:
            return self.max_df
        return int(max(50, min(2000, 4 * math.sqrt(n))))

    def candidates(self, union: UnionTable, settings: Settings) -> CandidatePairs:
        per_tuple = max(1, settings.max_candidates_per_tuple)
        table = union.engine.token_candidates(
            union.name,
            union.evidence_attributes,
            per_tuple,
            self._max_df(union.n_tuples),
            self.qgram,
            self.fill,
        )
        return CandidatePairs(table, self.name)


class QGramBlocker(TokenBlocker):
    """Word tokens plus character 3-grams of each token: survives typos inside tokens."""

    name = "qgram"
    qgram = 3
