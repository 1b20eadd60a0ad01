"""The blocking keys of token blocking as SQL (:mod:`lakefuse.block.token_sql` pairs them):
each tuple's word tokens, codes, whole values, numbers with units, typo keys, phrases and
compound keys, each with its group, as tables the engine materialises."""

from __future__ import annotations

from collections.abc import Sequence

from lakefuse.engines.base import Engine, q
from lakefuse.types import TID

# a number with its unit, as one key: "8 GB", "8GB" and the French "8Go" -> "8gb"; "3,5 in" ->
# "3.5in" (go/to/mo only written together, so "1 to 5" stays words)
_UNIT = r"\b[0-9]+([.,][0-9]+)?(\s*(gb|tb|mb|kb|ghz|mhz|rpm|gbps|mbps|mah|mm|cm|in)|go|to|mo)\b"
# a decimal number with one or two decimals ("15,6", "3.30"; not the thousands of "1,000")
_DECIMAL = r"\b[0-9]+[.,][0-9]{1,2}\b"
# whitespace as RE2's \s (Java's \s also takes the vertical tab)
_SPACE = r"[ \t\n\f\r]+"


def step(engine: Engine, name: str, query: str) -> None:
    """One step of blocking materialised as ``name``: a temporary table, which blocking
    drops when it is done (:meth:`~lakefuse.engines.base.Engine.create`)."""
    engine.create(name, query, temporary=True)


def idf_sql(n: int, df: str) -> str:
    """The IDF of a key in ``df`` (a column) of ``n`` tuples."""
    return f"ln(CAST({n} AS DOUBLE) / {df})"


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
    """The typo keys of ``toks`` (see :func:`key_sql`) as ``(_tid, key, a, src)`` rows (``a``
    the attribute's number), ``src`` naming the token (with its attribute) the key was made
    from; where a tuple makes one key from two of its tokens, the first in order."""
    return (
        "SELECT _tid, key, a, min(src) AS src FROM (SELECT _tid, a, "
        "'~' || CAST(a AS VARCHAR) || ':' || "
        "(CASE WHEN i = 0 THEN tok ELSE substr(tok, 1, i - 1) || substr(tok, i + 1) END) "
        "AS key, CAST(a AS VARCHAR) || ':' || tok AS src "
        "FROM (SELECT _tid, a, tok, unnest(range(0, length(tok) + 1)) AS i FROM toks "
        "WHERE short AND length(tok) BETWEEN 4 AND 16) t0) t1 GROUP BY _tid, key, a"
    )


#: a compound key's number: its two common keys' numbers (each under this) in one
_KEY_SPAN = 4_294_967_296


def typo_group(a: str) -> str:
    """The number of the group of attribute ``a``'s typo keys: -1 for the first attribute,
    -2 for the second... (a word's or a whole value's group is numbered from 1 up, a
    compound key's below every typo group: :func:`compound_group`)."""
    return f"-(CAST({a} AS BIGINT) + 1)"


def compound_group(ax: str, ay: str, attributes: int) -> str:
    """The number of the group of a compound key of ``ax`` and ``ay`` (attribute numbers in
    the order of their keys, -1 for a word), below every typo group. A word with a value
    of attribute k is one group whichever comes first; two words are one group; two values
    are one group per ordered pair of attributes."""
    a = int(attributes)
    code = (
        f"CASE WHEN {ax} < 0 AND {ay} < 0 THEN 0 WHEN {ax} < 0 THEN 1 + {ay} "
        f"WHEN {ay} < 0 THEN 1 + {ax} ELSE {1 + a} + {ax} * {a} + {ay} END"
    )
    return f"-({a + 1} + {code})"


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


def typo_keys(
    engine: Engine, t: dict[str, str], union: str, attributes: Sequence[str], max_df: int, n: int
) -> None:
    """The typo keys under the frequency cap with their IDFs (``kt``: ``_tid, key, grp, src,
    idf``; the key and its group as numbers, :func:`typo_group`), and each tuple's tokens
    that made one (``ts``: ``_tid, src, grp, idf``, the token's best IDF over the keys made
    from it in any tuple). Two tuples that hold one token share every key made from it, so
    they meet once through ``ts``, with the best of those keys' IDFs, and through ``kt`` only
    where the keys come from different tokens (one edit apart): the same best IDF per group
    as joining every key, with one row per shared token instead of one per key (typo keys
    are their own namespace, ``~``, and their groups their own numbers)."""
    step(
        engine,
        t["kt"],
        tokens_sql(union, attributes) + f", ty AS ({typo_key_sql()}), "
        "df AS (SELECT key, count(*) AS df FROM ty GROUP BY key "
        f"HAVING count(*) > 1 AND count(*) <= {int(max_df)}), "
        "kid AS (SELECT key, df, row_number() OVER (ORDER BY key) AS id FROM df) "
        f"SELECT ty._tid, kid.id AS key, {typo_group('ty.a')} AS grp, ty.src, "
        f"{idf_sql(n, 'kid.df')} AS idf FROM ty JOIN kid ON ty.key = kid.key",
    )
    step(
        engine,
        t["ts"],
        f"WITH m AS (SELECT src, max(idf) AS idf FROM {t['kt']} GROUP BY src) "
        f"SELECT s._tid, s.src, s.grp, m.idf FROM (SELECT DISTINCT _tid, src, grp "
        f"FROM {t['kt']}) s JOIN m ON s.src = m.src",
    )


def phrases(engine: Engine, t: dict[str, str], jaccard: float, min_df: int, max_df: int) -> None:
    """A phrase counts once: word keys (not whole values) seen in at least ``min_df``
    tuples whose tuple sets overlap by ``jaccard`` (Jaccard) or more share one group, named
    by the least such key, so a pair that shares a repeated phrase (a shop's "tu tienda
    online lider con precios", a site name) scores its best word once instead of every word
    of it."""
    if jaccard <= 0:
        step(engine, t["keys"], f"SELECT _tid, key, grp FROM {t['keys0']}")
        return
    step(
        engine,
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


def compounds(engine: Engine, t: dict[str, str], max_df: int, n: int, attributes: int) -> None:
    """The table ``kc`` of compound keys (``_tid, key, grp, df``: the keys in 2 to
    ``max_df`` tuples with their frequency, key and group as numbers, read beside ``keys``).
    Whole values and words too common to be keys (in more than ``max_df`` tuples: a given
    name, a town, a brand, "ssd") are combined two by two within a tuple, one group per pair
    of attributes (words: one group for all; :func:`compound_group`): "given name john and
    surname smith", "samsung" with "ssd", are rare where each alone is not. Only pairs whose
    frequencies could make a key (``df_a * df_b <= 4 max_df n``: under independence the pair
    is in ``df_a df_b / n`` tuples) are formed, so a tuple adds a few keys, not every pair of
    its attributes. Keeps blocking near-linear in n: the frequency cap stays fixed as the lake
    grows while its common values still meet through their combinations."""
    # the common keys numbered in their order (x.key < y.key as x.id < y.id), so the
    # combinations are counted as pairs of numbers; only those that make a key are kept, as
    # the number of the pair: most are in one tuple only (a million generated people: 47M
    # combinations, 25M rows kept)
    step(
        engine,
        t["kc"],
        f"WITH df AS (SELECT key, count(*) AS df FROM {t['keys']} WHERE left(key, 1) = '=' "
        "OR (grp = key AND left(key, 1) NOT IN ('~', '#')) "
        f"GROUP BY key HAVING count(*) > {int(max_df)}), "
        "dk AS (SELECT key, df, row_number() OVER (ORDER BY key) AS id, "
        "CASE WHEN left(key, 1) = '=' THEN CAST(substr(split_part(key, ':', 1), 2) AS BIGINT) "
        "ELSE -1 END AS a FROM df), "
        f"f AS (SELECT k0._tid, dk.id, dk.df, dk.a FROM {t['keys']} k0 "
        "JOIN dk ON k0.key = dk.key), "
        "c AS (SELECT x._tid, x.id AS ix, y.id AS iy, x.a AS ax, y.a AS ay FROM f x "
        "JOIN f y ON x._tid = y._tid AND x.id < y.id "
        f"WHERE CAST(x.df AS DOUBLE) * y.df <= {4.0 * max_df * n}), "
        "cdf AS (SELECT ix, iy, count(*) AS df FROM c GROUP BY ix, iy "
        f"HAVING count(*) > 1 AND count(*) <= {int(max_df)}) "
        f"SELECT c._tid, c.ix * {_KEY_SPAN} + c.iy AS key, "
        f"{compound_group('c.ax', 'c.ay', attributes)} AS grp, cdf.df "
        "FROM c JOIN cdf ON c.ix = cdf.ix AND c.iy = cdf.iy",
    )
