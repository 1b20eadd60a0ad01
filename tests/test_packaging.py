"""Packaging: the core install carries only what integration needs; the benchmark's own
libraries (charts, FEBRL data, the Splink baseline) live in the ``bench`` extra and are
imported only inside ``lakefuse.bench``."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "lakefuse"
BENCH_ONLY = {"matplotlib", "recordlinkage", "splink"}


def _project() -> dict:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)["project"]


def _names(requirements: list[str]) -> set[str]:
    """Distribution names of PEP 508 requirement strings, normalised (PEP 503)."""
    return {
        re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9._-]+", r.strip()).group()).lower()
        for r in requirements
    }


def _imported_modules(path: Path) -> set[str]:
    """Top-level names of every absolute import in a module, at module level or inside a
    function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_core_dependencies_leave_the_bench_libraries_to_the_bench_extra() -> None:
    project = _project()
    core = _names(project["dependencies"])
    assert not core & BENCH_ONLY, f"bench-only libraries in the core install: {core & BENCH_ONLY}"
    assert _names(project["optional-dependencies"]["bench"]) >= BENCH_ONLY
    # what integration itself imports stays in the core install
    assert {"duckdb", "pyarrow", "pandas", "typer"} <= core


def test_license_is_an_spdx_expression() -> None:
    assert _project()["license"] == "Apache-2.0"


def test_no_module_outside_bench_imports_a_bench_library() -> None:
    modules = [p for p in PACKAGE.rglob("*.py") if "bench" not in p.relative_to(PACKAGE).parts]
    assert len(modules) > 20  # the scan sees the package, not an empty folder
    offenders = {
        str(p.relative_to(ROOT)): sorted(_imported_modules(p) & BENCH_ONLY)
        for p in modules
        if _imported_modules(p) & BENCH_ONLY
    }
    assert not offenders, f"bench libraries imported outside lakefuse.bench: {offenders}"


def test_the_scan_sees_the_bench_imports() -> None:
    # the same scan over lakefuse.bench finds the libraries there: it can fail
    bench = set().union(*(_imported_modules(p) for p in (PACKAGE / "bench").rglob("*.py")))
    assert bench >= BENCH_ONLY
