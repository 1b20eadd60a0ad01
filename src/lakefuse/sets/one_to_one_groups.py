"""The assignment of :mod:`lakefuse.sets.one_to_one`: mutual best pairs between clean
sources, which to keep, their groups (never two tuples of one source together) and the final
sets around them."""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from lakefuse.arrays import unique_sorted

if TYPE_CHECKING:
    from lakefuse.sets.one_to_one_evidence import Evidence

#: the judge is informative on a source pair when it accepted at least this share of the pairs
#: text is surest of there (mutual best, cosine above ``min_text`` and at least the median
#: cosine of those): a majority. Only the upper half counts because on short records (people)
#: most tuples without a counterpart still have a mutual-best partner above ``min_text``: at
#: 50,000 generated FEBRL people the share over all of them fell under one half although the
#: judge accepted most true pairs, and text alone then joined thousands of strangers
TRUSTED = 0.5
#: where it is, its links inside a source are duplicates rather than errors: a source it links
#: inside on more than this share of its tuples holds duplicates and is not clean, whatever
#: ``max_duplicates`` says (that cut is for sources paired where the judge is not trusted and
#: its inside links are mostly its errors). Tuned on bench tasks: between the shares seen with
#: a trusted judge on dblp_acm, fodors_zagat and the stadium join (at most 0.083) and on the
#: generated person registers of ``bench scale pipeline`` (0.22-0.32), which hold duplicates
TRUSTED_DUPLICATES = 0.1
#: where it is, a mutual-best pair it rejected is kept only if its text is as similar as all
#: but this share of the mutual-best pairs it accepted (the lake's own range for a match)
TEXT_QUANTILE = 0.02
#: where it is, its score is added to the cosine as the weight of a pair
JUDGE_IN_WEIGHT = True


def mutual_best(l: np.ndarray, r: np.ndarray, w: np.ndarray, table_of: np.ndarray) -> np.ndarray:
    """Pairs where each tuple is the other's best candidate in the other's source (ties by
    position)."""
    n_tab = int(table_of.max()) + 1 if len(table_of) else 1
    idx = np.arange(len(l))
    src = np.concatenate([l, r])
    key = src * n_tab + np.concatenate([table_of[r], table_of[l]])
    ww = np.concatenate([w, w])
    pair = np.concatenate([idx, idx])
    order = np.lexsort((pair, -ww, key))
    first = np.ones(len(order), dtype=bool)
    first[1:] = key[order][1:] != key[order][:-1]
    wins = np.bincount(pair[order][first], minlength=len(l))
    return wins == 2


#: a tuple left without a partner may join the group of its best candidate in another source
#: when that pair is as strong as this share of the pair its candidate was matched by (a near
#: duplicate of the matched tuple: a catalogue listing one product twice); tuned on bench tasks
SECOND_PARTNER = 0.9


def second_partners(
    l: np.ndarray,
    r: np.ndarray,
    w: np.ndarray,
    keep: np.ndarray,
    table_of: np.ndarray,
    allowed: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Tuples ``x`` with no kept pair whose best candidate ``y`` in another source was kept with
    a tuple of ``x``'s source, by a pair at most ``1 / SECOND_PARTNER`` times as strong as
    ``x``-``y``, where that best pair is ``allowed`` (the caller allows the source pairs where
    the judge is uninformative): returns (x, y) arrays (``x`` is to join ``y``'s group)."""
    n_tab = int(table_of.max()) + 1 if len(table_of) else 1
    empty = np.zeros(0, dtype=np.int64)
    if not keep.any():
        return empty, empty
    matched = np.zeros(len(table_of), dtype=bool)
    matched[l[keep]] = matched[r[keep]] = True
    # each (tuple, other source)'s kept weight
    kk = np.concatenate([l[keep] * n_tab + table_of[r[keep]], r[keep] * n_tab + table_of[l[keep]]])
    kw = np.concatenate([w[keep], w[keep]])
    order = np.argsort(kk)
    kk, kw = kk[order], kw[order]
    # each unmatched tuple's best candidate per other source
    x = np.concatenate([l, r])
    y = np.concatenate([r, l])
    ww = np.concatenate([w, w])
    ok_pair = np.concatenate([allowed, allowed])
    sel = ~matched[x] & (table_of[x] != table_of[y])
    x, y, ww, ok_pair = x[sel], y[sel], ww[sel], ok_pair[sel]
    key = x * n_tab + table_of[y]
    o = np.lexsort((-ww, key))
    first = np.ones(len(o), dtype=bool)
    first[1:] = key[o][1:] != key[o][:-1]
    x, y, ww, ok_pair = x[o][first], y[o][first], ww[o][first], ok_pair[o][first]
    ok_pair &= matched[y]
    # y's kept pair with x's source
    yk = y * n_tab + table_of[x]
    pos = np.clip(np.searchsorted(kk, yk), 0, max(len(kk) - 1, 0))
    has = kk[pos] == yk
    ok = has & ok_pair & (ww >= SECOND_PARTNER * kw[pos]) & (ww > 0)
    # one source at a time: a tuple joins one group
    x, y = x[ok], y[ok]
    _, one = np.unique(x, return_index=True)
    return x[one], y[one]


def accept(
    l: np.ndarray,
    r: np.ndarray,
    table_of: np.ndarray,
    cos: np.ndarray,
    judged: np.ndarray,
    acc: np.ndarray,
    pair_key: np.ndarray,
    min_text: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[int, dict[str, float]]]:
    """Which pairs to keep, per source pair (``pair_key``); their weights; whether the judge
    is informative on their source pair. A pair is kept when it is mutual best and the judge
    accepted it or its row-text cosine exceeds a cut. Where the judge is uninformative (it
    accepted under ``TRUSTED`` of the mutual-best pairs with a cosine above ``min_text`` and
    the median of those, as on product catalogues) the weight is the cosine and the cut
    ``min_text``. Where it is informative, its score (``judged``: 0 for a rejected pair) is
    added to the weight (``JUDGE_IN_WEIGHT``), and a pair it rejected must also be as similar
    in text as all but ``TEXT_QUANTILE`` of the mutual-best pairs it accepted."""
    keep = np.zeros(len(cos), dtype=bool)
    trusted = np.zeros(len(cos), dtype=bool)
    weight = cos + 1e-6 * judged
    cuts: dict[int, dict[str, float]] = {}
    order = np.argsort(pair_key, kind="stable")
    keys, starts = np.unique(pair_key[order], return_index=True)
    for k, sel in zip(keys.tolist(), np.split(order, starts[1:])):
        m = mutual_best(l[sel], r[sel], weight[sel], table_of)
        c, a = cos[sel], acc[sel]
        base = m & (c > min_text)
        if base.any():
            base &= c >= float(np.median(c[base]))
        coverage = float((base & a).sum() / max(int(base.sum()), 1))
        cut = min_text
        if coverage >= TRUSTED and (m & a).any():
            trusted[sel] = True
            if JUDGE_IN_WEIGHT:
                weight[sel] = c + judged[sel]
                m = mutual_best(l[sel], r[sel], weight[sel], table_of)
            if (m & a).any():
                cut = max(min_text, float(np.quantile(c[m & a], TEXT_QUANTILE)))
        keep[sel] = m & ((c > cut) | a)
        cuts[k] = {"judge_coverage": round(coverage, 4), "text_cut": round(cut, 4)}
    return keep, weight, trusted, cuts


def assign_groups(
    n: int,
    kept: tuple[np.ndarray, np.ndarray, np.ndarray],
    table_of: np.ndarray,
    support: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, int]:
    """Group label per tid from the ``kept`` pairs (l, r, weight), never two tuples of one
    source in a group: connected components, and where one would hold two tuples of a
    source, the groups joined by sum linkage (:func:`agglomerate`), the
    ``support`` pairs (accepted by the judge but not kept) adding to the linkage of groups
    that kept pairs join. Returns labels and the number of such components."""
    l, r, w = kept
    m = coo_matrix((np.ones(len(l), dtype=np.int8), (l, r)), shape=(n, n))
    _, label = connected_components(m, directed=False)
    label = label.astype(np.int64)
    n_tab = int(table_of.max()) + 1 if n else 1
    comp_src = label * n_tab + table_of
    uniq, counts = np.unique(comp_src, return_counts=True)
    clash = unique_sorted(uniq[counts > 1] // n_tab)
    if len(clash) == 0:
        return label, 0
    inside = np.isin(label[l], clash)
    links = [(int(a), int(b), float(x), 1) for a, b, x in zip(l[inside], r[inside], w[inside])]
    if support is not None:
        sl, sr, sw = support
        both = np.isin(label[sl], clash) & (label[sl] == label[sr])
        links += [(int(a), int(b), float(x), 0) for a, b, x in zip(sl[both], sr[both], sw[both])]
    root = agglomerate(links, table_of)
    out = label.copy()
    touched = np.flatnonzero(np.isin(label, clash))
    out[touched] = label.max() + 1 + np.array([root.get(int(t), int(t)) for t in touched])
    return out, len(clash)


def agglomerate(links: list[tuple[int, int, float, int]], table_of: np.ndarray) -> dict[int, int]:
    """Constrained agglomeration: ``links`` are (a, b, weight, kept). Two groups joined by a
    kept pair may merge, strongest linkage first (the summed weight of every link between
    them), unless they hold tuples of one source. Returns each tuple's group root."""
    adj: dict[int, dict[int, list[float]]] = {}
    for a, b, x, k in links:
        if a == b:
            continue
        y = adj.setdefault(a, {}).get(b)
        if y is None:
            y = [0.0, 0.0]
            adj[a][b] = y
            adj.setdefault(b, {})[a] = y
        y[0] += k
        y[1] += x
    sources = {t: {int(table_of[t])} for t in adj}
    parent = {t: t for t in adj}
    heap = [(-y[1], a, b) for a, nb in adj.items() for b, y in nb.items() if a < b and y[0] > 0]
    heapq.heapify(heap)
    while heap:
        neg, a, b = heapq.heappop(heap)
        y = adj.get(a, {}).get(b)
        if y is None or y[0] <= 0 or -neg != y[1]:
            continue  # stale: a group merged or the linkage grew since
        if sources[a] & sources[b]:
            del adj[a][b], adj[b][a]
            continue
        # b joins a
        parent[b] = a
        sources[a] |= sources.pop(b)
        del adj[a][b]
        for d, z in adj.pop(b).items():
            if d == a:
                continue
            del adj[d][b]
            cur = adj[a].get(d)
            if cur is None:
                adj[a][d] = adj[d][a] = cur = z
            else:
                cur[0] += z[0]
                cur[1] += z[1]
            if cur[0] > 0:
                heapq.heappush(heap, (-cur[1], min(a, d), max(a, d)))
    out: dict[int, int] = {}
    for t in parent:
        x = t
        while parent[x] != x:
            x = parent[x]
        out[t] = x
    return out


def attach(
    sets: list[list[int]], group: np.ndarray, matched: np.ndarray, ev: Evidence
) -> list[list[int]]:
    """The final sets: every group of matched tuples; for each set of the set finder that
    holds matched tuples and others, each touched group with the others that join it (so a
    tuple in several such sets, as in a full disjunction, stays in several); and the set
    finder's sets that hold no matched tuple, as they are."""
    mixed = [s for s in sets if any(matched[t] for t in s) and not all(matched[t] for t in s)]
    others = np.zeros(len(matched), dtype=bool)
    others[[t for s in mixed for t in s if not matched[t]]] = True
    near = ev.accepted & (others[ev.l] | others[ev.r])
    link: dict[tuple[int, int], float] = {}
    for a, b, x in zip(ev.l[near].tolist(), ev.r[near].tolist(), ev.w[near].tolist()):
        link[(a, b)] = link[(b, a)] = max(x, 1e-3)
    members: dict[int, list[int]] = {}
    for t in np.flatnonzero(matched).tolist():
        members.setdefault(int(group[t]), []).append(t)
    out: list[list[int]] = [s for s in sets if not any(matched[t] for t in s)]
    for s in mixed:
        inside = [t for t in s if matched[t]]
        count: dict[int, int] = {}
        for t in inside:
            count[int(group[t])] = count.get(int(group[t]), 0) + 1
        extra: dict[int, list[int]] = {}
        for o in (t for t in s if not matched[t]):
            strength: dict[int, float] = {}
            for t in inside:
                x = link.get((o, t))
                if x is not None:
                    strength[int(group[t])] = strength.get(int(group[t]), 0.0) + x
            best = max(count, key=lambda g: (strength.get(g, 0.0), count[g], -g))
            extra.setdefault(best, []).append(o)
        out.extend(sorted(members[g] + extra[g]) for g in sorted(extra))
    out.extend(members.values())
    return out
