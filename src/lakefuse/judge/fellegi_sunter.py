"""A Fellegi-Sunter model of the tables being integrated, fitted without labels, as a
second opinion beside the SSACL matcher.

The matcher learns what a duplicate looks like from augmentations (typos, semantic
equivalents, dropped and conflicting values) chosen before the data is seen; it cannot learn
how often the duplicates of *this* lake disagree on an attribute. A Fellegi-Sunter model
(Fellegi and Sunter 1969; estimated as Splink does) learns exactly that from the data:

* every attribute of a pair is compared into a level: ``exact`` (equal after normalisation
  or canonically the same), ``close`` (Jaro-Winkler >= 0.92), ``near`` (>= 0.8) or
  ``differ``; a null is no evidence;
* ``u`` (how often two tuples that are *not* one entity reach each level) is counted on
  random tuple pairs, nearly all of which are different entities;
* ``m`` (how often duplicates reach each level) is estimated by expectation maximisation on
  the pairs that agree exactly on one rule attribute (the two of most entropy), each
  session estimating the other attributes (the rule's own attribute is biased there), with
  ``u`` fixed;
* the prior (the share of tuple pairs that are one entity) follows from each session's
  share of matches among its pairs, the rule attribute's own ``m`` and how often it is
  filled.

A pair's match weight is the prior's log-odds plus, per attribute both tuples fill,
``log(m / u)`` of its level (an exact agreement: ``log(m / tf)``, ``tf`` the agreed value's
share of the attribute's filled cells, a term-frequency adjustment as Splink's); the
posterior is its logistic. Cost: a few hundred thousand
sampled pairs through the judge's own pair features, fixed in the size of the lake."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lakefuse.judge.ssacl_features import STATIC_NAMES, UnionStats, pair_static

LEVELS = ("exact", "close", "near", "differ")
#: Jaro-Winkler cuts of the ``close`` and ``near`` levels (Splink's usual cuts)
CLOSE, NEAR = 0.92, 0.8
#: random tuple pairs counted for ``u``
RANDOM_PAIRS = 200_000
#: pairs of one rule session kept for EM (a random sample beyond this)
RULE_PAIRS = 300_000
#: fewer rule pairs than this: no session
MIN_RULE_PAIRS = 20
#: a model expecting more matching pairs than this many per tuple is not used: its tuples
#: would be entities of five or more tuples on average (two rows a pair in a register of
#: pairs, 2.0 in one of quintuples), which is no deduplication but a join (a team and its
#: players), where agreeing on the team is no sameness (chosen by that reasoning; measured
#: on the bench's join tasks, whose models expect 7 to 5,000 pairs per tuple)
MAX_PAIRS_PER_TUPLE = 2.0
EM_ITERATIONS = 50

_JW = STATIC_NAMES.index("jaro_winkler")
_EXACT = STATIC_NAMES.index("exact")
_CANON = STATIC_NAMES.index("canonical")
_RARITY = STATIC_NAMES.index("rarity")


def levels(static: np.ndarray) -> np.ndarray:
    """(P, A) comparison levels (index into :data:`LEVELS`, -1 where a side is null) from
    the judge's pair features ``static`` (P, A, features)."""
    # only the three features read (a comparison with NaN is False, as with 0), each level
    # written over the one below it (CLOSE > NEAR), in int8 throughout
    jw = static[:, :, _JW]
    lev = np.full(jw.shape, 3, dtype=np.int8)
    lev[jw >= NEAR] = 2
    lev[jw >= CLOSE] = 1
    lev[(static[:, :, _EXACT] > 0) | (static[:, :, _CANON] > 0)] = 0
    lev[np.isnan(static[:, :, 0])] = -1
    return lev


@dataclass
class FellegiSunter:
    attributes: list[str]
    m: np.ndarray  # (A, L): P(level | match)
    u: np.ndarray  # (A, L): P(level | non-match)
    #: matching pairs per tuple: the prior of a union of n tuples is this times n over
    #: its n (n - 1) / 2 pairs (a model kept with the judge meets tables of other sizes)
    pairs_per_tuple: float
    report: dict[str, Any]

    def prior(self, n: int) -> float:
        """P(match) of two random tuples of a union of ``n`` tuples."""
        return float(np.clip(2.0 * self.pairs_per_tuple / max(n - 1, 1), 1e-12, 0.5))

    def weights(self, lev: np.ndarray, n: int, tf: np.ndarray | None = None) -> np.ndarray:
        """Match weight (log-odds) of each pair's levels (P, A) in a union of ``n`` tuples.
        ``tf``: (P, A) the share of the attribute's filled cells that hold the value a pair
        agrees on exactly (NaN: not known): such an agreement weighs ``log(m / tf)``, not the
        attribute's average ``log(m / u)`` (a term-frequency adjustment, as Splink's: two
        tuples that are different entities share a rare value less often than a common
        one)."""
        bf = np.log(self.m) - np.log(self.u)  # (A, L)
        p = self.prior(n)
        w = np.full(len(lev), np.log(p) - np.log1p(-p))
        for j in range(lev.shape[1]):
            k = lev[:, j]
            ok = k >= 0
            w[ok] += bf[j, k[ok]]
            if tf is not None:
                adj = np.flatnonzero((k == 0) & (tf[:, j] > 0))
                w[adj] += np.log(self.u[j, 0]) - np.log(tf[adj, j])
        return w

    def posterior(
        self, static: np.ndarray, n: int, nonnull: np.ndarray | None = None
    ) -> np.ndarray:
        """P(match) of each pair from the judge's pair features, in a union of ``n``
        tuples; ``nonnull``: per attribute, the union's filled cells (given: agreements on
        equal values weigh by the value's frequency, read from the pairs' ``rarity``)."""
        tf = None
        if nonnull is not None:
            # rarity = 1 - log(count) / log(n + 1): the count of the (more common) value.
            # Only where the values are equal after normalising, so that both tuples hold
            # the counted value (two at least); a canonical match ("U.S." / "United
            # States") agrees on a group whose count no one form tells: the average weight
            equal = static[:, :, _EXACT] > 0
            count = np.power(n + 1.0, 1.0 - static[:, :, _RARITY][equal])
            filled = np.broadcast_to(np.maximum(nonnull, 1.0), equal.shape)[equal]
            tf = np.full(equal.shape, np.nan)
            tf[equal] = count / filled
        w = self.weights(levels(static), n, tf)
        return 1.0 / (1.0 + np.exp(-np.clip(w, -60, 60)))

    @property
    def used(self) -> bool:
        """Whether the judge is to use the model (``report["status"]``)."""
        return self.report.get("status") == "used"

    def to_json(self) -> dict[str, Any]:
        return {
            "attributes": self.attributes,
            "m": self.m.tolist(),
            "u": self.u.tolist(),
            "pairs_per_tuple": self.pairs_per_tuple,
            "report": self.report,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> FellegiSunter:
        return cls(
            list(d["attributes"]),
            np.array(d["m"]),
            np.array(d["u"]),
            float(d["pairs_per_tuple"]),
            dict(d.get("report", {})),
        )


def _counts(lev: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """(A, L) level counts (weighted) over the pairs where the attribute is filled."""
    A, L = lev.shape[1], len(LEVELS)
    out = np.zeros((A, L))
    for j in range(A):
        k = lev[:, j]
        ok = k >= 0
        out[j] = np.bincount(k[ok], weights=None if weights is None else weights[ok], minlength=L)
    return out


def entropy(codes: np.ndarray) -> float:
    """Entropy (bits) of the non-null values (codes) of one attribute."""
    c = codes[codes >= 0]
    if len(c) == 0:
        return 0.0
    counts = np.unique(c, return_counts=True)[1]
    p = counts / len(c)
    return float(-(p * np.log2(p)).sum())


def rule_pairs(
    codes: np.ndarray, rng: np.random.Generator, cap: int = RULE_PAIRS
) -> tuple[np.ndarray, np.ndarray, int]:
    """Tuple pairs holding the same value (code) of one attribute: (left, right), all of
    them or, where there are more than ``cap``, ``cap`` drawn uniformly (with replacement)
    from all of them, and how many there are in all."""
    t = np.flatnonzero(codes >= 0)
    t = t[np.argsort(codes[t], kind="stable")]
    c = codes[t]
    empty = np.zeros(0, np.int64)
    if len(c) < 2:
        return empty, empty, 0
    starts = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])
    sizes = np.diff(np.r_[starts, len(c)]).astype(np.int64)
    per_group = sizes * (sizes - 1) // 2
    total = int(per_group.sum())
    if total == 0:
        return empty, empty, 0
    if total <= cap:  # every pair: each offset d pairs the tuples d apart in one group
        ls, rs = [], []
        for d in range(1, int(sizes.max())):
            same = c[:-d] == c[d:]
            ls.append(t[:-d][same])
            rs.append(t[d:][same])
        return np.concatenate(ls).astype(np.int64), np.concatenate(rs).astype(np.int64), total
    # a pair drawn uniformly: its group by the groups' pair counts, then two members
    k = rng.integers(0, total, cap)
    g = np.searchsorted(np.cumsum(per_group), k, side="right")
    size, base = sizes[g], starts[g]
    a = rng.integers(0, size)
    b = rng.integers(0, size - 1)
    b = b + (b >= a)
    return t[base + a].astype(np.int64), t[base + b].astype(np.int64), total


def _em(lev: np.ndarray, u: np.ndarray, skip: int) -> tuple[np.ndarray, float, int]:
    """m (A, L) and the match share of the pairs ``lev`` by EM with ``u`` fixed, attribute
    ``skip`` (the rule's) left out; iterations run."""
    A = lev.shape[1]
    m = np.tile(np.array([0.7, 0.15, 0.1, 0.05]), (A, 1))
    lam = 0.5
    log_u = np.log(u)
    it = 0
    while it < EM_ITERATIONS:
        it += 1
        w = np.full(len(lev), np.log(lam) - np.log1p(-lam))
        bf = np.log(m) - log_u
        for j in range(A):
            if j == skip:
                continue
            k = lev[:, j]
            ok = k >= 0
            w[ok] += bf[j, k[ok]]
        post = 1.0 / (1.0 + np.exp(-np.clip(w, -60, 60)))
        new_lam = float(np.clip(post.mean(), 1e-6, 1 - 1e-6))
        counts = _counts(lev, post) + 1e-3
        new_m = counts / counts.sum(axis=1, keepdims=True)
        done = abs(new_lam - lam) < 1e-5 and np.abs(new_m - m).max() < 1e-5
        m, lam = new_m, new_lam
        if done:
            break
    return m, lam, it


def fit_fellegi_sunter(
    stats: UnionStats, rng: np.random.Generator, threads: int | None = None
) -> FellegiSunter | None:
    """The model of the union ``stats`` describes, or None where it cannot be estimated
    (fewer than two attributes with rule pairs: too few tuples share a value). Its report's
    ``status`` says whether it is to be used (``used``) or why not: an attribute whose
    exact agreement does not count for a match or whose clear disagreement does not count
    against it (EM found something other than duplicates: the papers of one venue, the
    players of one team); more matching pairs expected than :data:`MAX_PAIRS_PER_TUPLE` a
    tuple."""
    n, A = stats.codes.shape
    if n < 2 or A < 2:
        return None
    filled = (stats.codes >= 0).mean(axis=0)
    # the rules: the attributes of most entropy (the most identifying; a count of distinct
    # values would rank a column of typo'd surnames from a small pool above dates of birth)
    bits = np.array([entropy(c) for c in stats.codes.T])
    order = [int(j) for j in np.argsort(-bits, kind="stable")]
    sessions = []
    for j in order:
        left, right, total = rule_pairs(stats.codes[:, j], rng)
        if total >= MIN_RULE_PAIRS:
            sessions.append((j, left, right, total))
        if len(sessions) == 2:
            break
    if len(sessions) < 2:
        return None
    # u: random pairs (nearly all different entities)
    r = rng.integers(0, n, (2, RANDOM_PAIRS))
    r = r[:, r[0] != r[1]]
    u = _counts(levels(pair_static(stats, r[0], r[1], threads, "lite"))) + 1.0
    u /= u.sum(axis=1, keepdims=True)
    ms, found = [], []
    report: dict[str, Any] = {"rules": []}
    for j, left, right, total in sessions:
        m_j, lam, it = _em(levels(pair_static(stats, left, right, threads, "lite")), u, j)
        ms.append((j, m_j))
        found.append((j, lam * total))
        report["rules"].append(
            {
                "attribute": stats.attributes[j],
                "pairs": int(total),
                "match_share": round(lam, 5),
                "iterations": it,
            }
        )
    m = np.zeros_like(u)
    for a in range(A):
        est = [m_j[a] for j, m_j in ms if j != a]
        m[a] = np.mean(est, axis=0)
    # matches in all: a session's matches are those whose rule attribute is filled on both
    # sides and equal (its m of ``exact``, estimated by the other session)
    expected = [matches / max(m[j, 0] * filled[j] ** 2, 1e-9) for j, matches in found]
    bf = np.log2(m / u)
    report["expected_matching_pairs"] = round(float(np.mean(expected)), 1)
    report["match_weights"] = {
        a: dict(zip(LEVELS, np.round(bf[i], 2).tolist())) for i, a in enumerate(stats.attributes)
    }
    unordered = [a for i, a in enumerate(stats.attributes) if not bf[i, 0] > 0 > bf[i, -1]]
    if unordered:
        report["status"] = (
            "not used: agreement is no evidence of a match, or disagreement none against, on "
            + ", ".join(unordered)
        )
    elif np.mean(expected) > MAX_PAIRS_PER_TUPLE * n:
        report["status"] = "not used: expects more than two matching pairs a tuple (a join)"
    else:
        report["status"] = "used"
    return FellegiSunter(list(stats.attributes), m, u, float(np.mean(expected)) / n, report)
