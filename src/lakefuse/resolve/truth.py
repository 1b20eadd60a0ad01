"""Source-reliability truth discovery (Accu / TruthFinder style).

Each source table ``s`` has an accuracy ``A(s)``.  A value's score in one conflict is the sum,
over the sources that claim it, of ``ln(n * A(s) / (1 - A(s)))`` (``n`` = number of competing
values); scores become probabilities by a softmax, and each source's accuracy is re-estimated
as the mean probability of its claims (smoothed toward a prior), until it settles.  Variants of
one value (typos, abbreviations) are pooled into one claim first, as TruthFinder's implication
between similar values does; the pooled value is written in the table's usual spelling.
Each value's score also gets ``context_weight`` times its context evidence
(:mod:`lakefuse.resolve.context`): how well the rest of the table pairs it with the merged
tuple's other values.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

from lakefuse.resolve.columns import ColumnCounts
from lakefuse.resolve.context import ContextEvidence
from lakefuse.resolve.values import pool
from lakefuse.types import TABLE, ConflictProblem, Decision, ResolveContext, UnionTable


class _TableOf:
    """The source table name of a tid (dictionary codes, no list of every tuple's)."""

    def __init__(self, union: UnionTable) -> None:
        self.codes, names = union.codes(TABLE)
        self.names = names.to_pylist()

    def __getitem__(self, tid: int) -> str:
        return self.names[self.codes[tid]]


class SourceTruth:
    name = "truth"

    def __init__(
        self,
        iterations: int = 20,
        prior_accuracy: float = 0.8,
        smoothing: float = 2.0,
        pool_variants: bool = True,
        by_attribute: bool = True,
        column_weight: float = 0.0,
        context_weight: float = 0.0,
    ) -> None:
        if not 0.0 < prior_accuracy < 1.0:
            raise ValueError("prior_accuracy must be in (0, 1)")
        self.iterations = int(iterations)
        self.prior = float(prior_accuracy)
        self.smoothing = float(smoothing)
        self.pool_variants = bool(pool_variants)
        self.by_attribute = bool(by_attribute)
        self.column_weight = float(column_weight)
        self.context_weight = float(context_weight)
        #: source -> estimated accuracy after the last resolve (for inspection)
        self.accuracy: dict[object, float] = {}

    def resolve(
        self, problems: Sequence[ConflictProblem], context: ResolveContext | None
    ) -> list[Decision]:
        counts = ColumnCounts(context)
        out = []
        for p, (groups, ps) in zip(problems, self.fit(problems, context)):
            best = max(
                range(len(groups)),
                key=lambda j, groups=groups, ps=ps, p=p: (
                    round(ps[j], 9),
                    sum(len(p.candidates[i].tids) for i in groups[j]),
                    *counts.evidence(p, groups[j]),
                    -min(min(p.candidates[i].tids) for i in groups[j]),
                ),
            )
            i = counts.usual(p, groups[best])
            out.append(Decision(p.candidates[i].value, self.name, ps[best]))
        return out

    def candidate_probabilities(
        self, problems: Sequence[ConflictProblem], context: ResolveContext | None
    ) -> list[list[float]]:
        """Per problem, each candidate's probability (variants share their pool's)."""
        out = []
        for p, (groups, ps) in zip(problems, self.fit(problems, context)):
            row = [0.0] * len(p.candidates)
            for g, pr in zip(groups, ps):
                for i in g:
                    row[i] = pr
            out.append(row)
        return out

    def fit(
        self, problems: Sequence[ConflictProblem], context: ResolveContext | None
    ) -> list[tuple[list[list[int]], list[float]]]:
        """Per problem: the candidate groups (pooled variants) and each group's probability,
        after the source accuracies have settled."""
        tables = _TableOf(context.union) if context is not None else None
        counts = ColumnCounts(context)
        evidence = (
            ContextEvidence(context, problems)
            if context is not None and self.context_weight
            else None
        )
        # claims[p] = list of groups; each group: (candidate indexes, {source: weight})
        claims: list[list[tuple[list[int], dict[object, float]]]] = []
        priors: list[list[float]] = []
        for p in problems:
            groups = (
                pool(p.candidates)
                if self.pool_variants
                else [[i] for i in range(len(p.candidates))]
            )
            # a source that (through duplicates) claims several values splits its vote
            per_source: dict[object, int] = defaultdict(int)
            group_sources: list[dict[object, int]] = []
            for g in groups:
                srcs: dict[object, int] = defaultdict(int)
                for i in g:
                    for t in p.candidates[i].tids:
                        s = self._source(tables, t, p.attribute)
                        srcs[s] += 1
                        per_source[s] += 1
                group_sources.append(srcs)
            # a value seen elsewhere in the column is more likely than a one-off misspelling
            # and one the rest of the table pairs with the merged tuple's other values
            priors.append(
                [
                    self.column_weight * math.log1p(max(counts.outside(p, i) for i in g))
                    + (self.context_weight * evidence.score(p, g) if evidence else 0.0)
                    for g in groups
                ]
            )
            claims.append(
                [
                    (g, {s: c / per_source[s] for s, c in srcs.items()})
                    for g, srcs in zip(groups, group_sources)
                ]
            )

        acc: dict[object, float] = defaultdict(lambda: self.prior)
        probs: list[list[float]] = []
        for _ in range(max(self.iterations, 1)):
            probs = [self._probabilities(g, acc, pr) for g, pr in zip(claims, priors)]
            num: dict[object, float] = defaultdict(float)
            den: dict[object, float] = defaultdict(float)
            for groups, ps in zip(claims, probs):
                for (_g, srcs), pr in zip(groups, ps):
                    for s, w in srcs.items():
                        num[s] += w * pr
                        den[s] += w
            new = {
                s: min(
                    0.99,
                    max(0.01, (num[s] + self.smoothing * self.prior) / (den[s] + self.smoothing)),
                )
                for s in den
            }
            delta = max((abs(new[s] - acc[s]) for s in new), default=0.0)
            acc.update(new)
            if delta < 1e-4:
                break
        self.accuracy = dict(acc)
        return [([g for g, _ in groups], ps) for groups, ps in zip(claims, probs)]

    def _source(self, tables: _TableOf | None, tid: int, attribute: str) -> object:
        table = tables[tid] if tables is not None else tid
        return (table, attribute) if self.by_attribute else table

    @staticmethod
    def _probabilities(
        groups: list[tuple[list[int], dict[object, float]]],
        acc: dict[object, float],
        prior: list[float],
    ) -> list[float]:
        n = max(len(groups) - 1, 1)
        scores = [
            pr + sum(w * math.log(n * acc[s] / (1.0 - acc[s])) for s, w in srcs.items())
            for (_g, srcs), pr in zip(groups, prior)
        ]
        top = max(scores)
        exps = [math.exp(x - top) for x in scores]
        z = sum(exps)
        return [e / z for e in exps]
