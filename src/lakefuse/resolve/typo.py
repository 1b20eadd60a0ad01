"""Typo-aware vote: variants of one value (typos, case, punctuation, abbreviations) are pooled,
the pool with most supporting cells wins, and its value is the table's usual spelling."""

from __future__ import annotations

from collections.abc import Sequence

from lakefuse.resolve.values import ColumnCounts, pool
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
            col = counts(p.attribute)

            def group_key(g: list[int], col=col, cands=cands) -> tuple[int, int, int]:
                support = sum(len(cands[i].tids) for i in g)
                usual = sum(col[cands[i].value] for i in g)
                return support, usual, -min(min(cands[i].tids) for i in g)

            best = max(groups, key=group_key)
            i = counts.usual(p, best)
            support = sum(len(cands[j].tids) for j in best)
            out.append(Decision(cands[i].value, self.name, support / total))
        return out
