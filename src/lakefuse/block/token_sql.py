"""Token blocking as SQL, written once and run by any engine (transpiled by sqlglot).

The algorithm is a chain of steps, each materialised by the engine (``Engine.create``): the
blocking keys of every tuple (their SQL in :mod:`lakefuse.block.token_keys`), their document
frequencies and IDFs, the scored pairs, and the budget cut. The SQL keeps to what sqlglot
carries across dialects: ASCII classes over lowercased text (``[a-z0-9]``, where RE2 and Java
agree), no back-references (a number's trailing zeros are dropped by concatenating
``regexp_extract`` groups) and no ``QUALIFY``. One known difference: ``\\b`` in Java (Spark)
also takes non-ASCII letters as word characters, RE2 (DuckDB) only ASCII ones, so a number
with its unit glued to an accented letter can be a key on one engine and not on the other.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from lakefuse.block.token_keys import (
    compounds,
    idf_sql,
    key_sql,
    phrases,
    step,
    tokens_sql,
    typo_keys,
)
from lakefuse.engines.base import Engine

_PREFIX = "__lf_blk_"
#: tuples per part when pairs are made (a union of up to this many in one query): bounds the
#: engine's memory for the pair join (1M generated people did not fit 5 GiB in one query)
PAIR_PART_TUPLES = 250_000


def token_candidates(
    engine: Engine,
    union: str,
    attributes: Sequence[str],
    per_tuple: int,
    max_df: int,
    qgram: int = 0,
    fill: bool = False,
    local_scale: int = 0,
    phrase_jaccard: float = 0.0,
    phrase_min_df: int = 20,
    compound: bool = False,
) -> pa.Table:
    """Token blocking: pairs (l < r) sharing a word token (or a character q-gram of one,
    when ``qgram`` > 0) whose document frequency is at most ``max_df``; ranked by summed
    IDF, keeping each tuple's ``per_tuple`` best (a pair stays when either side keeps
    it). With ``fill``, pairs are taken by their better side's rank until there are
    ``per_tuple`` per tuple on average; with ``local_scale`` = k as well, by their score
    over the geometric mean of both sides' mean score with their k best partners.
    ``phrase_jaccard`` > 0: words seen in at least ``phrase_min_df`` tuples whose tuple
    sets overlap by that Jaccard count once, as one phrase. Columns ``l, r,
    block_score`` (int64, int64, double), ordered by ``l, r``."""
    empty = pa.table(
        {
            "l": pa.array([], pa.int64()),
            "r": pa.array([], pa.int64()),
            "block_score": pa.array([], pa.float64()),
        }
    )
    if not attributes:
        return empty
    n = engine.count(union)
    t = {s: _PREFIX + s for s in ("keys0", "keys", "kc", "k", "kt", "ts", "p", "ranked", "cand")}
    # the pairs in parts by the left tuple (a pair's rows all share its left tuple, so each
    # part is complete): the join and its groups of one part at a time fit in the engine's
    # memory
    parts = max(1, -(-n // PAIR_PART_TUPLES)) if engine.join_in_parts else 1
    names = [t["p"] if parts == 1 else f"{t['p']}_{i}" for i in range(parts)]
    try:
        step(engine, t["keys0"], tokens_sql(union, attributes) + key_sql(qgram))
        typo_keys(engine, t, union, attributes, max_df, n)
        phrases(engine, t, phrase_jaccard, phrase_min_df, max_df)
        # each step's tables go as soon as no later step reads them: DuckDB holds its
        # temporary tables in memory up to its limit and spills the rest
        engine.drop(t["keys0"])
        # the keys under the frequency cap with their IDFs, each key and group as a number
        # (the pairs are joined and grouped on numbers: at 200k generated people 12 s against
        # 15 s on strings); compound keys come counted and numbered
        counted = ""
        if compound:
            compounds(engine, t, max_df, n, len(attributes))
            counted = f" UNION ALL SELECT _tid, key, grp, {idf_sql(n, 'df')} AS idf FROM {t['kc']}"
        # ``solo``: no tuple holds two keys of the key's group, so a pair meets there once
        step(
            engine,
            t["k"],
            f"WITH df AS (SELECT key, count(*) AS df FROM {t['keys']} GROUP BY key "
            f"HAVING count(*) > 1 AND count(*) <= {int(max_df)}), "
            "kid AS (SELECT key, df, row_number() OVER (ORDER BY key) AS id FROM df), "
            f"k1 AS (SELECT x._tid, kid.id AS key, x.grp, {idf_sql(n, 'kid.df')} AS idf "
            f"FROM {t['keys']} x JOIN kid ON x.key = kid.key), "
            "gid AS (SELECT grp, row_number() OVER (ORDER BY grp) AS id "
            "FROM (SELECT DISTINCT grp FROM k1) g0), "
            "k0 AS (SELECT k1._tid, k1.key, gid.id AS grp, k1.idf FROM k1 "
            f"JOIN gid ON k1.grp = gid.grp{counted}), "
            "gs AS (SELECT grp, max(c) AS c FROM (SELECT _tid, grp, count(*) AS c FROM k0 "
            "GROUP BY _tid, grp) g0 GROUP BY grp) "
            "SELECT k0._tid, k0.key, k0.grp, k0.idf, gs.c = 1 AS solo "
            "FROM k0 JOIN gs ON k0.grp = gs.grp",
        )
        engine.drop(t["keys"], t["kc"])
        # A pair's score sums its IDFs in fixed point (1e-9), and so does a tuple's mean
        # score with its best partners: a sum of doubles depends on the order a parallel
        # aggregation meets them, and equal pairs would rank by that order
        for i, name in enumerate(names):
            and_part = f"AND a._tid % {parts} = {i} " if parts > 1 else ""
            step(engine, name, _pairs_sql(t, and_part))
        engine.drop(t["k"], t["kt"], t["ts"])
        # the parts are read as one table where they lie, not copied into one (a million
        # generated people: 77M pairs, 4 s)
        pairs = (
            t["p"]
            if parts == 1
            else "(" + " UNION ALL ".join(f"SELECT * FROM {x}" for x in names) + ")"
        )
        if fill and local_scale > 0:  # each tuple's mean score with its k best partners
            step(engine, t["ranked"], _scale_sql(engine, pairs, int(local_scale)))
        else:
            # each tuple's partners ranked; only as deep as the cut looks: the budget
            # without fill, every pair for fill by rank
            deep = 0 if fill else per_tuple
            step(
                engine,
                t["ranked"],
                f"WITH sides AS (SELECT l AS t, r AS o, block_score FROM {pairs} AS ps "
                f"UNION ALL SELECT r AS t, l AS o, block_score FROM {pairs} AS ps), "
                "rk AS (SELECT t, o, block_score, row_number() OVER (PARTITION BY t "
                "ORDER BY block_score DESC, o) AS rank FROM sides) "
                "SELECT t, o, block_score, rank FROM rk"
                + (f" WHERE rank <= {int(deep)}" if deep else ""),
            )
        out = _cut(engine, t, pairs, int(per_tuple) * n, fill, local_scale, names)
    finally:
        engine.drop(*t.values(), *names)
    if out.num_rows == 0:
        return empty
    return pa.table(
        {
            "l": out.column("l").cast(pa.int64()),
            "r": out.column("r").cast(pa.int64()),
            "block_score": out.column("block_score").cast(pa.float64()),
        }
    )


def _pairs_sql(t: dict[str, str], and_part: str, solo: bool = True) -> str:
    """Every pair of tuples that share a key (``l < r``, in the part ``and_part`` keeps) with
    its score: per group, the best IDF of the keys it shares there, summed over groups.
    A pair's typo keys made from one token on both sides meet once, as that token (``ts``),
    not once per key of it. A pair meets once in a ``solo`` group (no tuple holds two of its
    keys: a word, a whole value, a compound of two attributes' values), so its row there
    is its group's best as it is; only the others (typo keys, phrases) are grouped by
    pair and group (at 200k generated people the pairs 20.5 -> 14.7 s, the same table);
    ``solo=False`` groups every row (the same numbers)."""
    solo_rows = (
        "UNION ALL SELECT a._tid AS l, b._tid AS r, a.idf "
        f"FROM {t['k']} a JOIN {t['k']} b ON a.key = b.key AND a.grp = b.grp "
        f"AND a._tid < b._tid AND a.solo {and_part}"
    )
    return (
        "WITH pg0 AS (SELECT a._tid AS l, b._tid AS r, a.grp, a.idf "
        f"FROM {t['k']} a JOIN {t['k']} b ON a.key = b.key AND a.grp = b.grp "
        f"AND a._tid < b._tid {'AND NOT a.solo ' if solo else ''}{and_part}"
        "UNION ALL SELECT a._tid AS l, b._tid AS r, a.grp, a.idf "
        f"FROM {t['kt']} a JOIN {t['kt']} b ON a.key = b.key AND a.src <> b.src "
        f"AND a._tid < b._tid {and_part}"
        "UNION ALL SELECT a._tid AS l, b._tid AS r, a.grp, a.idf "
        f"FROM {t['ts']} a JOIN {t['ts']} b ON a.src = b.src "
        f"AND a._tid < b._tid {and_part}), "
        "pg AS (SELECT l, r, max(idf) AS idf FROM pg0 GROUP BY l, r, grp "
        f"{solo_rows if solo else ''}) "
        "SELECT CAST(l AS BIGINT) AS l, CAST(r AS BIGINT) AS r, "
        "sum(CAST(round(idf * 1e9) AS BIGINT)) / 1e9 AS block_score "
        "FROM pg GROUP BY l, r"
    )


def _scale_sql(engine: Engine, pairs: str, k: int) -> str:
    """Each tuple's mean score with its ``k`` best partners (``t, s``), summed in fixed
    point (1e-9) as a pair's score is. An engine with a top-k aggregate keeps the k best
    scores of each tuple in a heap (at 200k generated people 6x faster than ranking); the
    others rank every side of every pair (a window) and keep the first k. The same
    numbers: the k best scores are the same whichever partner wins a tie."""
    fixed = "CAST(round(block_score * 1e9) AS BIGINT)"
    if engine.top_k_aggregate:
        return (
            f"WITH sides AS (SELECT l AS t, {fixed} AS b FROM {pairs} AS ps "
            f"UNION ALL SELECT r AS t, {fixed} AS b FROM {pairs} AS ps) "
            f"SELECT t, list_avg(max(b, {k})) / 1e9 AS s FROM sides GROUP BY t"
        )
    return (
        f"WITH sides AS (SELECT l AS t, r AS o, block_score FROM {pairs} AS ps "
        f"UNION ALL SELECT r AS t, l AS o, block_score FROM {pairs} AS ps), "
        "rk AS (SELECT t, block_score, row_number() OVER (PARTITION BY t "
        "ORDER BY block_score DESC, o) AS rank FROM sides) "
        f"SELECT t, avg({fixed}) / 1e9 AS s FROM rk WHERE rank <= {k} GROUP BY t"
    )


def _cut(
    engine: Engine,
    t: dict[str, str],
    pairs: str,
    budget: int,
    fill: bool,
    local_scale: int,
    parts: Sequence[str] = (),
) -> pa.Table:
    """Each tuple keeps its ``per_tuple`` best partners (ranked over both sides of its pairs),
    and a pair stays when either tuple keeps it: at most ``per_tuple`` pairs per tuple on
    average, while a hub (a team row that many players name) keeps every pair that its
    partners rank high. With ``fill``, the pairs are taken by their better side's rank (then
    score) until the mean reaches ``per_tuple`` (``budget`` pairs in all): the same as
    keeping each tuple's best partners, as deep as the budget allows. With ``fill`` and
    ``local_scale`` = k, pairs are taken instead by their score over the geometric mean of
    each side's mean score with its k best partners (local scaling, as CSLS and self-tuning
    spectral clustering do): a pair counts by how strong it is for both of its tuples, so a
    tuple whose partners all score high (a long title, a shop's template) no longer crowds
    out a weaker tuple's best match. ``pairs``: the scored pairs (a table, or the union of
    the tables ``parts`` it was made in, dropped once the candidates are made from them).

    The budget is cut without sorting every pair in one place (a window over the whole table
    runs in one partition on Spark): each pair gets a bin that never decreases along the
    order (the logarithm of its scaled score in steps of 1e-4, or its better side's rank);
    the bins' sizes come to the driver, every pair above the bin where the budget runs out is
    taken, and only that bin is sorted. The result is the same as taking the first
    ``budget`` pairs of the whole order."""
    if not fill:
        return engine.query(
            f"WITH kept AS (SELECT DISTINCT least(t, o) AS l, greatest(t, o) AS r "
            f"FROM {t['ranked']}) SELECT p.l, p.r, p.block_score FROM {pairs} p "
            "JOIN kept ON p.l = kept.l AND p.r = kept.r ORDER BY p.l, p.r"
        )
    if local_scale > 0:
        step(
            engine,
            t["cand"],
            f"WITH scale AS (SELECT t, s FROM {t['ranked']}), "
            "c AS (SELECT p.l, p.r, p.block_score, "
            "p.block_score / sqrt(sl.s * sr.s) AS o1, p.block_score AS o2 "
            f"FROM {pairs} p JOIN scale sl ON sl.t = p.l JOIN scale sr ON sr.t = p.r) "
            # (a pair of zero score, keys in every tuple, has NaN: first, as in the engines' order)
            "SELECT l, r, block_score, o1, o2, CASE WHEN isnan(o1) THEN 1000000000 "
            "WHEN o1 <= 0 THEN -1000000000 ELSE CAST(floor(ln(o1) * 10000) AS BIGINT) END AS bin "
            "FROM c",
        )
    else:
        step(
            engine,
            t["cand"],
            "WITH kept AS (SELECT least(t, o) AS l, greatest(t, o) AS r, min(rank) AS rank "
            f"FROM {t['ranked']} GROUP BY least(t, o), greatest(t, o)) "
            "SELECT p.l, p.r, p.block_score, -kept.rank AS o1, p.block_score AS o2, "
            f"-kept.rank AS bin FROM {pairs} p JOIN kept ON p.l = kept.l AND p.r = kept.r",
        )
    # the rest reads the candidates only: the pairs (``pairs`` reads the tables ``parts``)
    # and the ranks go
    engine.drop(t["ranked"], *parts)
    hist = engine.query(f"SELECT bin, count(*) AS n FROM {t['cand']} GROUP BY bin")
    bins = hist.column("bin").to_numpy()
    counts = hist.column("n").to_numpy()
    order = np.argsort(-bins, kind="stable")
    bins, counts = bins[order], counts[order]
    cum = np.cumsum(counts)
    select = f"SELECT l, r, block_score FROM {t['cand']}"
    if len(cum) == 0 or cum[-1] <= budget:
        return engine.query(f"{select} ORDER BY l, r")
    at = int(np.searchsorted(cum, budget))  # the bin where the budget runs out
    need = budget - (int(cum[at - 1]) if at else 0)
    edge = int(bins[at])
    return engine.query(
        f"{select} WHERE bin > {edge} UNION ALL SELECT l, r, block_score FROM "
        "(SELECT l, r, block_score, row_number() OVER (ORDER BY o1 DESC, o2 DESC, l, r) AS _w "
        f"FROM {t['cand']} WHERE bin = {edge}) b WHERE _w <= {need} ORDER BY l, r"
    )
