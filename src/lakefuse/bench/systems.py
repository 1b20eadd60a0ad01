"""The systems a benchmark runs: baselines and lakefuse variants.

A lakefuse variant is a label and a dict of :class:`lakefuse.config.Settings` overrides.
Every judge, set-discovery method and resolver registered in lakefuse gets a one-change
variant automatically; add ablations (options) to :data:`VARIANTS`::

    VARIANTS.append(("lakefuse[judge=ssacl,no_aug]", {"judge": "ssacl",
                                                       "judge_options": {"augment": False}}))

Each run happens in a fresh child process (forked from a warm fork server), so that wall time
and peak memory are the system's own and a crash or a timeout costs one cell of the table.
"""

from __future__ import annotations

import contextlib
import fnmatch
import multiprocessing
import os
import signal
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

DEFAULT = "lakefuse"


@dataclass(frozen=True)
class System:
    label: str
    kind: str  # lakefuse | exact_fd | splink | tfidf_mutual
    overrides: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: extra lakefuse rows (label, Settings overrides); one-change variants are added automatically
VARIANTS: list[tuple[str, dict[str, Any]]] = [
    # SSACL (issue 4) ablations; the plain string-similarity judge is `lakefuse[judge=similarity]`
    *[
        (f"lakefuse[judge=ssacl,{label}]", {"judge": "ssacl", "judge_options": {opt: value}})
        for label, opt, value in (
            ("no_adv", "adversarial", False),
            ("no_se", "se_aug", False),
            ("no_te", "te_aug", False),
            ("learned_single_key", "single_key", "learned"),
        )
    ],
    # the judge's seed sensitivity: the default with other seeds, and three matchers averaged
    *[(f"lakefuse[seed={s}]", {"seed": s}) for s in (1, 2)],
    ("lakefuse[judge=ssacl,ensemble=3]", {"judge": "ssacl", "judge_options": {"ensemble": 3}}),
    ("lakefuse[blocker=hybrid]", {"blocker": "hybrid"}),
    # token blocking with each tuple's 50 best partners, the budget not filled (issue 4)
    ("lakefuse[blocker=token,no_fill]", {"blocker_options": {"fill": False}}),
    # token blocking as before local scaling and phrases: the budget by the better side's rank
    (
        "lakefuse[blocker=token,no_scale_no_phrase]",
        {"blocker_options": {"local_scale": 0, "phrase_jaccard": 0.0}},
    ),
    # token blocking before #18: a frequency cap growing as 4 sqrt(n) to 2000, no compound keys
    (
        "lakefuse[blocker=token,no_compound]",
        {"blocker_options": {"compound": False, "max_df_cap": 2000}},
    ),
    # the judge's values embedded by the static model distilled from MiniLM (#18 item 2)
    (
        "lakefuse[judge=ssacl,encoder=static]",
        {"judge": "ssacl", "judge_options": {"encoder": "static"}},
    ),
    # the int8 ONNX MiniLM (the default where the CPU has no AMX; bfloat16 where it has)
    (
        "lakefuse[judge=ssacl,encoder=minilm-onnx]",
        {"judge": "ssacl", "judge_options": {"encoder": "minilm-onnx"}},
    ),
    # numeric-only values (ids, dates, prices) embedded by the model, not as character 3-grams
    (
        "lakefuse[judge=ssacl,numbers_by_model]",
        {"judge": "ssacl", "judge_options": {"numbers_by_chars": False}},
    ),
    # a smaller candidate budget per tuple (the default is 50)
    ("lakefuse[budget=30]", {"max_candidates_per_tuple": 30}),
    # the hybrid set finder's rules before the cross-table key clash and evidence weighting
    (
        "lakefuse[sets=hybrid,previous]",
        {
            "sets_options": {
                "cross_keys": False,
                "by_evidence": False,
                "clear_score": 0.6,
                "outvoted": False,
            }
        },
    ),
    # the default without one-to-one sets between sources found clean (issue 20)
    ("lakefuse[sets=hybrid,no_one_to_one]", {"sets_options": {"one_to_one": False}}),
    # the default set finder without releasing outvoted disagreements (issue 5)
    ("lakefuse[sets=hybrid,no_outvoted]", {"sets_options": {"outvoted": False}}),
    # the default resolver without its context tie-break (issue 6)
    (
        "lakefuse[resolver=typo_vote,no_context]",
        {"resolver": "typo_vote", "resolver_options": {"context_min_mi": None}},
    ),
    # ICLCR ablations (issue 6)
    *[
        (f"lakefuse[resolver=iclcr,k={k}]", {"resolver": "iclcr", "resolver_options": {"k": k}})
        for k in (0, 5, 10, 20)
    ],
    (
        "lakefuse[resolver=iclcr,no_compress]",
        {"resolver": "iclcr", "resolver_options": {"compress": False}},
    ),
    (
        "lakefuse[resolver=iclcr,random_demos]",
        {"resolver": "iclcr", "resolver_options": {"selection": "random"}},
    ),
    (  # the paper's ICLCR: every candidate its own option, variants not pooled first
        "lakefuse[resolver=iclcr,no_pool]",
        {"resolver": "iclcr", "resolver_options": {"pool_variants": False}},
    ),
    (
        "lakefuse[resolver=iclcr,hybrid]",
        {
            "resolver": "iclcr",
            "resolver_options": {"norm": "mean", "prior": 1, "prior_from": "truth"},
        },
    ),
]

#: variants known to be slow (patterns): run after the others, so a time budget cuts them first
SLOW = [
    "lakefuse[judge=ssacl*",
    "lakefuse[blocker=hybrid*",
    "lakefuse[sets=gnn*",
    "lakefuse[resolver=iclcr*",
]

BASELINES = [
    System("exact_fd", "exact_fd"),
    System("splink", "splink"),
    System("tfidf_mutual", "tfidf_mutual"),
]


def _registered() -> dict[str, list[str]]:
    from lakefuse.judge import JUDGES
    from lakefuse.resolve import RESOLVERS
    from lakefuse.sets import SET_FINDERS

    return {"judge": JUDGES.names(), "sets": SET_FINDERS.names(), "resolver": RESOLVERS.names()}


def all_systems() -> list[System]:
    """Baselines, lakefuse's default, one variant per registered stage name, VARIANTS."""
    from lakefuse.config import Settings

    default = Settings()
    out = [*BASELINES, System(DEFAULT, "lakefuse")]
    for stage, names in _registered().items():
        for name in names:
            if name != getattr(default, stage):
                out.append(System(f"lakefuse[{stage}={name}]", "lakefuse", {stage: name}))
    labels = {s.label for s in out}
    for label, overrides in VARIANTS:
        if label not in labels:
            out.append(System(label, "lakefuse", dict(overrides)))
    return out


def select(patterns: list[str] | None = None) -> list[System]:
    """Systems whose label equals a pattern or matches it as an fnmatch pattern (all when
    none); the lakefuse default always runs, as the time ratios are relative to it. Exact labels
    come first because their brackets would read as fnmatch character classes."""
    systems = all_systems()
    if not patterns:
        return systems
    chosen = [
        s
        for s in systems
        if s.label == DEFAULT
        or any(s.label == p or fnmatch.fnmatchcase(s.label, p) for p in patterns)
    ]
    if len(chosen) == 1 and not any(fnmatch.fnmatchcase(DEFAULT, p) for p in patterns):
        known = ", ".join(s.label for s in systems)
        raise ValueError(f"no system matches {patterns} (available: {known})")
    return chosen


def order_variants(systems: list[System]) -> list[System]:
    def slow(s: System) -> int:
        return next((i + 1 for i, p in enumerate(SLOW) if fnmatch.fnmatchcase(s.label, p)), 0)

    return sorted(systems, key=slow)  # stable: registry order otherwise


def slug(label: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in label).strip("_")


def execute(system: System, inputs: Path, out: Path, seed: int = 0) -> None:
    """Run one system on one task's input folder, writing a lakefuse-style output folder."""
    if system.kind == "exact_fd":
        from lakefuse.bench.baselines import exact_full_disjunction

        exact_full_disjunction(inputs, out)
    elif system.kind == "splink":
        from lakefuse.bench.baselines import splink_baseline

        splink_baseline(inputs, out, seed=seed)
    elif system.kind == "tfidf_mutual":
        from lakefuse.bench.tfidf import tfidf_mutual_baseline

        tfidf_mutual_baseline(inputs, out)
    elif system.kind == "lakefuse":
        from lakefuse.config import Settings
        from lakefuse.pipeline import integrate

        settings = Settings(quiet=True, seed=seed).replace(**system.overrides)
        integrate([str(inputs)], out, settings)
    else:
        raise ValueError(f"unknown system kind {system.kind!r}")


#: imported once by the fork server, so that each run starts warm
PRELOAD = [
    "lakefuse.pipeline",
    "lakefuse.bench.baselines",
    "lakefuse.judge.similarity",
    "lakefuse.sets.cliques",
    "lakefuse.resolve.vote",
    "splink",
    "splink.comparison_library",
]
_context: Any = None


def _mp() -> Any:
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(PRELOAD)
    return _context


def _child(spec: dict[str, Any], inputs: str, out: str, seed: int) -> None:
    """Runs in a fresh process forked from the warm fork server."""
    with contextlib.suppress(OSError):  # own process group: a timeout kills it all
        os.setsid()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    warnings.simplefilter("ignore")
    try:
        execute(System(**spec), Path(inputs), Path(out), seed)
    except BaseException as exc:
        Path(out, ERROR_FILE).write_text(f"{type(exc).__name__}: {exc}"[:500])
        os._exit(1)
    os._exit(0)


ERROR_FILE = ".bench-error"


def run_isolated(
    system: System, inputs: Path, out: Path, timeout: float, seed: int = 0
) -> dict[str, Any]:
    """Run in a child process with a timeout. Returns ``{"ok", "error", "wall_s"}``."""
    out.mkdir(parents=True, exist_ok=True)
    for f in ("run.json", "membership.csv", "integrated.csv", ERROR_FILE):
        (out / f).unlink(missing_ok=True)
    proc = _mp().Process(target=_child, args=(system.to_dict(), str(inputs), str(out), seed))
    t0 = time.perf_counter()
    proc.start()
    try:
        proc.join(timeout)
    except BaseException:  # interrupted: take the child down with us
        _kill(proc)
        raise
    wall = time.perf_counter() - t0
    if proc.is_alive():
        _kill(proc)
        return {"ok": False, "error": f"timeout after {timeout:.0f}s", "wall_s": wall}
    if proc.exitcode != 0:
        err = out / ERROR_FILE
        msg = err.read_text() if err.exists() else f"exit {proc.exitcode}"
        return {"ok": False, "error": msg, "wall_s": wall}
    return {"ok": True, "error": None, "wall_s": wall}


def _kill(proc: Any) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    proc.join(5)
