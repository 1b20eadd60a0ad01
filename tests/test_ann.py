"""ANN, value and hybrid blocking: recall within the per-tuple budget."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lakefuse.block import get_blocker
from lakefuse.block.ann import HybridBlocker, knn, value_candidates
from lakefuse.config import Settings
from tests.test_ssacl import lake, make_union


def test_knn_matches_brute_force_and_excludes_self() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 16)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    ids, sims = knn(x, 5)
    full = x @ x.T
    np.fill_diagonal(full, -np.inf)
    want = np.argsort(-full, axis=1)[:, :5]
    assert (ids == want).mean() > 0.99
    assert not (ids == np.arange(200)[:, None]).any()
    np.testing.assert_allclose(sims[:, 0], full[np.arange(200), want[:, 0]], rtol=1e-4)
    hnsw_ids, _ = knn(x, 5, exact_below=10)  # the approximate index
    assert (hnsw_ids[:, 0] == want[:, 0]).mean() > 0.9


def test_value_candidates_survive_typos_in_a_join_key() -> None:
    players = pd.DataFrame(
        {"player": [f"Player {i}" for i in range(12)], "team": ["Chargerqs"] + ["Bears"] * 11}
    )
    teams = pd.DataFrame({"team": ["Chargers", "Bears", "Packers"], "field": ["a", "b", "c"]})
    u = make_union({"players": players, "teams": teams})
    t = value_candidates(u, encoder="qgram", per_tuple=5)
    pairs = set(zip(t.column("l").to_pylist(), t.column("r").to_pylist()))
    assert (0, 12) in pairs  # "Chargerqs" ~ "Chargers"


def test_hybrid_recall_and_budget() -> None:
    a, b, gold = lake()
    u = make_union({"a": a, "b": b})
    blocker = get_blocker("hybrid", encoder="qgram")
    assert isinstance(blocker, HybridBlocker)
    settings = Settings(max_candidates_per_tuple=10)
    c = blocker.candidates(u, settings)
    pairs = set(zip(c.left.tolist(), c.right.tolist()))
    na = len(a)
    assert all((i, na + j) in pairs for i, j in gold)
    assert len(c) / u.n_tuples <= 10
    assert all(l < r for l, r in pairs)
    assert c.blocker == "hybrid"
    ann = get_blocker("ann", encoder="qgram", k=3).candidates(u, settings)
    assert 0 < len(ann) <= 3 * u.n_tuples


def test_knn_is_the_same_on_one_thread_and_on_all() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 16)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    for exact_below in (20_000, 10):  # flat search, and an HNSW graph (built on one thread)
        one = knn(x, 5, exact_below=exact_below, threads=1)
        every = knn(x, 5, exact_below=exact_below)
        again = knn(x, 5, exact_below=exact_below)
        np.testing.assert_array_equal(one[0], every[0])
        np.testing.assert_array_equal(every[0], again[0])
        np.testing.assert_allclose(one[1], every[1], rtol=1e-6)
