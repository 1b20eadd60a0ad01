"""Majority vote: the value carried by most input cells; ties go to the earliest tuple."""

from __future__ import annotations

from collections.abc import Sequence

from lakefuse.types import ConflictProblem, Decision, ResolveContext


class MajorityVote:
    name = "vote"

    def resolve(
        self, problems: Sequence[ConflictProblem], context: ResolveContext
    ) -> list[Decision]:
        out = []
        for p in problems:
            best = max(p.candidates, key=lambda c: (len(c.tids), -min(c.tids)))
            total = sum(len(c.tids) for c in p.candidates)
            out.append(Decision(best.value, self.name, len(best.tids) / total))
        return out
