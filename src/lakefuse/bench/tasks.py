"""Build benchmark tasks from real clean tables (``lakefuse bench make``).

A *draft* holds clean source tables and the gold integrable sets; :func:`write_task` injects
noise for one setting, derives the conflict records and writes ``input/`` and ``gold/``.
The catalogue of tasks and suites is in :mod:`lakefuse.bench.catalog`.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from lakefuse.bench.gold import TupleId, write_gold
from lakefuse.bench.noise import NoiseSetting, conflicting, equivalent, typo

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data"
Cell = tuple[str, int, str]  # table, row, attribute


@dataclass
class Draft:
    name: str
    kind: str  # entity | join | magellan
    source: str
    tables: dict[str, pd.DataFrame]  # clean values (str or None), final row order
    sets: list[list[TupleId]]
    has_clean: bool = True
    params: dict[str, Any] | None = None
    #: labelled pairs (left, right, label, split) where the source has them (Magellan)
    labelled: list[tuple[TupleId, TupleId, int, str]] | None = None


def shared_dir() -> Path:
    import os

    return Path(os.environ.get("LAKEFUSE_SHARED_DATA", SHARED))


def _as_str(df: pd.DataFrame) -> pd.DataFrame:
    def cell(v: Any) -> str | None:
        if v is None or (isinstance(v, float) and pd.isna(v)):
            return None
        s = " ".join(str(v).split())
        return s or None

    return df.astype(object).map(cell).reset_index(drop=True)


# --------------------------------------------------------------------------- entity style


def entity_draft(
    clean: pd.DataFrame,
    name: str,
    primary: str,
    rng: random.Random,
    prefix: str = "source",
    n_sources: int = 3,
    coverage: float = 0.6,
    col_keep: float = 0.6,
    max_entities: int | None = None,
    source: str = "",
) -> Draft:
    """Each source holds a random part of the entities and of the columns (always the
    identifying ``primary`` column); rows shuffled. One gold set per entity."""
    clean = _as_str(clean).dropna(subset=[primary])
    order = list(range(len(clean)))
    rng.shuffle(order)
    if max_entities is not None:
        order = order[:max_entities]
    clean = clean.iloc[order].reset_index(drop=True)
    others = [c for c in clean.columns if c != primary]
    cols: list[list[str]] = []
    for _ in range(n_sources):
        keep = [c for c in others if rng.random() < col_keep] or [rng.choice(others)]
        cols.append(keep)
    for c in others:  # every attribute is carried by some source
        if not any(c in k for k in cols):
            cols[rng.randrange(n_sources)].append(c)
    holders: list[list[int]] = []
    for _ in range(len(clean)):
        h = [i for i in range(n_sources) if rng.random() < coverage]
        holders.append(h or [rng.randrange(n_sources)])
    tables: dict[str, pd.DataFrame] = {}
    sets: list[list[TupleId]] = [[] for _ in range(len(clean))]
    for i in range(n_sources):
        tname = f"{prefix}_{i}"
        ents = [e for e in range(len(clean)) if i in holders[e]]
        rng.shuffle(ents)
        keep = [primary] + [c for c in others if c in cols[i]]
        tables[tname] = clean.iloc[ents][keep].reset_index(drop=True)
        for row, e in enumerate(ents):
            sets[e].append((tname, row))
    params = {
        "n_sources": n_sources,
        "coverage": coverage,
        "col_keep": col_keep,
        "primary": primary,
        "entities": len(clean),
    }
    return Draft(name, "entity", source, tables, sets, True, params)


# --------------------------------------------------------------------------- join style


def join_draft(
    universal: pd.DataFrame,
    name: str,
    schema: dict[str, list[str]],
    rng: random.Random,
    row_keep: float = 0.9,
    source: str = "",
) -> Draft:
    """Project a universal (full-disjunction) table onto tables that share keys; one-to-many
    links make the gold sets overlap. Gold = the full disjunction of the projections: per
    universal row, the joinable projections that survived, subsumed sets removed."""
    universal = _as_str(universal)
    tables: dict[str, pd.DataFrame] = {}
    index: dict[str, dict[tuple[str | None, ...], int]] = {}
    for tname, cols in schema.items():
        proj = universal[cols].drop_duplicates()
        proj = proj[proj.notna().sum(axis=1) >= min(2, len(cols))]
        rows = [tuple(r) for r in proj.itertuples(index=False)]
        rows = [r for r in rows if rng.random() < row_keep] or rows[:1]
        rng.shuffle(rows)
        tables[tname] = pd.DataFrame(rows, columns=cols, dtype=object)
        index[tname] = {r: i for i, r in enumerate(rows)}
    found: set[frozenset[TupleId]] = set()
    for u in universal.itertuples(index=False):
        rec = dict(zip(universal.columns, u))
        present: list[tuple[TupleId, set[str]]] = []
        for tname, cols in schema.items():
            key = tuple(rec[c] for c in cols)
            if key in index[tname]:
                present.append(((tname, index[tname][key]), {c for c in cols if rec[c]}))
        for comp in _components(present):
            found.add(frozenset(comp))
    sets = _maximal(found)
    params = {"schema": schema, "row_keep": row_keep, "universal_rows": len(universal)}
    return Draft(name, "join", source, tables, sets, True, params)


def _components(present: list[tuple[TupleId, set[str]]]) -> list[list[TupleId]]:
    parent = list(range(len(present)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(present)):
        for j in range(i + 1, len(present)):
            if present[i][1] & present[j][1]:
                parent[find(i)] = find(j)
    groups: dict[int, list[TupleId]] = {}
    for i, (tid, _) in enumerate(present):
        groups.setdefault(find(i), []).append(tid)
    return list(groups.values())


def _maximal(found: Iterable[frozenset[TupleId]]) -> list[list[TupleId]]:
    """Drop sets that are strict subsets of another; deterministic order."""
    uniq = sorted(set(found), key=lambda s: (-len(s), sorted(s)))
    by_member: dict[TupleId, list[frozenset[TupleId]]] = {}
    keep: list[frozenset[TupleId]] = []
    for s in uniq:  # larger first: a superset is always seen before its subsets
        first = min(s)
        if any(s < other for other in by_member.get(first, [])):
            continue
        keep.append(s)
        for m in s:
            by_member.setdefault(m, []).append(s)
    return [sorted(s) for s in sorted(keep, key=lambda s: sorted(s))]


# --------------------------------------------------------------------------- Magellan


def _read_magellan(path: Path) -> pd.DataFrame:
    if path.parent.name == "fodors_zagat":
        df = pd.read_csv(path, dtype=str, quotechar="'", escapechar="\\", keep_default_na=False)
    else:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    return df


def magellan_draft(folder: Path, name: str) -> Draft:
    """tableA and tableB as inputs (ids and the leaking ``class`` column dropped); gold sets =
    connected components of the label-1 pairs, every other tuple a singleton. The labelled
    pairs (label 0 and 1, with their split) are kept for the literature's metric: F1 over the
    labelled pairs. Fodors-Zagat's mapping is complete: every cross pair is labelled."""
    labelled_rows: list[tuple[str, str, int, str]] = []
    if folder.name == "fodors_zagat":
        files = {"fodors": folder / "fodors.csv", "zagats": folder / "zagats.csv"}
        gold = pd.read_csv(folder / "fodors-zagats_perfectMapping.csv", dtype=str)
        pairs = list(zip(gold["fodors_id"], gold["zagats_id"]))
    else:
        files = {"tableA": folder / "tableA.csv", "tableB": folder / "tableB.csv"}
        for split in ("train", "valid", "test"):
            part = pd.read_csv(folder / f"{split}.csv", dtype=str)
            labelled_rows.extend(
                (a, b, int(lab), split)
                for a, b, lab in zip(part["ltable_id"], part["rtable_id"], part["label"])
            )
        pairs = [(a, b) for a, b, lab, _ in labelled_rows if lab == 1]
    tables: dict[str, pd.DataFrame] = {}
    ids: list[dict[str, int]] = []
    for tname, f in files.items():
        df = _read_magellan(f)
        ids.append({str(v).strip(): i for i, v in enumerate(df["id"])})
        tables[tname] = _as_str(df.drop(columns=[c for c in ("id", "class") if c in df]))
    names = list(files)
    nodes = [(t, r) for t in names for r in range(len(tables[t]))]
    parent = {n: n for n in nodes}

    def find(n: TupleId) -> TupleId:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for a, b in pairs:
        la, lb = ids[0].get(str(a).strip()), ids[1].get(str(b).strip())
        if la is not None and lb is not None:
            parent[find((names[0], la))] = find((names[1], lb))
    groups: dict[TupleId, list[TupleId]] = {}
    for n in nodes:
        groups.setdefault(find(n), []).append(n)
    sets = sorted((sorted(g) for g in groups.values()), key=lambda s: s[0])
    labelled: list[tuple[TupleId, TupleId, int, str]] = []
    for a, b, lab, split in labelled_rows:
        la, lb = ids[0].get(str(a).strip()), ids[1].get(str(b).strip())
        if la is not None and lb is not None:
            labelled.append(((names[0], la), (names[1], lb), lab, split))
    params = {"gold_pairs": len(pairs), "complete_mapping": folder.name == "fodors_zagat"}
    return Draft(name, "magellan", str(folder), tables, sets, False, params, labelled or None)


# --------------------------------------------------------------------------- noise + write


def inject(
    draft: Draft, setting: NoiseSetting, rng: random.Random
) -> tuple[dict[str, pd.DataFrame], dict[Cell, str], dict[str, Any]]:
    """Noisy copies of the tables, the noise of each cell, and statistics. A (set,
    attribute) carried by several tuples keeps at least one clean copy."""
    pools: dict[str, list[str]] = {}
    for df in draft.tables.values():
        for c in df.columns:
            pools.setdefault(c, []).extend(v for v in df[c] if v is not None)
    noisy = {t: df.copy() for t, df in draft.tables.items()}
    noise: dict[Cell, tuple[str, str, str]] = {}  # cell -> (kind, detail, new value)
    n_cells = 0
    for tname, df in draft.tables.items():
        for col in df.columns:
            for row, v in enumerate(df[col]):
                if v is None:
                    continue
                n_cells += 1
                u = rng.random()
                new: tuple[str, str] | None = None
                if u < setting.conflict:
                    other = conflicting(v, pools[col], rng)
                    new = (other, "conflict") if other is not None else None
                    kind = "conflict"
                elif u < setting.conflict + setting.se:
                    new, kind = equivalent(v, rng, col), "se"
                elif u < setting.conflict + setting.se + setting.te:
                    t = typo(v, rng)
                    new, kind = ((t, "typo") if t is not None else None), "te"
                if new is not None:
                    noise[(tname, row, col)] = (kind, new[1], new[0])
    for members in draft.sets:  # guard: keep one clean copy of every shared cell
        cols = {c for t, _ in members for c in draft.tables[t].columns}
        for col in sorted(cols):
            copies = [
                (t, r, col)
                for t, r in members
                if col in draft.tables[t].columns and draft.tables[t].at[r, col]
            ]
            if len(copies) >= 2 and all(c in noise for c in copies):
                noise.pop(rng.choice(copies))
    for (t, r, c), (_, _, value) in noise.items():
        noisy[t].at[r, c] = value
    kinds: dict[str, int] = {}
    details: dict[str, int] = {}
    for kind, detail, _ in noise.values():
        kinds[kind] = kinds.get(kind, 0) + 1
        details[f"{kind}:{detail}"] = details.get(f"{kind}:{detail}", 0) + 1
    stats = {
        "cells": n_cells,
        "noisy": {k: kinds.get(k, 0) for k in ("se", "te", "conflict")},
        "rates": {k: round(kinds.get(k, 0) / max(n_cells, 1), 4) for k in ("se", "te", "conflict")},
        "kinds": dict(sorted(details.items())),
    }
    return noisy, {c: k for c, (k, _, _) in noise.items()}, stats


def attributes_of(tables: dict[str, pd.DataFrame]) -> list[str]:
    out: list[str] = []
    for df in tables.values():
        out.extend(c for c in df.columns if c not in out)
    return out


def clean_values(draft: Draft, attributes: list[str]) -> list[dict[str, str | None]]:
    out = []
    for members in draft.sets:
        rec: dict[str, str | None] = {a: None for a in attributes}
        for t, r in members:
            for c, v in draft.tables[t].iloc[r].items():
                if v is not None and rec[str(c)] is None:
                    rec[str(c)] = v
        out.append(rec)
    return out


def conflict_records(
    draft: Draft,
    noisy: dict[str, pd.DataFrame],
    clean: list[dict[str, str | None]],
    attributes: list[str],
) -> list[dict[str, Any]]:
    """One record per (gold set, attribute) whose tuples carry two or more distinct values."""
    recs = []
    for sid, members in enumerate(draft.sets):
        vals: dict[str, list[str]] = {}
        for t, r in members:
            for c, v in noisy[t].iloc[r].items():
                if v is not None and v not in vals.setdefault(str(c), []):
                    vals[str(c)].append(v)
        known = {a: v[0] for a, v in vals.items() if len(v) == 1}
        for a in attributes:
            cands = vals.get(a, [])
            if len(cands) >= 2:
                truth = clean[sid][a]
                recs.append(
                    {
                        "set_id": sid,
                        "set": [[t, r] for t, r in members],
                        "known": known,
                        "attribute": a,
                        "candidates": sorted(cands),
                        "truth": truth,
                        "truth_in_candidates": truth in cands,
                    }
                )
    return recs


def write_task(root: Path, draft: Draft, setting: NoiseSetting, seed: int) -> Path:
    name = f"{draft.name}-{setting.name}"
    folder = root / name
    rng = random.Random(f"{seed}:{draft.name}:{setting.name}:noise")
    noisy, noise, stats = inject(draft, setting, rng)
    attributes = attributes_of(draft.tables)
    clean = clean_values(draft, attributes) if draft.has_clean else None
    conflicts = conflict_records(draft, noisy, clean, attributes) if clean is not None else []
    inp = folder / "input"
    inp.mkdir(parents=True, exist_ok=True)
    for old in inp.glob("*.csv"):
        old.unlink()
    for tname, df in noisy.items():
        df.to_csv(inp / f"{tname}.csv", index=False)
    n_tuples = sum(len(df) for df in noisy.values())
    meta = {
        "task": name,
        "base": draft.name,
        "kind": draft.kind,
        "source": draft.source,
        "setting": setting.to_dict(),
        "seed": seed,
        "params": draft.params,
        "tables": {t: len(df) for t, df in noisy.items()},
        "tuples": n_tuples,
        "gold_sets": len(draft.sets),
        "attributes": attributes,
        "clean": clean is not None,
        "conflicts": len(conflicts),
        "noise": stats,
    }
    write_gold(
        folder / "gold", draft.sets, clean, conflicts, meta, attributes, noise, draft.labelled
    )
    return folder
