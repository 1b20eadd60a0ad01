"""Conflict resolution: one interface (:class:`lakefuse.types.Resolver`), a strategy per class.

``get_resolver(name, **options)`` passes each strategy only the options its constructor
takes (the others belong to other strategies, e.g. inside ``per_attribute``), and rejects
options that no registered strategy takes.  ``per_attribute={"attr": "name", ...}`` picks a
strategy per attribute; the others use ``name``.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from lakefuse.registry import Registry
from lakefuse.types import Resolver

RESOLVERS = Registry(
    "resolver",
    {
        "vote": "lakefuse.resolve.vote:MajorityVote",
        "typo_vote": "lakefuse.resolve.typo:TypoVote",
        "truth": "lakefuse.resolve.truth:SourceTruth",
        "iclcr": "lakefuse.resolve.iclcr:ICLCR",
    },
)


def _accepted(name: str) -> set[str] | None:
    """Keyword options a strategy's constructor takes (None = any)."""
    if name not in RESOLVERS.entries:
        RESOLVERS.create(name)  # raises the registry's "unknown resolver" error
    module, _, attr = RESOLVERS.entries[name].partition(":")
    cls = getattr(importlib.import_module(module), attr)
    if cls.__init__ is object.__init__:
        return set()
    params = inspect.signature(cls.__init__).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return None
    return {p for p in params if p != "self"}


def _build(name: str, options: dict[str, Any]) -> Resolver:
    accepted = _accepted(name)
    kwargs = options if accepted is None else {k: v for k, v in options.items() if k in accepted}
    return RESOLVERS.create(name, **kwargs)


def get_resolver(name: str, **options: Any) -> Resolver:
    options = dict(options)
    per_attribute = options.pop("per_attribute", None) or {}
    if not isinstance(per_attribute, dict):
        raise ValueError("per_attribute must map attribute -> resolver name")
    names = {name, *per_attribute.values()}
    for n in names:
        _accepted(n)  # unknown names fail here
    # an option any strategy takes is fine (it may be meant for a per-attribute strategy or
    # a fallback); one that no strategy takes is a mistake
    accepted: set[str] = set()
    for n in RESOLVERS.names():
        acc = _accepted(n)
        accepted |= set(options) if acc is None else acc
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise ValueError(f"unknown resolver option(s) {unknown}")
    default = _build(name, options)
    if not per_attribute:
        return default
    from lakefuse.resolve.dispatch import PerAttribute

    return PerAttribute(default, {a: _build(n, options) for a, n in per_attribute.items()})


__all__ = ["RESOLVERS", "Resolver", "get_resolver"]
