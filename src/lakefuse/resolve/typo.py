"""Typo-aware vote: variants of one value (typos, case, punctuation, abbreviations) are pooled,
the pool with most supporting cells wins, and its value is the table's usual spelling.

Pools with equal support (one cell against one, the usual case when two tables disagree) are
told apart by the rest of the table (:mod:`lakefuse.resolve.context`): a value that other rows
pair with other values than the merged tuple's (another entity's suburb, copied in by mistake)
loses to one the table does not contradict. Only attributes whose mutual information with the
conflicted one reaches ``context_min_mi`` are consulted (``None`` turns this off), and those on
whose rows the conflicted attribute is nearly a key (a share ``context_key_share`` of its
values distinct: a title that occurs elsewhere with another venue belongs to another paper;
``None`` turns this part off); after that come the column's own evidence (occurrences
elsewhere, usual format and words) and the earliest tuple."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from lakefuse.resolve.columns import ColumnCounts, lazy_max
from lakefuse.resolve.context import ContextEvidence
from lakefuse.resolve.values import pool
from lakefuse.types import ConflictProblem, Decision, ResolveContext


class TypoVote:
    name = "typo_vote"

    def __init__(
        self, context_min_mi: float | None = 0.3, context_key_share: float | None = 0.9
    ) -> None:
        self.context_min_mi = None if context_min_mi is None else float(context_min_mi)
        self.context_key_share = None if context_key_share is None else float(context_key_share)

    def resolve(
        self, problems: Sequence[ConflictProblem], context: ResolveContext | None
    ) -> list[Decision]:
        counts = ColumnCounts(context)
        ctx = (
            ContextEvidence(
                context,
                problems,
                min_weight=self.context_min_mi,
                key_share=self.context_key_share,
            )
            if context is not None and self.context_min_mi is not None
            else None
        )
        out = []
        for p in problems:
            cands = p.candidates
            groups = pool(cands)
            total = sum(len(c.tids) for c in cands)

            # support decides first; the context and column evidence (the costly keys) are
            # computed only for the pools still tied
            keys: list[Callable[[list[int]], Any]] = [
                lambda g, p=p: sum(len(p.candidates[i].tids) for i in g)
            ]
            if ctx is not None:
                keys.append(lambda g, p=p, c=ctx: round(c.score(p, g), 3))
            # counts.evidence, one part at a time
            keys.append(lambda g, p=p: max(counts.outside(p, i) for i in g))
            keys.append(
                lambda g, p=p: max(
                    round(counts.format_share(p.attribute, p.candidates[i].value), 2) for i in g
                )
            )
            keys.append(
                lambda g, p=p: max(
                    round(counts.spelling(p.attribute, p.candidates[i].value), 6) for i in g
                )
            )
            keys.append(lambda g, p=p: -min(min(p.candidates[i].tids) for i in g))
            best = groups[0] if len(groups) == 1 else lazy_max(groups, keys)
            i = counts.usual(p, best)
            support = sum(len(cands[j].tids) for j in best)
            out.append(Decision(cands[i].value, self.name, support / total))
        return out
