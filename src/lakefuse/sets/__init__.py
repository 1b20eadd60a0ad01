"""Integrable set discovery: tuples are nodes, integrable pairs edges, sets dense communities."""

from __future__ import annotations

from typing import Any, Protocol

from lakefuse.registry import Registry
from lakefuse.types import IntegrabilityGraph, IntegrableSets


class SetFinder(Protocol):
    name: str

    def find(self, graph: IntegrabilityGraph) -> IntegrableSets: ...


SET_FINDERS = Registry(
    "set discovery method",
    {
        "components": "lakefuse.sets.components:ConnectedComponents",
        "cliques": "lakefuse.sets.cliques:MaximalCliques",
    },
)


def get_set_finder(name: str, **options: Any) -> SetFinder:
    return SET_FINDERS.create(name, **options)
