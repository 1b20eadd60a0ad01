"""Community detection per component, with the maintained libraries: Louvain (igraph), Leiden
(leidenalg), Infomap (infomap), spectral clustering (scikit-learn) and Girvan–Newman
(networkx). Each returns disjoint sets; edges are weighted by the judge's score. Components of
one or two tuples and cliques never reach the library (see ``common.iter_components``)."""

from __future__ import annotations

import random

import igraph as ig
import networkx as nx
import numpy as np

from lakefuse.sets.common import Component, LocalSets, PerComponent


def to_igraph(comp: Component, simplify: bool = True) -> ig.Graph:
    g = ig.Graph(n=comp.k, edges=np.column_stack([comp.l, comp.r]).tolist(), directed=False)
    g.es["weight"] = comp.w.tolist()
    if simplify:
        g.simplify(combine_edges="max")
    return g


def groups(labels: np.ndarray | list[int]) -> LocalSets:
    out: dict[int, list[int]] = {}
    for i, c in enumerate(labels):
        out.setdefault(int(c), []).append(i)
    return list(out.values())


def leiden_split(
    comp: Component, objective: str = "modularity", resolution: float = 1.0, seed: int = 0
) -> LocalSets:
    """Leiden communities. ``cpm`` (constant Potts) runs igraph's C implementation, an order
    of magnitude faster than leidenalg's on large components; ``modularity`` runs leidenalg
    (RB configuration model)."""
    g = to_igraph(comp, simplify=objective != "cpm")
    if objective == "cpm":
        ig.set_random_number_generator(random.Random(seed))
        part = g.community_leiden(
            objective_function="CPM", weights="weight", resolution=resolution, n_iterations=2
        )
        return [list(c) for c in part]
    import leidenalg

    part = leidenalg.find_partition(
        g,
        leidenalg.RBConfigurationVertexPartition,
        weights="weight",
        resolution_parameter=resolution,
        seed=seed,
    )
    return [list(c) for c in part]


class Louvain(PerComponent):
    """Louvain modularity optimisation (igraph's multilevel)."""

    name = "louvain"

    def __init__(self, resolution: float = 1.0) -> None:
        self.resolution = resolution

    def split(self, comp: Component) -> LocalSets:
        g = to_igraph(comp)
        part = g.community_multilevel(weights="weight", resolution=self.resolution)
        return [list(c) for c in part]


class Leiden(PerComponent):
    """Leiden (leidenalg): communities are guaranteed connected. ``objective`` is
    ``modularity`` (default) or ``cpm`` (constant Potts: internal density above
    ``resolution``, no resolution limit)."""

    name = "leiden"

    def __init__(self, objective: str = "modularity", resolution: float = 1.0, seed: int = 0):
        self.objective = objective
        self.resolution = resolution
        self.seed = seed

    def split(self, comp: Component) -> LocalSets:
        return leiden_split(comp, self.objective, self.resolution, self.seed)


class Infomap(PerComponent):
    """Infomap (map equation, two-level) on the weighted undirected component."""

    name = "infomap"

    def __init__(self, trials: int = 1, seed: int = 0) -> None:
        self.trials = trials
        self.seed = seed

    def split(self, comp: Component) -> LocalSets:
        import infomap

        im = infomap.Infomap(
            two_level=True, silent=True, num_trials=self.trials, seed=self.seed + 1
        )
        im.add_nodes(range(comp.k))
        for a, b, x in zip(comp.l.tolist(), comp.r.tolist(), comp.w.tolist()):
            if a != b:
                im.add_link(a, b, x)
        im.run()
        labels = np.zeros(comp.k, dtype=np.int64)
        # the engine's getModules converts the C++ map in C. infomap's Result API instead walks
        # SWIG vectors from Python, and that SWIG iterator type clashes with faiss's (both are
        # SWIG modules) once faiss is loaded in the same process: a segfault
        for node, module in dict(im._core.getModules(1, False)).items():
            labels[node] = module
        return groups(labels)


class Spectral(PerComponent):
    """Spectral clustering (scikit-learn) of the weighted adjacency; the number of clusters is
    the largest eigengap of the normalised Laplacian. Components above ``max_nodes`` fall back
    to Leiden (dense eigendecomposition)."""

    name = "spectral"

    def __init__(self, max_nodes: int = 1500, max_clusters: int | None = None, seed: int = 0):
        self.max_nodes = max_nodes
        self.max_clusters = max_clusters
        self.seed = seed

    def split(self, comp: Component) -> LocalSets:
        from sklearn.cluster import SpectralClustering

        if comp.k > self.max_nodes:
            self.stats["fallback_leiden"] = self.stats.get("fallback_leiden", 0) + 1
            return leiden_split(comp)
        a = np.zeros((comp.k, comp.k))
        a[comp.l, comp.r] = np.maximum(a[comp.l, comp.r], comp.w)
        a = np.maximum(a, a.T)
        np.fill_diagonal(a, 0.0)
        k = self._n_clusters(a)
        if k <= 1:
            return [list(range(comp.k))]
        labels = SpectralClustering(
            n_clusters=k, affinity="precomputed", random_state=self.seed, assign_labels="discretize"
        ).fit_predict(a)
        return groups(labels)

    def _n_clusters(self, a: np.ndarray) -> int:
        d = a.sum(axis=1)
        inv = 1.0 / np.sqrt(np.maximum(d, 1e-12))
        lap = np.eye(len(a)) - inv[:, None] * a * inv[None, :]
        vals = np.sort(np.linalg.eigvalsh(lap))
        cap = min(len(a) - 1, self.max_clusters or len(a) - 1)
        gaps = np.diff(vals[: cap + 1])
        return int(np.argmax(gaps)) + 1 if len(gaps) else 1


class GirvanNewman(PerComponent):
    """Girvan–Newman edge betweenness (networkx), keeping the level of highest modularity.
    Cubic: only components up to ``max_nodes``; larger ones fall back to Leiden."""

    name = "girvan_newman"

    def __init__(self, max_nodes: int = 80) -> None:
        self.max_nodes = max_nodes

    def split(self, comp: Component) -> LocalSets:
        if comp.k > self.max_nodes:
            self.stats["fallback_leiden"] = self.stats.get("fallback_leiden", 0) + 1
            return leiden_split(comp)
        g = comp.nx_graph()
        best: LocalSets = [list(range(comp.k))]
        best_q = nx.community.modularity(g, [set(best[0])], weight="weight")
        for level in nx.community.girvan_newman(g):
            q = nx.community.modularity(g, level, weight="weight")
            if q > best_q + 1e-12:
                best, best_q = [sorted(c) for c in level], q
            if len(level) >= comp.k:
                break
        return best
