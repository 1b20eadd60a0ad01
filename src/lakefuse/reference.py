"""The settings reference, generated from the models: every run setting and every stage
strategy's options (name, type, default, range, description), as text (``lakefuse options``)
or as Markdown (``lakefuse options --markdown > docs/settings.md``; a test keeps that file
up to date)."""

from __future__ import annotations

import dataclasses
import inspect
import json
import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from lakefuse.block import BLOCKERS
from lakefuse.config import FLAGS, Settings
from lakefuse.judge import JUDGES
from lakefuse.registry import OptionError, Registry
from lakefuse.resolve import RESOLVERS
from lakefuse.resolve.options import SharedOptions
from lakefuse.sets import SET_FINDERS

#: stage (its Settings field and CLI flag) -> (registry, options every strategy of it takes)
STAGES: dict[str, tuple[Registry, type[BaseModel] | None]] = {
    "blocker": (BLOCKERS, None),
    "judge": (JUDGES, None),
    "sets": (SET_FINDERS, None),
    "resolver": (RESOLVERS, SharedOptions),
}
MARKDOWN_COMMAND = "lakefuse options --markdown > docs/settings.md"


@dataclass
class Row:
    name: str
    type: str
    default: str
    range: str
    description: str


def type_name(tp: Any) -> str:
    """A type as a user writes values of it (``int or null``, ``[float, float]``)."""
    origin, args = get_origin(tp), get_args(tp)
    if tp is type(None):
        return "null"
    if origin is Annotated:
        return type_name(args[0])
    if origin in (Union, types.UnionType):
        return " or ".join(dict.fromkeys(type_name(a) for a in args))
    if origin is Literal:
        return "text"
    if origin is tuple:
        return "[" + ", ".join(type_name(a) for a in args) + "]"
    if origin is list:
        return f"[{type_name(args[0])}, ...]"
    if origin is dict:
        return f"{{{type_name(args[0])}: {type_name(args[1])}}}"
    return {int: "int", float: "float", bool: "bool", str: "text", Any: "any"}.get(tp, str(tp))


def show_value(value: Any) -> str:
    """A default as it is typed on the command line (JSON, text bare)."""
    if isinstance(value, str):
        return value
    if isinstance(value, tuple):
        value = list(value)
    return json.dumps(value)


def _choices(tp: Any) -> list[Any]:
    origin, args = get_origin(tp), get_args(tp)
    if origin is Literal:
        return list(args)
    if origin in (Union, types.UnionType, Annotated):
        return [c for a in args for c in _choices(a)]
    return []


def range_of(field: FieldInfo) -> str:
    """``[0, 1]``, ``>= 1``, ``(0, 1)``, the choices of a Literal, or empty."""
    bounds: dict[str, Any] = {}
    for m in field.metadata:
        for key in ("ge", "gt", "le", "lt"):
            if getattr(m, key, None) is not None:
                bounds[key] = getattr(m, key)
    lo = ("[", bounds["ge"]) if "ge" in bounds else ("(", bounds["gt"]) if "gt" in bounds else None
    hi = ("]", bounds["le"]) if "le" in bounds else (")", bounds["lt"]) if "lt" in bounds else None
    if lo and hi:
        return f"{lo[0]}{lo[1]}, {hi[1]}{hi[0]}"
    if lo:
        return f"{'>=' if lo[0] == '[' else '>'} {lo[1]}"
    if hi:
        return f"{'<=' if hi[0] == ']' else '<'} {hi[1]}"
    choices = _choices(field.annotation)
    return ", ".join(map(str, choices))


def _row(name: str, field: FieldInfo, default: Any) -> Row:
    return Row(
        name,
        type_name(field.annotation),
        show_value(default),
        range_of(field),
        field.description or "",
    )


def model_rows(model: type[BaseModel]) -> list[Row]:
    """One row per option of a strategy's model."""
    return [
        _row(name, f, f.get_default(call_default_factory=True))
        for name, f in model.model_fields.items()
    ]


def settings_rows() -> list[Row]:
    """One row per run setting (:class:`lakefuse.config.Settings`)."""
    hints = typing.get_type_hints(Settings, include_extras=True)
    defaults = Settings()
    rows = []
    for f in dataclasses.fields(Settings):
        row = _row(f.name, FieldInfo.from_annotation(hints[f.name]), getattr(defaults, f.name))
        if f.name in STAGES:
            row.type, row.range = "name", ", ".join(STAGES[f.name][0].names())
        rows.append(row)
    return rows


def doc(model: type[BaseModel]) -> str:
    """A strategy's description: its options model's docstring, as one paragraph."""
    return " ".join(inspect.cleandoc(model.__doc__ or "").split())


def strategies(stage: str | None = None, name: str | None = None) -> list[tuple[str, str]]:
    """(stage, strategy) pairs, all or those asked for; OptionError names an unknown one."""
    if stage is not None and stage not in STAGES:
        raise OptionError(f"unknown stage {stage!r} (stages: {', '.join(STAGES)})")
    out = []
    for s in [stage] if stage else list(STAGES):
        registry = STAGES[s][0]
        if name is not None:
            registry.check_name(name)
        out += [(s, n) for n in ([name] if name else registry.names())]
    return out


def _table(rows: list[Row], head: tuple[str, ...]) -> list[str]:
    cells = [head, *((r.name, r.type, r.default, r.range, r.description) for r in rows)]
    widths = [max(len(c[i]) for c in cells) for i in range(len(head) - 1)]
    return [
        "  " + "  ".join(c[i].ljust(widths[i]) for i in range(len(head) - 1)) + "  " + c[-1]
        for c in cells
    ]


def render_text(stage: str | None = None, name: str | None = None) -> str:
    """Each strategy's options as aligned text (``lakefuse options [STAGE [NAME]]``)."""
    defaults = Settings()
    lines: list[str] = []
    head = ("option", "type", "default", "range", "description")
    shown: set[str] = set()
    for s, n in strategies(stage, name):
        registry, shared = STAGES[s]
        if shared is not None and s not in shown:
            shown.add(s)
            lines += [f"{s} (every strategy): {registry.option_flag} KEY=VALUE"]
            lines += [*_table(model_rows(shared), head), ""]
        mark = " (default)" if getattr(defaults, s) == n else ""
        model = registry.models[n]
        lines.append(f"{registry.flag} {n}{mark}: {doc(model)}")
        rows = model_rows(model)
        lines += [*_table(rows, head), ""] if rows else ["  (no options)", ""]
    return "\n".join(lines).rstrip() + "\n"


def _md_table(rows: list[Row], first: str, flags: bool = False) -> list[str]:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    def code(text: str) -> str:
        return f"`{cell(text)}`" if text else ""

    head = [first, *(["flag"] if flags else []), "type", "default", "range", "description"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        flag = [code(FLAGS.get(r.name, ""))] if flags else []
        cells = [code(r.name), *flag, cell(r.type), code(r.default), cell(r.range)]
        out.append("| " + " | ".join([*cells, cell(r.description)]) + " |")
    return out


def render_markdown() -> str:
    """The settings reference (docs/settings.md)."""
    defaults = Settings()
    lines = [
        "# Settings reference",
        "",
        f"<!-- generated from the models by `{MARKDOWN_COMMAND}`; do not edit by hand -->",
        "",
        "Every setting of a run, as `run.json` records it under `settings` (its JSON schema: "
        "`lakefuse schema`), and every option of each stage's strategies. Options are given "
        "as `KEY=VALUE` (the value read as JSON where it parses, else as text), are checked "
        "before a run reads or writes anything, and one that does not fit is a one-line "
        "error (exit code 2). The same tables in a terminal: `lakefuse options [STAGE "
        "[NAME]]`.",
        "",
        "## Run settings",
        "",
        *_md_table(settings_rows(), "setting", flags=True),
    ]
    for s, (registry, shared) in STAGES.items():
        lines += [
            "",
            f"## {s}: `{registry.flag} NAME`, `{registry.option_flag} KEY=VALUE`",
        ]
        if shared is not None:
            lines += [
                "",
                f"Options of every {s}: {doc(shared)}",
                "",
                *_md_table(model_rows(shared), "option"),
            ]
        for n in registry.names():
            model = registry.models[n]
            mark = " (default)" if getattr(defaults, s) == n else ""
            rows = model_rows(model)
            lines += ["", f"### {s} `{n}`{mark}", "", doc(model), ""]
            lines += _md_table(rows, "option") if rows else ["No options."]
    return "\n".join(lines) + "\n"
