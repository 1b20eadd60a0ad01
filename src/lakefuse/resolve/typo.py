"""Typo-aware vote: variants of one value (typos, case, punctuation, abbreviations) are pooled,
the pool with most supporting cells wins, and its value is the table's usual spelling.

Pools with equal support (most often one cell against one) are told apart, with
``reliability``, by the accuracy that source-reliability truth discovery
(:class:`lakefuse.resolve.truth.SourceTruth`) estimates for the source columns behind each,
then by how usual each is in the column."""

from __future__ import annotations

import math
from collections.abc import Sequence

from lakefuse.resolve.columns import ColumnCounts
from lakefuse.resolve.values import pool
from lakefuse.types import TABLE, ConflictProblem, Decision, ResolveContext


class TypoVote:
    name = "typo_vote"

    def __init__(self, reliability: bool = True) -> None:
        self.reliability = bool(reliability)

    def resolve(
        self, problems: Sequence[ConflictProblem], context: ResolveContext | None
    ) -> list[Decision]:
        counts = ColumnCounts(context)
        trust = self._trust(problems, context)
        out = []
        for p in problems:
            cands = p.candidates
            groups = pool(cands)
            total = sum(len(c.tids) for c in cands)

            def group_key(g: list[int], p: ConflictProblem = p) -> tuple[float, ...]:
                support = sum(len(p.candidates[i].tids) for i in g)
                return (
                    support,
                    round(sum(trust(p.attribute, t) for i in g for t in p.candidates[i].tids), 6),
                    *counts.evidence(p, g),
                    -min(min(p.candidates[i].tids) for i in g),
                )

            best = max(groups, key=group_key)
            i = counts.usual(p, best)
            support = sum(len(cands[j].tids) for j in best)
            out.append(Decision(cands[i].value, self.name, support / total))
        return out

    def _trust(self, problems: Sequence[ConflictProblem], context: ResolveContext | None):
        """tid, attribute -> log-odds accuracy of its source column (0 without reliability)."""
        if not self.reliability or context is None:
            return lambda attribute, tid: 0.0
        from lakefuse.resolve.truth import SourceTruth

        truth = SourceTruth()
        truth.fit(problems, context)
        tables = context.union.values()[TABLE]
        acc = truth.accuracy

        def trust(attribute: str, tid: int) -> float:
            a = acc.get((tables[tid], attribute), truth.prior)
            return math.log(a / (1.0 - a))

        return trust
