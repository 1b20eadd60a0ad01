"""Per-attribute strategy choice: each attribute's conflicts go to its own resolver."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lakefuse.types import ConflictProblem, Decision, ResolveContext, Resolver


class PerAttribute:
    def __init__(self, default: Resolver, by_attribute: Mapping[str, Resolver]) -> None:
        self.default = default
        self.by_attribute = dict(by_attribute)
        parts = ",".join(f"{a}={r.name}" for a, r in sorted(self.by_attribute.items()))
        self.name = f"{default.name}[{parts}]"

    def resolve(
        self, problems: Sequence[ConflictProblem], context: ResolveContext
    ) -> list[Decision]:
        groups: dict[int, tuple[Resolver, list[int]]] = {}
        for i, p in enumerate(problems):
            r = self.by_attribute.get(p.attribute, self.default)
            groups.setdefault(id(r), (r, []))[1].append(i)
        out: list[Decision | None] = [None] * len(problems)
        for r, idx in groups.values():
            decisions = r.resolve([problems[i] for i in idx], context)
            if len(decisions) != len(idx):
                raise RuntimeError(f"resolver {r.name} answered {len(decisions)} of {len(idx)}")
            for i, d in zip(idx, decisions):
                out[i] = d
        return [d for d in out if d is not None]

    def report(self) -> dict[str, Any]:
        """The run.json detail of each resolver in use that reports one (ICLCR's model
        process, say), merged."""
        out: dict[str, Any] = {}
        for r in {id(r): r for r in (self.default, *self.by_attribute.values())}.values():
            out.update(getattr(r, "report", dict)())
        return out
