"""Maximal cliques of the compatibility graph, per component: full-disjunction-style sets.

Within a connected component of the integrability graph, two tuples are *compatible* unless the
judge forbade them (``incompatible``, the chaining guard); pairs that blocking never proposed are
judged on demand (``score_pairs``): integrable ones become edges, not-integrable ones that share
attributes become forbidden. A set is a maximal clique of compatible tuples (Bron–Kerbosch with
pivoting, networkx) split into the parts connected by integrable edges, so tuples that share no
attribute join a set only through tuples that link them — as in a full disjunction, where one
tuple (a team) completes several others (its players) and so belongs to several sets.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import networkx as nx
import numpy as np

from lakefuse.sets.common import Component, LocalSets, PerComponent, adjacency
from lakefuse.sets.completion import Completion
from lakefuse.types import IntegrabilityGraph

#: an attribute whose similarity is below this is where two forbidden tuples disagree
DISAGREE = 0.6
#: an attribute whose similarity reaches this agrees
AGREE = 0.8


@dataclass
class Judged:
    """The judge's view of every pair of a small component (local ids ``a < b``)."""

    index: dict[tuple[int, int], int]
    decision: np.ndarray
    forbid: np.ndarray
    score: np.ndarray
    ev: np.ndarray | None  # (pairs, attributes); NaN = null on a side


def judge_all_pairs(
    graph: IntegrabilityGraph,
    comp: Component,
    clear: float | None = None,
    clear_score: float = 0.0,
    clear_always: float = 1.0,
    keys: bool = True,
    cross_keys: bool = False,
    outvoted: bool = False,
) -> Judged | None:
    """Judge all pairs of ``comp`` on demand (None without a scorer). A pair is forbidden when
    it shares attributes but is not integrable, unless (given ``clear``) more than that share
    of its shared attributes agree (similarity >= ``AGREE``) and its score reaches
    ``clear_score``, or its score reaches ``clear_always``: a pair that disagrees on one value
    but agrees on most, identifying ones included, is a value conflict for resolution, not two
    entities. With ``keys`` (and ``clear``), so is a pair reaching ``clear_score`` that agrees
    on an attribute identifying tuples in both its tables (``graph.keys``). With
    ``cross_keys``, a pair of tuples from two different tables is forbidden only when it also
    disagrees (similarity < ``DISAGREE``) on an attribute identifying tuples in either table:
    the chaining guard's "clear conflict"; other disagreements across tables (a suburb or a
    post code replaced) are values to resolve. Pairs inside one table keep the rule above.
    With ``outvoted``, a forbidden pair is released when a third tuple explains each of its
    disagreements as one odd value (:func:`outvoted_pairs`)."""
    if graph.score_pairs is None or comp.k < 2:
        return None
    pairs = list(itertools.combinations(range(comp.k), 2))
    la = np.array([p[0] for p in pairs], dtype=np.int64)
    lb = np.array([p[1] for p in pairs], dtype=np.int64)
    t = graph.score_pairs(comp.nodes[la], comp.nodes[lb]).table
    decision = t.column("decision").to_numpy(zero_copy_only=False).astype(bool)
    shared = t.column("shared").to_numpy(zero_copy_only=False)
    score = np.nan_to_num(t.column("score").to_numpy(zero_copy_only=False).astype(float))
    forbid = ~decision & (shared > 0)
    ev_cols = [c for c in t.column_names if c.startswith("ev:")]
    ev = (
        np.column_stack([t.column(c).to_numpy(zero_copy_only=False).astype(float) for c in ev_cols])
        if ev_cols
        else None
    )
    if clear is not None and ev is not None:
        names = [c[3:] for c in ev_cols]
        base = forbid.copy()
        mostly = (ev >= AGREE).sum(axis=1) > clear * shared  # (NaN: no agreement)
        forbid &= (~mostly | (score < clear_score)) & (score < clear_always)
        kev = key_evidence(graph, comp, la, lb, ev, names) if keys or cross_keys else None
        keyed = kev.agree if kev is not None and keys else np.zeros_like(base)
        forbid &= ~(keyed & (score >= clear_score))
        if cross_keys and kev is not None:
            # across tables only a clash on an identifying attribute is a clear conflict
            forbid = np.where(kev.cross, base & kev.clash & ~mostly & ~keyed, forbid)
    forbid &= ~decision
    if outvoted and ev is not None and forbid.any():
        forbid &= ~outvoted_pairs(comp.k, la, lb, decision, forbid, ev)
    return Judged({p: i for i, p in enumerate(pairs)}, decision, forbid, score, ev)


def outvoted_pairs(
    k: int,
    la: np.ndarray,
    lb: np.ndarray,
    decision: np.ndarray,
    forbid: np.ndarray,
    ev: np.ndarray,
) -> np.ndarray:
    """Forbidden pairs (x, y) whose disagreement a third tuple z, integrable with both,
    explains as value noise: on every attribute where x and y disagree (similarity <
    ``DISAGREE``), z agrees (>= ``AGREE``) with one of them, and it sides with x on one such
    attribute and with y on another. Each of x and y then holds the odd value somewhere; in a
    chain through two entities one tuple is the odd one on every attribute (z sides with its
    own entity), and a z that is null where they differ (a team tuple between two players)
    explains nothing. Pairs of ``judge_all_pairs`` (all pairs of ``0..k-1``, ``la < lb``)."""
    out = np.zeros(len(la), dtype=bool)
    idx = np.full((k, k), -1, dtype=np.int64)
    idx[la, lb] = np.arange(len(la))
    idx[lb, la] = np.arange(len(la))
    edge = np.zeros((k, k), dtype=bool)
    edge[la[decision], lb[decision]] = True
    edge |= edge.T
    agree = ev >= AGREE  # a null side (NaN) neither agrees nor differs
    differs = ev < DISAGREE
    for i in np.flatnonzero(forbid):
        x, y = int(la[i]), int(lb[i])
        d = differs[i]
        if d.sum() < 2:
            continue
        for z in np.flatnonzero(edge[x] & edge[y]):
            with_x = agree[idx[x, z]] & d
            with_y = agree[idx[y, z]] & d
            if with_x.any() and with_y.any() and not (d & ~(with_x | with_y)).any():
                out[i] = True
                break
    return out


@dataclass
class KeyEvidence:
    """Per pair, what the identifying attributes (:class:`lakefuse.types.KeyAttributes`) say:
    ``agree``: it agrees on an attribute that identifies tuples in both its tables (one entity
    with conflicting values elsewhere); ``clash``: it disagrees on an attribute that identifies
    tuples in either table (a clear conflict); ``cross``: its tuples come from two different
    tables."""

    agree: np.ndarray
    clash: np.ndarray
    cross: np.ndarray


def key_evidence(
    graph: IntegrabilityGraph,
    comp: Component,
    la: np.ndarray,
    lb: np.ndarray,
    ev: np.ndarray,
    attributes: list[str],
) -> KeyEvidence | None:
    """:class:`KeyEvidence` for the pairs ``(la, lb)`` of ``comp`` (None without keys)."""
    keys = graph.keys
    if keys is None:
        return None
    col = {a: j for j, a in enumerate(keys.attributes)}
    tl = keys.table_of[comp.nodes[la]]
    tr = keys.table_of[comp.nodes[lb]]
    agrees = ev >= AGREE  # a null side (NaN) neither agrees nor differs
    differs = ev < DISAGREE
    agree = np.zeros(len(la), dtype=bool)
    clash = np.zeros(len(la), dtype=bool)
    for j, a in enumerate(attributes):
        k = col.get(a)
        if k is not None:
            left, right = keys.identifying[tl, k], keys.identifying[tr, k]
            agree |= agrees[:, j] & left & right
            clash |= differs[:, j] & (left | right)
    return KeyEvidence(agree, clash, tl != tr)


def complete_with_judge(comp: Component, judged: Judged | None, reforbid: bool = False) -> None:
    """Add the on-demand decisions for pairs the graph does not hold (in place). With
    ``reforbid`` the forbidden pairs are the judged ones only (see ``judge_all_pairs``)."""
    if judged is None:
        return
    if reforbid:
        keep = np.flatnonzero(judged.forbid)
        pairs = np.array(list(judged.index), dtype=np.int64).reshape(-1, 2)
        comp.fl, comp.fr = pairs[keep, 0].copy(), pairs[keep, 1].copy()
    known = {(min(a, b), max(a, b)) for a, b in zip(comp.l.tolist(), comp.r.tolist())}
    known |= comp.forbidden()
    new_e: list[tuple[int, int, float]] = []
    new_f: list[tuple[int, int]] = []
    for p, i in judged.index.items():
        if p in known:
            continue
        if judged.decision[i]:
            new_e.append((p[0], p[1], max(float(judged.score[i]), 1e-3)))
        elif judged.forbid[i]:
            new_f.append(p)
    if new_e:
        comp.l = np.concatenate([comp.l, [e[0] for e in new_e]]).astype(np.int64)
        comp.r = np.concatenate([comp.r, [e[1] for e in new_e]]).astype(np.int64)
        comp.w = np.concatenate([comp.w, [e[2] for e in new_e]])
    if new_f:
        comp.fl = np.concatenate([comp.fl, [f[0] for f in new_f]]).astype(np.int64)
        comp.fr = np.concatenate([comp.fr, [f[1] for f in new_f]]).astype(np.int64)


def compatible_cliques(comp: Component, max_cliques: int) -> LocalSets:
    """Maximal cliques of the compatibility graph, each split by integrable-edge connectivity.

    As ``nx.find_cliques`` on the complete graph less the forbidden pairs, each clique split
    by ``nx.connected_components`` of the edges' subgraph, in networkx's order, without
    building either graph (tens of thousands of small components at a million tuples)."""
    k = comp.k
    bad = comp.forbidden()
    # as networkx builds them: neighbours in ascending order, nodes 0..k-1
    compat = {
        u: {v for v in range(k) if v != u and (min(u, v), max(u, v)) not in bad} for u in range(k)
    }
    link = adjacency(comp.l, comp.r, k)
    out: LocalSets = []
    for clique in itertools.islice(_find_cliques(compat), max_cliques):
        inside = set(clique)  # a subgraph view's node filter, iterated as networkx does
        seeds = inside if 2 * len(inside) < k else range(k)
        seen: set[int] = set()
        for v in seeds:
            if v in inside and v not in seen:
                part, todo = {v}, [v]
                while todo:
                    for b in link[todo.pop()]:
                        if b in inside and b not in part:
                            part.add(b)
                            todo.append(b)
                seen |= part
                out.append(sorted(part))
    return out


def _find_cliques(adj: dict[int, set[int]]) -> Iterator[list[int]]:
    """networkx's ``find_cliques`` (Tomita et al.'s pivoting, without recursion) over an
    adjacency of sets, step for step, so the cliques come in the same order."""
    if not adj:
        return
    q: list[int | None] = []
    cand = set(adj)
    subg = cand.copy()
    stack: list[tuple[set[int], set[int], set[int]]] = []
    q.append(None)
    u = max(subg, key=lambda u: len(cand & adj[u]))
    ext_u = cand - adj[u]
    try:
        while True:
            if ext_u:
                x = ext_u.pop()
                cand.remove(x)
                q[-1] = x
                adj_x = adj[x]
                subg_x = subg & adj_x
                if not subg_x:
                    yield [int(y) for y in q if y is not None]
                else:
                    cand_x = cand & adj_x
                    if cand_x:
                        stack.append((subg, cand, ext_u))
                        q.append(None)
                        subg = subg_x
                        cand = cand_x
                        u = max(subg, key=lambda u: len(cand & adj[u]))
                        ext_u = cand - adj[u]
            else:
                q.pop()
                subg, cand, ext_u = stack.pop()
    except IndexError:
        pass


def edge_cliques(comp: Component, max_cliques: int) -> LocalSets:
    """Maximal cliques of the integrable edges themselves (large components)."""
    g = comp.nx_graph()
    g.remove_edges_from(comp.forbidden())
    return [sorted(c) for c in itertools.islice(nx.find_cliques(g), max_cliques)]


def arbitrate(
    comp: Component,
    sets: LocalSets,
    judged: Judged | None,
    by_evidence: bool = False,
) -> LocalSets:
    """Keep a tuple in several sets only where it completes them (null on the attributes that
    separate them). Each tuple keeps the set it is most strongly linked to (mean weight of its
    edges there; with ``by_evidence`` each edge weighed by the number of attributes on which
    the pair agrees, so a full duplicate outranks a tuple that shares only a surname), then
    every other set it completes against all sets kept so far; it leaves the rest, so
    entity-style sets stay disjoint."""
    if judged is None or judged.ev is None:
        return sets
    partners = comp.partners()  # each tuple's forbidden partners
    none: set[int] = set()
    completes = Completion(judged, DISAGREE).completes

    weight: dict[tuple[int, int], float] = {}
    for a, b, x in zip(comp.l.tolist(), comp.r.tolist(), comp.w.tolist()):
        key = (min(a, b), max(a, b))
        weight[key] = max(weight.get(key, 0.0), x)
    members = [set(s) for s in sets]
    where: dict[int, list[int]] = {}
    for i, s in enumerate(members):
        for t in s:
            where.setdefault(t, []).append(i)

    def completes_both(t: int, i: int, j: int) -> bool:
        """``t`` completes every forbidden pair between the two sets' own tuples."""
        di, dj = members[i] - members[j], members[j] - members[i]
        return all(completes(t, x, y) for x in di for y in partners.get(x, none) & dj)

    # per judged pair, how much evidence a link carries: its agreeing attributes (at least
    # 1; 1 for every pair without ``by_evidence``)
    agree_n = np.maximum(1, (judged.ev >= AGREE).sum(axis=1)).tolist()

    def agreeing(t: int, u: int) -> float:
        return float(agree_n[judged.index[(min(t, u), max(t, u))]]) if by_evidence else 1.0

    for t in sorted(where):
        idx = [i for i in where[t] if t in members[i]]
        if len(idx) < 2:
            continue

        def strength(i: int, t: int = t) -> tuple[float, int]:
            found = [
                weight[(min(t, u), max(t, u))] * agreeing(t, u)
                for u in members[i]
                if u != t and (min(t, u), max(t, u)) in weight
            ]
            return (sum(found) / len(found) if found else 0.0, len(found))

        idx.sort(key=strength, reverse=True)
        kept = [idx[0]]
        for j in idx[1:]:
            if all(completes_both(t, i, j) for i in kept):
                kept.append(j)
            else:
                members[j].discard(t)
    return [sorted(s) for s in members if s]


def fully_judged(graph: IntegrabilityGraph, comp: Component) -> bool:
    """Every pair of ``comp`` is judged: on demand, or already in the graph (an oracle).
    Otherwise a missing edge cannot be told from an unjudged pair."""
    if graph.score_pairs is not None:
        return True
    seen = {(min(a, b), max(a, b)) for a, b in zip(comp.l.tolist(), comp.r.tolist())}
    seen |= comp.forbidden()
    return len(seen) >= comp.k * (comp.k - 1) // 2


class MaximalCliques(PerComponent):
    """Full-disjunction-style sets: maximal compatible cliques, overlap kept as found. Large
    components, and components not fully judged, get the maximal cliques of their edges."""

    name = "cliques"

    def __init__(
        self, max_component: int = 400, max_cliques: int = 10_000, clear: float | None = None
    ) -> None:
        self.max_component = max_component
        self.max_cliques = max_cliques
        self.clear = clear

    def split(self, comp: Component) -> LocalSets:
        if comp.k > self.max_component or not fully_judged(self.graph, comp):
            self.stats["large_components"] = self.stats.get("large_components", 0) + 1
            return edge_cliques(comp, self.max_cliques)
        judged = judge_all_pairs(self.graph, comp, self.clear)
        complete_with_judge(comp, judged, reforbid=self.clear is not None)
        return compatible_cliques(comp, self.max_cliques)
