"""Conflict resolution: the classic strategies on hand-built conflicts with known truths, the
registry and its options, per-attribute choice, and provenance through the real pipeline.

The helpers here (``context``, ``problem``) are also used by ``test_resolve_iclcr.py``."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import pytest

from lakefuse.engines import get_engine
from lakefuse.io import align, from_dataframe, outer_union
from lakefuse.resolve import RESOLVERS, get_resolver
from lakefuse.resolve.values import variants
from lakefuse.types import ROW, TABLE, Candidate, ConflictProblem, ResolveContext, UnionTable


def make_union(tables: dict[str, pd.DataFrame]) -> UnionTable:
    raw = [from_dataframe(name, df) for name, df in tables.items()]
    attributes, per_table = align(raw)
    return outer_union(get_engine("duckdb"), raw, attributes, per_table)


def context(tables: dict[str, pd.DataFrame], **options: object) -> ResolveContext:
    return ResolveContext(make_union(tables), dict(options), 0)


def tid(ctx: ResolveContext, table: str, row: int) -> int:
    v = ctx.union.values()
    for t, (tb, r) in enumerate(zip(v[TABLE], v[ROW])):
        if tb == table and r == row:
            return t
    raise KeyError((table, row))


def problem(
    ctx: ResolveContext,
    attribute: str,
    cells: Sequence[tuple[str, int]],
    set_id: int = 0,
    known: dict[str, str] | None = None,
) -> ConflictProblem:
    """The conflict among the given (table, row) cells, built as the merge stage builds it."""
    values = ctx.union.values()[attribute]
    by_value: dict[str, list[int]] = {}
    for table, row in cells:
        t = tid(ctx, table, row)
        by_value.setdefault(values[t], []).append(t)  # type: ignore[arg-type]
    cands = tuple(Candidate(v, tuple(ts)) for v, ts in by_value.items())
    return ConflictProblem(set_id, attribute, cands, known or {})


TEAMS = [
    ("Packers", "Lambeau Field", "Green Bay, Wisconsin"),
    ("Bears", "Soldier Field", "Chicago, Illinois"),
    ("Vikings", "U.S. Bank Stadium", "Minneapolis, Minnesota"),
    ("Lions", "Ford Field", "Detroit, Michigan"),
]


@pytest.fixture
def stadium_lake() -> ResolveContext:
    """A clean reference table (many rows) and two noisy copies of the Packers row."""
    ref = pd.DataFrame(
        [(t, f, loc) for t, f, loc in TEAMS for _ in range(4)],
        columns=["Team", "Facility", "Location"],
    )
    noisy_a = pd.DataFrame(
        [
            ("Packers", "Lambaeu Field", "Green Bay, WI"),
            ("Packers", "Lambaeu Field", "Green Bay, WI"),
        ],
        columns=["Team", "Facility", "Location"],
    )
    noisy_b = pd.DataFrame(
        [
            ("Packers", "Soldier Field", "Chicago, Illinois"),
            ("Packers", "Soldier Field", "Chicago, Illinois"),
        ],
        columns=["Team", "Facility", "Location"],
    )
    return context({"ref": ref, "a": noisy_a, "b": noisy_b})


def test_variants() -> None:
    assert variants("Lambeau Field", "Lambaeu Field")  # transposition
    assert variants("Green Bay, Wisconsin", "Green Bay, WI")  # state code
    assert variants("United States", "USA")
    assert variants("Raymond James Stadium", "RJS")  # initialism
    assert variants("65,890", "65890")
    assert variants("Main St.", "main street")
    assert variants("1901-11-12", "19011112")  # dates in any format
    assert variants("26 Jan 1911", "19110126")
    assert variants("Jan 26, 1911", "26/01/1911")
    assert variants("promenade arcade", "arcade promenade")  # word order
    assert variants("N. Chubb", "Nick Chubb") and variants("Chubb, Nick", "Nick Chubb")
    assert variants("Bill Smith", "William Smith")  # nickname
    assert variants("vic", "Victoria") and variants("Tampa, FL", "Tampa, Florida")
    # contractions (real SE noise of the DBLP and FEBRL tasks): letters left out of a word
    assert variants("mgmt. of multidimensional data", "management of multidimensional data")
    assert variants("mayflower retrmnt vlge", "mayflower retirement village")
    assert not variants("bay view", "bradley view")  # "bay" is a word of its own
    # ... also behind an apostrophe, and without a vowel though the vocabulary knows "db"
    assert variants("the 8th int'l workshop", "the 8th international workshop")
    assert variants("a db programming language", "a database programming language")
    assert not variants("a db programming language", "a dutch programming language")
    assert not variants("1901-11-12", "1901-11-13")
    assert not variants("Lambeau Field", "Soldier Field")
    assert not variants("1998", "1999")  # numbers must match exactly
    assert not variants("Green Bay, Wisconsin", "Madison, Wisconsin")


def test_typo_vote_pools_variants_and_writes_usual_spelling(stadium_lake: ResolveContext) -> None:
    ctx = stadium_lake
    cells = [("a", 0), ("a", 1), ("b", 0), ("b", 1), ("ref", 0)]
    facility = problem(ctx, "Facility", cells)
    location = problem(ctx, "Location", cells)
    vote = get_resolver("vote").resolve([facility, location], ctx)
    typo = get_resolver("typo_vote").resolve([facility, location], ctx)
    # plain vote: a 2-2 tie decided by the earliest tuple, which carries a misspelling
    assert [d.value for d in vote] != ["Lambeau Field", "Green Bay, Wisconsin"]
    assert [d.value for d in typo] == ["Lambeau Field", "Green Bay, Wisconsin"]
    assert all(d.method == "typo_vote" for d in typo)
    assert typo[0].confidence == pytest.approx(3 / 5)


def test_typo_vote_prefers_spelling_with_usual_words() -> None:
    # the value occurs nowhere else, but its words do: the misspelt word is rare
    ref = pd.DataFrame({"title": ["query optimization in databases", "database tuning"] * 3})
    a = pd.DataFrame({"title": ["parallel database systems"]})
    b = pd.DataFrame({"title": ["parallel dtabase systems"]})
    ctx = context({"ref": ref, "b": b, "a": a})
    p = problem(ctx, "title", [("b", 0), ("a", 0)])
    assert get_resolver("typo_vote").resolve([p], ctx)[0].value == "parallel database systems"


def test_usual_format_and_word_position() -> None:
    """Among variants, the column's usual format and word order win, even 1-1."""
    ref = pd.DataFrame(
        {
            "dob": ["19540903", "19610520", "19750925", "19990219", "19041118"],
            "suburb": ["lake clifton", "blackmans bay", "umina beach", "bay view", "lake view"],
        }
    )
    a = pd.DataFrame({"dob": ["1901-11-12"], "suburb": ["bay lake"]})
    b = pd.DataFrame({"dob": ["19011112"], "suburb": ["lake bay"]})
    ctx = context({"ref": ref, "a": a, "b": b})
    problems = [problem(ctx, x, [("a", 0), ("b", 0)], i) for i, x in enumerate(["dob", "suburb"])]
    for name in ("typo_vote", "truth"):
        got = [d.value for d in get_resolver(name).resolve(problems, ctx)]
        assert got == ["19011112", "lake bay"], name


def santa_clara_conflict() -> tuple[ResolveContext, ConflictProblem]:
    """A 1-1 conflict on the facility of a tuple in Santa Clara; a reference table pairs
    "Bank of America Stadium" (the more frequent candidate) with Charlotte."""
    ref = pd.DataFrame(
        [("Bank of America Stadium", "Charlotte, North Carolina")] * 3
        + [("Lambeau Field", "Green Bay, Wisconsin")] * 3,
        columns=["Facility", "Location"],
    )
    a = pd.DataFrame([("Bank of America Stadium", "Santa Clara, California")], columns=ref.columns)
    b = pd.DataFrame([("Levi's Stadium", "Santa Clara, California")], columns=ref.columns)
    ctx = context({"a": a, "b": b, "ref": ref})
    p = problem(
        ctx, "Facility", [("a", 0), ("b", 0)], known={"Location": "Santa Clara, California"}
    )
    return ctx, p


def test_typo_vote_reads_a_key_like_title_against_its_venue() -> None:
    """The DBLP join case: the papers row of a set carries another paper's title (copied in
    by conflict noise), which the papers table pairs with another venue and year. Titles are
    all distinct there, so their mutual information with the venue is about 0; the key-like
    share sends the merged tuple to the title the table does not contradict."""
    papers = pd.DataFrame(
        [(f"paper number {i}", f"venue {i % 5}", str(1990 + i % 7)) for i in range(30)]
        + [("beta study of joins", "sigmod", "1999"), ("beta study of joins", "vldb", "2003")],
        columns=["title", "venue", "year"],
    )
    authorship = pd.DataFrame(
        [("alpha study of views", "ann lee")]
        + [(f"paper number {i}", f"author {i}") for i in range(30)],
        columns=["title", "author"],
    )
    ctx = context({"papers": papers, "authorship": authorship})
    known = {"author": "ann lee", "venue": "vldb", "year": "2003"}
    p = problem(ctx, "title", [("papers", 31), ("authorship", 0)], known=known)
    assert get_resolver("typo_vote").resolve([p], ctx)[0].value == "alpha study of views"
    plain = get_resolver("typo_vote", context_key_share=None).resolve([p], ctx)[0]
    assert plain.value == "beta study of joins"  # it occurs elsewhere in the column


def test_context_evidence_prefers_values_the_table_pairs_with_known_values() -> None:
    """The teams table pairs "Bank of America Stadium" with Charlotte; the merged tuple is in
    Santa Clara, so with context evidence truth discovery picks the other candidate."""
    ctx, p = santa_clara_conflict()
    assert get_resolver("truth").resolve([p], ctx)[0].value == "Bank of America Stadium"
    with_context = get_resolver("truth", context_weight=1.0).resolve([p], ctx)[0]
    assert with_context.value == "Levi's Stadium"


def test_truth_discovery_learns_source_accuracy() -> None:
    """``good`` and ``ok`` agree on most conflicts, ``bad`` is usually the odd one out; on a
    1-1 tie between ``good`` and ``bad`` the reliable source wins (vote cannot tell)."""
    n = 12
    good = pd.DataFrame({"k": [str(i) for i in range(n)], "v": [f"true{i}" for i in range(n)]})
    ok = good.copy()
    ok.loc[0, "v"] = "okwrong0"
    bad = pd.DataFrame({"k": good["k"], "v": [f"bad{i}" for i in range(n)]})
    bad.loc[1, "v"] = "true1"
    # a 1-1 tie between the same two sources, on a row that ``ok`` lacks
    bad = pd.concat([bad, pd.DataFrame({"k": ["x"], "v": ["wrong x"]})], ignore_index=True)
    good = pd.concat([good, pd.DataFrame({"k": ["x"], "v": ["right x"]})], ignore_index=True)
    ctx = context({"bad": bad, "ok": ok, "good": good})
    problems = [problem(ctx, "v", [("bad", i), ("ok", i), ("good", i)], set_id=i) for i in range(n)]
    tie = problem(ctx, "v", [("bad", n), ("good", n)], set_id=n)
    problems.append(tie)
    truth = get_resolver("truth")
    decisions = truth.resolve(problems, ctx)
    assert [d.value for d in decisions[:n]] == [f"true{i}" for i in range(n)]
    assert decisions[n].value == "right x"
    assert get_resolver("vote").resolve([tie], ctx)[0].value == "wrong x"
    acc = truth.accuracy  # type: ignore[attr-defined]
    assert acc[("good", "v")] > acc[("ok", "v")] > acc[("bad", "v")]


def test_every_decision_is_a_candidate(stadium_lake: ResolveContext) -> None:
    ctx = stadium_lake
    cells = [("a", 0), ("b", 0), ("ref", 0), ("b", 1)]
    problems = [problem(ctx, a, cells, set_id=i) for i, a in enumerate(["Facility", "Location"])]
    for name in ("vote", "typo_vote", "truth"):
        for p, d in zip(problems, get_resolver(name).resolve(problems, ctx)):
            assert d.value in {c.value for c in p.candidates}
            assert d.method == name


def test_registry_and_options() -> None:
    assert {"vote", "typo_vote", "truth", "iclcr"} <= set(RESOLVERS.names())
    # each strategy in use takes its own options; one that no strategy in use takes (an
    # iclcr option with vote alone, or nonsense) is refused
    with pytest.raises(ValueError, match="k: not an option of resolver 'vote'"):
        get_resolver("vote", k=5)
    with pytest.raises(ValueError, match="nonsense: not an option of resolver 'vote'"):
        get_resolver("vote", nonsense=1)
    with pytest.raises(ValueError, match="unknown resolver"):
        get_resolver("nope")
    r = get_resolver("truth", iterations=3, k=5, per_attribute={"Location": "iclcr"})
    assert r.default.iterations == 3  # type: ignore[attr-defined]
    assert r.by_attribute["Location"].k == 5  # type: ignore[attr-defined]


def test_per_attribute_strategy(stadium_lake: ResolveContext) -> None:
    ctx = stadium_lake
    cells = [("a", 0), ("a", 1), ("b", 0), ("b", 1), ("ref", 0)]
    problems = [problem(ctx, "Facility", cells), problem(ctx, "Location", cells, set_id=1)]
    r = get_resolver("vote", per_attribute={"Location": "typo_vote"})
    d = r.resolve(problems, ctx)
    assert [x.method for x in d] == ["vote", "typo_vote"]
    assert d[1].value == "Green Bay, Wisconsin"


def test_pipeline_records_strategy_in_provenance() -> None:
    from lakefuse.config import Settings
    from lakefuse.pipeline import integrate

    cols = ["Player", "Team", "Facility"]
    a = pd.DataFrame([("Aaron Rodgers", "Packers", "Lambeau Field")], columns=cols)
    b = pd.DataFrame([("Aaron Rodgers", "Packers", "Lambaeu Field")], columns=cols)
    c = pd.DataFrame([("Aaron Rodgers", "Packers", "Lambeau Field")], columns=cols)
    res = integrate({"a": a, "b": b, "c": c}, settings=Settings(resolver="typo_vote", quiet=True))
    prov = res.provenance.to_pandas()
    conflicted = prov[prov["attribute"] == "Facility"]
    assert set(conflicted["method"]) == {"typo_vote"}
    assert set(conflicted["value"]) == {"Lambeau Field"}


def test_typo_vote_prefers_usual_letters_when_words_tie() -> None:
    """Both spellings occur once and neither word occurs elsewhere; the column's letter
    trigrams ("wood", "ood ") tell the typo from the word."""
    ref = pd.DataFrame({"street": ["wood street", "woodland road", "attlee place", "goodwood"]})
    a = pd.DataFrame({"street": ["calderowod"]})
    b = pd.DataFrame({"street": ["calderwood"]})
    ctx = context({"a": a, "b": b, "ref": ref})
    p = problem(ctx, "street", [("a", 0), ("b", 0)])
    for name in ("typo_vote", "truth"):
        assert get_resolver(name).resolve([p], ctx)[0].value == "calderwood", name


def test_typo_vote_prefers_known_words_and_usual_word_formats() -> None:
    """Real typos from the stadium task (SE-heavy and balanced): each spelling occurs once,
    so counts cannot tell; the encoder's vocabulary knows "steelers" but not "seelers", and
    no word of the column is written "mEpower"."""
    teams = pd.DataFrame(
        {
            "Team": ["Packers", "Bears", "Browns", "Seahawks", "Bengals", "Ravens"],
            "Facility": [
                "Lambeau Field",
                "Soldier Field",
                "FirstEnergy Stadium",
                "Lumen Field",
                "Paul Brown Stadium",
                "M&T Bank Stadium",
            ],
        }
    )
    a = pd.DataFrame({"Team": ["Seelers"], "Facility": ["mEpower Field at Mile High"]})
    b = pd.DataFrame({"Team": ["Steelers"], "Facility": ["Empower Field at Mile High"]})
    ctx = context({"a": a, "b": b, "teams": teams})
    ps = [problem(ctx, x, [("a", 0), ("b", 0)], i) for i, x in enumerate(["Team", "Facility"])]
    got = [d.value for d in get_resolver("typo_vote").resolve(ps, ctx)]
    assert got == ["Steelers", "Empower Field at Mile High"]


def test_typo_vote_breaks_equal_support_by_the_rest_of_the_table() -> None:
    """One cell against one: the table pairs "Bank of America Stadium" with Charlotte, the
    merged tuple is in Santa Clara, so the value the table does not contradict wins, although
    the other occurs more often; without context the column's counts decide."""
    ctx, p = santa_clara_conflict()
    assert get_resolver("typo_vote").resolve([p], ctx)[0].value == "Levi's Stadium"
    plain = get_resolver("typo_vote", context_min_mi=None).resolve([p], ctx)[0]
    assert plain.value == "Bank of America Stadium"


@pytest.mark.slow
def test_typo_vote_on_real_febrl_conflicts(tmp_path) -> None:
    """Real FEBRL records with injected noise (bench task febrl_entity, balanced): on the gold
    conflicts the typo-aware vote beats majority vote by more than 15 points and truth
    discovery by more than 2, and its context tie-break adds more than 3 (measured: 0.890;
    vote 0.632, truth 0.849, without context 0.831)."""
    from lakefuse.bench.catalog import make_tasks
    from lakefuse.bench.conflict_speed import _accuracy, load_task

    task = make_tasks(tmp_path, [("febrl_entity", "balanced")], seed=0)[0]
    ctx, problems, truths = load_task(task)
    resolvers = {
        "vote": get_resolver("vote"),
        "typo_vote": get_resolver("typo_vote"),
        "no_context": get_resolver("typo_vote", context_min_mi=None),
        "truth": get_resolver("truth"),
    }
    acc = {
        name: _accuracy([d.value for d in r.resolve(problems, ctx)], truths)
        for name, r in resolvers.items()
    }
    assert acc["typo_vote"] > acc["vote"] + 0.15, acc
    assert acc["typo_vote"] > acc["truth"] + 0.02, acc
    assert acc["typo_vote"] > acc["no_context"] + 0.03, acc
