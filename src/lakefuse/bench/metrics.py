"""The paper's metrics (``lakefuse bench score``).

* pairwise precision / recall / F1 over tuple pairs that share a set (a pair counts once even
  when it shares several sets); no predicted pairs gives precision 0 (1 if there are no gold
  pairs either), no gold pairs gives recall 1 only if nothing is predicted;
* set similarity: predicted and gold sets matched one-to-one by the Hungarian method on
  Jaccard similarity; the matched sum divided by the larger of the two set counts;
* conflict accuracy: share of gold conflicts whose matched predicted set has the true value;
* cell accuracy: share of the known clean cells of every gold set reproduced by its matched
  predicted set (an unmatched gold set gets every cell wrong);
* blocking recall: share of the gold pairs (same pairs as the pairwise metrics) among the
  candidate pairs the run judged (``pairs.parquet``), over all gold pairs, over the gold pairs
  whose tuples share a non-null attribute (the only pairs a judge can see: in a join task a
  player and a stadium share nothing and meet only through their team), and "linked" (the two
  tuples are joined by a path of candidate pairs inside their gold set, as the set stage needs);
  plus candidate pairs per tuple (the mean);
* wall time and peak memory per stage, from the prediction's run.json.

Values compare case- and whitespace-insensitively (:func:`lakefuse.bench.noise.normalize`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from lakefuse.arrays import unique_sorted
from lakefuse.bench.gold import Gold, Prediction, TupleId
from lakefuse.bench.noise import normalize


def _pair_codes(sets: Iterable[Sequence[int]], n: int) -> np.ndarray:
    parts = []
    for s in sets:
        a = unique_sorted(np.asarray(s, dtype=np.int64))
        if len(a) < 2:
            continue
        i, j = np.triu_indices(len(a), k=1)
        parts.append(a[i] * n + a[j])
    if not parts:
        return np.empty(0, dtype=np.int64)
    return unique_sorted(np.concatenate(parts))


def pairwise(
    predicted: Sequence[Sequence[TupleId]],
    gold: Sequence[Sequence[TupleId]],
    cross_only: bool = False,
) -> dict[str, float]:
    """Pairwise precision, recall, F1 (and the pair counts); ``cross_only``: only pairs of
    tuples from different tables count."""
    index: dict[TupleId, int] = {}
    for s in (*gold, *predicted):
        for t in s:
            index.setdefault(t, len(index))
    n = max(len(index), 1)
    p = _pair_codes(([index[t] for t in s] for s in predicted), n)
    g = _pair_codes(([index[t] for t in s] for s in gold), n)
    if cross_only:
        table_of = np.empty(len(index), dtype=object)
        for t, i in index.items():
            table_of[i] = t[0]
        p = p[table_of[p // n] != table_of[p % n]]
        g = g[table_of[g // n] != table_of[g % n]]
    tp = int(np.intersect1d(p, g, assume_unique=True).size)
    precision = tp / len(p) if len(p) else (1.0 if len(g) == 0 else 0.0)
    recall = tp / len(g) if len(g) else (1.0 if len(p) == 0 else 0.0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "pred_pairs": int(len(p)),
        "gold_pairs": int(len(g)),
        "true_pairs": tp,
    }


def match_sets(
    predicted: Sequence[Sequence[TupleId]], gold: Sequence[Sequence[TupleId]]
) -> tuple[dict[int, int], dict[int, float]]:
    """Hungarian matching maximising Jaccard. Returns gold index -> predicted index and
    gold index -> Jaccard, for matched pairs with positive overlap. Sets that share no tuple
    never match, so the problem splits into independent blocks (solved one at a time)."""
    pred = [frozenset(s) for s in predicted]
    gs = [frozenset(s) for s in gold]
    by_tuple: dict[TupleId, list[int]] = {}
    for j, s in enumerate(pred):
        for t in s:
            by_tuple.setdefault(t, []).append(j)
    # union-find over gold sets (ids 0..G-1) and predicted sets (G..G+P-1)
    parent = list(range(len(gs) + len(pred)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    overlaps: dict[int, set[int]] = {}
    for i, s in enumerate(gs):
        cand = {j for t in s for j in by_tuple.get(t, ())}
        overlaps[i] = cand
        for j in cand:
            parent[find(i)] = find(len(gs) + j)
    blocks: dict[int, tuple[list[int], list[int]]] = {}
    for i in range(len(gs)):
        if overlaps[i]:
            blocks.setdefault(find(i), ([], []))[0].append(i)
    for j in range(len(pred)):
        root = find(len(gs) + j)
        if root in blocks:
            blocks[root][1].append(j)
    match: dict[int, int] = {}
    score: dict[int, float] = {}
    for g_ids, p_ids in blocks.values():
        pj = {j: k for k, j in enumerate(p_ids)}
        m = np.zeros((len(g_ids), len(p_ids)))
        for a, i in enumerate(g_ids):
            for j in overlaps[i]:
                inter = len(gs[i] & pred[j])
                m[a, pj[j]] = inter / len(gs[i] | pred[j])
        rows, cols = linear_sum_assignment(m, maximize=True)
        for a, b in zip(rows, cols):
            if m[a, b] > 0:
                match[g_ids[a]] = p_ids[b]
                score[g_ids[a]] = float(m[a, b])
    return match, score


def set_similarity(
    predicted: Sequence[Sequence[TupleId]], gold: Sequence[Sequence[TupleId]]
) -> float:
    denom = max(len(predicted), len(gold))
    if denom == 0:
        return 1.0
    _, score = match_sets(predicted, gold)
    return sum(score.values()) / denom


def _attr_lookup(values: dict[str, str | None]) -> dict[str, str | None]:
    return {" ".join(k.strip().lower().split()): v for k, v in values.items()}


def value_accuracy(
    gold: Gold, pred_values: list[dict[str, str | None] | None], match: dict[int, int]
) -> dict[str, float | int | None]:
    """Conflict and cell accuracy. ``pred_values[j]``: the integrated row of predicted set j."""
    rows = [_attr_lookup(v) if v is not None else None for v in pred_values]

    def predicted(gold_set: int, attribute: str) -> str | None:
        j = match.get(gold_set)
        if j is None or rows[j] is None:
            return None
        return rows[j].get(" ".join(attribute.strip().lower().split()))  # type: ignore[union-attr]

    out: dict[str, float | int | None] = {
        "conflicts": len(gold.conflicts),
        "conflict_accuracy": None,
        "cells": 0,
        "cell_accuracy": None,
    }
    if gold.conflicts:
        right = 0
        for rec in gold.conflicts:
            sid = _gold_set_of(gold, rec)
            got = predicted(sid, rec["attribute"]) if sid is not None else None
            right += got is not None and normalize(got) == normalize(rec["truth"])
        out["conflict_accuracy"] = right / len(gold.conflicts)
    if gold.clean is not None:
        total = right = 0
        for sid, rec in gold.clean.items():
            for a, truth in rec.items():
                if truth is None:
                    continue
                total += 1
                got = predicted(sid, a)
                right += got is not None and normalize(got) == normalize(truth)
        out["cells"] = total
        out["cell_accuracy"] = right / total if total else None
    return out


def _gold_set_of(gold: Gold, rec: dict[str, Any]) -> int | None:
    if "set_id" in rec:
        return int(rec["set_id"])
    want = sorted((str(t), int(r)) for t, r in rec["set"])
    for i, s in enumerate(gold.sets):
        if sorted(s) == want:
            return i
    return None


def stage_costs(run: dict[str, Any] | None) -> dict[str, Any]:
    if not run:
        return {"wall_s": None, "peak_rss_mb": None, "stages": {}}
    stages = {
        k: {"wall_s": v.get("wall_s"), "peak_rss_mb": v.get("peak_rss_mb")}
        for k, v in (run.get("stages") or {}).items()
    }
    peaks = [v["peak_rss_mb"] for v in stages.values() if v["peak_rss_mb"] is not None]
    wall = run.get("wall_s_total")
    if wall is None:
        wall = sum(v["wall_s"] or 0.0 for v in stages.values())
    return {"wall_s": wall, "peak_rss_mb": max(peaks) if peaks else None, "stages": stages}


def score(gold: Gold, pred: Prediction) -> dict[str, Any]:
    """Every metric of one prediction against one task's gold."""
    ids = sorted(pred.sets)
    p_sets = [pred.sets[i] for i in ids]
    pw = pairwise(p_sets, gold.sets)
    match, jac = match_sets(p_sets, gold.sets)
    denom = max(len(p_sets), len(gold.sets))
    values = [pred.values.get(i) if pred.values is not None else None for i in ids]
    acc = value_accuracy(gold, values, match)
    return {
        **pw,
        **labelled_pairs(p_sets, gold),
        "set_similarity": (sum(jac.values()) / denom) if denom else 1.0,
        "pred_sets": len(p_sets),
        "gold_sets": len(gold.sets),
        **acc,
        **stage_costs(pred.run),
    }


Pair = tuple[TupleId, TupleId]


def _f1(pred: np.ndarray, label: np.ndarray) -> float:
    tp = int(np.count_nonzero(pred & label))
    fp = int(np.count_nonzero(pred & ~label))
    fn = int(np.count_nonzero(~pred & label))
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def labelled_pairs(predicted: Sequence[Sequence[TupleId]], gold: Gold) -> dict[str, float]:
    """The literature's Magellan metric: F1 over the labelled pairs (a pair is predicted a
    match when both tuples share a predicted set), on all labelled pairs and on the test split.
    Where the task's mapping is complete (Fodors-Zagat), every cross-table pair is labelled:
    pairwise F1 over the cross-table pairs. Empty for tasks without labels."""
    if gold.labelled:
        sets_of: dict[TupleId, set[int]] = {}
        for sid, members in enumerate(predicted):
            for t in members:
                sets_of.setdefault(t, set()).add(sid)
        pred = np.array(
            [bool(sets_of.get(a, set()) & sets_of.get(b, set())) for a, b, _, _ in gold.labelled]
        )
        label = np.array([y == 1 for _, _, y, _ in gold.labelled])
        test = np.array([sp == "test" for _, _, _, sp in gold.labelled])
        return {
            "labelled_f1": _f1(pred, label),
            "labelled_test_f1": _f1(pred[test], label[test]) if test.any() else float("nan"),
            "labelled_pairs": int(len(label)),
        }
    if (gold.meta.get("params") or {}).get("complete_mapping"):
        pw = pairwise(predicted, gold.sets, cross_only=True)
        return {"labelled_f1": pw["f1"], "labelled_pairs": pw["gold_pairs"]}
    return {}


def _ordered(a: TupleId, b: TupleId) -> Pair:
    return (a, b) if a <= b else (b, a)


def blocking(
    gold_sets: Sequence[Sequence[TupleId]],
    candidates: Iterable[tuple[TupleId, TupleId]],
    n_tuples: int,
    attributes: Mapping[TupleId, frozenset[str]] | None = None,
    replaced: Mapping[TupleId, frozenset[str]] | None = None,
) -> dict[str, Any]:
    """Blocking recall of the gold pairs among ``candidates`` (unordered tuple pairs).

    ``block_recall``: over every gold pair (the pairs of :func:`pairwise`);
    ``block_recall_shared``: over the gold pairs whose tuples share a non-null attribute
    (``attributes``: tuple -> its non-null evidence attributes; None when not given);
    ``block_recall_evidence``: over the gold pairs that share an attribute on which neither
    tuple's value was replaced by conflict noise (``replaced``: tuple -> those attributes) —
    the pairs whose shared values still say they are one entity, the most any blocker can
    find from the two tuples alone;
    ``block_recall_linked``: a gold pair counts when a path of candidate pairs joins its two
    tuples inside a gold set that holds both; ``pairs_per_tuple``: candidates / tuples."""
    cand = {_ordered(a, b) for a, b in candidates if a != b}
    gold_pairs: set[Pair] = set()
    linked: set[Pair] = set()
    for s in gold_sets:
        members = sorted(set(s))
        if len(members) < 2:
            continue
        parent = {t: t for t in members}

        def find(t: TupleId, parent: dict[TupleId, TupleId] = parent) -> TupleId:
            while parent[t] != t:
                parent[t] = parent[parent[t]]
                t = parent[t]
            return t

        pairs = [
            (members[i], members[j])
            for i in range(len(members))
            for j in range(i + 1, len(members))
        ]
        gold_pairs.update(pairs)
        for a, b in pairs:
            if (a, b) in cand:
                parent[find(a)] = find(b)
        linked.update((a, b) for a, b in pairs if find(a) == find(b))
    hit = gold_pairs & cand

    def ratio(num: int, den: int) -> float:
        return num / den if den else 1.0

    out: dict[str, Any] = {
        "block_recall": ratio(len(hit), len(gold_pairs)),
        "block_recall_shared": None,
        "block_recall_linked": ratio(len(linked), len(gold_pairs)),
        "block_pairs": len(cand),
        "block_gold_pairs": len(gold_pairs),
        "block_gold_pairs_shared": None,
        "block_recall_evidence": None,
        "block_gold_pairs_evidence": None,
        "pairs_per_tuple": len(cand) / n_tuples if n_tuples else 0.0,
    }
    if attributes is not None:
        empty: frozenset[str] = frozenset()
        shared = {
            (a, b) for a, b in gold_pairs if attributes.get(a, empty) & attributes.get(b, empty)
        }
        out["block_recall_shared"] = ratio(len(shared & cand), len(shared))
        out["block_gold_pairs_shared"] = len(shared)
        if replaced is not None:
            kept = {
                (a, b)
                for a, b in shared
                if (attributes.get(a, empty) - replaced.get(a, empty))
                & (attributes.get(b, empty) - replaced.get(b, empty))
            }
            out["block_recall_evidence"] = ratio(len(kept & cand), len(kept))
            out["block_gold_pairs_evidence"] = len(kept)
    return out


def present_attributes(
    input_dir: str | Path, ignore: Iterable[str] = ()
) -> dict[TupleId, frozenset[str]]:
    """Tuple (file stem, 0-based row) -> the attributes (headers as lakefuse aligns them,
    without ``ignore``, e.g. the run's surrogate keys) where it has a non-blank value."""
    import pandas as pd

    from lakefuse.io.align import header_key

    skip = {header_key(a) for a in ignore}
    out: dict[TupleId, frozenset[str]] = {}
    for f in sorted(Path(input_dir).glob("*.csv")):
        df = pd.read_csv(f, dtype=str, keep_default_na=False)
        cols = [c for c in df.columns if header_key(c) not in skip]
        keys = [header_key(c) for c in cols]
        filled = df[cols].apply(lambda c: c.str.strip() != "").to_numpy()
        for i, row in enumerate(filled):
            out[(f.stem, i)] = frozenset(k for k, ok in zip(keys, row) if ok)
    return out


def load_candidates(out_dir: str | Path) -> list[tuple[TupleId, TupleId]] | None:
    """The candidate pairs a lakefuse run judged (``pairs.parquet``: one row per pair blocking
    proposed, with its decision); None when the output has none (a baseline)."""
    path = Path(out_dir) / "pairs.parquet"
    if not path.exists():
        return None
    import pyarrow.parquet as pq

    t = pq.read_table(path, columns=["l_table", "l_row", "r_table", "r_row"])
    lt, lr, rt, rr = (t.column(c).to_pylist() for c in ("l_table", "l_row", "r_table", "r_row"))
    return [((a, int(b)), (c, int(d))) for a, b, c, d in zip(lt, lr, rt, rr)]


def blocking_of_run(task_dir: str | Path, gold: Gold, out_dir: str | Path) -> dict[str, Any]:
    """:func:`blocking` for one lakefuse output folder against its task ({} for a baseline)."""
    cands = load_candidates(out_dir)
    if cands is None:
        return {}
    run_json = Path(out_dir) / "run.json"
    ignore: list[str] = []
    if run_json.exists():
        import json

        union = (json.loads(run_json.read_text()).get("stages") or {}).get("union") or {}
        ignore = list(union.get("surrogate_keys") or [])
    attrs = present_attributes(Path(task_dir) / "input", ignore)
    n = len(gold.universe) or len(attrs)
    return blocking(gold.sets, cands, n, attrs, conflict_cells(task_dir))


def conflict_cells(task_dir: str | Path) -> dict[TupleId, frozenset[str]] | None:
    """Tuple -> the attributes (aligned header keys) whose value the task's conflict noise
    replaced (``gold/noise.csv``); None for a task written without it."""
    path = Path(task_dir) / "gold" / "noise.csv"
    if not path.exists():
        return None
    import pandas as pd

    from lakefuse.io.align import header_key

    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    out: dict[TupleId, set[str]] = {}
    for t, r, a, k in df[["table", "row", "attribute", "kind"]].itertuples(index=False):
        if k == "conflict":
            out.setdefault((t, int(r)), set()).add(header_key(a))
    return {key: frozenset(v) for key, v in out.items()}
