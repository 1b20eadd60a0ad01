"""The engine interface: every operation that touches every tuple goes through it.

DuckDB runs it now (:mod:`lakefuse.engines.duckdb_engine`); a distributed engine (Spark) can be
put behind the same methods later without touching the algorithms, which only see Arrow tables
and the typed objects of :mod:`lakefuse.types`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import pyarrow as pa

from lakefuse.types import TABLE


def q(name: str) -> str:
    """Quote an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


class Engine(ABC):
    name: str = "abstract"

    @abstractmethod
    def register(self, name: str, table: pa.Table) -> None:
        """Store ``table`` under ``name`` (replacing any table of that name)."""

    @abstractmethod
    def fetch(self, name: str) -> pa.Table:
        """Return the whole stored table as Arrow."""

    @abstractmethod
    def sql(self, query: str) -> pa.Table:
        """Run a query in the engine's SQL dialect and return Arrow."""

    @abstractmethod
    def outer_union(
        self, name: str, parts: Sequence[tuple[str, pa.Table]], attributes: Sequence[str]
    ) -> int:
        """Outer union of ``parts`` (source name, table of string attributes) into ``name`` with
        columns ``TID, TABLE, ROW, *attributes`` (:mod:`lakefuse.types`); returns the number of
        tuples."""

    @abstractmethod
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
        """Token blocking: pairs (l < r) sharing a word token (or a character q-gram of one,
        when ``qgram`` > 0) whose document frequency is at most ``max_df``; ranked by summed
        IDF, keeping each tuple's ``per_tuple`` best (a pair stays when either side keeps
        it). With ``fill``, pairs are taken by their better side's rank until there are
        ``per_tuple`` per tuple on average; with ``local_scale`` = k as well, by their score
        over the geometric mean of both sides' mean score with their k best partners.
        ``phrase_jaccard`` > 0: words seen in at least ``phrase_min_df`` tuples whose tuple
        sets overlap by that Jaccard count once, as one phrase. Columns ``l, r,
        block_score``."""

    @abstractmethod
    def pair_values(self, union: str, pairs: pa.Table, attributes: Sequence[str]) -> pa.Table:
        """Join pairs (``l, r``) with the union: columns ``l, r, <a>__l, <a>__r`` per attribute,
        rows in the order of ``pairs``."""

    def distinct_ratios(self, union: str, attributes: Sequence[str]) -> pa.Table:
        """Per source table and attribute: how many cells are non-null and how many distinct
        values (case and surrounding space ignored) they hold. Columns ``table, attribute,
        non_null, distinct``. Plain SQL, so every engine inherits it."""
        if not attributes:
            return pa.table({"table": [], "attribute": [], "non_null": [], "distinct": []})
        parts = []
        for a in attributes:
            label = "'" + a.replace("'", "''") + "'"
            parts.append(
                f'SELECT {q(TABLE)} AS "table", {label} AS attribute, count({q(a)}) AS non_null, '
                f'count(DISTINCT lower(trim({q(a)}))) AS "distinct" FROM {q(union)} '
                f"GROUP BY {q(TABLE)}"
            )
        return self.sql(" UNION ALL ".join(parts))

    @abstractmethod
    def connected_components(self, edges: pa.Table, n_nodes: int) -> pa.Table:
        """Components of the undirected graph: columns ``tid, component`` for every node."""

    @abstractmethod
    def close(self) -> None: ...
