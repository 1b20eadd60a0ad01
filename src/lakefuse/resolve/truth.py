"""Source-reliability truth discovery (Accu / TruthFinder style).

Each source table ``s`` has an accuracy ``A(s)``.  A value's score in one conflict is the sum,
over the sources that claim it, of ``ln(n * A(s) / (1 - A(s)))`` (``n`` = number of competing
values); scores become probabilities by a softmax, and each source's accuracy is re-estimated
as the mean probability of its claims (smoothed toward a prior), until it settles.  Variants of
one value (typos, abbreviations) are pooled into one claim first, as TruthFinder's implication
between similar values does; the pooled value is written in the table's usual spelling.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

from lakefuse.resolve.values import ColumnCounts, pool
from lakefuse.types import TABLE, ConflictProblem, Decision, ResolveContext


class SourceTruth:
    name = "truth"

    def __init__(
        self,
        iterations: int = 20,
        prior_accuracy: float = 0.8,
        smoothing: float = 2.0,
        pool_variants: bool = True,
        by_attribute: bool = True,
    ) -> None:
        if not 0.0 < prior_accuracy < 1.0:
            raise ValueError("prior_accuracy must be in (0, 1)")
        self.iterations = int(iterations)
        self.prior = float(prior_accuracy)
        self.smoothing = float(smoothing)
        self.pool_variants = bool(pool_variants)
        self.by_attribute = bool(by_attribute)
        #: source -> estimated accuracy after the last resolve (for inspection)
        self.accuracy: dict[object, float] = {}

    def resolve(
        self, problems: Sequence[ConflictProblem], context: ResolveContext | None
    ) -> list[Decision]:
        tables = context.union.values()[TABLE] if context is not None else None
        counts = ColumnCounts(context)
        # claims[p] = list of groups; each group: (candidate indexes, {source: weight})
        claims: list[list[tuple[list[int], dict[object, float]]]] = []
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
            claims.append(
                [
                    (g, {s: c / per_source[s] for s, c in srcs.items()})
                    for g, srcs in zip(groups, group_sources)
                ]
            )

        acc: dict[object, float] = defaultdict(lambda: self.prior)
        probs: list[list[float]] = []
        for _ in range(max(self.iterations, 1)):
            probs = [self._probabilities(groups, acc) for groups in claims]
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

        out = []
        for p, groups, ps in zip(problems, claims, probs):
            cands = p.candidates
            best = max(
                range(len(groups)),
                key=lambda j, groups=groups, ps=ps, cands=cands: (
                    round(ps[j], 9),
                    sum(len(cands[i].tids) for i in groups[j][0]),
                    -min(min(cands[i].tids) for i in groups[j][0]),
                ),
            )
            i = counts.usual(p, groups[best][0])
            out.append(Decision(cands[i].value, self.name, ps[best]))
        return out

    def _source(self, tables: list | None, tid: int, attribute: str) -> object:
        table = tables[tid] if tables is not None else tid
        return (table, attribute) if self.by_attribute else table

    @staticmethod
    def _probabilities(
        groups: list[tuple[list[int], dict[object, float]]], acc: dict[object, float]
    ) -> list[float]:
        n = max(len(groups) - 1, 1)
        scores = [
            sum(w * math.log(n * acc[s] / (1.0 - acc[s])) for s, w in srcs.items())
            for _g, srcs in groups
        ]
        top = max(scores)
        exps = [math.exp(x - top) for x in scores]
        z = sum(exps)
        return [e / z for e in exps]
