"""What the judged pairs say about the sources, for the one-to-one step
(:mod:`lakefuse.sets.one_to_one`): the pairs as sorted arrays, which sources meet, how many of a
source's tuples the judge links inside it, and how many linked tuples have several partners
across."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakefuse.arrays import unique_sorted
from lakefuse.sets.common import pair_slices
from lakefuse.types import IntegrabilityGraph, UnionTable


@dataclass
class Evidence:
    """The judged pairs a set finder sees: ``l``, ``r`` (tids), ``w`` (judge score of an
    integrable pair, 0 for a rejected one), ``accepted``; and each tid's source."""

    l: np.ndarray
    r: np.ndarray
    w: np.ndarray
    accepted: np.ndarray
    table_of: np.ndarray
    n_tables: int

    @classmethod
    def of(
        cls,
        graph: IntegrabilityGraph,
        table_of: np.ndarray,
        n_tables: int,
        rejected_between: np.ndarray | None = None,
    ) -> Evidence:
        """``rejected_between`` (a mask over the sources): of the rejected pairs, only those
        across two of these sources (the pairs a one-to-one assignment can weigh); None: all.
        At a million tuples the judge rejects some 49 million pairs."""
        e, f = graph.edges, graph.incompatible
        if rejected_between is not None:
            f = _across(f, table_of, rejected_between)
        n = max([1, graph.n_nodes, *(_top(t) + 1 for t in (e, f))])
        # one int64 key per pair: (low tid, high tid, rejected), so that one stable sort
        # orders the pairs and puts an edge before a rejection of the same pair (at a
        # million tuples 50 million pairs: one key and one order, not a dozen arrays)
        keys = [_pair_keys(e, n, rejected=False), _pair_keys(f, n, rejected=True)]
        n_edges = len(keys[0])
        key = np.concatenate(keys)
        del keys
        order = np.argsort(key, kind="stable")
        key = key[order]
        pair = key >> 1
        first = np.ones(len(key), dtype=bool)
        first[1:] = pair[1:] != pair[:-1]
        lo, hi = pair // n, pair % n
        keep = first & (lo != hi)
        del pair, first
        ew = (
            np.nan_to_num(e.column("weight").to_numpy(zero_copy_only=False).astype(np.float64))
            if e.num_rows
            else np.zeros(0)
        )
        order = order[keep]
        from_edge = order < n_edges
        w = np.zeros(len(order))
        w[from_edge] = ew[order[from_edge]]
        return cls(lo[keep], hi[keep], w, (key[keep] & 1) == 0, table_of, n_tables)


def _across(t: pa.Table, table_of: np.ndarray, sources: np.ndarray) -> pa.Table:
    """The pairs of ``t`` across two different ``sources``, read a slice at a time."""
    parts = [t.slice(0, 0)]
    for part, l, r in pair_slices(t):
        ta, tb = table_of[l], table_of[r]
        parts.append(part.filter(pa.array(sources[ta] & sources[tb] & (ta != tb))))
    return pa.concat_tables(parts).combine_chunks()


def linked_sources(graph: IntegrabilityGraph, table_of: np.ndarray) -> set[tuple[int, int]]:
    """The source pairs (a < b) with a judged pair across, accepted or rejected (read a slice
    at a time)."""
    n_tab = int(table_of.max(initial=0)) + 1
    out: set[tuple[int, int]] = set()
    for t in (graph.edges, graph.incompatible):
        for _, l, r in pair_slices(t):
            ta, tb = table_of[l], table_of[r]
            across = ta != tb
            lo, hi = np.minimum(ta, tb)[across], np.maximum(ta, tb)[across]
            out |= {divmod(int(k), n_tab) for k in unique_sorted(lo * n_tab + hi)}
    return out


def _top(t: pa.Table) -> int:
    """The largest tid in ``t`` (-1 when empty)."""
    tops = [pc.max(t.column(c)).as_py() for c in ("l", "r")] if t.num_rows else []
    return int(max(tops)) if tops else -1


def _pair_keys(t: pa.Table, n: int, rejected: bool) -> np.ndarray:
    """``(min(l, r) * n + max(l, r)) * 2 + rejected`` per row of ``t`` (int64)."""
    if t.num_rows == 0:
        return np.zeros(0, dtype=np.int64)
    l = t.column("l").to_numpy()
    r = t.column("r").to_numpy()
    lo = np.minimum(l, r).astype(np.int64)
    lo *= n
    lo += np.maximum(l, r)
    lo *= 2
    lo += int(rejected)
    return lo


def inside_links(ev: Evidence) -> np.ndarray:
    """Mask over the pairs of ``ev``: integrable edges between two tuples of one source."""
    return ev.accepted & (ev.table_of[ev.l] == ev.table_of[ev.r])


def duplicate_share(
    ev: Evidence, sizes: np.ndarray, ignore: np.ndarray | None = None
) -> np.ndarray:
    """Per source: the share of its tuples with an integrable edge to a tuple of the same
    source (edges under the mask ``ignore`` not counted)."""
    inside = inside_links(ev)
    if ignore is not None:
        inside &= ~ignore
    linked = unique_sorted(np.concatenate([ev.l[inside], ev.r[inside]]))
    count = np.bincount(ev.table_of[linked], minlength=ev.n_tables)
    return count / np.maximum(sizes, 1)


def fan_out(ev: Evidence) -> dict[tuple[int, int], float]:
    """Per pair of sources (a < b) with integrable edges across: the larger, over its two
    sides, of the share of linked tuples linked to several tuples of the other side."""
    ta, tb = ev.table_of[ev.l], ev.table_of[ev.r]
    across = ev.accepted & (ta != tb)
    out: dict[tuple[int, int], float] = {}
    if not across.any():
        return out
    key = np.minimum(ta, tb)[across] * ev.n_tables + np.maximum(ta, tb)[across]
    l, r = ev.l[across], ev.r[across]
    order = np.argsort(key, kind="stable")
    keys, starts = np.unique(key[order], return_index=True)
    for k, sel in zip(keys.tolist(), np.split(order, starts[1:])):
        share = 0.0
        for ends in (l[sel], r[sel]):
            _, counts = np.unique(ends, return_counts=True)
            share = max(share, float(np.mean(counts >= 2)))
        out[(k // ev.n_tables, k % ev.n_tables)] = share
    return out


def variant_links(ev: Evidence, over: np.ndarray, union: UnionTable) -> np.ndarray:
    """Mask over the pairs of ``ev``: the integrable edges inside a source of ``over`` whose
    two rows both carry model numbers or codes and share none
    (:func:`lakefuse.text.idf.code_conflicts`): two models of one product line
    (``kdl46xbr6`` / ``kdl52xbr6``), which a judge may link but which are not two rows of one
    entity, so they do not make a catalogue unclean. Codes that share their stem (``ldf6920ww``
    / ``ldf6920bb``) do not conflict: such links still count. Only sources whose share with
    every link is over the cut (``over``) are read. A person register's plain numbers under
    ``MIN_ID_DIGITS`` digits are not codes, so its duplicates count; where its ids, dates or
    phone numbers are (8 digits or more) and a duplicate's was changed, that link does not
    count either (at 1M generated people one source's share fell from 0.266 to 0.253), and
    the step's judge-trusted guard (``TRUSTED_DUPLICATES``, 0.1) keeps such a register out of
    the one-to-one assignment while its share stays above that."""
    out = np.zeros(len(ev.l), dtype=bool)
    inside = inside_links(ev) & over[ev.table_of[ev.l]]
    if not inside.any():
        return out
    from lakefuse.text.idf import code_conflicts

    evidence = set(union.evidence_attributes)
    columns = [union.column(a) for a in union.attributes if a in evidence]
    out[inside] = code_conflicts(columns, ev.l[inside], ev.r[inside])
    return out
