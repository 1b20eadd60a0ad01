"""One-to-one sets between clean sources: what the sources say about themselves, no labels.

A source without internal duplicates holds each entity once, so a tuple matches at most one
tuple of each such source. This step, run after a set finder (``hybrid`` with
``one_to_one=true``), uses that:

1. **Clean sources.** A source is clean when at most ``max_duplicates`` of its tuples are
   linked by the judge (an integrable edge) to another tuple of the same source. In a clean
   source every such link is a judge error; a source whose duplicates the judge sees has them
   on a large share of its tuples. A link between two rows that both carry model numbers or
   codes and share none (two models of one product line, ``kdl46xbr6`` / ``kdl52xbr6``) is
   not counted: a judge that links such models would otherwise make a clean catalogue look
   full of duplicates (on Abt-Buy the share crossed the cut at some seeds and not at others).
2. **One-to-one source pairs.** Two clean sources are paired one-to-one unless most of the
   tuples the judge links across them are linked to several tuples on the other side (the
   share above ``max_fan_out``): that is a one-to-many relation (a team and its players, a
   join) or a partner holding duplicates after all. Pairs the judge links nowhere are paired
   (no evidence against). The matched sources each have a paired partner among them; while
   two matched sources are linked but not paired, the one in most such pairs leaves (then the
   one with fewer partners).
3. **Assignment.** Every judged candidate pair between two paired sources (integrable or not)
   gets a weight from the text of the two whole rows (:func:`lakefuse.text.idf.pair_weights`,
   IDF from the lake): IDF-weighted word and character-gram cosines, a shared rare model
   number or code for, two different codes and two different amounts of one unit against,
   and numbers (a price) that agree for. A pair is kept when each tuple is the
   other's best candidate in the other's source (mutual best) and either the judge accepted
   it or its text weight exceeds a cut. Where the judge is uninformative on that source pair (it
   accepted under half of the pairs text alone keeps: product catalogues, where it rejects
   most true pairs and the mutual-best structure is the evidence), the weight is the text
   weight and the cut ``min_text``. Where it is informative, its score is added to the weight, and
   the cut is also the lake's own range for a match: the text weight that all but 2% of the
   mutual-best pairs it accepted reach (tuples without a counterpart have mutual-best
   partners too, and there the judge knows better). Kept pairs form groups; where a group
   would hold two tuples of one source, groups are merged by the summed weight of the pairs
   between them (those the judge accepted but the mutual-best rule dropped included), the
   strongest first, never two tuples of one source together (:mod:`.one_to_one_groups`).
   Where the judge is uninformative, a tuple left without a partner whose best candidate was
   matched to a tuple of its own source by a pair hardly stronger (``SECOND_PARTNER``) joins
   that group: a catalogue that lists one product twice (run.json: ``second_partners``).
4. **Sets.** A tuple of a matched source is in exactly its group. The other tuples keep the set
   finder's sets: a set without matched tuples is kept as it is; in a set with some, each other
   tuple joins the group it is most strongly linked to by integrable edges (then the group
   with most tuples in that set), one set per touched group.

Cost: linear in the tuples and the candidate pairs (vectorised; the greedy grouping only loops
over the groups that would hold two tuples of one source, and the attachment over the sets
that mix matched and other tuples).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from lakefuse.arrays import unique_sorted
from lakefuse.sets.one_to_one_evidence import (
    Evidence,
    duplicate_share,
    fan_out,
    linked_sources,
    variant_links,
)
from lakefuse.sets.one_to_one_groups import (
    TRUSTED,
    TRUSTED_DUPLICATES,
    accept,
    assign_groups,
    attach,
    second_partners,
)
from lakefuse.types import IntegrabilityGraph, UnionTable

if TYPE_CHECKING:
    from lakefuse.text.idf import PairWeigher


@dataclass
class Report:
    """What the step found (recorded in run.json under the set stage's ``one_to_one``)."""

    sources: list[str]
    duplicate_share: list[float]
    clean: list[str] = field(default_factory=list)
    paired: list[list[str]] = field(default_factory=list)
    not_paired: list[list[str]] = field(default_factory=list)
    fan_out: dict[str, float] = field(default_factory=dict)
    text_cut: dict[str, dict[str, float]] = field(default_factory=dict)
    matched_sources: list[str] = field(default_factory=list)
    candidate_pairs: int = 0
    kept_pairs: int = 0
    kept_by_text_only: int = 0
    groups_split: int = 0
    second_partners: int = 0
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "clean_sources": self.clean,
            "duplicate_share": {s: round(d, 4) for s, d in zip(self.sources, self.duplicate_share)},
            "paired": self.paired,
            "not_paired": self.not_paired,
            "fan_out": self.fan_out,
            "matched_sources": self.matched_sources,
            "text_cut": self.text_cut,
            "candidate_pairs": self.candidate_pairs,
            "kept_pairs": self.kept_pairs,
            "kept_by_text_only": self.kept_by_text_only,
            "groups_split": self.groups_split,
            "second_partners": self.second_partners,
            **({"note": self.note} if self.note else {}),
        }


def matched_sources(
    clean: np.ndarray,
    fan: dict[tuple[int, int], float],
    max_fan_out: float,
    linked: set[tuple[int, int]],
) -> tuple[set[int], set[tuple[int, int]]]:
    """The sources to assign one-to-one, and the source pairs judged not one-to-one.
    ``linked``: the source pairs (a < b) with judged candidate pairs across. A matched source
    has a one-to-one partner among the matched sources; while two matched sources are linked
    but not one-to-one, the one in most such pairs leaves (then the one with fewer partners,
    then the later one)."""
    bad = {p for p, share in fan.items() if share > max_fan_out and clean[p[0]] and clean[p[1]]}
    good = {p for p in linked if p not in bad and clean[p[0]] and clean[p[1]]}
    group = {int(i) for i in np.flatnonzero(clean)}

    def partners(x: int) -> int:
        return sum(1 for a, b in good if x in (a, b) and a in group and b in group)

    while True:
        hits: dict[int, int] = {}
        for a, b in bad:
            if a in group and b in group:
                hits[a] = hits.get(a, 0) + 1
                hits[b] = hits.get(b, 0) + 1
        if hits:
            group.discard(max(hits, key=lambda x: (hits[x], -partners(x), x)))
            continue
        alone = {x for x in group if partners(x) == 0}
        if not alone:
            break
        group -= alone
    return group, bad


def union_of(graph: IntegrabilityGraph) -> UnionTable | None:
    """The union behind the graph: ``graph.union`` where the pipeline sets it, else the one its
    on-demand scorer is bound to (``functools.partial(judge.score, union)``)."""
    found = getattr(graph, "union", None)
    if isinstance(found, UnionTable):
        return found
    scorer = graph.score_pairs
    if isinstance(scorer, functools.partial):
        return next((a for a in scorer.args if isinstance(a, UnionTable)), None)
    return None


def one_to_one(
    graph: IntegrabilityGraph,
    sets: list[list[int]],
    min_text: float = 0.3,
    max_duplicates: float = 0.25,
    max_fan_out: float = 0.5,
) -> tuple[list[list[int]], dict[str, Any]]:
    """Re-found ``sets`` (tid lists of a set finder) on one-to-one matching between clean
    sources; returns the new sets and the report for run.json."""
    union = union_of(graph)
    if graph.keys is None or union is None:
        note = "no source per tuple" if graph.keys is None else "no union to read text from"
        return sets, Report([], [], note=f"off: {note}").as_dict()
    table_of = np.asarray(graph.keys.table_of, dtype=np.int64)
    names = [s.name for s in union.sources]
    sizes = np.bincount(table_of, minlength=len(names))
    none = np.zeros(len(names), dtype=bool)
    ev_all = Evidence.of(graph, table_of, len(names), none)
    raw = duplicate_share(ev_all, sizes)
    variants = variant_links(ev_all, raw > max_duplicates, union)
    dup = duplicate_share(ev_all, sizes, ignore=variants)
    n_variants = int(variants.sum())
    del ev_all, variants
    # the rejected pairs only between the sources that may be assigned (clean ones; a later
    # round only drops sources), and which sources meet at all, from every judged pair
    ev = Evidence.of(graph, table_of, len(names), dup <= max_duplicates)
    linked = linked_sources(graph, table_of)

    @functools.cache
    def weigher() -> PairWeigher:
        from lakefuse.text.idf import PairWeigher

        evidence = set(union.evidence_attributes)
        columns = [union.column(a) for a in union.attributes if a in evidence]
        return PairWeigher.of_columns(columns, union.n_tuples)

    weighed = np.full(len(ev.l), np.nan)

    def text_weights(pairs: np.ndarray) -> np.ndarray:
        """The text weights of the judged pairs ``pairs`` (a mask over them, all across
        sources), each weighed once, when first asked for (IDF comes from the whole lake, so
        a pair's weight does not depend on which other pairs are weighed)."""
        todo = pairs & np.isnan(weighed)
        if todo.any():
            weighed[todo] = weigher()(ev.l[todo], ev.r[todo])
        return weighed[pairs]

    dropped = np.zeros(len(names), dtype=bool)
    while True:
        out = _assign(
            sets,
            text_weights,
            ev,
            linked,
            table_of,
            names,
            dup,
            (dup <= max_duplicates) & ~dropped,
            min_text,
            max_fan_out,
        )
        strict = [s for s in out[2] if not dropped[s]]
        if not strict:
            out[1]["duplicate_share_all_links"] = {
                name: round(float(d), 4) for name, d in zip(names, raw)
            }
            out[1]["variant_links"] = n_variants
            return out[0], out[1]
        # a source paired where the judge is trusted: its links inside the source are
        # duplicates, not errors, so it is not clean after all; assign again without it
        dropped[strict] = True


def _assign(
    sets: list[list[int]],
    text_weights: Callable[[np.ndarray], np.ndarray],
    ev: Evidence,
    linked: set[tuple[int, int]],
    table_of: np.ndarray,
    names: list[str],
    dup: np.ndarray,
    clean: np.ndarray,
    min_text: float,
    max_fan_out: float,
) -> tuple[list[list[int]], dict[str, Any], list[int]]:
    """One assignment over the ``clean`` sources (``text_weights(mask)``: the text weights of
    the pairs of ``ev`` under ``mask``): the new sets, the report, and the sources that a
    trusted judge links inside too often to be clean (:data:`TRUSTED_DUPLICATES`)."""
    fan = fan_out(ev)
    ta, tb = table_of[ev.l], table_of[ev.r]
    lo, hi = np.minimum(ta, tb), np.maximum(ta, tb)
    n_tab = len(names)
    group_src, bad = matched_sources(clean, fan, max_fan_out, linked)
    report = Report(names, dup.tolist(), clean=[names[i] for i in np.flatnonzero(clean)])
    report.fan_out = {f"{names[a]}|{names[b]}": round(x, 4) for (a, b), x in sorted(fan.items())}
    report.not_paired = [[names[a], names[b]] for a, b in sorted(bad)]
    report.matched_sources = [names[i] for i in sorted(group_src)]
    if not group_src:
        report.note = "no two clean sources to pair"
        return sets, report.as_dict(), []
    in_group = np.zeros(len(names), dtype=bool)
    in_group[list(group_src)] = True
    pair_ok = in_group[ta] & in_group[tb] & (ta != tb)
    for a, b in bad:
        pair_ok &= ~((lo == a) & (hi == b))
    key = lo[pair_ok] * n_tab + hi[pair_ok]
    report.paired = [[names[k // n_tab], names[k % n_tab]] for k in unique_sorted(key).tolist()]
    l, r, acc = ev.l[pair_ok], ev.r[pair_ok], ev.accepted[pair_ok]
    cos = text_weights(pair_ok)
    keep, weight, trusted, cuts = accept(l, r, table_of, cos, ev.w[pair_ok], acc, key, min_text)
    report.text_cut = {f"{names[k // n_tab]}|{names[k % n_tab]}": v for k, v in cuts.items()}
    report.candidate_pairs = int(len(l))
    report.kept_pairs = int(keep.sum())
    report.kept_by_text_only = int((keep & ~acc).sum())
    extra = acc & trusted & ~keep
    group, report.groups_split = assign_groups(
        len(table_of),
        (l[keep], r[keep], weight[keep]),
        table_of,
        (l[extra], r[extra], weight[extra]),
    )
    dup_x, dup_y = second_partners(l, r, weight, keep, table_of, ~trusted)
    group[dup_x] = group[dup_y]
    report.second_partners = int(len(dup_x))
    matched = in_group[table_of]
    # sources paired where the judge is trusted, holding more links inside than it allows
    strict = sorted(
        {
            int(src)
            for k, c in cuts.items()
            if c["judge_coverage"] >= TRUSTED
            for src in divmod(int(k), n_tab)
            if dup[src] > TRUSTED_DUPLICATES
        }
    )
    return attach(sets, group, matched, ev), report.as_dict(), strict
