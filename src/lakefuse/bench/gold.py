"""Reading and writing a task's gold folder and a system's prediction folder.

Formats are described in the :mod:`lakefuse.bench` docstring.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

TupleId = tuple[str, int]  # (table = file stem, row = 0-based data row)


@dataclass
class Gold:
    """A task's gold standard."""

    sets: list[list[TupleId]]  # index = gold set id
    clean: dict[int, dict[str, str | None]] | None  # set id -> attribute -> clean value
    conflicts: list[dict[str, Any]]
    meta: dict[str, Any] = field(default_factory=dict)
    universe: list[TupleId] = field(default_factory=list)  # every input tuple
    #: labelled pairs (left, right, label, split), where the source task has them
    labelled: list[tuple[TupleId, TupleId, int, str]] = field(default_factory=list)


@dataclass
class Prediction:
    """What a system produced: sets (membership) and, if any, the integrated values."""

    sets: dict[int, list[TupleId]]  # predicted set id -> tuples
    values: dict[int, dict[str, str | None]] | None  # set id -> attribute -> value
    run: dict[str, Any] | None = None


def _none(v: Any) -> str | None:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return None
    s = str(v)
    return s if s.strip() else None


def write_gold(
    folder: Path,
    sets: list[list[TupleId]],
    clean: list[dict[str, str | None]] | None,
    conflicts: list[dict[str, Any]],
    meta: dict[str, Any],
    attributes: list[str],
    noise: dict[tuple[str, int, str], str] | None = None,
    labelled: list[tuple[TupleId, TupleId, int, str]] | None = None,
) -> None:
    """Write a task's gold: ``sets.csv``, ``clean.csv``, ``conflicts.jsonl``, ``task.json``
    and, given ``noise``, ``noise.csv``: the kind of noise (se, te, conflict) of each cell
    the injection changed; given ``labelled``, ``labelled.csv``: the source's labelled pairs
    with their split (Magellan)."""
    folder.mkdir(parents=True, exist_ok=True)
    if labelled:
        pd.DataFrame(
            [(lt, lr, rt, rr, lab, split) for (lt, lr), (rt, rr), lab, split in labelled],
            columns=["l_table", "l_row", "r_table", "r_row", "label", "split"],
        ).to_csv(folder / "labelled.csv", index=False)
    if noise is not None:
        pd.DataFrame(
            sorted((t, r, a, k) for (t, r, a), k in noise.items()),
            columns=["table", "row", "attribute", "kind"],
        ).to_csv(folder / "noise.csv", index=False)
    rows = [(t, r, sid) for sid, members in enumerate(sets) for t, r in members]
    pd.DataFrame(rows, columns=["table", "row", "set_id"]).sort_values(
        ["set_id", "table", "row"]
    ).to_csv(folder / "sets.csv", index=False)
    if clean is not None:
        df = pd.DataFrame(clean, columns=attributes)
        df.insert(0, "set_id", range(len(clean)))
        df.to_csv(folder / "clean.csv", index=False)
    with (folder / "conflicts.jsonl").open("w", encoding="utf-8") as fh:
        for rec in conflicts:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    (folder / "task.json").write_text(json.dumps(meta, indent=2, default=str))


def _read_str_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])


def load_gold(task_dir: str | Path) -> Gold:
    task = Path(task_dir)
    g = task / "gold"
    s = _read_str_csv(g / "sets.csv")
    n = int(s["set_id"].astype(int).max()) + 1 if len(s) else 0
    sets: list[list[TupleId]] = [[] for _ in range(n)]
    for t, r, sid in zip(s["table"], s["row"].astype(int), s["set_id"].astype(int)):
        sets[sid].append((t, int(r)))
    clean = None
    if (g / "clean.csv").exists():
        c = _read_str_csv(g / "clean.csv")
        attrs = [a for a in c.columns if a != "set_id"]
        clean = {
            int(sid): {a: _none(v) for a, v in zip(attrs, vals)}
            for sid, *vals in c[["set_id", *attrs]].itertuples(index=False)
        }
    conflicts: list[dict[str, Any]] = []
    if (g / "conflicts.jsonl").exists():
        for line in (g / "conflicts.jsonl").read_text(encoding="utf-8").splitlines():
            if line.strip():
                conflicts.append(json.loads(line))
    meta = json.loads((g / "task.json").read_text()) if (g / "task.json").exists() else {}
    universe: list[TupleId] = []
    for f in sorted((task / "input").glob("*.csv")):
        nrows = len(_read_str_csv(f))
        universe.extend((f.stem, i) for i in range(nrows))
    labelled: list[tuple[TupleId, TupleId, int, str]] = []
    if (g / "labelled.csv").exists():
        lab = _read_str_csv(g / "labelled.csv")
        labelled = [
            ((lt, int(lr)), (rt, int(rr)), int(y), sp)
            for lt, lr, rt, rr, y, sp in lab.itertuples(index=False)
        ]
    return Gold(sets, clean, conflicts, meta, universe, labelled)


def load_prediction(out_dir: str | Path) -> Prediction:
    """Read a lakefuse-style output folder: membership.csv, integrated.csv (optional),
    run.json (optional)."""
    out = Path(out_dir)
    sets: dict[int, list[TupleId]] = {}
    mpath = out / "membership.csv"
    if mpath.exists() and mpath.stat().st_size > 0:
        m = _read_str_csv(mpath)
        for t, r, sid in zip(m["table"], m["row"], m["set_id"]):
            sets.setdefault(int(sid), []).append((str(t), int(r)))
    values = None
    ipath = out / "integrated.csv"
    if ipath.exists() and ipath.stat().st_size > 0:
        df = _read_str_csv(ipath)
        attrs = [a for a in df.columns if a != "set_id"]
        values = {
            int(sid): {a: _none(v) for a, v in zip(attrs, vals)}
            for sid, *vals in df[["set_id", *attrs]].itertuples(index=False)
        }
    run = None
    if (out / "run.json").exists():
        run = json.loads((out / "run.json").read_text())
    return Prediction(sets, values, run)
