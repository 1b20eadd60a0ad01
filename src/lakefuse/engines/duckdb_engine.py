"""DuckDB behind the engine interface: an embedded database file under the output folder."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from lakefuse.engines.base import Engine
from lakefuse.types import PART, ROW, TABLE, TID

# a number with its unit, as one key: "8 GB", "8GB" and the French "8Go" -> "8gb"; "3,5 in" ->
# "3.5in" (go/to/mo only written together, so "1 to 5" stays words)
_UNIT = r"\b[0-9]+([.,][0-9]+)?(\s*(gb|tb|mb|kb|ghz|mhz|rpm|gbps|mbps|mah|mm|cm|in)|go|to|mo)\b"
# a decimal number with one or two decimals ("15,6", "3.30"; not the thousands of "1,000")
_DECIMAL = r"\b[0-9]+[.,][0-9]{1,2}\b"
# a number's trailing zeros dropped: "3.30" -> "3.3", "2.0tb" -> "2tb" ({0}: the column,
# {1}: the pattern after the number, {2}: its back-reference)
_NUM = "regexp_replace({0}, '^([0-9]+)([.][0-9]*[1-9])?[.]?0*{1}$', '\\1\\2{2}')"


def _q(name: str) -> str:
    """Quote an identifier."""
    return '"' + name.replace('"', '""') + '"'


def _key_sql(qgram: int) -> str:
    """The blocking keys of ``toks``/``vals`` as ``(_tid, key, grp)`` rows.

    A pair's score sums over groups the best IDF it shares in each. Word tokens and codes are
    their own group: a word token; a whitespace word written without its hyphens, dots or
    slashes ("kx-tca86" -> "kxtca86", "tp-link" -> "tplink"); each whole (short) value
    within its attribute, so that one-letter codes and exact keys still meet; the letter and
    digit runs of a token that holds both ("gtx1050" -> "gtx", "1050"); a number with its
    unit (``_UNIT``) and a decimal number ("15,6" -> "15.6"), trailing zeros dropped
    ("3.30 GHz" -> "3.3ghz"); and typo keys, one group per attribute: every token of 4-16
    characters of a short value, with and without each one of its characters (one edit
    apart: "sainst"/"saints" -> "sains", "eages"/"eagles" -> "eages"). With ``qgram`` > 0,
    the character q-grams of each token too."""
    unit = _NUM.format("u", "([a-z]+)", "\\3")
    dec = _NUM.format("d", "", "")
    words = (
        "SELECT DISTINCT _tid, tok AS key, tok AS grp FROM toks WHERE length(tok) >= 2 "
        "UNION SELECT DISTINCT _tid, code AS key, code AS grp FROM (SELECT _tid, "
        "regexp_replace(w, '[^[:alnum:]]+', '', 'g') AS code, w FROM (SELECT _tid, "
        "unnest(regexp_split_to_array(v, '\\s+')) AS w FROM vals)) "
        "WHERE length(code) >= 4 AND code <> w "
        "UNION SELECT DISTINCT _tid, '=' || a || ':' || v AS key, '=' || a || ':' || v AS grp "
        "FROM vals WHERE length(v) <= 64 "
        "UNION SELECT DISTINCT _tid, part AS key, part AS grp FROM (SELECT _tid, "
        "unnest(regexp_extract_all(tok, '[[:alpha:]]+|[0-9]+')) AS part FROM toks "
        "WHERE regexp_matches(tok, '[0-9]') AND regexp_matches(tok, '[[:alpha:]]')) "
        "WHERE length(part) >= 2 "
        f"UNION SELECT DISTINCT _tid, {unit} AS key, {unit} AS grp FROM (SELECT _tid, "
        "regexp_replace(replace(regexp_replace(m, '\\s+', '', 'g'), ',', '.'), "
        "'(g|t|m)o$', '\\1b') AS u FROM (SELECT _tid, "
        f"unnest(regexp_extract_all(v, '{_UNIT}')) AS m FROM vals)) "
        f"UNION SELECT DISTINCT _tid, {dec} AS key, {dec} AS grp FROM (SELECT _tid, "
        "replace(m, ',', '.') AS d "
        f"FROM (SELECT _tid, unnest(regexp_extract_all(v, '{_DECIMAL}')) AS m FROM vals))"
    )
    typo = (
        "SELECT DISTINCT _tid, '~' || a || ':' || "
        "(CASE WHEN i = 0 THEN tok ELSE substr(tok, 1, i - 1) || substr(tok, i + 1) END) "
        "AS key, '~' || a AS grp FROM (SELECT _tid, a, tok, "
        "unnest(range(0, length(tok) + 1)) AS i FROM toks "
        "WHERE short AND length(tok) BETWEEN 4 AND 16)"
    )
    keys = f"{words} UNION {typo}"
    if qgram > 0:
        keys = (
            f"{keys} UNION SELECT DISTINCT _tid, '#' || substr(tok, i, {qgram}) AS key, "
            f"'#' || substr(tok, i, {qgram}) AS grp "
            f"FROM (SELECT _tid, tok, unnest(range(1, length(tok) - {qgram} + 2)) AS i "
            f"FROM toks WHERE length(tok) >= {qgram + 1})"
        )
    return keys


_SAFE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class DuckDBEngine(Engine):
    name = "duckdb"

    def __init__(self, path: str | Path | None = None, threads: int | None = None) -> None:
        self.path = str(path) if path is not None else ":memory:"
        self.con = duckdb.connect(self.path)
        if threads:
            self.con.execute(f"SET threads={int(threads)}")
        self._n = 0

    # -- storage -------------------------------------------------------------------------
    def register(self, name: str, table: pa.Table) -> None:
        self._n += 1
        view = f"__arrow_{self._n}"
        self.con.register(view, table)
        self.con.execute(f"CREATE OR REPLACE TABLE {_q(name)} AS SELECT * FROM {view}")
        self.con.unregister(view)

    def fetch(self, name: str) -> pa.Table:
        return self.con.sql(f"SELECT * FROM {_q(name)}").to_arrow_table()

    def sql(self, query: str) -> pa.Table:
        return self.con.sql(query).to_arrow_table()

    # -- union ---------------------------------------------------------------------------
    def outer_union(
        self, name: str, parts: Sequence[tuple[str, pa.Table]], attributes: Sequence[str]
    ) -> int:
        selects = []
        tid, tab, row, part = _q(TID), _q(TABLE), _q(ROW), _q(PART)
        for i, (source, table) in enumerate(parts):
            view = f"{PART}_{i}"
            self.con.register(view, table)
            cols = set(table.column_names)
            exprs = [
                f"{_q(a)}::VARCHAR AS {_q(a)}" if a in cols else f"NULL::VARCHAR AS {_q(a)}"
                for a in attributes
            ]
            src = source.replace("'", "''")
            selects.append(
                f"SELECT {i} AS {part}, '{src}' AS {tab}, "
                f"(row_number() OVER () - 1)::BIGINT AS {row}, {', '.join(exprs)} FROM {view}"
            )
        body = " UNION ALL BY NAME ".join(selects)
        attr_cols = ", ".join(_q(a) for a in attributes)
        self.con.execute(
            f"CREATE OR REPLACE TABLE {_q(name)} AS "
            f"SELECT (row_number() OVER (ORDER BY {part}, {row}) - 1)::BIGINT AS {tid}, "
            f"{tab}, {row}, {attr_cols} FROM ({body}) ORDER BY {tid}"
        )
        for i in range(len(parts)):
            self.con.unregister(f"{PART}_{i}")
        return int(self.con.sql(f"SELECT count(*) FROM {_q(name)}").fetchall()[0][0])

    # -- blocking ------------------------------------------------------------------------
    def token_candidates(
        self,
        union: str,
        attributes: Sequence[str],
        per_tuple: int,
        max_df: int,
        qgram: int = 0,
        fill: bool = False,
        local_scale: int = 0,
        phrase_jaccard: float = 0.0,
        phrase_min_df: int = 20,
    ) -> pa.Table:
        unpivot = " UNION ALL ".join(
            f"SELECT {_q(TID)} AS _tid, {i} AS a, lower(trim({_q(a)})) AS v FROM {_q(union)} "
            f"WHERE {_q(a)} IS NOT NULL"
            for i, a in enumerate(attributes)
        )
        keys = _key_sql(qgram)
        # A phrase counts once: word keys (not whole values) seen in at least
        # ``phrase_min_df`` tuples whose tuple sets overlap by ``phrase_jaccard`` (Jaccard)
        # or more share one group, named by the least such key, so a pair that shares a
        # repeated phrase (a shop's "tu tienda online lider con precios", a site name) scores
        # its best word once instead of every word of it.
        if phrase_jaccard > 0:
            phrases = f"""
        wk AS (SELECT DISTINCT _tid, key FROM keys0 WHERE grp = key AND left(key, 1) <> '='),
        wdf AS (SELECT key, count(*) AS df FROM wk GROUP BY key
                HAVING count(*) >= {int(phrase_min_df)} AND count(*) <= {int(max_df)}),
        wk2 AS (SELECT wk._tid, wk.key, wdf.df FROM wk JOIN wdf USING (key)),
        co AS (SELECT a.key AS ka, b.key AS kb, count(*) AS c, any_value(a.df) AS dfa,
               any_value(b.df) AS dfb FROM wk2 a JOIN wk2 b ON a._tid = b._tid AND a.key < b.key
               GROUP BY 1, 2),
        rep AS (SELECT kb AS key, min(ka) AS grp FROM co
                WHERE c >= {float(phrase_jaccard)} * (dfa + dfb - c) GROUP BY 1),
        keys AS (SELECT keys0._tid, keys0.key, coalesce(rep.grp, keys0.grp) AS grp
                 FROM keys0 LEFT JOIN rep USING (key)),"""
        else:
            phrases = "keys AS (SELECT * FROM keys0),"
        # each tuple keeps its ``per_tuple`` best partners (ranked over both sides of its
        # pairs), and a pair stays when either tuple keeps it: at most ``per_tuple`` pairs per
        # tuple on average, while a hub (a team row that many players name) keeps every pair
        # that its partners rank high. With ``fill``, the pairs are taken by their better
        # side's rank (then score) until the mean reaches ``per_tuple``: the same as keeping
        # each tuple's best partners, as deep as the budget allows
        # (without it, ranks past ``per_tuple`` are dropped before the pairs are grouped).
        # With ``fill`` and ``local_scale`` = k, pairs are taken instead by their score over
        # the geometric mean of each side's mean score with its k best partners (local
        # scaling, as CSLS and self-tuning spectral clustering do): a pair counts by how
        # strong it is for both of its tuples, so a tuple whose partners all score high (a
        # long title, a shop's template) no longer crowds out a weaker tuple's best match.
        # A pair's score sums its IDFs in fixed point (1e-9), and so does a tuple's mean score
        # with its best partners: a sum of doubles depends on the order the parallel
        # aggregation meets them, and equal pairs would rank by that order
        budget = f"{int(per_tuple)} * (SELECT n FROM n)"
        scaled = ""
        if fill and local_scale > 0:
            deep = ""
            scaled = "JOIN scale sl ON sl.t = p.l JOIN scale sr ON sr.t = p.r"
            cut = (
                "QUALIFY row_number() OVER (ORDER BY p.block_score / sqrt(sl.s * sr.s) DESC, "
                f"p.block_score DESC, p.l, p.r) <= {budget}"
            )
        elif fill:
            deep = ""
            cut = (
                "QUALIFY row_number() OVER (ORDER BY kept.rank, p.block_score DESC, p.l, p.r) "
                f"<= {budget}"
            )
        else:
            deep, cut = f"WHERE rank <= {int(per_tuple)}", ""
        query = f"""
        WITH vals AS ({unpivot}),
        toks AS (SELECT _tid, a, length(v) <= 64 AS short,
                 unnest(regexp_split_to_array(v, '[^[:alnum:]]+')) AS tok FROM vals),
        keys0 AS ({keys}),
        {phrases}
        n AS (SELECT count(*)::DOUBLE AS n FROM {_q(union)}),
        df AS (SELECT key, count(*) AS df FROM keys GROUP BY key
               HAVING count(*) > 1 AND count(*) <= {int(max_df)}),
        k AS (SELECT keys._tid, keys.key, keys.grp, ln((SELECT n FROM n) / df.df) AS idf
              FROM keys JOIN df USING (key)),
        pg AS (SELECT a._tid AS l, b._tid AS r, a.grp, max(a.idf) AS idf
              FROM k a JOIN k b ON a.key = b.key AND a.grp = b.grp AND a._tid < b._tid
              GROUP BY 1, 2, 3),
        p AS (SELECT l, r, sum(CAST(round(idf * 1e9) AS BIGINT)) / 1e9 AS block_score
              FROM pg GROUP BY 1, 2),
        sides AS (SELECT l AS t, r AS o, block_score FROM p
                  UNION ALL SELECT r AS t, l AS o, block_score FROM p),
        ranked AS (SELECT t, o, block_score, row_number() OVER (PARTITION BY t
                   ORDER BY block_score DESC, o) AS rank FROM sides),
        scale AS (SELECT t, avg(CAST(round(block_score * 1e9) AS BIGINT)) / 1e9 AS s
                  FROM ranked WHERE rank <= {max(1, int(local_scale))} GROUP BY t),
        kept AS (SELECT least(t, o) AS l, greatest(t, o) AS r, min(rank) AS rank FROM ranked
                 {deep} GROUP BY 1, 2)
        SELECT p.l, p.r, p.block_score FROM p JOIN kept USING (l, r)
        {scaled}
        {cut}
        ORDER BY p.l, p.r
        """
        return self.con.sql(query).to_arrow_table()

    def pair_values(self, union: str, pairs: pa.Table, attributes: Sequence[str]) -> pa.Table:
        self._n += 1
        view = f"__pairs_{self._n}"
        indexed = pa.table(
            {
                "__i": pa.array(np.arange(pairs.num_rows, dtype=np.int64)),
                "l": pairs.column("l"),
                "r": pairs.column("r"),
            }
        )
        self.con.register(view, indexed)
        cols = []
        for a in attributes:
            cols.append(f"a.{_q(a)} AS {_q(a + '__l')}")
            cols.append(f"b.{_q(a)} AS {_q(a + '__r')}")
        query = (
            f"SELECT p.l, p.r, {', '.join(cols)} FROM {view} p "
            f"JOIN {_q(union)} a ON a.{_q(TID)} = p.l JOIN {_q(union)} b ON b.{_q(TID)} = p.r "
            f"ORDER BY p.__i"
        )
        try:
            return self.con.sql(query).to_arrow_table()
        finally:
            self.con.unregister(view)

    # -- graphs --------------------------------------------------------------------------
    def connected_components(self, edges: pa.Table, n_nodes: int) -> pa.Table:
        # The local engine hands the edge list to scipy's union-find style search; a
        # distributed engine would run label propagation instead.
        if edges.num_rows:
            l = edges.column("l").to_numpy()
            r = edges.column("r").to_numpy()
        else:
            l = r = np.zeros(0, dtype=np.int64)
        m = coo_matrix((np.ones(len(l), dtype=np.int8), (l, r)), shape=(n_nodes, n_nodes))
        _, labels = connected_components(m, directed=False)
        return pa.table({"tid": pa.array(np.arange(n_nodes, dtype=np.int64)), "component": labels})

    def close(self) -> None:
        self.con.close()
