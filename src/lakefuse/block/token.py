"""Token and q-gram blocking, run by the engine (SQL), IDF-ranked and capped per tuple."""

from __future__ import annotations

import math

from lakefuse.block.token_sql import token_candidates
from lakefuse.config import Settings
from lakefuse.types import CandidatePairs, UnionTable


class TokenBlocker:
    """Pairs sharing a rare-enough key (a word token, a code without its punctuation, the
    letter and digit runs of a code, a number with its unit, a whole short value, or a token
    one edit away), ranked by summed IDF; each tuple keeps its best
    partners and a pair stays when either side keeps it, so hubs keep their links.

    The budget ``settings.max_candidates_per_tuple`` is a mean: with ``fill`` (the default)
    pairs are taken until the mean reaches it, by their score over the geometric mean of
    both sides' mean score with their ``local_scale`` best partners (0: by their better
    side's rank); without, each tuple keeps exactly that many best partners (overlaps leave
    the mean below it). Words that occur together, in at least ``phrase_min_df`` tuples
    with a Jaccard overlap of ``phrase_jaccard`` or more (a site's name, a shop's slogan),
    count once, as one phrase (0: off).

    Keys in more than ``max_df`` tuples are skipped; by default ``max_df`` grows as 4 sqrt(n)
    up to ``max_df_cap`` (100), then stays: a key in d tuples makes d^2/2 pairs, so a cap that
    grew with the lake made blocking superlinear (n^1.5). Whole values and words over the cap
    are combined two by two within each tuple (``compound``): "john" and "york" are common,
    "john" in "york" is not, so the common values of a large lake still meet through their
    combinations."""

    name = "token"
    qgram = 0

    def __init__(
        self,
        max_df: int | None = None,
        fill: bool = True,
        local_scale: int = 10,
        phrase_jaccard: float = 0.8,
        phrase_min_df: int = 20,
        compound: bool = True,
        max_df_cap: int = 100,
    ) -> None:
        self.compound = compound
        self.max_df_cap = max_df_cap
        self.max_df = max_df
        self.fill = fill
        self.local_scale = local_scale
        self.phrase_jaccard = phrase_jaccard
        self.phrase_min_df = phrase_min_df

    def _max_df(self, n: int) -> int:
        if self.max_df is not None:
            return self.max_df
        return int(max(50, min(self.max_df_cap, 4 * math.sqrt(n))))

    def candidates(self, union: UnionTable, settings: Settings) -> CandidatePairs:
        per_tuple = max(1, settings.max_candidates_per_tuple)
        table = token_candidates(
            union.engine,
            union.name,
            union.evidence_attributes,
            per_tuple,
            self._max_df(union.n_tuples),
            self.qgram,
            self.fill,
            self.local_scale,
            self.phrase_jaccard,
            self.phrase_min_df,
            self.compound,
        )
        return CandidatePairs(table, self.name)


class QGramBlocker(TokenBlocker):
    """Word tokens plus character 3-grams of each token: survives typos inside tokens."""

    name = "qgram"
    qgram = 3
