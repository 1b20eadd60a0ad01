"""A ceiling for the label-free judge on the scale bench: a classifier trained on the GOLD
labels of lakefuse's own candidate pairs, scored where it did not train.

What it reads: lakefuse's ``pairs.parquet`` (the candidate pairs, each attribute's evidence
``ev:<attribute>``) and the input tables. Per attribute it adds what a supervised matcher
would look at beside the evidence: whether both values are equal (lower case, trimmed), how
common each side's value is in the union (log count) and which side holds a value. A
gradient-boosted classifier (scikit-learn's ``HistGradientBoostingClassifier``) is fitted on
one half of the pairs (every true pair of that half and a sample of its false pairs, weighted
back to their share) and predicts the other half, and the other way round (cross-fitted:
no pair is scored by a model that saw its label).

Reported: the best pairwise P/R/F1 over the candidate pairs of a grid of cuts (the judge's
own decisions' P/R/F1 over the same pairs beside it), and the end-to-end P/R/F1 of the
connected components of the pairs it accepts (the best cut of the grid). This is what labels
buy a pairwise judge on these candidates and this evidence; it is not lakefuse: the bench
reads the gold here, which lakefuse never does."""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from lakefuse.bench.scale_pairs import components
from lakefuse.bench.scale_score import gold_pairs, pair_scores, prf, read_gold

#: the cuts of the classifier's probability tried (the best is reported)
CUTS = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99)
#: false pairs a fold trains on at most (the rest are represented by their weight)
MAX_NEGATIVES = 1_000_000
#: the largest size the scale bench measures the ceiling at by default (200k: about three
#: minutes on two cores; 1M would hold 50M pairs' features in memory)
CEILING_MAX_N = 200_000


def _union(inputs: Path, offsets: dict[str, int], attributes: list[str]) -> pa.Table:
    """Every input tuple's values of ``attributes`` (strings; null where its table lacks the
    attribute) with its number in the gold's numbering (``tid``)."""
    parts = []
    for table, offset in offsets.items():
        path = inputs / f"{table}.csv"
        with path.open(newline="", encoding="utf-8") as fh:
            header = next(csv.reader(fh))
        data = pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in header}, strings_can_be_null=True
            ),
        )
        n = data.num_rows
        cols = {"tid": pa.array(np.arange(offset, offset + n, dtype=np.int64))}
        for a in attributes:
            cols[a] = data.column(a) if a in header else pa.nulls(n, pa.string())
        parts.append(pa.table(cols))
    return pa.concat_tables(parts)


def _features(
    pairs: Path, inputs: Path, offsets: dict[str, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(left tuple, right tuple, lakefuse's decision, features) of every candidate pair."""
    attributes = [c[3:] for c in pq.read_schema(pairs).names if c.startswith("ev:")]
    con = duckdb.connect()
    con.register("u_raw", _union(inputs, offsets, attributes))
    norm = ", ".join(f'nullif(lower(trim("{a}")), \'\') as "{a}"' for a in attributes)
    con.execute(f"create table u as select tid, {norm} from u_raw")
    off = pa.table({"tb": list(offsets), "o": list(offsets.values())})
    con.register("off", off)
    exprs, joins = [], []
    for i, a in enumerate(attributes):
        con.execute(
            f'create table f{i} as select "{a}" v, count(*) c from u '
            f'where "{a}" is not null group by 1'
        )
        joins.append(
            f'left join f{i} fl{i} on fl{i}.v = l."{a}" left join f{i} fr{i} on fr{i}.v = r."{a}"'
        )
        exprs += [
            f'p."ev:{a}"',
            f'(l."{a}" = r."{a}")::float',
            f"ln(coalesce(fl{i}.c, 0) + 1)",
            f"ln(coalesce(fr{i}.c, 0) + 1)",
            f'(l."{a}" is not null)::int + 2 * (r."{a}" is not null)::int',
        ]
    cols = ", ".join(f"({e})::float as x{j}" for j, e in enumerate(exprs))
    got = con.sql(
        f"""select l.tid as lt, r.tid as rt, coalesce(p.decision, false) as d, {cols}
        from read_parquet('{pairs.as_posix()}') p
        join off ol on ol.tb = p.l_table join off orr on orr.tb = p.r_table
        join u l on l.tid = ol.o + p.l_row join u r on r.tid = orr.o + p.r_row
        {" ".join(joins)}"""
    ).to_arrow_table()
    con.close()
    x = np.column_stack(
        [got.column(f"x{j}").to_numpy(zero_copy_only=False) for j in range(len(exprs))]
    ).astype(np.float32)
    return (
        got.column("lt").to_numpy(),
        got.column("rt").to_numpy(),
        got.column("d").to_numpy(zero_copy_only=False),
        x,
    )


def cross_fitted(x: np.ndarray, y: np.ndarray, seed: int, max_negatives: int) -> np.ndarray:
    """Each pair's probability of being true from a classifier fitted on the other half."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(seed)
    fold = rng.integers(0, 2, len(y))
    prob = np.zeros(len(y), dtype=np.float64)
    for k in (0, 1):
        here = fold == k
        pos, neg = np.flatnonzero(here & y), np.flatnonzero(here & ~y)
        take = neg if len(neg) <= max_negatives else rng.choice(neg, max_negatives, False)
        rows = np.sort(np.concatenate([pos, take]))
        weight = np.where(y[rows], 1.0, len(neg) / max(1, len(take)))
        model = HistGradientBoostingClassifier(
            max_iter=200, learning_rate=0.1, max_leaf_nodes=63, random_state=seed
        )
        model.fit(x[rows], y[rows], sample_weight=weight)
        prob[~here] = model.predict_proba(x[~here])[:, 1]
    return prob


def supervised_ceiling(
    pairs: Path,
    inputs: Path,
    offsets: dict[str, int],
    person: np.ndarray,
    seed: int = 0,
    max_negatives: int = MAX_NEGATIVES,
) -> dict[str, Any]:
    """The ceiling (module docstring) of one lakefuse run's candidate pairs."""
    t0 = time.perf_counter()
    left, right, decision, x = _features(pairs, inputs, offsets)
    # in the order of the pairs, not of the file (its batches are written as scored, in an
    # order that varies between runs): the folds and samples depend on the pairs alone
    order = np.lexsort((np.maximum(left, right), np.minimum(left, right)))
    left, right, decision, x = left[order], right[order], decision[order], x[order]
    y = person[left] == person[right]
    true = int(y.sum())
    out: dict[str, Any] = {
        "candidate_pairs": len(y),
        "true_candidates": true,
        "judge_on_candidates": prf(int((y & decision).sum()), int(decision.sum()), true),
    }
    n = len(person)
    if true == 0 or true == len(y):
        return {**out, "error": "the candidates hold one class only", "seconds": 0.0}
    prob = cross_fitted(x, y, seed, max_negatives)
    best: dict[str, Any] = {"f1": -1.0}
    best_end: dict[str, Any] = {"f1": -1.0}
    gold = gold_pairs(person)
    for cut in CUTS:
        acc = prob >= cut
        here = {"cut": cut, **prf(int((acc & y).sum()), int(acc.sum()), true)}
        if here["f1"] > best["f1"]:
            best = here
        end = pair_scores(person, np.arange(n), components(np.stack([left[acc], right[acc]]), n))
        if end["f1"] > best_end["f1"]:
            best_end = {"cut": cut, **{k: end[k] for k in ("precision", "recall", "f1")}}
    return {
        **out,
        "labelled_on_candidates": best,
        "labelled_components": best_end,
        "gold_pairs": gold,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def in_child(pairs: Path, folder: Path, seed: int = 0, timeout: float = 3600.0) -> dict[str, Any]:
    """:func:`supervised_ceiling` of ``pairs`` against the scale data in ``folder``, in a
    process of its own: the bench's own process stays small, since a child it starts later
    inherits its memory image until exec, and the kernel's high-water mark of that child's
    memory (the bench's peak RSS) would count it."""
    cmd = [sys.executable, "-m", "lakefuse.bench.scale_ceiling", str(pairs), str(folder)]
    try:
        done = subprocess.run(
            [*cmd, "--seed", str(seed)], capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:g} s"}
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {done.returncode}: {tail[:300]}"}
    return dict(json.loads(done.stdout))


def main(argv: list[str] | None = None) -> int:
    """``python -m lakefuse.bench.scale_ceiling PAIRS FOLDER [--seed S]``: the ceiling as
    JSON on stdout (FOLDER: a scale data folder, ``input/`` and ``gold.csv``)."""
    ap = argparse.ArgumentParser(prog="python -m lakefuse.bench.scale_ceiling")
    ap.add_argument("pairs", type=Path)
    ap.add_argument("folder", type=Path)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    offsets, person = read_gold(args.folder)
    got = supervised_ceiling(args.pairs, args.folder / "input", offsets, person, args.seed)
    print(json.dumps(got))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
