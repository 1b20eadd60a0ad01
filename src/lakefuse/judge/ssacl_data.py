"""Self-supervised training groups for SSACL, made from the table being integrated.

A group is one anchor tuple, one positive view and ``K`` negative views:

* positive: the anchor corrupted by semantic equivalents, typos and dropped attributes, and
  always keeping one attribute that identifies tuples in its table;
* hard negatives by perturbation: the anchor with one identifying attribute swapped for a
  clearly different value of a near neighbour (a small change that flips the match), the
  rest corrupted like a positive;
* near-neighbour negatives: neighbours (by tuple embedding) that clearly disagree with the
  anchor on an identifying attribute (so that true duplicates are not pushed away);
* random negatives: other tuples.

"Key" groups teach partial tuples: the positive keeps only a non-identifying attribute of
the anchor, seen as the key of another table (as a join would); the negatives are other
tuples of the anchor's table that share that value (two players of one team are not one
player)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lakefuse.augment import Augmenter
from lakefuse.judge.ssacl_features import UnionStats, View, value_features


@dataclass
class Groups:
    left: list[View] = field(default_factory=list)
    right: list[View] = field(default_factory=list)
    label: list[float] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    size: int = 0  # views per group (1 positive + negatives)

    def add(self, anchor: View, pos: View, negs: list[View], kinds: list[str]) -> None:
        for v, lab, k in [(pos, 1.0, "pos"), *[(n, 0.0, k) for n, k in zip(negs, kinds)]]:
            self.left.append(anchor)
            self.right.append(v)
            self.label.append(lab)
            self.kind.append(k)

    @property
    def n_groups(self) -> int:
        return len(self.label) // max(1, self.size)


def _differs(a: str, b: str) -> bool:
    f = value_features(a, b)
    return f[0] < 0.7 and f[1] < 0.8 and f[4] == 0.0  # char, token_set, canonical


def make_groups(
    rows: list[list[str | None]],
    stats: UnionStats,
    neighbours: np.ndarray,
    anchors: np.ndarray,
    aug: Augmenter,
    rng: np.random.Generator,
    n_neg: int = 7,
    key_share: float = 0.25,
) -> Groups:
    """Training groups for ``anchors`` (tids). ``neighbours``: (n, k) tids, -1 = none."""
    n, A = len(rows), len(stats.attributes)
    g = Groups(size=1 + n_neg)

    def real(t: int) -> View:
        return stats.view(t, rows[t])

    def like(t: int, values: list[str | None]) -> View:
        base = real(t)
        return View(values, base.dist, base.uniq, base.rarity)

    by_value: dict[tuple[int, int, str], list[int]] = {}
    for t in range(n):
        for j, v in enumerate(rows[t]):
            if v is not None:
                by_value.setdefault((int(stats.tables[t]), j, v.lower()), []).append(t)

    for a in anchors.tolist():
        row = rows[a]
        ident = [j for j in stats.identifying[stats.tables[a]] if row[j] is not None]
        if not ident:
            continue
        near = [int(x) for x in neighbours[a] if 0 <= x != a]
        anchor = real(a)
        negs: list[View] = []
        kinds: list[str] = []
        # hard negatives by perturbation of an identifying attribute
        for _ in range(2):
            j = ident[int(rng.integers(len(ident)))]
            pool = [t for t in near if rows[t][j] is not None]
            pool += [int(t) for t in rng.integers(0, n, 4)]
            for t in pool:
                v = rows[t][j]
                if v is not None and _differs(v, row[j] or ""):
                    vals = [aug.value(x, rng)[0] if x is not None else None for x in row]
                    vals = aug.dropped(vals, rng, keep=j)
                    vals[j] = v
                    negs.append(like(a, vals))
                    kinds.append("perturbed")
                    break
        # near neighbours that clearly disagree on an identifying attribute
        for t in near:
            if len(kinds) >= 4:
                break
            if any(
                rows[t][j] is not None and _differs(rows[t][j] or "", row[j] or "") for j in ident
            ):
                negs.append(real(t))
                kinds.append("neighbour")
        while len(negs) < n_neg:
            t = int(rng.integers(n))
            if t != a:
                negs.append(
                    like(t, aug.dropped(rows[t], rng, keep=-1)) if rng.random() < 0.3 else real(t)
                )
                kinds.append("random")
        pos = like(a, aug.positive(row, ident, rng))
        g.add(anchor, pos, negs[:n_neg], kinds[:n_neg])

        # key groups: a non-identifying attribute as the key of another table
        others = [j for j in range(A) if row[j] is not None and j not in ident]
        if others and rng.random() < key_share:
            j = others[int(rng.integers(len(others)))]
            v = row[j] or ""
            key_vals: list[str | None] = [None] * A
            key_vals[j] = aug.value(v, rng)[0]
            one = np.ones(A)
            pos = View(key_vals, one, one, anchor.rarity)
            same = [t for t in by_value.get((int(stats.tables[a]), j, v.lower()), []) if t != a]
            knegs: list[View] = []
            kk: list[str] = []
            for t in same[:3]:
                hide = set(stats.identifying[stats.tables[t]])
                knegs.append(like(t, [None if i in hide else x for i, x in enumerate(rows[t])]))
                kk.append("shares-value")
            while len(knegs) < n_neg:
                t = int(rng.integers(n))
                w = rows[t][j]
                if t != a and w is not None and _differs(w, v):
                    vals: list[str | None] = [None] * A
                    vals[j] = w
                    knegs.append(View(vals, one, one, stats.rarity[t]))
                    kk.append("other-key")
                elif rng.random() < 0.05:  # attribute almost constant: fall back
                    knegs.append(real(t) if t != a else real((t + 1) % n))
                    kk.append("random")
            g.add(anchor, pos, knegs[:n_neg], kk[:n_neg])
    return g
