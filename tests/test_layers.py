"""Imports run down the stages only.

Every module under src/lakefuse is parsed with :mod:`ast`; every import it makes (at the top,
inside functions, relative or absolute) and every registry entry it names
(``"lakefuse.judge.ssacl:SSACLJudge"``) must be of its own stage or a lower one."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import lakefuse

SRC = Path(lakefuse.__file__).resolve().parent

#: lowest first; a module's stage is its sub-package, or its own name for a top-level module
STAGES: list[set[str]] = [
    {
        "types",
        "errors",
        "config",
        "registry",
        "progress",
        "threads",
        "memory",
        "shutdown",
        "arrays",
    },
    {"engines"},
    {"text"},
    {"io"},
    {"encode"},
    {"augment"},
    {"block"},
    {"judge"},
    {"sets"},
    {"resolve"},
    {"merge"},
    {"pipeline", "judged", "output", "reference", "validate"},
    {"cli"},
    {"bench"},
]
RANK = {name: i for i, names in enumerate(STAGES) for name in names}

#: (importing module, imported module) pairs allowed against the order, with the reason
ALLOWED: dict[tuple[str, str], str] = {
    ("lakefuse.types", "lakefuse.engines.base"): (
        "UnionTable.engine's type annotation only (under TYPE_CHECKING, never imported at "
        "run time): the data types name the engine interface they are held by"
    ),
    ("lakefuse.cli", "lakefuse.bench.cli"): (
        "the optional `lakefuse bench` subcommand mounts the bench's own CLI, imported only "
        "when the bench extra is installed"
    ),
}

_ENTRY = re.compile(r"^(lakefuse(?:\.\w+)+):\w+$")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def stage(module: str) -> int | None:
    """The stage rank of a ``lakefuse...`` module; None for the package itself."""
    parts = module.split(".")
    if len(parts) == 1:
        return None
    return RANK.get(parts[1], -1)


def imports_in(source: str, module: str, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, module) of every ``lakefuse`` module that ``source`` (the text of ``module``)
    imports, anywhere in it, or names as a registry entry."""
    package = module if is_package else module.rpartition(".")[0]
    out: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            out.append((node.lineno, target))
            if target == "lakefuse":  # ``from lakefuse import judge``: names may be modules
                out += [(node.lineno, f"{target}.{a.name}") for a in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            m = _ENTRY.match(node.value)
            if m:
                out.append((node.lineno, m.group(1)))
    return [(line, t) for line, t in out if t == "lakefuse" or t.startswith("lakefuse.")]


def imports(path: Path) -> list[tuple[int, str]]:
    return imports_in(path.read_text(), module_name(path), path.name == "__init__.py")


def violations(path: Path) -> list[str]:
    me = module_name(path)
    mine = stage(me)
    if mine is None:  # the package's __init__: the public facade over every stage
        return []
    if mine < 0:
        return [f"{me}: no stage (add its name to STAGES in tests/test_layers.py)"]
    out = []
    for line, target in imports(path):
        theirs = stage(target)
        if target == "lakefuse.__version__" or theirs is None:
            continue  # the package itself (its version): every submodule import runs it
        if theirs < 0:
            out.append(f"{me}:{line} imports {target}, which has no stage")
        elif theirs > mine and (me, target) not in ALLOWED:
            out.append(f"{me}:{line} imports {target} (stage {theirs} > {mine})")
    return out


def test_imports_run_down_the_stages() -> None:
    offenders = [v for p in sorted(SRC.rglob("*.py")) for v in violations(p)]
    assert not offenders, "imports from a higher stage:\n" + "\n".join(offenders)


def test_the_text_layer_stands_on_the_types_and_errors_only() -> None:
    """lakefuse.text is below every stage that handles values: besides the standard library
    and third-party packages it may import only lakefuse.types and lakefuse.errors."""
    allowed = ("lakefuse.text", "lakefuse.types", "lakefuse.errors")
    offenders = [
        f"{module_name(p)}:{line} imports {t}"
        for p in sorted((SRC / "text").rglob("*.py"))
        for line, t in imports(p)
        if not any(t == a or t.startswith(a + ".") for a in allowed)
    ]
    assert not offenders, "\n".join(offenders)


def test_the_checker_sees_imports_inside_functions_relative_ones_and_entries() -> None:
    source = (
        "def f():\n    from lakefuse.judge import features\n"
        "from ..resolve import values\nENTRY = 'lakefuse.sets.gnn:GNNCommunities'\n"
    )
    found = sorted(t for _, t in imports_in(source, "lakefuse.text.probe"))
    assert found == ["lakefuse.judge", "lakefuse.resolve", "lakefuse.sets.gnn"]
    assert all(stage(t) > stage("lakefuse.text") for t in found)  # type: ignore[operator]


def test_every_stage_named_exists() -> None:
    present = {p.name if p.is_dir() else p.stem for p in SRC.iterdir()}
    assert set(RANK) <= present
