"""Integrable set discovery: tuples are nodes, integrable pairs edges, sets dense communities.

Every method runs per connected component and ends with the chaining guard (no set holds a
forbidden pair). ``hybrid`` is the recommended default: disjoint dense sets for entity-style
data, overlapping full-disjunction sets where a tuple completes several others."""

from __future__ import annotations

from typing import Any, Protocol

from lakefuse.registry import Registry
from lakefuse.sets import options as o
from lakefuse.types import IntegrabilityGraph, IntegrableSets


class SetFinder(Protocol):
    name: str

    def find(self, graph: IntegrabilityGraph) -> IntegrableSets: ...


SET_FINDERS = Registry(
    "set discovery method",
    {
        "components": ("lakefuse.sets.components:ConnectedComponents", o.ComponentsOptions),
        "cliques": ("lakefuse.sets.cliques:MaximalCliques", o.CliquesOptions),
        "louvain": ("lakefuse.sets.community:Louvain", o.LouvainOptions),
        "leiden": ("lakefuse.sets.community:Leiden", o.LeidenOptions),
        "infomap": ("lakefuse.sets.community:Infomap", o.InfomapOptions),
        "spectral": ("lakefuse.sets.community:Spectral", o.SpectralOptions),
        "girvan_newman": ("lakefuse.sets.community:GirvanNewman", o.GirvanNewmanOptions),
        "gnn": ("lakefuse.sets.gnn:GNNCommunities", o.GNNOptions),
        "hybrid": ("lakefuse.sets.hybrid:Hybrid", o.HybridOptions),
    },
    flag="--sets",
    # community detection; the one-to-one pass's text weights (scikit-learn)
    heavy={
        "hybrid": ("igraph", "leidenalg", "sklearn.feature_extraction.text"),
        "leiden": ("igraph", "leidenalg"),
        "louvain": ("igraph",),
    },
)


DEFAULT = "hybrid"


def get_set_finder(name: str, **options: Any) -> SetFinder:
    return SET_FINDERS.create(name, **options)
