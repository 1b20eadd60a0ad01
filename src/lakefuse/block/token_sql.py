"""Token blocking as SQL, written once and run by any engine (transpiled by sqlglot).

The algorithm is a chain of steps, each materialised by the engine (``Engine.create``): the
blocking keys of every tuple, their document frequencies and IDFs, the scored pairs, and the
budget cut. The SQL keeps to what sqlglot carries across dialects: ASCII classes over
lowercased text (``[a-z0-9]``, where RE2 and Java agree), no back-references (a number's
trailing zeros are dropped by concatenating ``regexp_extract`` groups) and no ``QUALIFY``.
One known difference: ``\\b`` in Java (Spark) also takes non-ASCII letters as word characters,
RE2 (DuckDB) only ASCII ones, so a number with its unit glued to an accented letter can be a key
on one engine and not on the other.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from lakefuse.engines.base import Engine, q
from lakefuse.types import TID

# a number with its unit, as one key: "8 GB", "8GB" and the French "8Go" -> "8gb"; "3,5 in" ->
# "3.5in" (go/to/mo only written together, so "1 to 5" stays words)
_UNIT = r"\b[0-9]+([.,][0-9]+)?(\s*(gb|tb|mb|kb|ghz|mhz|rpm|gbps|mbps|mah|mm|cm|in)|go|to|mo)\b"
# a decimal number with one or two decimals ("15,6", "3.30"; not the thousands of "1,000")
_DECIMAL = r"\b[0-9]+[.,][0-9]{1,2}\b"
# whitespace as RE2's \s (Java's \s also takes the vertical tab)
_SPACE = r"[ \t\n\f\r]+"

_PREFIX = "__lf_blk_"
#: tuples per part when pairs are made (a union of up to this many in one query): bounds the
#: engine's memory for the pair join (1M generated people did not fit 5 GiB in one query)
PAIR_PART_TUPLES = 250_000


def _trim_zeros(col: str, unit: bool) -> str:
    """A number's trailing zeros dropped: "3.30" -> "3.3", "2.0tb" -> "2tb" (groups
    concatenated: a replacement's back-references are written differently per dialect)."""
    tail = "([a-z]+)" if unit else ""
    pat = f"'^([0-9]+)([.][0-9]*[1-9])?[.]?0*{tail}$'"
    groups = " || ".join(f"regexp_extract({col}, {pat}, {g})" for g in range(1, 4 if unit else 3))
    return f"(CASE WHEN regexp_matches({col}, {pat}) THEN {groups} ELSE {col} END)"


def key_sql(qgram: int) -> str:
    """The blocking keys of ``toks``/``vals`` as ``(_tid, key, grp)`` rows.

    A pair's score sums over groups the best IDF it shares in each. Word tokens and codes are
    their own group: a word token; a whitespace word written without its hyphens, dots or
    slashes ("kx-tca86" -> "kxtca86", "tp-link" -> "tplink"); each whole (short) value
    within its attribute, so that one-letter codes and exact keys still meet; the letter and
    digit runs of a token that holds both ("gtx1050" -> "gtx", "1050"); a number with its
    unit (``_UNIT``) and a decimal number ("15,6" -> "15.6"), trailing zeros dropped
    ("3.30 GHz" -> "3.3ghz"); and typo keys (:func:`typo_key_sql`, their own table), one
    group per attribute: every token of 4-16
    characters of a short value, with and without each one of its characters (one edit
    apart: "sainst"/"saints" -> "sains", "eages"/"eagles" -> "eages"). With ``qgram`` > 0,
    the character q-grams of each token too."""
    unit = _trim_zeros("u", True)
    dec = _trim_zeros("d", False)
    glued = "(CASE WHEN regexp_matches(u0, '[gtm]o$') THEN substr(u0, 1, length(u0) - 1) || 'b' "
    glued += "ELSE u0 END)"
    av = "'=' || CAST(a AS VARCHAR) || ':' || v"
    words = (
        "SELECT DISTINCT _tid, tok AS key, tok AS grp FROM toks WHERE length(tok) >= 2 "
        "UNION SELECT DISTINCT _tid, code AS key, code AS grp FROM (SELECT _tid, "
        "regexp_replace(w, '[^a-z0-9]+', '', 'g') AS code, w FROM (SELECT _tid, "
        f"unnest(string_split_regex(v, '{_SPACE}')) AS w FROM vals) w0) c0 "
        "WHERE length(code) >= 4 AND code <> w "
        f"UNION SELECT DISTINCT _tid, {av} AS key, {av} AS grp FROM vals WHERE length(v) <= 64 "
        "UNION SELECT DISTINCT _tid, part AS key, part AS grp FROM (SELECT _tid, "
        "unnest(regexp_extract_all(tok, '[a-z]+|[0-9]+', 0)) AS part FROM toks "
        "WHERE regexp_matches(tok, '[0-9]') AND regexp_matches(tok, '[a-z]')) p0 "
        "WHERE length(part) >= 2 "
        f"UNION SELECT DISTINCT _tid, {unit} AS key, {unit} AS grp FROM (SELECT _tid, "
        f"{glued} AS u FROM (SELECT _tid, replace(regexp_replace(m, '{_SPACE}', '', 'g'), ',', "
        "'.') AS u0 FROM (SELECT _tid, "
        f"unnest(regexp_extract_all(v, '{_UNIT}', 0)) AS m FROM vals) m0) m1) m2 "
        f"UNION SELECT DISTINCT _tid, {dec} AS key, {dec} AS grp FROM (SELECT _tid, "
        "replace(m, ',', '.') AS d "
        f"FROM (SELECT _tid, unnest(regexp_extract_all(v, '{_DECIMAL}', 0)) AS m FROM vals) d0) "
        "d1"
    )
    keys = words
    if qgram > 0:
        keys = (
            f"{keys} UNION SELECT DISTINCT _tid, '#' || substr(tok, i, {qgram}) AS key, "
            f"'#' || substr(tok, i, {qgram}) AS grp "
            f"FROM (SELECT _tid, tok, unnest(range(1, length(tok) - {qgram} + 2)) AS i "
            f"FROM toks WHERE length(tok) >= {qgram + 1}) g0"
        )
    return keys


def typo_key_sql() -> str:
    """The typo keys of ``toks`` (see :func:`key_sql`) as ``(_tid, key, grp, src)`` rows,
    ``src`` naming the token (with its attribute) the key was made from; where a tuple makes
    one key from two of its tokens, the first in order."""
    return (
        "SELECT _tid, key, grp, min(src) AS src FROM (SELECT _tid, "
        "'~' || CAST(a AS VARCHAR) || ':' || "
        "(CASE WHEN i = 0 THEN tok ELSE substr(tok, 1, i - 1) || substr(tok, i + 1) END) "
        "AS key, '~' || CAST(a AS VARCHAR) AS grp, CAST(a AS VARCHAR) || ':' || tok AS src "
        "FROM (SELECT _tid, a, tok, unnest(range(0, length(tok) + 1)) AS i FROM toks "
        "WHERE short AND length(tok) BETWEEN 4 AND 16) t0) t1 GROUP BY _tid, key, grp"
    )


def tokens_sql(union: str, attributes: Sequence[str]) -> str:
    """``vals`` (``_tid, a, v``: each non-null value, lowercased and trimmed, with its
    attribute's number) and ``toks`` (``_tid, a, short, tok``: its word tokens) as CTEs."""
    unpivot = " UNION ALL ".join(
        f"SELECT {q(TID)} AS _tid, {i} AS a, lower(trim({q(a)})) AS v FROM {q(union)} "
        f"WHERE {q(a)} IS NOT NULL"
        for i, a in enumerate(attributes)
    )
    return (
        f"WITH vals AS ({unpivot}), "
        "toks AS (SELECT _tid, a, length(v) <= 64 AS short, "
        "unnest(string_split_regex(v, '[^a-z0-9]+')) AS tok FROM vals) "
    )


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
    names = ("keys0", "keys", "kc", "k", "kt", "ts", "p", "ranked", "cand")
    t = {s: _PREFIX + s for s in names}
    try:
        engine.create(t["keys0"], tokens_sql(union, attributes) + key_sql(qgram))
        _typo_keys(engine, t, union, attributes, max_df, n)
        _phrases(engine, t, phrase_jaccard, phrase_min_df, max_df)
        keys = f"SELECT _tid, key, grp FROM {t['keys']}"
        if compound:
            _compounds(engine, t, max_df, n)
            keys += f" UNION ALL SELECT _tid, key, grp FROM {t['kc']}"
        engine.create(
            t["k"],
            f"WITH ks AS ({keys}), df AS (SELECT key, count(*) AS df FROM ks GROUP BY key "
            f"HAVING count(*) > 1 AND count(*) <= {int(max_df)}) "
            f"SELECT k0._tid, k0.key, k0.grp, ln(CAST({n} AS DOUBLE) / df.df) AS idf "
            "FROM ks k0 JOIN df ON k0.key = df.key",
        )
        # A pair's score sums its IDFs in fixed point (1e-9), and so does a tuple's mean
        # score with its best partners: a sum of doubles depends on the order a parallel
        # aggregation meets them, and equal pairs would rank by that order
        # in parts by the left tuple (a pair's rows all share its left tuple, so each part is
        # complete): the join and its groups of one part at a time fit in the engine's memory
        parts = max(1, -(-n // PAIR_PART_TUPLES)) if engine.join_in_parts else 1
        names = [t["p"] if parts == 1 else f"{t['p']}_{i}" for i in range(parts)]
        try:
            for i, name in enumerate(names):
                # a pair's typo keys made from one token on both sides meet once, as that
                # token (``ts``), not once per key of it
                and_part = f"AND a._tid % {parts} = {i} " if parts > 1 else ""
                engine.create(
                    name,
                    "WITH pg0 AS (SELECT a._tid AS l, b._tid AS r, a.grp, a.idf "
                    f"FROM {t['k']} a JOIN {t['k']} b ON a.key = b.key AND a.grp = b.grp "
                    f"AND a._tid < b._tid {and_part}"
                    "UNION ALL SELECT a._tid AS l, b._tid AS r, a.grp, a.idf "
                    f"FROM {t['kt']} a JOIN {t['kt']} b ON a.key = b.key AND a.src <> b.src "
                    f"AND a._tid < b._tid {and_part}"
                    "UNION ALL SELECT a._tid AS l, b._tid AS r, a.grp, a.idf "
                    f"FROM {t['ts']} a JOIN {t['ts']} b ON a.src = b.src "
                    f"AND a._tid < b._tid {and_part}), "
                    "pg AS (SELECT l, r, grp, max(idf) AS idf FROM pg0 GROUP BY l, r, grp) "
                    "SELECT CAST(l AS BIGINT) AS l, CAST(r AS BIGINT) AS r, "
                    "sum(CAST(round(idf * 1e9) AS BIGINT)) / 1e9 AS block_score "
                    "FROM pg GROUP BY l, r",
                )
            if parts > 1:
                engine.create(t["p"], " UNION ALL ".join(f"SELECT * FROM {x}" for x in names))
        finally:
            if parts > 1:
                engine.drop(*names)
        if fill and local_scale > 0:  # each tuple's mean score with its k best partners
            engine.create(t["ranked"], _scale_sql(engine, t["p"], int(local_scale)))
        else:
            # each tuple's partners ranked; only as deep as the cut looks: the budget
            # without fill, every pair for fill by rank
            deep = 0 if fill else per_tuple
            engine.create(
                t["ranked"],
                f"WITH sides AS (SELECT l AS t, r AS o, block_score FROM {t['p']} "
                f"UNION ALL SELECT r AS t, l AS o, block_score FROM {t['p']}), "
                "rk AS (SELECT t, o, block_score, row_number() OVER (PARTITION BY t "
                "ORDER BY block_score DESC, o) AS rank FROM sides) "
                "SELECT t, o, block_score, rank FROM rk"
                + (f" WHERE rank <= {int(deep)}" if deep else ""),
            )
        out = _cut(engine, t, int(per_tuple) * n, fill, local_scale)
    finally:
        engine.drop(*t.values())
    if out.num_rows == 0:
        return empty
    return pa.table(
        {
            "l": out.column("l").cast(pa.int64()),
            "r": out.column("r").cast(pa.int64()),
            "block_score": out.column("block_score").cast(pa.float64()),
        }
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
            f"WITH sides AS (SELECT l AS t, {fixed} AS b FROM {pairs} "
            f"UNION ALL SELECT r AS t, {fixed} AS b FROM {pairs}) "
            f"SELECT t, list_avg(max(b, {k})) / 1e9 AS s FROM sides GROUP BY t"
        )
    return (
        f"WITH sides AS (SELECT l AS t, r AS o, block_score FROM {pairs} "
        f"UNION ALL SELECT r AS t, l AS o, block_score FROM {pairs}), "
        "rk AS (SELECT t, block_score, row_number() OVER (PARTITION BY t "
        "ORDER BY block_score DESC, o) AS rank FROM sides) "
        f"SELECT t, avg({fixed}) / 1e9 AS s FROM rk WHERE rank <= {k} GROUP BY t"
    )


def _typo_keys(
    engine: Engine, t: dict[str, str], union: str, attributes: Sequence[str], max_df: int, n: int
) -> None:
    """The typo keys under the frequency cap with their IDFs (``kt``: ``_tid, key, grp, src,
    idf``), and each tuple's tokens that made one (``ts``: ``_tid, src, grp, idf``, the
    token's best IDF over the keys made from it in any tuple). Two tuples that hold one token
    share every key made from it, so they meet once through ``ts``, with the best of those
    keys' IDFs, and through ``kt`` only where the keys come from different tokens (one edit
    apart): the same best IDF per group as joining every key, with one row per shared token
    instead of one per key (typo keys are their own namespace, ``~``)."""
    engine.create(
        t["kt"],
        tokens_sql(union, attributes) + f", ty AS ({typo_key_sql()}), "
        "df AS (SELECT key, count(*) AS df FROM ty GROUP BY key "
        f"HAVING count(*) > 1 AND count(*) <= {int(max_df)}) "
        f"SELECT ty._tid, ty.key, ty.grp, ty.src, ln(CAST({n} AS DOUBLE) / df.df) AS idf "
        "FROM ty JOIN df ON ty.key = df.key",
    )
    engine.create(
        t["ts"],
        f"WITH m AS (SELECT src, max(idf) AS idf FROM {t['kt']} GROUP BY src) "
        f"SELECT s._tid, s.src, s.grp, m.idf FROM (SELECT DISTINCT _tid, src, grp "
        f"FROM {t['kt']}) s JOIN m ON s.src = m.src",
    )


def _phrases(engine: Engine, t: dict[str, str], jaccard: float, min_df: int, max_df: int) -> None:
    """A phrase counts once: word keys (not whole values) seen in at least ``min_df``
    tuples whose tuple sets overlap by ``jaccard`` (Jaccard) or more share one group, named
    by the least such key, so a pair that shares a repeated phrase (a shop's "tu tienda
    online lider con precios", a site name) scores its best word once instead of every word
    of it."""
    if jaccard <= 0:
        engine.create(t["keys"], f"SELECT _tid, key, grp FROM {t['keys0']}")
        return
    engine.create(
        t["keys"],
        f"WITH wk AS (SELECT DISTINCT _tid, key FROM {t['keys0']} "
        "WHERE grp = key AND left(key, 1) <> '='), "
        "wdf AS (SELECT key, count(*) AS df FROM wk GROUP BY key "
        f"HAVING count(*) >= {int(min_df)} AND count(*) <= {int(max_df)}), "
        "wk2 AS (SELECT wk._tid, wk.key, wdf.df FROM wk JOIN wdf ON wk.key = wdf.key), "
        "co AS (SELECT a.key AS ka, b.key AS kb, count(*) AS c, min(a.df) AS dfa, "
        "min(b.df) AS dfb FROM wk2 a JOIN wk2 b ON a._tid = b._tid AND a.key < b.key "
        "GROUP BY a.key, b.key), "
        "rep AS (SELECT kb AS key, min(ka) AS grp FROM co "
        f"WHERE c >= {float(jaccard)} * (dfa + dfb - c) GROUP BY kb) "
        f"SELECT k0._tid, k0.key, coalesce(rep.grp, k0.grp) AS grp FROM {t['keys0']} k0 "
        "LEFT JOIN rep ON k0.key = rep.key",
    )


def _compounds(engine: Engine, t: dict[str, str], max_df: int, n: int) -> None:
    """The table ``kc`` of compound keys (read beside ``keys``). Whole values and words
    too common to be keys (in more than ``max_df`` tuples: a given
    name, a town, a brand, "ssd") are combined two by two within a tuple, one group per pair
    of attributes (words: one group for all): "given name john and surname smith", "samsung"
    with "ssd", are rare where each alone is not. Only pairs whose
    frequencies could make a key (``df_a * df_b <= 4 max_df n``: under independence the pair
    is in ``df_a df_b / n`` tuples) are formed, so a tuple adds a few keys, not every pair of
    its attributes. Keeps blocking near-linear in n: the frequency cap stays fixed as the lake
    grows while its common values still meet through their combinations."""
    engine.create(
        t["kc"],
        f"WITH df AS (SELECT key, count(*) AS df FROM {t['keys']} WHERE left(key, 1) = '=' "
        "OR (grp = key AND left(key, 1) NOT IN ('~', '#')) "
        f"GROUP BY key HAVING count(*) > {int(max_df)}), "
        "f AS (SELECT k0._tid, k0.key, CASE WHEN left(k0.key, 1) = '=' "
        "THEN split_part(k0.key, ':', 1) ELSE '' END AS a, df.df "
        f"FROM {t['keys']} k0 JOIN df ON k0.key = df.key) "
        "SELECT x._tid, x.key || '&' || y.key AS key, '&' || x.a || y.a AS grp FROM f x "
        "JOIN f y ON x._tid = y._tid AND x.key < y.key "
        f"WHERE CAST(x.df AS DOUBLE) * y.df <= {4.0 * max_df * n}",
    )


def _cut(engine: Engine, t: dict[str, str], budget: int, fill: bool, local_scale: int) -> pa.Table:
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
    out a weaker tuple's best match.

    The budget is cut without sorting every pair in one place (a window over the whole table
    runs in one partition on Spark): each pair gets a bin that never decreases along the
    order (the logarithm of its scaled score in steps of 1e-4, or its better side's rank);
    the bins' sizes come to the driver, every pair above the bin where the budget runs out is
    taken, and only that bin is sorted. The result is the same as taking the first
    ``budget`` pairs of the whole order."""
    if not fill:
        return engine.query(
            f"WITH kept AS (SELECT DISTINCT least(t, o) AS l, greatest(t, o) AS r "
            f"FROM {t['ranked']}) SELECT p.l, p.r, p.block_score FROM {t['p']} p "
            "JOIN kept ON p.l = kept.l AND p.r = kept.r ORDER BY p.l, p.r"
        )
    if local_scale > 0:
        engine.create(
            t["cand"],
            f"WITH scale AS (SELECT t, s FROM {t['ranked']}), "
            "c AS (SELECT p.l, p.r, p.block_score, "
            "p.block_score / sqrt(sl.s * sr.s) AS o1, p.block_score AS o2 "
            f"FROM {t['p']} p JOIN scale sl ON sl.t = p.l JOIN scale sr ON sr.t = p.r) "
            # (a pair of zero score, keys in every tuple, has NaN: first, as in the engines' order)
            "SELECT l, r, block_score, o1, o2, CASE WHEN isnan(o1) THEN 1000000000 "
            "WHEN o1 <= 0 THEN -1000000000 ELSE CAST(floor(ln(o1) * 10000) AS BIGINT) END AS bin "
            "FROM c",
        )
    else:
        engine.create(
            t["cand"],
            "WITH kept AS (SELECT least(t, o) AS l, greatest(t, o) AS r, min(rank) AS rank "
            f"FROM {t['ranked']} GROUP BY least(t, o), greatest(t, o)) "
            "SELECT p.l, p.r, p.block_score, -kept.rank AS o1, p.block_score AS o2, "
            f"-kept.rank AS bin FROM {t['p']} p JOIN kept ON p.l = kept.l AND p.r = kept.r",
        )
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
