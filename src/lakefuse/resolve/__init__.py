"""Conflict resolution: one interface (:class:`lakefuse.types.Resolver`), a strategy per class."""

from __future__ import annotations

from typing import Any

from lakefuse.registry import Registry
from lakefuse.types import Resolver

RESOLVERS = Registry(
    "resolver",
    {
        "vote": "lakefuse.resolve.vote:MajorityVote",
    },
)


def get_resolver(name: str, **options: Any) -> Resolver:
    return RESOLVERS.create(name, **options)


__all__ = ["RESOLVERS", "Resolver", "get_resolver"]
