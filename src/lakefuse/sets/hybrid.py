"""The default: dense communities for disjoint (entity-style) sets, full-disjunction completion
for overlapping (join-style) sets, one chaining guard for both.

Per connected component of the integrability graph:

1. one or two tuples, or a clique with no forbidden pair: one set (no library call);
2. a small component (``<= clique_limit`` tuples) is judged completely — pairs blocking never
   proposed are scored on demand — and its sets are the maximal cliques of *compatible* tuples
   (no forbidden pair), each split into the parts integrable edges connect;
3. a tuple found in several such sets keeps all of them only if it *completes* them: it is
   null on every attribute where the sets' other tuples disagree (a team tuple has no player
   name, so it completes each of its players, as in a full disjunction). Otherwise it stays in
   the one set it is most strongly linked to, so entity-style sets remain disjoint;
4. a larger component is first cut into dense communities (Leiden, constant Potts model:
   internal density above ``resolution``, no resolution limit), and each community goes
   through steps 2-3;
5. finally the chaining guard splits any set that still holds a forbidden pair (minimum cut of
   the weakest integrable edges between them), and every set is held together by edges.

Without an on-demand scorer (``score_pairs is None``), a component with no forbidden pair
cannot tell a missing edge from an unjudged one, so it is cut by Leiden alone.
"""

from __future__ import annotations

import numpy as np

from lakefuse.sets.cliques import (
    arbitrate,
    compatible_cliques,
    complete_with_judge,
    judge_all_pairs,
)
from lakefuse.sets.common import Component, LocalSets, PerComponent
from lakefuse.sets.community import leiden_split


def induced(comp: Component, members: list[int]) -> Component:
    """The sub-component on ``members`` (local ids of ``comp``), renumbered ``0..len-1``."""
    pos = np.full(comp.k, -1, dtype=np.int64)
    pos[members] = np.arange(len(members))
    keep = (pos[comp.l] >= 0) & (pos[comp.r] >= 0)
    fkeep = (pos[comp.fl] >= 0) & (pos[comp.fr] >= 0)
    return Component(
        comp.nodes[members],
        pos[comp.l[keep]],
        pos[comp.r[keep]],
        comp.w[keep],
        pos[comp.fl[fkeep]],
        pos[comp.fr[fkeep]],
    )


class Hybrid(PerComponent):
    name = "hybrid"

    def __init__(
        self,
        clique_limit: int = 80,
        resolution: float = 0.5,
        max_cliques: int = 2_000,
        guard: str = "incompatible",
        seed: int = 0,
    ) -> None:
        self.clique_limit = clique_limit
        self.resolution = resolution
        self.max_cliques = max_cliques
        self.guard_mode = guard
        self.seed = seed

    def split(self, comp: Component) -> LocalSets:
        if comp.k <= self.clique_limit and self._can_complete(comp):
            return self._complete(comp)
        self.stats["leiden_components"] = self.stats.get("leiden_components", 0) + 1
        out: LocalSets = []
        for c in leiden_split(comp, "cpm", self.resolution, self.seed):
            if len(c) <= 2 or len(c) > self.clique_limit:
                out.append(c)
                continue
            members = np.array(sorted(c), dtype=np.int64)
            sub = induced(comp, members.tolist())
            if not self._can_complete(sub):
                out.append(c)
                continue
            out.extend(members[s].tolist() for s in self._complete(sub))
        return out

    def _can_complete(self, comp: Component) -> bool:
        return self.graph.score_pairs is not None or len(comp.fl) > 0

    def _complete(self, comp: Component) -> LocalSets:
        judged = judge_all_pairs(self.graph, comp, self.guard_mode)
        complete_with_judge(comp, judged)
        sets = compatible_cliques(comp, self.max_cliques)
        return arbitrate(comp, sets, judged)
