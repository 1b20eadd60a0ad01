"""Typo-aware vote: variants of one value (typos, case, punctuation, abbreviations) are pooled,
the pool with most supporting cells wins, and its value is the table's usual spelling."""

from __future__ import annotations

from collections.abc import Sequence

from lakefuse.resolve.columns import ColumnCounts
from lakefuse.resolve.values import pool
from lakefuse.types import ConflictProblem, Decision, ResolveContext


class TypoVote:
    name = "typo_vote"

    def resolve(
        self, problems: Sequence[ConflictProblem], context: ResolveContext | None
    ) -> list[Decision]:
        counts = ColumnCounts(context)
        out = []
        for p in problems:
            cands = p.candidates
            groups = pool(cands)
            total = sum(len(c.tids) for c in cands)

            def group_key(g: list[int], p: ConflictProblem = p) -> tuple[float, ...]:
                support = sum(len(p.candidates[i].tids) for i in g)
                return (support, *counts.evidence(p, g), -min(min(p.candidates[i].tids) for i in g))

            best = max(groups, key=group_key)
            i = counts.usual(p, best)
            support = sum(len(cands[j].tids) for j in best)
            out.append(Decision(cands[i].value, self.name, support / total))
        return out
