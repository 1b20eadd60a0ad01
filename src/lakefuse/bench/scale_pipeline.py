"""``lakefuse bench scale pipeline``: lakefuse end to end beside a generic Splink, by size.

At each size (rows of FEBRL-style person records in four sources, :mod:`.scale_data`; made
once and cached as CSV under ``OUT/data``) the same invocation runs ``lakefuse integrate``
(default Settings, quiet; with ``--engine duckdb,spark`` once per engine, the rows
``lakefuse`` and ``lakefuse-spark``, Spark in local mode) and
:func:`lakefuse.bench.baselines.splink_baseline`, each in a fresh
process under a wall-clock cap (:mod:`.scale_child`: wall time, peak RSS, temporary disk,
stages reached), and scores each output's membership against the gold people: pairwise
precision / recall / F1, the pairs of tuples sharing a set, counted once (as
:func:`lakefuse.bench.metrics.pairwise`, vectorised for a million tuples). Up to
200,000 rows (``--ceiling-max-n``) lakefuse's candidate pairs are also judged by a
classifier trained on the gold labels (:mod:`.scale_ceiling`): what labels would buy a
pairwise judge on the same candidates. Writes
``scale_pipeline.json`` (everything; sizes already there from an earlier call with the same
seed are kept unless rerun), ``scale_pipeline.md`` and ``scale_pipeline.png``
(:mod:`.scale_report`)::

    lakefuse bench scale pipeline --sizes 10000,50000 --seed 0 --timeout 1200 -o bench-out/scale
    lakefuse bench scale pipeline --sizes 10k,1M --engine duckdb,spark -o bench-out/scale
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from lakefuse.bench.scale_ceiling import CEILING_MAX_N
from lakefuse.bench.scale_ceiling import in_child as ceiling_in_child
from lakefuse.bench.scale_child import run_measured
from lakefuse.bench.scale_data import ensure
from lakefuse.bench.scale_pairs import candidate_recall
from lakefuse.bench.scale_score import gold_pairs, read_gold, score_membership

SYSTEMS = ("lakefuse", "splink")
ENGINES = ("duckdb", "spark")
#: the row (series) of lakefuse on each engine
ENGINE_SYSTEM = {"duckdb": "lakefuse", "spark": "lakefuse-spark"}
SIZES = (10_000, 50_000, 200_000, 1_000_000)
JSON_NAME = "scale_pipeline.json"


def parse_sizes(text: str | None) -> list[int]:
    """``"10000,50k,1M"`` -> sizes (k and M suffixes allowed)."""
    if not text:
        return list(SIZES)
    sizes = []
    for part in text.split(","):
        p = part.strip().lower().replace("_", "")
        mult = {"k": 1_000, "m": 1_000_000}.get(p[-1:], 1)
        try:
            n = int(float(p[:-1] if mult > 1 else p) * mult)
        except ValueError as exc:
            raise ValueError(f"--sizes: {part!r} is not a number") from exc
        if n < 10:
            raise ValueError(f"--sizes: {part!r} is below 10 rows")
        sizes.append(n)
    return sizes


def parse_engines(text: str | None) -> list[str]:
    """``"duckdb,spark"`` -> the engines lakefuse runs on (default DuckDB only)."""
    engines = [e.strip().lower() for e in (text or "duckdb").split(",") if e.strip()]
    bad = [e for e in engines if e not in ENGINES]
    if bad or not engines:
        raise ValueError(f"--engine: {text!r}: choose from {', '.join(ENGINES)}")
    return list(dict.fromkeys(engines))


def parse_systems(text: str | None) -> list[str]:
    """``"lakefuse,splink"`` -> the systems to run (default both)."""
    systems = [s.strip().lower() for s in (text or ",".join(SYSTEMS)).split(",") if s.strip()]
    bad = [s for s in systems if s not in SYSTEMS]
    if bad or not systems:
        raise ValueError(f"--systems: {text!r}: choose from {', '.join(SYSTEMS)}")
    return list(dict.fromkeys(systems))


def expand_systems(systems: Sequence[str], engines: Sequence[str]) -> list[str]:
    """``lakefuse`` becomes one row per engine (``lakefuse``, ``lakefuse-spark``)."""
    out: list[str] = []
    for system in systems:
        out += [ENGINE_SYSTEM[e] for e in engines] if system == "lakefuse" else [system]
    return list(dict.fromkeys(out))


def splink_installed() -> bool:
    return importlib.util.find_spec("splink") is not None


def spark_missing() -> str | None:
    """Why the Spark engine cannot run here (no pyspark, no Java), or None."""
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed (the spark extra)"
    from lakefuse.engines.spark_engine import java_missing

    return java_missing()


def _skip_reason(system: str) -> str | None:
    if system == "splink" and not splink_installed():
        return "splink is not installed"
    if system == "lakefuse-spark":
        return spark_missing()
    return None


def _ratio(a: dict[str, Any], b: dict[str, Any], key: str) -> float | None:
    if a.get("ok") and b.get("ok") and b.get(key):
        return round(a[key] / b[key], 3)
    return None


def _load_prior(path: Path, seed: int) -> dict[int, dict[str, Any]]:
    if not path.exists():
        return {}
    try:
        old = json.loads(path.read_text())
    except ValueError:
        return {}
    if old.get("seed") != seed:
        return {}
    return {int(e["n"]): e for e in old.get("sizes", [])}


def run(
    sizes: Sequence[int] = SIZES,
    seed: int = 0,
    timeout: float = 1200.0,
    out: Path = Path("bench-out/scale"),
    cache: Path | None = None,
    systems: Sequence[str] = SYSTEMS,
    slope_from: int = 50_000,
    echo: Callable[[str], None] | None = None,
    lakefuse_overrides: dict[str, Any] | None = None,
    engines: Sequence[str] = ("duckdb",),
    ceiling_max_n: int = CEILING_MAX_N,
) -> dict[str, Any]:
    """Run every system at every size; write the JSON, the Markdown and the chart under OUT.
    ``engines``: lakefuse runs once per engine (rows ``lakefuse``, ``lakefuse-spark``).
    ``lakefuse_overrides``: Settings changed from the defaults (tests; the benchmark has
    none). ``ceiling_max_n``: up to this size, lakefuse's (DuckDB) candidates are also judged
    by a classifier trained on the gold labels (:mod:`lakefuse.bench.scale_ceiling`; 0:
    never)."""
    from lakefuse.bench.run import _commit
    from lakefuse.bench.scale_report import draw, largest_stage

    say = echo or (lambda _s: None)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cache = Path(cache) if cache is not None else out / "data"
    commit = _commit()
    # names the results of this call (a size not rerun keeps an earlier call's results)
    call = datetime.now(UTC).isoformat(timespec="seconds")
    t_all = time.perf_counter()
    entries = _load_prior(out / JSON_NAME, seed)
    systems = expand_systems(systems, engines)
    for n in sizes:
        folder, meta = ensure(cache, n, seed)
        say(f"n={n}: {meta['people']} people, data {'cached' if meta['cached'] else 'made'}")
        offsets, person = read_gold(folder)
        # the systems not run this time keep their earlier result at this size (each result
        # names its commit)
        prior = entries.get(n, {})
        kept = {
            s: {**r, "commit": r.get("commit") or prior.get("commit")}
            for s, r in prior.get("systems", {}).items()
            if s not in systems
        }
        entry: dict[str, Any] = {"n": n, "commit": commit, "data": meta, "systems": kept}
        entry["lakefuse_overrides"] = dict(lakefuse_overrides or {})
        for system in systems:
            why = _skip_reason(system)
            if why:
                entry["systems"][system] = {"ok": False, "skipped": why}
                say(_line(n, system, entry["systems"][system]))
                continue
            run_dir = out / "runs" / f"n{n}" / system
            kind, extra = system, None
            if system in ENGINE_SYSTEM.values():
                kind, extra = "lakefuse", dict(lakefuse_overrides or {})
                if system == ENGINE_SYSTEM["spark"]:
                    extra["engine"] = "spark"
            res = run_measured(kind, folder / "input", run_dir, timeout, seed, extra)
            if res["ok"]:
                try:
                    res.update(score_membership(Path(res["out"]), offsets, person))
                except (MemoryError, ValueError) as exc:
                    res["score_error"] = str(exc)
                pairs = Path(res["out"]) / "pairs.parquet"
                if kind == "lakefuse" and pairs.exists():
                    res.update(candidate_recall(pairs, offsets, person, gold_pairs(person)))
                if system == "lakefuse" and pairs.exists() and n <= ceiling_max_n:
                    say(f"n={n}: the labelled ceiling on lakefuse's candidates")
                    res["ceiling"] = ceiling_in_child(pairs, folder, seed)
            if kind == "lakefuse":
                res["largest_stage"] = largest_stage(res)
            res["commit"], res["call"] = commit, call
            entry["systems"][system] = res
            say(_line(n, system, res))
        lf, lfs, sp = (
            entry["systems"].get(s, {}) for s in ("lakefuse", "lakefuse-spark", "splink")
        )
        if _ratio(lf, sp, "wall_s") is not None:
            entry["wall_ratio"] = _ratio(lf, sp, "wall_s")
        if lf.get("ok") and lfs.get("ok"):  # Spark against DuckDB
            entry["spark_vs_duckdb"] = {
                k: _ratio(lfs, lf, k) for k in ("wall_s", "peak_rss_mb", "disk_peak_mb")
            }
        entries[n] = entry
        report = _report(entries, seed, timeout, systems, slope_from, commit, t_all)
        (out / JSON_NAME).write_text(json.dumps(report, indent=1, default=str))
    report = _report(entries, seed, timeout, systems, slope_from, commit, t_all)
    (out / JSON_NAME).write_text(json.dumps(report, indent=1, default=str))
    draw(report, out)
    return report


def _line(n: int, system: str, res: dict[str, Any]) -> str:
    if not res.get("ok"):
        return f"  {system:<14} n={n}: {res.get('error') or res.get('skipped')}"
    return (
        f"  {system:<14} n={n}: wall {res['wall_s']:.1f}s  peak {res['peak_rss_mb']:.0f} MiB  "
        f"disk {res['disk_peak_mb']:.0f} MiB  F1 {res.get('f1', float('nan')):.4f}"
    )


def slope(points: Sequence[tuple[int, float]]) -> float | None:
    """The log-log slope from the first point to the last (None with fewer than two)."""
    if len(points) < 2 or points[-1][0] == points[0][0]:
        return None
    (n0, w0), (n1, w1) = points[0], points[-1]
    return round(float(np.log(w1 / w0) / np.log(n1 / n0)), 3)


def _report(
    entries: dict[int, dict[str, Any]],
    seed: int,
    timeout: float,
    systems: Sequence[str],
    slope_from: int,
    commit: str,
    t_all: float,
) -> dict[str, Any]:
    rows = [entries[n] for n in sorted(entries)]
    # every system in this call or kept from an earlier one, in a fixed order
    seen = [*systems, *(s for e in rows for s in e["systems"])]
    order = [*ENGINE_SYSTEM.values(), *SYSTEMS]
    all_systems = sorted(dict.fromkeys(seen), key=lambda s: (order + [s]).index(s))

    def walls(system: str) -> list[tuple[int, float]]:
        return [
            (e["n"], e["systems"][system]["wall_s"])
            for e in rows
            if e["systems"].get(system, {}).get("ok")
        ]

    lf, lfs = walls("lakefuse"), walls("lakefuse-spark")
    return {
        "what": "lakefuse bench scale pipeline",
        "commit": commit,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "memory_gib": round(
                os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1
            ),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "seed": seed,
        "timeout_s": timeout,
        "systems": all_systems,
        "wall_s": round(time.perf_counter() - t_all, 1),
        "slope_from": slope_from,
        "lakefuse_wall_slope": slope([p for p in lf if p[0] >= slope_from]),
        "lakefuse_wall_slope_all": slope(lf),
        "lakefuse_spark_wall_slope": slope([p for p in lfs if p[0] >= slope_from]),
        "lakefuse_spark_wall_slope_all": slope(lfs),
        "sizes": rows,
    }
