"""The tfidf_mutual baseline and the labelled-pairs metric (issue #20, bench side)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lakefuse.bench.catalog import make_tasks
from lakefuse.bench.gold import Gold, load_gold, load_prediction
from lakefuse.bench.metrics import labelled_pairs, score
from lakefuse.bench.tfidf import best_matches, mutual_pairs, tfidf_mutual_baseline
from tests.conftest import SHARED, need


def test_mutual_best_matches_across_tables() -> None:
    texts = ["sony bravia 40 inch tv", "apple ipod nano 8gb", "ipod nano 8 gb apple", "sony tv 40"]
    groups = np.array([0, 0, 1, 1])
    best, score_ = best_matches(texts, groups)
    assert best.tolist() == [3, 2, 1, 0]  # each row's best is in the other table
    pairs = mutual_pairs(best, score_, 0.3)
    assert sorted(map(tuple, pairs.tolist())) == [(0, 3), (1, 2)]
    # a cut above every cosine keeps nothing
    assert len(mutual_pairs(best, score_, 1.0)) == 0


def test_labelled_pairs_scores_only_labelled_pairs() -> None:
    a0, a1, b0, b1 = ("A", 0), ("A", 1), ("B", 0), ("B", 1)
    gold = Gold(
        sets=[[a0, b0], [a1], [b1]],
        clean=None,
        conflicts=[],
        labelled=[(a0, b0, 1, "test"), (a1, b1, 0, "test"), (a0, b1, 0, "train")],
    )
    # a0-b0 found, a1-b1 wrongly merged: test split tp 1, fp 1 -> F1 2/3
    out = labelled_pairs([[a0, b0], [a1, b1]], gold)
    assert out["labelled_test_f1"] == pytest.approx(2 / 3)
    assert out["labelled_f1"] == pytest.approx(2 / 3)
    # an unlabelled merged pair (none here) would not count; nothing predicted -> F1 0
    assert labelled_pairs([[a0], [a1], [b0], [b1]], gold)["labelled_f1"] == 0.0


def test_tfidf_mutual_on_real_magellan_task(tmp_path: Path) -> None:
    need(SHARED / "magellan" / "dblp_acm")
    task = make_tasks(tmp_path / "tasks", [("dblp_acm", "none")])[0]
    gold = load_gold(task)
    assert gold.labelled and any(sp == "test" for *_, sp in gold.labelled)
    out = tmp_path / "out"
    tfidf_mutual_baseline(task / "input", out)
    s = score(gold, load_prediction(out))
    # a clean bibliography: the simple baseline is strong (issue #20 measured 0.987)
    assert s["labelled_f1"] > 0.9
    assert s["labelled_test_f1"] > 0.9
    # every input tuple is in exactly one set
    members = [t for ts in load_prediction(out).sets.values() for t in ts]
    assert sorted(members) == sorted(gold.universe)
