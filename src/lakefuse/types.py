"""Typed objects that flow between stages (one way): union -> candidates -> scored pairs ->
integrability graph -> integrable sets -> resolution.

Every bulk payload is an Arrow table; the small objects here give them names and invariants.
Tuple ids (``tid``) are dense int64 ``0..n_tuples-1`` over the outer union.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    from lakefuse.engines.base import Engine

#: every internal column name starts with this prefix; input headers may not (they are read
#: and aligned as attributes, and would collide with these columns)
RESERVED_PREFIX = "__lf_"
TID = RESERVED_PREFIX + "tid"
TABLE = RESERVED_PREFIX + "table"
ROW = RESERVED_PREFIX + "row"
#: the part (input table) number inside the engine's outer union
PART = RESERVED_PREFIX + "part"


@dataclass(frozen=True)
class SourceInfo:
    """One input table."""

    name: str  # file stem (or given name for DataFrames)
    path: str  # file path, or "<dataframe>"
    n_rows: int
    headers: list[str]  # headers as written in the file
    attributes: list[str]  # attribute each header maps to (same order)
    encoding: str = "utf-8"


@dataclass
class UnionTable:
    """Outer union of all inputs, held by the engine under ``name``.

    Columns: ``TID`` (int64, dense), ``TABLE`` (source name), ``ROW`` (0-based data row),
    then one VARCHAR column per attribute, null where the source lacks it.
    """

    engine: Engine
    name: str
    attributes: list[str]
    sources: list[SourceInfo]
    n_tuples: int
    #: per-table row ids (see :mod:`lakefuse.io.profile`): kept in the output, never evidence
    surrogate_keys: list[str] = field(default_factory=list)

    @property
    def evidence_attributes(self) -> list[str]:
        """Attributes that judges and blockers compare."""
        return [a for a in self.attributes if a not in self.surrogate_keys]

    def to_arrow(self) -> pa.Table:
        return self.engine.fetch(self.name)

    def by_tid(self) -> pa.Table:
        """The union as one Arrow table whose row ``i`` is tid ``i`` (cached)."""
        cached = getattr(self, "_by_tid", None)
        if cached is None:
            t = self.to_arrow()
            tid = t.column(TID).to_numpy()
            if not np.array_equal(tid, np.arange(len(tid))):
                t = t.take(pa.array(np.argsort(tid, kind="stable")))
            cached = t.combine_chunks()
            self._by_tid = cached
        return cached

    def column(self, name: str) -> pa.Array:
        """One column (an attribute, ``TABLE`` or ``ROW``) indexed by tid."""
        return self.by_tid().column(name).chunk(0) if self.n_tuples else pa.array([], pa.string())

    def codes(self, name: str) -> tuple[np.ndarray, pa.Array]:
        """A column dictionary-encoded: int64 codes indexed by tid (-1 = null) and the distinct
        values, in the order of their first tid (cached)."""
        cache: dict[str, tuple[np.ndarray, pa.Array]] = self.__dict__.setdefault("_codes", {})
        if name not in cache:
            enc = pc.dictionary_encode(self.column(name))
            idx = enc.indices
            codes = idx.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
            cache[name] = (codes, enc.dictionary)
        return cache[name]

    def table_index(self) -> np.ndarray:
        """Per tid, the index of its source table in :attr:`sources`."""
        codes, names = self.codes(TABLE)
        pos = {s.name: i for i, s in enumerate(self.sources)}
        lookup = np.array([pos.get(x, -1) for x in names.to_pylist()], dtype=np.int64)
        return lookup[codes] if len(codes) else np.zeros(0, dtype=np.int64)

    def values(self) -> dict[str, list[str | None]]:
        """Attribute -> list of values indexed by tid (cached). Python lists of every value:
        for small tables and tests; the stages use :meth:`codes` and :meth:`column`."""
        cache = getattr(self, "_values_cache", None)
        if cache is None:
            t = self.to_arrow().sort_by(TID)
            cache = {a: t.column(a).to_pylist() for a in self.attributes}
            cache[TABLE] = t.column(TABLE).to_pylist()
            cache[ROW] = t.column(ROW).to_pylist()
            self._values_cache = cache
        return cache


@dataclass
class CandidatePairs:
    """Pairs to judge: int64 columns ``l`` < ``r`` (tids), plus ``block_score`` (float)."""

    table: pa.Table
    blocker: str

    def __len__(self) -> int:
        return self.table.num_rows

    @property
    def left(self) -> np.ndarray:
        return self.table.column("l").to_numpy()

    @property
    def right(self) -> np.ndarray:
        return self.table.column("r").to_numpy()


@dataclass
class ScoredPairs:
    """Judged pairs.

    Columns: ``l``, ``r`` (int64), ``score`` (float in [0,1], null when the two tuples share no
    non-null attribute), ``decision`` (bool: integrable), ``conflict`` (bool: the judge saw a
    clear disagreement on an identifying attribute), ``shared`` (int: attributes non-null on
    both sides), ``drivers`` (string: attributes that drove the decision, or
    ``model=score`` where a model decided alone), then one float
    column ``ev:<attribute>`` per attribute (null = no evidence, i.e. null on a side).
    """

    table: pa.Table
    judge: str
    threshold: float

    def __len__(self) -> int:
        return self.table.num_rows


class PairScorer(Protocol):
    """Judges pairs on demand: ``scorer(left, right)`` scores the pairs of tids
    ``(left[i], right[i])``. Set finders get one (:attr:`IntegrabilityGraph.score_pairs`) to
    judge pairs that blocking never proposed, and know no judge: the pipeline binds the
    judge and the union (``functools.partial(judge.score, union)``)."""

    def __call__(self, left: np.ndarray, right: np.ndarray, /) -> ScoredPairs: ...


@dataclass
class KeyAttributes:
    """Which attributes identify tuples inside each source table (nearly every non-null value
    distinct there): ``identifying[table_of[tid], j]`` for attribute ``attributes[j]``. Two
    tuples that agree on an attribute identifying in both their tables are one entity whose
    other values conflict, not two entities (a shared team name is no such key in a players
    table, where it repeats)."""

    attributes: list[str]
    table_of: np.ndarray  # int per tid
    identifying: np.ndarray  # bool (tables, attributes)


@dataclass
class IntegrabilityGraph:
    """Nodes are tids ``0..n_nodes-1``; ``edges`` (l, r, weight) are integrable pairs;
    ``incompatible`` (l, r) are judged pairs that must never share a set (chaining guard);
    ids are integers (the pipeline's are 32-bit below 2^31 tuples).
    ``score_pairs`` judges pairs that blocking never proposed (used inside components).
    ``component`` labels each tid with its connected component of ``edges``, as computed by the
    engine (:meth:`lakefuse.engines.Engine.connected_components`); None = computed by the set
    finder itself (tests, synthetic graphs). ``keys``: see :class:`KeyAttributes`."""

    n_nodes: int
    edges: pa.Table
    incompatible: pa.Table
    score_pairs: PairScorer | None = None
    component: np.ndarray | None = None
    keys: KeyAttributes | None = None


@dataclass
class IntegrableSets:
    """``membership``: columns ``set_id`` (int64, dense from 0), ``tid`` (int64).

    Every tid appears at least once; a tid may appear in several sets (overlap)."""

    membership: pa.Table
    n_sets: int
    method: str
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Candidate:
    """One distinct value proposed for a conflicted cell, and the input cells that carry it."""

    value: str
    tids: tuple[int, ...]


@dataclass(frozen=True)
class ConflictProblem:
    """A cell of the integrated table whose contributing tuples disagree."""

    set_id: int
    attribute: str
    candidates: tuple[Candidate, ...]
    known: dict[str, str]  # the merged tuple's unconflicted values


@dataclass(frozen=True)
class Decision:
    value: str  # always one of the problem's candidate values
    method: str  # the strategy that decided (recorded in provenance)
    confidence: float | None = None


@dataclass
class ResolveContext:
    """What a resolver may look at besides the problems: the whole union (for
    demonstrations and source reliability), and the settings' options."""

    union: UnionTable
    options: dict[str, Any]
    seed: int = 0


class Resolver(Protocol):
    name: str

    def resolve(
        self, problems: Sequence[ConflictProblem], context: ResolveContext
    ) -> list[Decision]: ...


@dataclass
class Resolution:
    """``integrated``: ``set_id`` then the attributes. ``provenance``: one row per (output cell,
    contributing input cell): ``set_id``, ``attribute``, ``value`` (output), ``table``, ``row``,
    ``source_value``, ``chosen`` (bool: this input cell carries the output value), ``method``."""

    integrated: pa.Table
    provenance: pa.Table
    n_conflicts: int
    methods: dict[str, int] = field(default_factory=dict)
