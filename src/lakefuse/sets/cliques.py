"""Maximal cliques of the compatibility graph, per component: full-disjunction-style sets.

Within each connected component of the integrability graph, two tuples are *compatible* unless
the judge saw them as not integrable although they share attributes (``incompatible``); pairs
that blocking never proposed are judged on demand. A set is a maximal clique of compatible
tuples (Bron–Kerbosch with pivoting, networkx) split into the parts connected by integrable
edges, so tuples that share no attribute join a set only through tuples that link them — as in
a full disjunction, where one tuple (a team) completes several others (its players) and so
belongs to several sets. A clear conflict never shares a set: the chaining guard.
"""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np

from lakefuse.sets.common import components, edge_arrays, group_nodes, make_sets
from lakefuse.types import IntegrabilityGraph, IntegrableSets


class MaximalCliques:
    name = "cliques"

    def __init__(self, max_component: int = 400, max_cliques: int = 10_000) -> None:
        self.max_component = max_component
        self.max_cliques = max_cliques

    def find(self, graph: IntegrabilityGraph) -> IntegrableSets:
        l, r, _ = edge_arrays(graph)
        labels = components(graph.n_nodes, l, r)
        bad: set[tuple[int, int]] = set()
        if graph.incompatible.num_rows:
            il = graph.incompatible.column("l").to_pylist()
            ir = graph.incompatible.column("r").to_pylist()
            bad = {(min(a, b), max(a, b)) for a, b in zip(il, ir)}
        adj: dict[int, set[int]] = {}
        for a, b in zip(l.tolist(), r.tolist()):
            adj.setdefault(a, set()).add(b)
            adj.setdefault(b, set()).add(a)
        sets: list[list[int]] = []
        large = 0
        for nodes in group_nodes(labels):
            if len(nodes) <= 2:
                sets.append(nodes.tolist())
                continue
            members = sorted(nodes.tolist())
            if len(members) > self.max_component:
                large += 1
                sets.extend(self._edge_cliques(members, adj, bad))
                continue
            sets.extend(self._compatible_sets(members, adj, bad, graph))
        return make_sets(graph.n_nodes, sets, self.name, large_components=large)

    def _edge_cliques(
        self, members: list[int], adj: dict[int, set[int]], bad: set[tuple[int, int]]
    ) -> list[list[int]]:
        """Large component: maximal cliques of the integrable edges themselves."""
        g = nx.Graph()
        g.add_nodes_from(members)
        for a in members:
            for b in adj.get(a, ()):
                if a < b and (a, b) not in bad:
                    g.add_edge(a, b)
        return [c for c in itertools.islice(nx.find_cliques(g), self.max_cliques)]

    def _compatible_sets(
        self,
        members: list[int],
        adj: dict[int, set[int]],
        bad: set[tuple[int, int]],
        graph: IntegrabilityGraph,
    ) -> list[list[int]]:
        edges = {(a, b) for a in members for b in adj.get(a, ()) if a < b}
        unseen = [
            (a, b)
            for a, b in itertools.combinations(members, 2)
            if (a, b) not in edges and (a, b) not in bad
        ]
        if unseen and graph.score_pairs is not None:
            ul = np.array([p[0] for p in unseen], dtype=np.int64)
            ur = np.array([p[1] for p in unseen], dtype=np.int64)
            t = graph.score_pairs(ul, ur).table
            dec = t.column("decision").to_pylist()
            shared = t.column("shared").to_pylist()
            for (a, b), d, s in zip(unseen, dec, shared):
                if d:
                    edges.add((a, b))
                elif s > 0:
                    bad.add((a, b))
        compat = nx.complete_graph(members)
        compat.remove_edges_from(p for p in bad if p[0] in compat and p[1] in compat)
        link = nx.Graph()
        link.add_nodes_from(members)
        link.add_edges_from(edges)
        out: list[list[int]] = []
        for clique in itertools.islice(nx.find_cliques(compat), self.max_cliques):
            sub = link.subgraph(clique)
            out.extend(list(c) for c in nx.connected_components(sub))
        return out
