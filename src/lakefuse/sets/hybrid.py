"""The default: dense communities for disjoint (entity-style) sets, full-disjunction completion
for overlapping (join-style) sets, one chaining guard for both.

Per connected component of the integrability graph:

1. one or two tuples, or a clique with no forbidden pair: one set (no library call);
2. a small component (``<= clique_limit`` tuples) is judged completely — pairs blocking never
   proposed are scored on demand — and its sets are the maximal cliques of *compatible* tuples
   (no forbidden pair), each split into the parts integrable edges connect. Forbidden: the pair
   shares attributes but is not integrable, unless it agrees on more than ``clear`` of its
   shared attributes with a score of at least ``clear_score`` (then it is a value conflict, for
   resolution, not two entities). Across two tables (``cross_keys``) a pair is forbidden only
   if it also disagrees on an attribute identifying tuples in one of them (a different social
   security number, title or player name): conflict noise in a suburb does not split a person.
   Nor is a pair forbidden (``outvoted``) when a third tuple, integrable with both, sides with
   each of them somewhere and with one of them on every attribute where they disagree: each
   then holds an odd value (noise), where a chain through two entities has one tuple odd on
   all of them;
3. a tuple found in several such sets keeps all of them only if it *completes* them: it is
   null on every attribute where the sets' other tuples disagree (a team tuple has no player
   name, so it completes each of its players, as in a full disjunction). Otherwise it stays
   in the one set it is most strongly linked to (``by_evidence``: edge weight times agreeing
   attributes), so entity-style sets remain disjoint;
4. a larger component is first cut into dense communities (Leiden, constant Potts model:
   internal density above ``resolution``, no resolution limit); each community, with its
   neighbours borrowed so that a hub Leiden placed elsewhere can still complete it, goes
   through steps 2-3, keeping the sets that touch the community; a tuple that the sets of
   two communities both took then goes through step 3 once more, across those sets;
5. finally the chaining guard splits any set that still holds a forbidden pair (minimum cut of
   the weakest integrable edges between them), and every set is held together by edges;
6. by default (``one_to_one``), the sets are re-founded on one-to-one matching
   between sources without internal duplicates (:mod:`lakefuse.sets.one_to_one`).

Without an on-demand scorer (``score_pairs is None``), only a component whose every pair was
judged (an edge or a forbidden pair, as with an oracle judge) is completed; elsewhere a missing
edge cannot be told from an unjudged pair, so the component is cut by Leiden alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from lakefuse.sets.cliques import (
    Judged,
    arbitrate,
    compatible_cliques,
    complete_with_judge,
    fully_judged,
    judge_all_pairs,
)
from lakefuse.sets.common import (
    Component,
    LocalSets,
    PerComponent,
    components,
    group_nodes,
    iter_components,
    make_sets,
)
from lakefuse.sets.community import leiden_split
from lakefuse.sets.prefetch import with_prefetch
from lakefuse.types import IntegrabilityGraph, IntegrableSets


def sets_of(found: IntegrableSets) -> list[list[int]]:
    """The sets of ``found`` as tid lists, by set id."""
    sid = found.membership.column("set_id").to_numpy()
    tid = found.membership.column("tid").to_numpy()
    order = np.argsort(sid, kind="stable")
    cuts = np.flatnonzero(np.diff(sid[order])) + 1
    return [part.tolist() for part in np.split(tid[order], cuts)] if len(sid) else []


def induced(comp: Component, members: list[int]) -> Component:
    """The sub-component on ``members`` (local ids of ``comp``), renumbered ``0..len-1``."""
    pos = np.full(comp.k, -1, dtype=np.int64)
    at = np.asarray(members, dtype=np.int64)
    pos[at] = np.arange(len(at))
    e = comp.incident(at)
    e = e[pos[comp.r[e]] >= 0]
    f = comp.incident(at, forbidden=True)
    f = f[pos[comp.fr[f]] >= 0]
    return Component(
        comp.nodes[at],
        pos[comp.l[e]],
        pos[comp.r[e]],
        comp.w[e],
        pos[comp.fl[f]],
        pos[comp.fr[f]],
    )


def induced_back(sub: Component, members: np.ndarray) -> Component:
    """``sub`` (after on-demand judging) in the local ids of its parent component."""
    return Component(
        members, members[sub.l], members[sub.r], sub.w, members[sub.fl], members[sub.fr]
    )


def merge_judged(comp: Component, subs: list[Component]) -> None:
    """Fold the on-demand decisions of sub-components into ``comp`` (in place): their new
    edges are added, and inside each judged sub-component its forbidden pairs replace the
    graph's."""
    judged: set[tuple[int, int]] = set()
    keep_f: set[tuple[int, int]] = set()
    for s in subs:
        nodes = s.nodes.tolist()
        judged.update((a, b) for i, a in enumerate(nodes) for b in nodes[i + 1 :])
        keep_f.update((min(a, b), max(a, b)) for a, b in zip(s.fl.tolist(), s.fr.tolist()))
    fpairs = {
        (min(a, b), max(a, b))
        for a, b in zip(comp.fl.tolist(), comp.fr.tolist())
        if (min(a, b), max(a, b)) not in judged
    } | keep_f
    f = np.array(sorted(fpairs), dtype=np.int64).reshape(-1, 2)
    comp.fl, comp.fr = f[:, 0], f[:, 1]
    comp.l = np.concatenate([comp.l, *(s.l for s in subs)])
    comp.r = np.concatenate([comp.r, *(s.r for s in subs)])
    comp.w = np.concatenate([comp.w, *(s.w for s in subs)])


class Hybrid(PerComponent):
    name = "hybrid"

    def __init__(
        self,
        clique_limit: int = 80,
        resolution: float = 0.5,
        max_cliques: int = 2_000,
        clear: float | None = 0.5,
        clear_score: float = 0.0,
        clear_always: float = 1.0,
        keys: bool = True,
        by_evidence: bool = True,
        cross_keys: bool = True,
        outvoted: bool = True,
        seed: int = 0,
        one_to_one: bool = True,
        one_to_one_min_text: float = 0.3,
        one_to_one_max_duplicates: float = 0.25,
        one_to_one_max_fan_out: float = 0.5,
    ) -> None:
        self.clique_limit = clique_limit
        self.resolution = resolution
        self.max_cliques = max_cliques
        self.clear = clear
        self.clear_score = clear_score
        self.clear_always = clear_always
        self.keys = keys
        self.by_evidence = by_evidence
        self.cross_keys = cross_keys
        self.outvoted = outvoted
        self.seed = seed
        self.one_to_one = one_to_one
        self.one_to_one_min_text = one_to_one_min_text
        self.one_to_one_max_duplicates = one_to_one_max_duplicates
        self.one_to_one_max_fan_out = one_to_one_max_fan_out

    def find(self, graph: IntegrabilityGraph) -> IntegrableSets:
        # the small components are completed one after the other: judge their pairs in
        # batches (lakefuse.sets.prefetch), not one judge call per component
        queue = [c.nodes for c in iter_components(graph, []) if c.k <= self.clique_limit]
        found = super().find(with_prefetch(graph, queue))
        if not self.one_to_one:
            return found
        # optional last step (lakefuse.sets.one_to_one): one-to-one sets between clean sources
        from lakefuse.sets.one_to_one import one_to_one

        sets, report = one_to_one(
            graph,
            sets_of(found),
            self.one_to_one_min_text,
            self.one_to_one_max_duplicates,
            self.one_to_one_max_fan_out,
        )
        info = {k: v for k, v in found.info.items() if k != "overlapping_tuples"}
        return make_sets(graph.n_nodes, sets, self.name, **info, one_to_one=report)

    def split(self, comp: Component) -> LocalSets:
        if comp.k <= self.clique_limit and self._can_complete(comp):
            return self._complete(comp)
        self.stats["leiden_components"] = self.stats.get("leiden_components", 0) + 1
        m = comp.csr()
        out: LocalSets = []
        added: list[Component] = []
        home_of = np.full(comp.k, -1, dtype=np.int64)
        # each community with the tuples it is completed over (None: kept as it is)
        plan: list[tuple[list[int], np.ndarray | None]] = []
        for idx, c in enumerate(leiden_split(comp, "cpm", self.resolution, self.seed)):
            home_of[c] = idx
            if len(c) <= 2 or self.graph.score_pairs is None:
                plan.append((c, None))
                continue
            # borrow the community's neighbours, so that a tuple that completes tuples of
            # several communities (a hub Leiden had to place in one) can join each of them
            home = set(c)
            near = {int(b) for a in c for b in m.indices[m.indptr[a] : m.indptr[a + 1]]}
            members = np.array(sorted(home | near), dtype=np.int64)
            if len(members) > self.clique_limit:
                members = np.array(sorted(home), dtype=np.int64)
            plan.append((c, members if len(members) <= self.clique_limit else None))
        # the communities' pairs judged in batches, as the small components' are
        with self._prefetching([np.sort(comp.nodes[x]) for _, x in plan if x is not None]):
            for c, members in plan:
                if members is None:
                    out.append(c)
                    continue
                home = set(c)
                sub = induced(comp, members.tolist())
                found = [members[x].tolist() for x in self._complete(sub)]
                out.extend(f for f in found if not home.isdisjoint(f))
                added.append(induced_back(sub, members))
        out = self._rearbitrate(comp, out, added, home_of)
        if added:
            merge_judged(comp, added)
        return out

    def _rearbitrate(
        self, comp: Component, sets: LocalSets, added: list[Component], home_of: np.ndarray
    ) -> LocalSets:
        """Step 3 across communities: a tuple that sets of two different communities both
        took (a borrowed neighbour) keeps both only if it completes them. Each group of sets
        that share tuples is judged as one sub-component (up to twice ``clique_limit``
        tuples) and arbitrated like a small component; in a larger group a shared tuple
        stays in the set holding most of its own community."""
        if self.graph.score_pairs is None:
            return sets
        where: dict[int, list[int]] = {}
        for i, s in enumerate(sets):
            for t in s:
                where.setdefault(t, []).append(i)
        shared = {t: idx for t, idx in where.items() if len(idx) > 1}
        if not shared:
            return sets
        # sets that share a tuple, linked; each linked group of sets is arbitrated together
        left = np.array([idx[0] for idx in shared.values() for _ in idx[1:]], dtype=np.int64)
        right = np.array([j for idx in shared.values() for j in idx[1:]], dtype=np.int64)
        label = components(len(sets), left, right)
        groups = [g.tolist() for g in group_nodes(label) if len(g) > 1]
        out = [list(s) for s in sets]
        members_of = [
            np.array(sorted({t for i in mine for t in sets[i]}), dtype=np.int64) for mine in groups
        ]
        # the groups' pairs judged in batches, as the small components' are
        queue = [np.sort(comp.nodes[m]) for m in members_of if len(m) <= 2 * self.clique_limit]
        with self._prefetching(queue):
            for mine, members in zip(groups, members_of):
                if len(members) > 2 * self.clique_limit:
                    for t in {t for i in mine for t in sets[i] if t in shared}:
                        own = shared[t]
                        keep = max(
                            own, key=lambda i, t=t: int(np.sum(home_of[sets[i]] == home_of[t]))
                        )
                        for i in own:
                            if i != keep:
                                out[i] = [x for x in out[i] if x != t]
                    self.stats["rearbitrated_by_community"] = (
                        self.stats.get("rearbitrated_by_community", 0) + 1
                    )
                    continue
                sub = induced(comp, members.tolist())
                judged = self._judge(sub)
                pos = {int(t): k for k, t in enumerate(members.tolist())}
                local = [[pos[t] for t in sets[i]] for i in mine]
                kept = arbitrate(sub, local, judged, self.by_evidence)
                for i in mine:
                    out[i] = []
                out.extend(members[k].tolist() for k in kept)
                added.append(induced_back(sub, members))
        self.stats["rearbitrated"] = self.stats.get("rearbitrated", 0) + len(groups)
        return [s for s in out if s]

    @contextmanager
    def _prefetching(self, queue: list[np.ndarray]) -> Iterator[None]:
        """This finder's scorer judges the sub-components ``queue`` (sorted tids each, in the
        order they will be judged) in batches, while the block runs: one judge call per batch
        of communities or groups instead of one per community."""
        graph = self.graph
        self.graph = with_prefetch(graph, queue)
        try:
            yield
        finally:
            self.graph = graph

    def _can_complete(self, comp: Component) -> bool:
        return fully_judged(self.graph, comp)

    def _judge(self, comp: Component) -> Judged | None:
        """Judge every pair of ``comp`` by this finder's rules and add the decisions to it."""
        judged = judge_all_pairs(
            self.graph,
            comp,
            self.clear,
            self.clear_score,
            self.clear_always,
            self.keys,
            self.cross_keys,
            self.outvoted,
        )
        complete_with_judge(comp, judged, reforbid=self.clear is not None)
        return judged

    def _complete(self, comp: Component) -> LocalSets:
        judged = self._judge(comp)
        sets = compatible_cliques(comp, self.max_cliques)
        return arbitrate(comp, sets, judged, self.by_evidence)
