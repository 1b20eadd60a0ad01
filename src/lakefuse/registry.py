"""Name -> implementation, imported lazily so heavy stages (torch, LLMs) load only when chosen.

Every strategy has a pydantic model of its options (types, defaults, ranges, a description
per field): options are validated against it before a run starts, and the strategy is built
from the validated values. A bad option is one line (:class:`OptionError`) naming the stage's
command-line flag, the option, the problem and the value given.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import sys
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import ErrorDetails

from lakefuse.errors import InputError

#: seeds reach numpy, torch and scikit-learn; the last takes 32-bit seeds only
MAX_SEED = 2**32 - 1


class Options(BaseModel):
    """Base of every strategy's options model: unknown options and NaN/inf are refused;
    numbers given for a text option are taken as text (``--resolver-opt model=7``)."""

    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        coerce_numbers_to_str=True,
        protected_namespaces=(),
    )


class OptionError(InputError, ValueError):
    """A setting, stage name or stage option that fails validation: one line, exit code 2 in
    the CLI. Also a ValueError, as these errors were before they had models."""


def show(value: Any) -> str:
    """A value as the user would have typed it (JSON; text quoted)."""
    if isinstance(value, str):
        return repr(value)
    try:
        return json.dumps(value, default=str)
    except (TypeError, ValueError):
        return repr(value)


_BOUNDS = {
    "greater_than_equal": (">=", "ge"),
    "greater_than": (">", "gt"),
    "less_than_equal": ("<=", "le"),
    "less_than": ("<", "lt"),
}
_KINDS = {
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "string": "text",
    "dict": "a mapping (JSON object)",
    "list": "a list (JSON array)",
    "tuple": "a list (JSON array)",
}


def problem(error: ErrorDetails) -> str:
    """What is wrong, in a few words (``must be >= 1``)."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind in _BOUNDS:
        op, key = _BOUNDS[kind]
        bound = ctx[key]
        if isinstance(bound, float) and bound.is_integer():
            bound = int(bound)
        return f"must be {op} {bound}"
    if kind == "finite_number":
        return "must be a finite number"
    if kind == "literal_error":
        return f"must be one of {ctx['expected']}"
    if kind == "int_from_float":
        return "must be an integer"
    base = kind.removesuffix("_type").removesuffix("_parsing")
    if base in _KINDS:
        return f"must be {_KINDS[base]}"
    msg = error["msg"].removeprefix("Value error, ")
    msg = msg.replace("Input should be", "must be")
    return msg[:1].lower() + msg[1:]


def first_error(
    exc: ValidationError, given: Mapping[str, Any], names: Iterable[str], owner: str
) -> tuple[str, str]:
    """(option, one-line problem with the value given) of the first error of ``exc``;
    ``names`` are the known options of ``owner`` (listed when an unknown one is given)."""
    error = exc.errors()[0]
    loc = error["loc"]
    key = str(loc[0]) if loc else "?"
    if error["type"] == "extra_forbidden":
        known = ", ".join(sorted(names)) or "none"
        return key, f"not an option of {owner} (options: {known})"
    text = problem(error)
    if len(loc) > 1:
        item = loc[1] + 1 if isinstance(loc[1], int) else loc[1]  # items count from 1
        text = f"item {item} {text}"
    if key in given:
        text += f" (got {show(given[key])})"
    return key, text


def check(model: type[Options], options: Mapping[str, Any], flag: str, owner: str) -> Options:
    """``options`` validated by ``model``; else an :class:`OptionError` such as
    ``--judge-opt epochs: must be >= 1 (got 0)``. ``owner`` names the strategy."""
    data = dict(options)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        key, text = first_error(exc, data, model.model_fields, owner)
        raise OptionError(f"{flag} {key}: {text}") from None


def as_kwargs(options: BaseModel) -> dict[str, Any]:
    """A validated model's fields as constructor keyword arguments (nested values kept)."""
    return {name: getattr(options, name) for name in type(options).model_fields}


class Registry:
    """The strategies of one stage: name -> (``module:Class``, options model).

    ``flag`` is the stage's command-line flag (``--judge``); its options go in
    ``{flag}-opt``. ``heavy``: name -> the slow-to-import libraries its strategy imports as
    it runs (see :func:`warm_imports`)."""

    def __init__(
        self,
        stage: str,
        entries: Mapping[str, tuple[str, type[Options]]],
        *,
        flag: str,
        heavy: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.stage = stage
        self.flag = flag
        self.option_flag = f"{flag}-opt"
        self.heavy = dict(heavy or {})
        #: name -> "module:Class"
        self.entries: dict[str, str] = {}
        #: name -> options model
        self.models: dict[str, type[Options]] = {}
        for name, (target, model) in entries.items():
            self.add(name, target, model)

    def names(self) -> list[str]:
        return sorted(self.entries)

    def add(self, name: str, target: str, options: type[Options]) -> None:
        self.entries[name] = target
        self.models[name] = options

    def check_name(self, name: str) -> None:
        if name not in self.entries:
            raise OptionError(
                f"{self.flag}: unknown {self.stage} {name!r} (available: {', '.join(self.names())})"
            )

    def options(self, name: str) -> type[Options]:
        """The options model of strategy ``name``."""
        self.check_name(name)
        return self.models[name]

    def heavy_imports(self, name: str) -> tuple[str, ...]:
        """The slow-to-import libraries strategy ``name`` imports as it runs, in the order
        it needs them."""
        return self.heavy.get(name, ())

    def load(self, name: str) -> Any:
        """The class of strategy ``name`` (its module imported now)."""
        self.check_name(name)
        module, _, attr = self.entries[name].partition(":")
        return getattr(importlib.import_module(module), attr)

    def validate(self, name: str, options: Mapping[str, Any]) -> Options:
        """``options`` of strategy ``name``, validated (OptionError otherwise)."""
        return check(self.options(name), options, self.option_flag, f"{self.stage} {name!r}")

    def create(self, name: str, **options: Any) -> Any:
        """Strategy ``name`` built from its validated options (defaults filled in)."""
        validated = self.validate(name, options)
        return self.load(name)(**as_kwargs(validated))


def warm_imports(modules: Iterable[str]) -> threading.Thread | None:
    """Import ``modules`` (in order) on a background thread and return it (None: all are
    imported already). A run starts it once its inputs are read: torch, scikit-learn,
    igraph and the like take seconds to import, which can overlap the engine's work
    (reading, the union and blocking run with the interpreter lock released). A stage that needs a
    module still being imported waits for it (Python's per-module import lock); one that
    failed here is imported again there, which reports the error. Only libraries go here,
    not lakefuse's own modules: no module of either thread imports the other's, so neither
    waits for a lock the other holds."""
    todo = [m for m in dict.fromkeys(modules) if m not in sys.modules]
    if not todo:
        return None

    def run() -> None:
        for module in todo:
            with contextlib.suppress(Exception):  # the stage's own import reports it
                importlib.import_module(module)

    thread = threading.Thread(target=run, name="lakefuse-imports", daemon=True)
    thread.start()
    return thread
