"""`lakefuse bench scale pipeline`: the FEBRL-style generator, the pair scoring, the runner."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rapidfuzz.distance import Levenshtein

pytest.importorskip("recordlinkage")

from lakefuse.bench import scale_data as sd  # noqa: E402
from lakefuse.bench.metrics import pairwise  # noqa: E402
from lakefuse.bench.scale_pipeline import (  # noqa: E402
    expand_systems,
    parse_engines,
    parse_sizes,
    parse_systems,
    run,
    spark_missing,
    splink_installed,
)
from lakefuse.bench.scale_score import gold_pairs, pair_scores  # noqa: E402


@pytest.fixture(scope="module")
def data() -> sd.ScaleData:
    return sd.generate(2000, seed=3)


def test_same_seed_same_data_other_seed_other_data(data: sd.ScaleData) -> None:
    again = sd.generate(2000, seed=3)
    pd.testing.assert_frame_equal(data.rows, again.rows)
    other = sd.generate(2000, seed=4)
    assert not data.rows[sd.COLUMNS].equals(other.rows[sd.COLUMNS])


def test_four_sources_with_partial_columns(data: sd.ScaleData) -> None:
    sources = data.sources()
    assert list(sources) == ["src1", "src2", "src3", "src4"]
    assert sum(len(f) for f in sources.values()) == 2000
    covered: set[str] = set()
    for name, frame in sources.items():
        assert list(frame.columns) == sd.SOURCES[name]
        assert 0 < len(frame.columns) < len(sd.COLUMNS)
        assert len(frame) > 300  # rows dealt over the four sources
        covered |= set(frame.columns)
    assert covered == set(sd.COLUMNS)
    # each row's position in its source is a permutation of 0..len-1
    for name, frame in sources.items():
        rows = data.rows.loc[data.rows["source"] == name, "row"]
        assert sorted(rows) == list(range(len(frame)))


def test_gold_people_span_sources_and_get_new_unique_ssids(data: sd.ScaleData) -> None:
    spread = data.rows.groupby("person")["source"].nunique()
    assert (spread >= 2).sum() > 100
    assert data.rows["person"].nunique() == len(data.people)
    ssid = data.people["soc_sec_id"]
    assert ssid.notna().all() and ssid.is_unique
    tpl = sd.templates()
    febrl = set(tpl.pools["soc_sec_id"])
    assert len(febrl & set(ssid)) < 10  # new numbers, not FEBRL's
    # the copy of each template original carries its person's number unchanged
    orgs = data.rows[data.rows["template"].str.endswith("-org")]
    clean = data.people.set_index("person")["soc_sec_id"]
    assert (orgs["soc_sec_id"].to_numpy() == clean[orgs["person"]].to_numpy()).all()


def test_damage_rule_on_febrl_examples() -> None:
    assert sd.damage("sarah", None) == (sd.MISSING, 0)
    assert sd.damage(None, None) == (sd.COPY, 0)
    assert sd.damage("sarah", "sarah") == (sd.COPY, 0)
    assert sd.damage("madeline", "madelne") == (sd.EDITED, 1)
    assert sd.damage("trey", "trye") == (sd.EDITED, 2)
    assert sd.damage("dawes street", "chauvel street")[0] == sd.REPLACED
    assert sd.damage("19240608", "19690808") == (sd.EDITED, 3)
    assert sd.damage("66", "73")[0] == sd.REPLACED
    assert sd.damage(None, "wellwood")[0] == sd.REPLACED


def test_damage_is_carried_cell_by_cell(data: sd.ScaleData) -> None:
    tpl = sd.templates()
    where = {r: i for i, r in enumerate(tpl.rec_ids)}
    trow = data.rows["template"].map(where).to_numpy()
    clean = data.people.set_index("person").loc[data.rows["person"], sd.COLUMNS].to_numpy()
    got = data.rows[sd.COLUMNS].to_numpy()
    kind = tpl.kind[trow]
    edits = tpl.edits[trow]
    copy = (kind == sd.COPY) & pd.notna(clean)
    assert (got[copy] == clean[copy]).all()
    missing = kind == sd.MISSING
    assert missing.sum() > 50 and all(v is None for v in got[missing])
    assert (pd.isna(clean) <= (pd.isna(got) | (kind == sd.REPLACED))).all()
    ed = np.argwhere(kind == sd.EDITED)
    assert len(ed) > 300
    dist = np.array([Levenshtein.distance(got[i, j], clean[i, j]) for i, j in ed])
    k = edits[ed[:, 0], ed[:, 1]]
    assert (dist >= 1).all() and (dist <= k).all()
    assert (dist[k == 1] == 1).all()
    assert (dist == k).mean() > 0.8  # two random edits can undo part of each other
    rep = np.argwhere(kind == sd.REPLACED)
    for i, j in rep[:200]:
        assert got[i, j] in set(tpl.pools[sd.COLUMNS[j]])


def test_random_edits_make_exactly_one_change_per_single_edit() -> None:
    tpl = sd.templates()
    rng = np.random.default_rng(0)
    values = tpl.pools["surname"][:500]
    out = sd.random_edits(
        values, np.ones(len(values), dtype=np.int8), tpl.alphabets["surname"], rng
    )
    assert all(Levenshtein.distance(a, b) == 1 for a, b in zip(values, out))
    short = sd.random_edits(
        np.array(["a"] * 50, dtype=object), np.full(50, 3), tpl.alphabets["state"], rng
    )
    assert all(len(v) >= 1 for v in short)


def test_pair_scores_match_the_metrics_module() -> None:
    rng = np.random.default_rng(1)
    person = rng.integers(0, 60, size=200)
    for multi in (False, True):
        tuples = np.arange(200)
        sets = rng.integers(0, 70, size=200)
        if multi:  # some tuples in a second set
            extra = rng.choice(200, size=40, replace=False)
            tuples = np.r_[tuples, extra]
            sets = np.r_[sets, rng.integers(0, 70, size=40)]
        got = pair_scores(person, tuples, sets)
        pred: dict[int, list[tuple[str, int]]] = {}
        for t, s in zip(tuples, sets):
            pred.setdefault(int(s), []).append(("t", int(t)))
        gold: dict[int, list[tuple[str, int]]] = {}
        for t, p in enumerate(person):
            gold.setdefault(int(p), []).append(("t", t))
        want = pairwise(list(pred.values()), list(gold.values()))
        assert got["pair_count"] == ("pairs" if multi else "contingency")
        for key in ("pred_pairs", "gold_pairs", "true_pairs"):
            assert got[key] == want[key]
        assert got["f1"] == pytest.approx(want["f1"], abs=1e-5)


def test_parse_sizes() -> None:
    assert parse_sizes("10000, 50k,1M") == [10_000, 50_000, 1_000_000]
    with pytest.raises(ValueError, match="abc"):
        parse_sizes("10000,abc")


def test_cli_rejects_bad_sizes_in_one_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from lakefuse.bench.cli import app

    res = CliRunner().invoke(app, ["scale", "pipeline", "--sizes", "x", "-o", str(tmp_path)])
    assert res.exit_code == 2
    assert "--sizes" in res.output and "Traceback" not in res.output
    res = CliRunner().invoke(
        app, ["scale", "pipeline", "--sizes", "300", "--engine", "spork", "-o", str(tmp_path)]
    )
    assert res.exit_code == 2 and "--engine" in res.output and "Traceback" not in res.output
    res = CliRunner().invoke(
        app, ["scale", "pipeline", "--sizes", "300", "--systems", "zingg", "-o", str(tmp_path)]
    )
    assert res.exit_code == 2 and "--systems" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "scale_pipeline.json").exists()


@pytest.mark.slow  # two fresh processes that import lakefuse and Splink: ~10 s of CPU
def test_runner_end_to_end_at_a_tiny_size(tmp_path: Path) -> None:
    """Both systems in their own processes; the similarity judge keeps it fast (the benchmark
    runs lakefuse's default Settings)."""
    out = tmp_path / "scale"
    lines: list[str] = []
    report = run(
        [600],
        seed=0,
        timeout=300,
        out=out,
        lakefuse_overrides={"judge": "similarity"},
        echo=lines.append,
    )
    assert {p.name for p in out.iterdir()} >= {
        "scale_pipeline.json",
        "scale_pipeline.md",
        "scale_pipeline.png",
        "data",
        "runs",
    }
    saved = json.loads((out / "scale_pipeline.json").read_text())
    (entry,) = saved["sizes"]
    assert entry["n"] == 600 and not entry["data"]["cached"]
    lf = entry["systems"]["lakefuse"]
    assert lf["ok"] and 0.5 < lf["f1"] <= 1.0
    assert lf["peak_rss_mb"] > 50 and lf["disk_peak_mb"] > 0
    assert {"read", "block", "judge", "sets"} <= set(lf["stages"])
    assert set(lf["finished_stages"]) == set(lf["stages"])
    assert 0.5 < lf["blocking_recall"] <= 1.0 and 0 < lf["accepted_true"] <= lf["true_candidates"]
    assert lf["true_candidates"] <= lf["gold_pairs"] and lf["candidate_pairs"] > 0
    md = (out / "scale_pipeline.md").read_text()
    assert "| 600 |" in md and "lakefuse wall per stage" in md
    assert "Where lakefuse's recall goes" in md and "accepts joined" in md
    # every accepted true pair is inside a component of the accepts
    assert lf["accepted_true"] / lf["gold_pairs"] <= lf["accepts_joined"]["recall"] <= 1.0
    ceiling = lf["ceiling"]  # 600 rows: under the default ceiling_max_n
    assert ceiling["true_candidates"] == lf["true_candidates"]
    assert 0 < ceiling["labelled_on_candidates"]["f1"] <= 1.0
    assert 0 < ceiling["labelled_components"]["f1"] <= 1.0
    assert "A ceiling for a pairwise judge" in md
    if splink_installed():
        sp = entry["systems"]["splink"]
        assert sp["ok"] and 0.5 < sp["f1"] <= 1.0
        assert entry["wall_ratio"] == pytest.approx(lf["wall_s"] / sp["wall_s"], rel=1e-2)
        assert "Splink" in md
    assert report["lakefuse_wall_slope"] is None  # one size: no slope
    assert (out / "scale_pipeline.png").stat().st_size > 1000


def test_a_run_at_the_cap_is_killed_and_says_how_far_it_got(tmp_path: Path) -> None:
    from lakefuse.bench.scale_child import run_measured

    folder, _ = sd.ensure(tmp_path / "data", 300, 0)
    again, meta = sd.ensure(tmp_path / "data", 300, 0)
    assert again == folder and meta["cached"]
    res = run_measured("lakefuse", folder / "input", tmp_path / "run", timeout=1.0)
    assert res["timed_out"] and not res["ok"]
    assert res["error"].startswith("timeout after")
    assert res["wall_s"] < 30
    assert "finished_stages" in res and "stage_at_stop" in res


def test_systems_option_and_results_kept_from_an_earlier_commit() -> None:
    from lakefuse.bench.scale_report import markdown

    assert parse_systems(None) == ["lakefuse", "splink"]
    assert parse_systems("lakefuse") == ["lakefuse"]
    entry = {"n": 1000, "systems": {"lakefuse": {"ok": False}}, "data": {"people": 600}}
    report = {
        "commit": "new",
        "date": "d",
        "machine": {"cpus": 2, "memory_gib": 1},
        "seed": 0,
        "timeout_s": 1,
        "systems": [],
        "sizes": [{**entry, "commit": "old"}, {**entry, "n": 2000, "commit": "new"}],
    }
    md = markdown(report)
    assert "n=1,000 lakefuse at `old`" in md and "n=2,000" not in md.split("| n |")[0]


def test_engine_option_expands_the_lakefuse_row() -> None:
    assert parse_engines(None) == ["duckdb"]
    assert parse_engines("duckdb, spark,duckdb") == ["duckdb", "spark"]
    with pytest.raises(ValueError, match="--engine"):
        parse_engines("duckdb,polars")
    assert expand_systems(("lakefuse", "splink"), ["duckdb", "spark"]) == [
        "lakefuse",
        "lakefuse-spark",
        "splink",
    ]
    assert expand_systems(("lakefuse", "splink"), ["spark"]) == ["lakefuse-spark", "splink"]


def test_a_slope_across_calls_of_the_bench_says_so() -> None:
    from lakefuse.bench.scale_report import markdown

    def report(calls: list[str]) -> dict:
        sizes = [
            {
                "n": n,
                "commit": "c",
                "data": {"people": n // 2},
                "systems": {"lakefuse": {"ok": True, "wall_s": n / 1000, "call": call}},
            }
            for n, call in zip((50_000, 1_000_000), calls)
        ]
        return {
            "commit": "c",
            "date": "d",
            "machine": {"cpus": 2, "memory_gib": 1},
            "seed": 0,
            "timeout_s": 1,
            "systems": ["lakefuse"],
            "sizes": sizes,
            "slope_from": 50_000,
            "lakefuse_wall_slope": 1.0,
        }

    assert "mix the results of 2 calls" in markdown(report(["t1", "t2"]))
    assert "mix the results" not in markdown(report(["t1", "t1"]))


def test_largest_stage_counts_the_time_outside_stages() -> None:
    from lakefuse.bench.scale_report import OUTSIDE, largest_stage

    res = {"wall_s": 10.0, "stages": {"read": 1.0, "judge": 4.0, "sets": 2.0}}
    assert largest_stage(res) == {"stage": "judge", "wall_s": 4.0, "share": 0.4}
    res = {"wall_s": 10.0, "stages": {"read": 1.0, "judge": 2.0}}  # 7 s of start-up
    assert largest_stage(res)["stage"] == OUTSIDE
    stopped = {"wall_s": 10.0, "finished_stages": {"read": 1.0}, "stage_at_stop": "block"}
    stopped["stage_at_stop_s"] = 8.5
    assert largest_stage(stopped)["stage"] == "block"


@pytest.mark.slow  # two fresh processes, one of them starting a local Spark JVM: ~1 min
def test_spark_row_at_a_tiny_size(tmp_path: Path) -> None:
    """``--engine duckdb,spark``: lakefuse on Spark as its own row beside DuckDB's, measured
    with its JVM (a child of the driver)."""
    why = spark_missing()
    if why:
        pytest.skip(why)
    out = tmp_path / "scale"
    run(
        [300],
        seed=0,
        timeout=400,
        out=out,
        systems=("lakefuse",),
        engines=("duckdb", "spark"),
        lakefuse_overrides={"judge": "similarity"},
    )
    saved = json.loads((out / "scale_pipeline.json").read_text())
    assert saved["systems"] == ["lakefuse", "lakefuse-spark"]
    (entry,) = saved["sizes"]
    lf, sp = entry["systems"]["lakefuse"], entry["systems"]["lakefuse-spark"]
    assert lf["ok"] and sp["ok"], sp.get("error")
    assert sp["f1"] > 0.3 and sp["f1"] == pytest.approx(lf["f1"], abs=0.02)  # same sets
    assert sp["tree_procs_max"] >= 2  # the driver and its JVM were both measured
    assert sp["peak_rss_mb"] >= sp["peak_rss_tree_mb"] > sp["peak_rss_self_mb"]
    assert sp["largest_stage"]["stage"] and 0 < sp["largest_stage"]["share"] <= 1
    md = (out / "scale_pipeline.md").read_text()
    assert "| lakefuse-spark |" in md and "largest stage (share)" in md
    assert set(entry["spark_vs_duckdb"]) == {"wall_s", "peak_rss_mb", "disk_peak_mb"}


def test_candidate_recall_counts_gold_pairs_among_the_judged_pairs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from lakefuse.bench import scale_pairs

    # tuples a:0-2 and b:0-2; persons 0 and 1 have a pair each, a:2 and b:2 are not one
    offsets = {"a": 0, "b": 3}
    person = np.array([0, 1, 2, 0, 1, 5])
    rows = [
        ("a", 0, "b", 0, True),  # a true pair, accepted
        ("a", 1, "b", 1, False),  # a true pair, rejected
        ("a", 2, "b", 2, True),  # accepted, not a pair
        ("a", 0, "a", 1, None),  # neither
        ("x", 0, "a", 0, True),  # a table the gold does not know
    ]
    cols = list(zip(*rows))
    names = ["l_table", "l_row", "r_table", "r_row", "decision"]
    path = tmp_path / "pairs.parquet"
    pq.write_table(pa.table(dict(zip(names, map(list, cols)))), path)
    monkeypatch.setattr(scale_pairs, "BATCH", 2)  # three batches
    got = scale_pairs.candidate_recall(path, offsets, person, gold_pairs(person))
    assert got == {
        "candidate_pairs": 5,
        "true_candidates": 2,
        "accepted_true": 1,
        "blocking_recall": 1.0,
        "judge_accepts": 0.5,
        # a:0-b:0 and a:2-b:2 joined (the unknown table's pair left out): one of two pairs
        # true, one of the two gold pairs found
        "accepts_joined": {"precision": 0.5, "recall": 0.5, "f1": 0.5},
    }


def _ceiling_case(tmp_path: Path, n: int, informative: bool) -> tuple[Path, dict[str, int]]:
    """Tables a and b of ``n`` people each (b shuffled); candidates: every a-tuple with its
    own b-tuple and three others. With ``informative`` the name tells them apart (equal for
    the true pair, another person's otherwise); without, every name is the same and the
    evidence random."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(1)
    order = rng.permutation(n)  # b's row r holds person order[r]
    names = [f"name{p}" if informative else "same" for p in range(n)]
    pd.DataFrame({"name": names, "city": rng.choice(["x", "y"], n)}).to_csv(
        tmp_path / "a.csv", index=False
    )
    pd.DataFrame({"name": [names[p] for p in order], "city": rng.choice(["x", "y"], n)}).to_csv(
        tmp_path / "b.csv", index=False
    )
    where = np.argsort(order)  # person p's row in b
    lr, rr, ev, dec = [], [], [], []
    for p in range(n):
        others = rng.choice(np.delete(np.arange(n), where[p]), 3, replace=False)
        for k, r in enumerate([where[p], *others]):
            lr.append(p)
            rr.append(int(r))
            ev.append((1.0 if k == 0 else 0.3) if informative else float(rng.random()))
            dec.append(k == 0 and p % 2 == 0)  # the judge accepts every second true pair
    pq.write_table(
        pa.table(
            {
                "l_table": ["a"] * len(lr),
                "l_row": lr,
                "r_table": ["b"] * len(rr),
                "r_row": rr,
                "decision": dec,
                "ev:name": ev,
                "ev:city": rng.random(len(lr)),
            }
        ),
        tmp_path / "pairs.parquet",
    )
    return tmp_path / "pairs.parquet", {"a": 0, "b": n}


def test_the_labelled_ceiling_learns_what_tells_the_pairs_apart(tmp_path: Path) -> None:
    from lakefuse.bench.scale_ceiling import supervised_ceiling

    n = 400
    pairs, offsets = _ceiling_case(tmp_path, n, informative=True)
    person = np.r_[np.arange(n), np.arange(n)[np.random.default_rng(1).permutation(n)]]
    got = supervised_ceiling(pairs, tmp_path, offsets, person)
    assert got["candidate_pairs"] == 4 * n and got["true_candidates"] == n
    assert got["judge_on_candidates"] == {"precision": 1.0, "recall": 0.5, "f1": 0.66667}
    assert got["labelled_on_candidates"]["f1"] == 1.0
    assert got["labelled_components"]["f1"] == 1.0 and got["gold_pairs"] == n


def test_the_labelled_ceiling_does_not_depend_on_the_order_of_the_pairs(
    tmp_path: Path,
) -> None:
    import pyarrow.parquet as pq

    from lakefuse.bench.scale_ceiling import supervised_ceiling

    n = 300
    pairs, offsets = _ceiling_case(tmp_path, n, informative=False)
    person = np.r_[np.arange(n), np.arange(n)[np.random.default_rng(1).permutation(n)]]
    first = supervised_ceiling(pairs, tmp_path, offsets, person)
    table = pq.read_table(pairs)
    pq.write_table(table.take(np.random.default_rng(5).permutation(table.num_rows)), pairs)
    again = supervised_ceiling(pairs, tmp_path, offsets, person)
    assert first.pop("seconds") >= 0 and again.pop("seconds") >= 0
    assert first == again


def test_the_labelled_ceiling_cannot_learn_from_noise(tmp_path: Path) -> None:
    """Cross-fitted: with nothing that tells the pairs apart, no pair's label leaks into its
    own score."""
    from lakefuse.bench.scale_ceiling import supervised_ceiling

    n = 400
    pairs, offsets = _ceiling_case(tmp_path, n, informative=False)
    person = np.r_[np.arange(n), np.arange(n)[np.random.default_rng(1).permutation(n)]]
    got = supervised_ceiling(pairs, tmp_path, offsets, person)
    assert got["labelled_on_candidates"]["f1"] < 0.5


def test_the_ceiling_runs_in_a_process_of_its_own(tmp_path: Path) -> None:
    """The bench's process stays small (a child started later would count its memory)."""
    from lakefuse.bench.scale_ceiling import in_child, supervised_ceiling

    n = 200
    (tmp_path / "input").mkdir()
    pairs, offsets = _ceiling_case(tmp_path / "input", n, informative=True)
    person = np.r_[np.arange(n), np.arange(n)[np.random.default_rng(1).permutation(n)]]
    pd.DataFrame(
        {"table": ["a"] * n + ["b"] * n, "row": np.r_[np.arange(n), np.arange(n)], "person": person}
    ).to_csv(tmp_path / "gold.csv", index=False)
    got = in_child(pairs, tmp_path)
    here = supervised_ceiling(pairs, tmp_path / "input", offsets, person)
    assert got.pop("seconds") >= 0 and here.pop("seconds") >= 0
    assert got == here
    bad = in_child(tmp_path / "missing.parquet", tmp_path)
    assert bad["error"].startswith("exit 1:")


def test_candidate_recall_of_a_run_without_candidate_pairs(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from lakefuse.bench import scale_pairs

    person = np.array([0, 0, 1])
    schema = pa.schema(
        [
            ("l_table", pa.string()),
            ("l_row", pa.int64()),
            ("r_table", pa.string()),
            ("r_row", pa.int64()),
            ("decision", pa.bool_()),
        ]
    )
    path = tmp_path / "pairs.parquet"
    pq.write_table(schema.empty_table(), path)
    got = scale_pairs.candidate_recall(path, {"a": 0}, person, gold_pairs(person))
    assert got["candidate_pairs"] == 0 and got["blocking_recall"] == 0.0
    assert got["accepts_joined"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0}
