"""Connected components of the integrability graph: the naive baseline. One wrong edge glues two
entities, and a tuple that completes several others (a team for its players) glues them all."""

from __future__ import annotations

import numpy as np

from lakefuse.sets.common import Partition, graph_components, make_sets
from lakefuse.types import IntegrabilityGraph, IntegrableSets


class ConnectedComponents:
    name = "components"

    def find(self, graph: IntegrabilityGraph) -> IntegrableSets:
        labels = graph_components(graph)
        return make_sets(graph.n_nodes, [Partition(np.arange(len(labels)), labels)], self.name)
