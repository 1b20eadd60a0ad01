"""Name -> implementation, imported lazily so heavy stages (torch, LLMs) load only when chosen."""

from __future__ import annotations

import importlib
import inspect
from typing import Any


class Registry:
    def __init__(self, stage: str, entries: dict[str, str]) -> None:
        self.stage = stage
        self.entries = dict(entries)

    def names(self) -> list[str]:
        return sorted(self.entries)

    def add(self, name: str, target: str) -> None:
        self.entries[name] = target

    def create(self, name: str, **options: Any) -> Any:
        if name not in self.entries:
            raise ValueError(
                f"unknown {self.stage} {name!r} (available: {', '.join(self.names())})"
            )
        module, _, attr = self.entries[name].partition(":")
        cls = getattr(importlib.import_module(module), attr)
        params = inspect.signature(cls).parameters
        if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
            unknown = sorted(set(options) - set(params))
            if unknown:
                raise ValueError(
                    f"unknown option {', '.join(map(repr, unknown))} for {self.stage} {name!r} "
                    f"(options: {', '.join(params) or 'none'})"
                )
        return cls(**options)
