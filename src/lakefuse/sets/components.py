"""Connected components of the integrability graph: the naive baseline. One wrong edge glues two
entities, and a tuple that completes several others (a team for its players) glues them all."""

from __future__ import annotations

from lakefuse.sets.common import graph_components, group_nodes, make_sets
from lakefuse.types import IntegrabilityGraph, IntegrableSets


class ConnectedComponents:
    name = "components"

    def find(self, graph: IntegrabilityGraph) -> IntegrableSets:
        labels = graph_components(graph)
        return make_sets(graph.n_nodes, group_nodes(labels), self.name)
