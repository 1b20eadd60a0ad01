"""A trained SSACL judge on disk (``lakefuse train``, ``integrate --model``, the judge an
``integrate`` run leaves in ``OUT/model``): ``matcher.pt`` (the matcher's weights) and
``judge.json`` (options, threshold, report, the Fellegi-Sunter model)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from lakefuse.judge.fellegi_sunter import FellegiSunter
from lakefuse.judge.matcher import Ensemble, Matcher

if TYPE_CHECKING:
    from lakefuse.judge.ssacl import SSACLJudge


def save(judge: SSACLJudge, path: str | Path) -> None:
    if judge.matcher is None:
        raise RuntimeError("nothing to save: fit() first")
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(judge.matcher.state_dict(), folder / "matcher.pt")
    opts = {k: (list(v) if isinstance(v, tuple) else v) for k, v in judge.options.items()}
    meta = {
        "name": judge.name,
        "options": opts,
        "threshold": judge.threshold,
        "report": judge.report(),
        "fellegi_sunter": None if judge.fs is None else judge.fs.to_json(),
    }
    (folder / "judge.json").write_text(json.dumps(meta, indent=2, default=str))


def load(cls: Any, path: str | Path) -> SSACLJudge:
    """The judge saved in folder ``path``, as an instance of ``cls``."""
    folder = Path(path)
    meta = json.loads((folder / "judge.json").read_text())
    opts = dict(meta["options"])
    if "threshold_bounds" in opts:
        opts["threshold_bounds"] = tuple(opts["threshold_bounds"])
    # a judge saved before the option embedded numbers by the encoder
    opts.setdefault("numbers_by_chars", False)
    judge = cls(**opts)
    n = int(opts.get("ensemble", 1))
    judge.matcher = (
        Matcher(opts["hidden"]) if n <= 1 else Ensemble([Matcher(opts["hidden"]) for _ in range(n)])
    )
    state = torch.load(folder / "matcher.pt", weights_only=True)
    judge.matcher.load_state_dict(state)
    judge.matcher.eval()
    judge.threshold = float(meta["threshold"])
    fs = meta.get("fellegi_sunter")
    judge.fs = FellegiSunter.from_json(fs) if fs else None
    judge._report = {**meta.get("report", {}), "loaded_from": str(folder)}
    return judge
