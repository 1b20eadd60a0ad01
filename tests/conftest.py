"""Shared fixtures: paths to the real data in ../shared and a CLI runner."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
STADIUMS = SHARED / "dialite" / "stadiums"
DBLP_ACM = SHARED / "magellan" / "dblp_acm"
EXAMPLE = ROOT / "examples" / "lake"


def input_tuples(folder: Path) -> set[tuple[str, int]]:
    """Every (table, row) of the CSV files in ``folder``: what membership must account for."""
    import pandas as pd

    out = set()
    for f in sorted(folder.glob("*.csv")):
        n = len(pd.read_csv(f, dtype=str, keep_default_na=False))
        out |= {(f.stem, i) for i in range(n)}
    return out


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real data not found: {path}")
    return path


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def stadiums() -> Path:
    return need(STADIUMS)
