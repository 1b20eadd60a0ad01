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
