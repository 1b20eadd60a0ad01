"""SSACL training: the contrastive + calibration loss, FGSM adversarial examples in
embedding space, the training loop, and the label-free threshold estimates (the prior-shift
EM and Otsu's split) kept as options beside the default calibrated cut."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from lakefuse.config import Settings
from lakefuse.judge.fellegi_sunter import FellegiSunter, fit_fellegi_sunter
from lakefuse.judge.matcher import Ensemble, Matcher
from lakefuse.judge.ssacl_features import UnionStats
from lakefuse.threads import thread_count
from lakefuse.types import UnionTable


def otsu(scores: np.ndarray, bins: int = 100) -> float:
    """The split of ``scores`` (in [0, 1]) that maximises the between-class variance."""
    hist, edges = np.histogram(scores, bins=bins, range=(0.0, 1.0))
    p = hist / max(1, hist.sum())
    mids = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(p)
    m0 = np.cumsum(p * mids)
    mt = m0[-1]
    w1 = 1.0 - w0
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mt * w0 - m0) ** 2 / (w0 * w1)
    between[~np.isfinite(between)] = -1.0
    return float(edges[int(np.argmax(between)) + 1])


def prior_shift_threshold(
    scores: np.ndarray, train_prior: float, posterior: float = 0.45, iters: int = 200
) -> tuple[float, float]:
    """Scores are calibrated to the training mix (positive share ``train_prior``); estimate
    the positive share among ``scores`` by EM (Saerens et al., 2002) and return it with the
    score at which the re-weighted posterior equals ``posterior`` (a little under 1/2: the
    F1-optimal cut of a calibrated score is about half the attainable F1)."""
    s = np.clip(scores.astype(np.float64), 1e-6, 1 - 1e-6)
    pt = float(np.clip(train_prior, 1e-4, 1 - 1e-4))
    pi = pt
    for _ in range(iters):
        a = pi / pt * s
        b = (1 - pi) / (1 - pt) * (1 - s)
        new = float(np.mean(a / (a + b)))
        if abs(new - pi) < 1e-7:
            pi = new
            break
        pi = new
    pi = float(np.clip(pi, 1e-4, 1 - 1e-4))
    odds = pt / (1 - pt) * (1 - pi) / pi * posterior / (1 - posterior)
    return pi, odds / (1 + odds)


def pair_loss(
    matcher: Matcher,
    o: dict[str, Any],
    cos: torch.Tensor,
    st: torch.Tensor,
    mask: torch.Tensor,
    labels: torch.Tensor,
    size: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    logit, _, _ = matcher(cos * mask, st, mask)
    s = torch.tanh(logit / 2).view(-1, size) / o["temperature"]
    if o["loss"] == "dcl":
        nce = (-s[:, 0] + torch.logsumexp(s[:, 1:], dim=1)).mean()
    else:
        nce = torch.nn.functional.cross_entropy(s, torch.zeros(len(s), dtype=torch.long))
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logit, labels)
    return nce + o["bce_weight"] * bce, nce, bce


@dataclass
class TrainingTensors:
    """The training groups as tensors, a group's pairs in consecutive rows (``size`` each:
    the anchor with its positive, then with each negative): embedding cosines (P, A), static
    features (P, A, F), the attributes both sides hold (P, A) and the labels (P)."""

    cos: torch.Tensor
    st: torch.Tensor
    mask: torch.Tensor
    labels: torch.Tensor
    size: int


def train(
    matcher: Matcher, o: dict[str, Any], data: TrainingTensors, seed: int, progress: Any = None
) -> list[dict[str, float]]:
    cos, st, mask, labels, size = data.cos, data.st, data.mask, data.labels, data.size
    n_groups = len(labels) // size
    opt = torch.optim.AdamW(matcher.parameters(), lr=o["lr"], weight_decay=1e-4)
    gen = torch.Generator().manual_seed(seed)
    curve = []
    matcher.train()
    per_epoch = max(1, -(-n_groups // o["batch"]))
    epochs = max(o["epochs"], -(-o["min_steps"] // per_epoch))
    for epoch in range(epochs):
        perm = torch.randperm(n_groups, generator=gen)
        sums = {"loss": 0.0, "nce": 0.0, "bce": 0.0, "adv": 0.0}
        steps = 0
        for s in range(0, n_groups, o["batch"]):
            g = perm[s : s + o["batch"]]
            idx = (g[:, None] * size + torch.arange(size)[None]).reshape(-1)
            bc, bs, bm, by = cos[idx], st[idx], mask[idx], labels[idx]
            loss, nce, bce = pair_loss(matcher, o, bc, bs, bm, by, size)
            adv = torch.zeros(())
            if o["adversarial"] and o["epsilon"] > 0:
                adv, _, _ = pair_loss(
                    matcher, o, perturb(matcher, o, bc, bs, bm, by, size), bs, bm, by, size
                )
                loss = loss + o["adv_weight"] * adv
            opt.zero_grad()
            loss.backward()
            opt.step()
            sums["loss"] += float(loss.detach())
            sums["nce"] += float(nce.detach())
            sums["bce"] += float(bce.detach())
            sums["adv"] += float(adv.detach())
            steps += 1
        curve.append({"epoch": epoch + 1, **{k: round(v / steps, 5) for k, v in sums.items()}})
        if progress is not None:
            progress(epoch + 1, epochs)
    matcher.eval()
    return curve


def perturb(
    matcher: Matcher,
    o: dict[str, Any],
    cos: torch.Tensor,
    st: torch.Tensor,
    mask: torch.Tensor,
    labels: torch.Tensor,
    size: int,
) -> torch.Tensor:
    """Adversarial examples in embedding space: each right-side value embedding moves
    within an L2 ball of radius ``epsilon`` (then back onto the unit sphere) in the
    direction that increases the loss (FGSM). The matcher sees an embedding only through
    its cosine with the other side, and on the sphere the worst such move turns the
    vector by ``asin(epsilon)`` towards or away from the other one, so the step is
    taken exactly on the angle, signed by the loss gradient."""
    c = cos.detach().clone().requires_grad_(True)
    loss, _, _ = pair_loss(matcher, o, c, st, mask, labels, size)
    (grad,) = torch.autograd.grad(loss, c)
    step = float(np.arcsin(min(1.0, float(o["epsilon"]))))
    theta = torch.arccos(cos.detach().clamp(-1.0, 1.0))
    theta = (theta - torch.sign(grad) * step).clamp(0.0, float(np.pi))
    return torch.where(mask, torch.cos(theta), cos.detach())


@dataclass
class Trained:
    """What :func:`train_all` fitted: the matcher (or the ensemble), the first member's loss
    curve, the Fellegi-Sunter model (None: not asked for or not estimable) and the seconds
    each took (side by side, so they do not add up)."""

    matcher: Matcher | Ensemble
    curve: list[dict[str, float]]
    fs: FellegiSunter | None
    seconds_train: float
    seconds_fs: float


def _timed(f: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    """``f(*args)`` and the seconds it took."""
    t0 = time.perf_counter()
    return f(*args), time.perf_counter() - t0


def train_all(
    o: dict[str, Any],
    data: TrainingTensors,
    seed: int,
    progress: Any,
    stats: UnionStats,
    rng: np.random.Generator,
) -> Trained:
    """The matcher (``o["ensemble"]`` members, :func:`train`) and, with
    ``o["fellegi_sunter"]``, the Fellegi-Sunter model of ``stats``. The model reads nothing
    of the matcher: it is estimated on a thread of its own while the matcher trains on one
    core, and ``rng`` is the model's alone until it is done, so both come out as when fitted
    one after the other. (The two share the interpreter lock: where the model's first parse
    of every distinct value is long, as at a million tuples, the training waits on it and
    the pair takes about the model's time.)"""
    t0 = time.perf_counter()
    pool = ThreadPoolExecutor(1, "lakefuse-fs")
    job = (
        pool.submit(_timed, fit_fellegi_sunter, stats, rng, o["threads"])
        if o["fellegi_sunter"]
        else None
    )
    members, curves = [], []
    # the matcher is tiny and its batches small: one thread trains it fastest (more
    # only wait on each other, badly so on a busy machine); scoring uses every core
    torch.set_num_threads(1)
    try:
        for i in range(max(1, int(o["ensemble"]))):
            s = seed + 1009 * i
            members.append(Matcher(o["hidden"], seed=s))
            curves.append(train(members[-1], o, data, s, progress))
    finally:
        torch.set_num_threads(thread_count(o["threads"]))
        t_train = time.perf_counter() - t0
        pool.shutdown(wait=True)  # (the model's error, if any, is raised below)
    fs, t_fs = job.result() if job is not None else (None, 0.0)
    matcher = members[0] if len(members) == 1 else Ensemble(members).eval()
    return Trained(matcher, curves[0], fs, t_train, t_fs)


def auto_threshold(
    judge: Any,
    union: UnionTable,
    settings: Settings,
    near: np.ndarray,
    rng: np.random.Generator,
) -> tuple[float, str, float | None]:
    """Label-free threshold of an SSACL judge (``threshold_method`` "prior-em" or "otsu")
    from the matcher's scores of the pairs this run will judge: the configured blocker's
    candidates (else the tuples' nearest neighbours ``near``). With the method's name and,
    for "prior-em", the match share it estimated among them (else None)."""
    population = "candidate"
    try:
        from lakefuse.block import get_blocker

        blocker = get_blocker(settings.blocker, **settings.blocker_options)
        cands = blocker.candidates(union, settings)
        l, r = cands.left.astype(np.int64), cands.right.astype(np.int64)
    except Exception:  # a blocker that cannot run here: fall back on neighbours
        population = "neighbour"
        n, k = near.shape
        l = np.repeat(np.arange(n), k)
        r = near.reshape(-1)
        ok = r >= 0
        l, r = l[ok], r[ok]
    if len(l) > 20_000:
        pick = np.sort(rng.choice(len(l), 20_000, replace=False))
        l, r = l[pick], r[pick]
    if len(l) < 10:
        return 0.5, "default", None
    scores, ev, _, _ = judge.matcher_scores(union, l, r)
    if judge.single_key_judge(union) is not None:  # not decided by this threshold
        scores = scores[(~np.isnan(ev)).sum(axis=1) > 1]
    scores = scores[np.isfinite(scores)]
    if len(scores) < 10:
        return 0.5, "default", None
    lo, hi = judge.options["threshold_bounds"]
    if judge.options["threshold_method"] == "otsu":
        return float(np.clip(otsu(scores), lo, hi)), f"otsu-on-{population}-pairs", None
    prior, thr = prior_shift_threshold(
        scores, judge.train_prior, judge.options["threshold_posterior"]
    )
    return float(np.clip(thr, lo, hi)), f"prior-em-on-{population}-pairs", round(prior, 5)
