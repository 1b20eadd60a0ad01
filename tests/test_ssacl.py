"""The SSACL judge: self-supervised training on the input, deterministic, explainable,
saved and reloaded; nulls are no evidence, a shared city is not a match."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from lakefuse.config import Settings
from lakefuse.encode import amx
from lakefuse.engines import get_engine
from lakefuse.io import align, from_dataframe, outer_union
from lakefuse.judge import get_judge, load_judge
from lakefuse.judge.ssacl import SSACLJudge
from lakefuse.judge.ssacl_train import otsu, prior_shift_threshold
from lakefuse.judged import scored_batches
from lakefuse.types import TABLE, UnionTable

FAST = {"encoder": "qgram", "epochs": 6, "target_groups": 600, "max_anchors": 200}

CITIES = ["Boston", "New York", "Chicago", "Denver", "Seattle"]
COUNTRIES = ["United States", "Canada", "Mexico"]
SHORT = {"United States": "USA", "Canada": "CA", "Mexico": "MEX"}
NAMES = [
    "Fenway Park",
    "Yankee Stadium",
    "Wrigley Field",
    "Coors Field",
    "Safeco Field",
    "Lambeau Field",
    "Soldier Field",
    "Gillette Stadium",
    "Lincoln Financial Field",
    "Arrowhead Stadium",
    "Lucas Oil Stadium",
    "Heinz Field",
    "Ford Field",
    "Citi Field",
    "Oracle Park",
    "Dodger Stadium",
    "Busch Stadium",
    "Target Field",
    "Comerica Park",
    "Kauffman Stadium",
    "Petco Park",
    "Chase Field",
    "Globe Life Park",
    "Progressive Field",
]


def _typo(s: str, i: int) -> str:
    k = 1 + i % (len(s) - 2)
    return s[:k] + s[k + 1] + s[k] + s[k + 2 :]


def lake() -> tuple[pd.DataFrame, pd.DataFrame, set[tuple[int, int]]]:
    """Two tables about the same stadiums; B has typos, short country names, no capacity
    for some; gold pairs as (row of A, row of B)."""
    a_rows, b_rows, gold = [], [], set()
    for i, name in enumerate(NAMES):
        city, country = CITIES[i % len(CITIES)], COUNTRIES[i % len(COUNTRIES)]
        cap = str(30000 + 1371 * i)
        a_rows.append({"name": name, "city": city, "country": country, "capacity": cap})
        if i % 3 != 2:
            b_name = _typo(name, i) if i % 2 else name
            b_rows.append(
                {
                    "name": b_name,
                    "city": city,
                    "country": SHORT[country] if i % 2 else country,
                    "capacity": None if i % 4 == 1 else f"{int(cap):,}",
                }
            )
            gold.add((i, len(b_rows) - 1))
    return pd.DataFrame(a_rows), pd.DataFrame(b_rows), gold


def make_union(frames: dict[str, pd.DataFrame]) -> UnionTable:
    raw = [from_dataframe(k, v) for k, v in frames.items()]
    attributes, per_table = align(raw, None)
    return outer_union(get_engine("duckdb"), raw, attributes, per_table)


@pytest.fixture(scope="module")
def trained() -> tuple[UnionTable, SSACLJudge, set[tuple[int, int]]]:
    a, b, gold = lake()
    union = make_union({"a": a, "b": b})
    judge = SSACLJudge(**FAST)
    judge.fit(union, Settings(seed=0))
    na = len(a)
    return union, judge, {(i, na + j) for i, j in gold}


def all_cross_pairs(union: UnionTable) -> tuple[np.ndarray, np.ndarray]:
    tables = np.array(union.values()[TABLE])
    l, r = np.meshgrid(np.flatnonzero(tables == "a"), np.flatnonzero(tables == "b"))
    return l.ravel(), r.ravel()


def test_registered_and_contract(trained) -> None:  # type: ignore[no-untyped-def]
    union, judge, _ = trained
    assert isinstance(get_judge("ssacl", encoder="qgram"), SSACLJudge)
    l, r = all_cross_pairs(union)
    sp = judge.score(union, l[:50], r[:50])
    cols = sp.table.column_names
    assert cols[:7] == ["l", "r", "score", "decision", "conflict", "shared", "drivers"]
    assert cols[7:] == [f"ev:{a}" for a in union.attributes]
    assert sp.judge == "ssacl" and 0.0 < sp.threshold < 1.0
    scores = sp.table.column("score").to_numpy(zero_copy_only=False)
    assert np.all((scores >= 0) & (scores <= 1))
    drivers = sp.table.column("drivers").to_pylist()
    assert all(d and "=" in d for d in drivers)


@pytest.mark.parametrize("method", ["prior-em", "otsu"])
def test_label_free_threshold_methods_read_the_candidates(method: str) -> None:
    """The optional label-free cuts score the blocker's candidates with the matcher and
    stay in their bounds; prior-em reports the match share it estimated there."""
    a, b, _ = lake()
    union = make_union({"a": a, "b": b})
    judge = SSACLJudge(**{**FAST, "threshold_method": method})
    judge.fit(union, Settings(seed=0))
    report = judge.report()
    lo, hi = judge.options["threshold_bounds"]
    assert report["threshold_method"] == f"{method}-on-candidate-pairs"
    assert lo <= judge.threshold <= hi
    share = report.get("estimated_match_share")
    assert (share is not None and 0.0 < share < 1.0) if method == "prior-em" else share is None


def test_separates_duplicates_without_labels(trained) -> None:  # type: ignore[no-untyped-def]
    union, judge, gold = trained
    l, r = all_cross_pairs(union)
    t = judge.score(union, l, r).table
    y = np.array([(a, b) in gold for a, b in zip(l.tolist(), r.tolist())])
    s = t.column("score").to_numpy(zero_copy_only=False)
    d = t.column("decision").to_numpy(zero_copy_only=False)
    # ranking: nearly every duplicate above nearly every non-duplicate
    auc = np.mean(s[y][:, None] > s[~y][None, :])
    assert auc > 0.97
    tp = int((d & y).sum())
    precision, recall = tp / max(1, d.sum()), tp / y.sum()
    # the label-free threshold errs on the side of precision on this tiny table
    assert precision > 0.9 and recall > 0.25, (precision, recall)
    assert (s[y] >= 0.5).mean() > 0.6 and (s[~y] < 0.5).mean() > 0.99


def test_null_is_no_mismatch_and_a_shared_city_is_no_match(trained) -> None:  # type: ignore[no-untyped-def]
    _, judge, _ = trained
    a, b, _ = lake()
    u = make_union(
        {
            "a": a,
            "b": b,
            "names": pd.DataFrame({"name": ["Fenway Park", "Fenway Prak"]}),
            # capacities by city: the city is no key of this table
            "caps": pd.DataFrame(
                {"city": ["Boston", "Boston", "Denver"], "capacity": ["45000", "37000", "50000"]}
            ),
        }
    )
    n = len(a) + len(b)
    fenway = 0  # "Fenway Park", Boston, in table a
    left = np.array([fenway, fenway, fenway, 1])
    sp = judge.score(u, left, np.array([n, n + 1, n + 2, 5]))
    t = sp.table.to_pydict()
    assert t["shared"][:2] == [1, 1] and t["shared"][2] == 2
    # a single agreeing key (name), the other attributes null: integrable
    assert t["decision"][0]
    # ... and with a typo it still ranks above what is not integrable:
    assert min(t["score"][:2]) > max(t["score"][2:])
    # another stadium that shares only the city: not integrable
    assert not t["decision"][2]
    # different stadiums that share city and country: not integrable
    assert not t["decision"][3]


def test_deterministic_for_a_seed() -> None:
    a, b, _ = lake()
    union = make_union({"a": a, "b": b})
    l, r = all_cross_pairs(union)
    runs = []
    for _ in range(2):
        j = SSACLJudge(**FAST)
        j.fit(union, Settings(seed=7))
        runs.append((j.score(union, l, r).table.column("score").to_numpy(), j.report()))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    assert runs[0][1]["loss_curve"] == runs[1][1]["loss_curve"]


def test_report_save_and_load(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    union, judge, _ = trained
    rep = judge.report()
    assert [e["epoch"] for e in rep["loss_curve"]] == list(range(1, len(rep["loss_curve"]) + 1))
    assert len(rep["loss_curve"]) >= 6
    assert rep["loss_curve"][-1]["loss"] < rep["loss_curve"][0]["loss"]
    assert rep["threshold"] == round(judge.threshold, 4) and rep["anchors"] > 0
    assert {"pos", "perturbed", "random"} <= set(rep["pairs_by_kind"])
    # numbers as characters (the default), and the choice is saved with the judge
    assert rep["numbers_by_chars"] is True
    judge.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "judge.json").read_text())
    assert meta["name"] == "ssacl"
    assert meta["options"]["numbers_by_chars"] is True
    assert load_judge(str(tmp_path / "m")).options["numbers_by_chars"] is True
    again = load_judge(str(tmp_path / "m"))
    l, r = all_cross_pairs(union)
    x = judge.score(union, l, r).table
    y = again.score(union, l, r).table
    assert x.equals(y)


@pytest.mark.slow
def test_a_loaded_judge_scores_as_the_trained_one_on_any_thread_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A judge loaded with --model embeds the union's values itself. With MiniLM (whose
    vectors depend a little on the batch they are embedded in) it gives the pairs the
    trained judge's scores, batch by batch on one thread or two; no cache on disk carries
    the vectors between the two."""
    import lakefuse.judged as judged

    monkeypatch.setenv("LAKEFUSE_NO_CACHE", "1")
    monkeypatch.setattr(judged, "SCORE_BATCH", 64)  # many batches, side by side
    a, b, _ = lake()
    union = make_union({"a": a, "b": b})
    judge = SSACLJudge(**{**FAST, "encoder": "auto"})
    judge.fit(union, Settings(seed=0))
    l, r = all_cross_pairs(union)
    # (the matcher's float32 sums depend on the batch: compared batch for batch)
    want = pa.concat_tables([sp.table for sp in scored_batches(judge, union, l, r, 1)])
    judge.save(tmp_path / "m")
    for threads in (1, 2):
        again = load_judge(str(tmp_path / "m"))
        got = [sp.table for sp in scored_batches(again, union, l, r, threads)]
        assert len(got) > 2
        assert pa.concat_tables(got).equals(want), threads


@pytest.mark.slow
def test_encoder_auto_is_saved_as_the_model_used(tmp_path: Path) -> None:
    a, b, _ = lake()
    judge = SSACLJudge(**{**FAST, "encoder": "auto"})
    judge.fit(make_union({"a": a, "b": b}), Settings(seed=0))
    # "auto" became the MiniLM for this CPU, saved so that a reload (elsewhere) embeds alike
    assert judge.report()["encoder"] == ("minilm-bf16" if amx() else "minilm")
    judge.save(tmp_path / "m")
    again = load_judge(str(tmp_path / "m"))
    assert again.options["encoder"] == judge.report()["encoder"]
    # fitted again, the judge decides anew; a loaded one keeps its saved encoder
    assert judge._encoder_auto and not again._encoder_auto


def test_threshold_override_and_ablation_switches() -> None:
    a, b, _ = lake()
    union = make_union({"a": a, "b": b})
    j = SSACLJudge(**{**FAST, "adversarial": False, "se_aug": False, "te_aug": False})
    j.fit(union, Settings(seed=0, threshold=0.77))
    assert j.threshold == 0.77
    assert all(e["adv"] == 0.0 for e in j.report()["loss_curve"])
    with pytest.raises(ValueError, match="unknown ssacl options"):
        SSACLJudge(nope=1)


def test_label_free_thresholds() -> None:
    rng = np.random.default_rng(0)
    s = np.concatenate([rng.beta(1, 20, 900), rng.beta(20, 1, 100)])
    assert 0.2 < otsu(s) < 0.8
    prior, thr = prior_shift_threshold(s, train_prior=0.1)
    assert 0.05 < prior < 0.2 and 0.2 < thr < 0.9


def test_single_key_pairs_are_judged_on_their_one_value() -> None:
    """A partial tuple sharing only the stadium name with a full one: the same name (or a
    typo of it) integrates, another "... Stadium" does not, however close its embedding."""
    a, _, _ = lake()
    c = pd.DataFrame({"name": ["Lucas Oil Stadium", "Lucsa Oil Stadium", "Busch Stadium"]})
    union = make_union({"a": a, "c": c})
    judge = SSACLJudge(**FAST)
    judge.fit(union, Settings(seed=0))
    lucas = int(np.flatnonzero(a["name"] == "Lucas Oil Stadium")[0])
    n = len(a)
    t = judge.score(union, np.array([lucas] * 3), np.array([n, n + 1, n + 2])).table
    assert t.column("shared").to_pylist() == [1, 1, 1]
    assert t.column("decision").to_pylist() == [True, True, False]
    learned = SSACLJudge(**FAST, single_key="learned")
    learned.fit(union, Settings(seed=0))
    assert learned.single_key_judge(union) is None


def test_integrate_keeps_the_trained_judge_for_reuse(tmp_path: Path) -> None:
    from lakefuse.pipeline import integrate

    a, b, _ = lake()
    first = integrate({"a": a, "b": b}, tmp_path / "one", judge="ssacl", judge_options=FAST)
    assert first.run["stages"]["judge"]["saved_model"] == "model"
    assert (tmp_path / "one" / "model" / "judge.json").exists()
    again = integrate(
        {"a": a, "b": b}, tmp_path / "two", model_path=str(tmp_path / "one" / "model")
    )
    assert again.pairs.equals(first.pairs)
    cached = integrate(
        {"a": a, "b": b},
        tmp_path / "three",
        model_path=str(tmp_path / "one" / "model"),
        pairs_cache=str(tmp_path / "one" / "pairs.parquet"),
        sets="components",
    )
    assert cached.run["stages"]["judge"]["scores_from"].endswith("pairs.parquet")
    assert cached.pairs.equals(first.pairs)
    # rerunning into the same folder replaces the saved model
    integrate({"a": a, "b": b}, tmp_path / "one", judge="ssacl", judge_options=FAST)
    assert (tmp_path / "one" / "model" / "matcher.pt").exists()


def test_ensemble_averages_matchers_and_reloads(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import torch

    from lakefuse.judge.matcher import Ensemble

    union, single, _ = trained
    judge = SSACLJudge(**{**FAST, "ensemble": 2})
    judge.fit(union, Settings(seed=0))
    assert isinstance(judge.matcher, Ensemble) and len(judge.matcher.members) == 2
    # the first member is the single matcher of the same seed; the second differs
    first, second = (m.state_dict() for m in judge.matcher.members)
    for k, v in single.matcher.state_dict().items():
        assert torch.equal(first[k], v)
    assert not all(torch.equal(first[k], second[k]) for k in first)
    judge.save(tmp_path / "e")
    again = load_judge(str(tmp_path / "e"))
    l, r = all_cross_pairs(union)
    assert judge.score(union, l, r).table.equals(again.score(union, l, r).table)
