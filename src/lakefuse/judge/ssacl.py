"""SSACL: self-supervised adversarial contrastive learning of integrability (Ji et al.,
arXiv 2412.00324), trained on the very tables being integrated, with no labels.

* A frozen pretrained encoder (all-MiniLM-L6-v2, offline) embeds each distinct value once
  (cached on disk); a trained linear projection adapts its space.
* A pair is judged attribute by attribute (:mod:`lakefuse.judge.ssacl_features`) and an
  attention matcher (:mod:`lakefuse.judge.matcher`) combines the evidence: nulls are
  ignored, a single agreeing key can integrate two partial tuples, and a clear
  disagreement on an identifying attribute weighs heavily.
* Training (:mod:`lakefuse.judge.ssacl_data`): for sampled anchors, a positive from
  augmentation (semantic equivalents, typos, dropped attributes) against negatives (hard
  ones by perturbation, near neighbours that disagree on a key, random tuples); an InfoNCE
  (or decoupled) contrastive loss with temperature ``temperature`` plus a binary loss that
  calibrates the score, and the same losses on adversarial examples made by gradient
  perturbation of the embeddings (FGM/PGD within an L2 ball of radius ``epsilon``).
* The decision threshold is chosen without labels from the score distribution of
  nearest-neighbour pairs (Otsu's split), unless given."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import torch

from lakefuse.augment import Augmenter
from lakefuse.config import Settings
from lakefuse.judge.matcher import Matcher
from lakefuse.judge.similarity import scored_table
from lakefuse.judge.ssacl_data import make_groups
from lakefuse.judge.ssacl_features import (
    N_STATIC,
    STATIC_NAMES,
    UnionStats,
    View,
    static_features,
)
from lakefuse.types import ScoredPairs, UnionTable

DEFAULTS: dict[str, Any] = {
    "encoder": "minilm-onnx",
    "adversarial": True,
    "se_aug": True,
    "te_aug": True,
    "drop_aug": True,
    "epochs": 12,
    "temperature": 0.1,
    "epsilon": 0.3,
    "adv_steps": 1,
    "adv_weight": 1.0,
    "bce_weight": 1.0,
    "loss": "infonce",  # or "dcl" (decoupled: the positive left out of the denominator)
    "max_anchors": 2000,
    "n_neg": 7,
    "neighbours": 10,
    "batch": 64,
    "lr": 3e-3,
    "proj_dim": 128,
    "threshold": None,
    "threshold_bounds": (0.3, 0.8),
}


def _seed_all(seed: int) -> None:
    torch.manual_seed(seed)
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True, warn_only=True)


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


class SSACLJudge:
    name = "ssacl"

    def __init__(self, **options: Any) -> None:
        unknown = set(options) - set(DEFAULTS)
        if unknown:
            raise ValueError(f"unknown ssacl options: {sorted(unknown)}")
        self.options = {**DEFAULTS, **options}
        self.matcher: Matcher | None = None
        self.threshold: float = 0.5
        self._report: dict[str, Any] = {}
        self._embedder: Any = None
        self._stats: tuple[int, UnionStats] | None = None

    # -- helpers -----------------------------------------------------------------------
    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            from lakefuse.encode import Embedder

            self._embedder = Embedder(self.options["encoder"])
        return self._embedder

    def stats_of(self, union: UnionTable) -> UnionStats:
        key = id(union)
        if self._stats is None or self._stats[0] != key:
            self._stats = (key, UnionStats(union))
        return self._stats[1]

    def _tensors(
        self, left: list[View], right: list[View], n_attr: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, np.ndarray]:
        """Embeddings (P, A, D) of both sides (zeros where null), static features, mask."""
        static = static_features(left, right, n_attr)
        mask = ~np.isnan(static[:, :, 0])
        strings = [v for views in (left, right) for x in views for v in x.values if v is not None]
        table = self.embedder.embed(list(dict.fromkeys(strings)))
        index = {v: i for i, v in enumerate(dict.fromkeys(strings))}
        dim = table.shape[1] if len(table) else self.embedder.dim
        el = np.zeros((len(left), n_attr, dim), dtype=np.float32)
        er = np.zeros_like(el)
        for i, (x, y) in enumerate(zip(left, right)):
            for j in range(n_attr):
                if mask[i, j]:
                    el[i, j] = table[index[x.values[j]]]
                    er[i, j] = table[index[y.values[j]]]
        return (
            torch.from_numpy(el),
            torch.from_numpy(er),
            torch.from_numpy(np.nan_to_num(static, nan=0.0)),
            torch.from_numpy(mask),
            static,
        )

    # -- training ----------------------------------------------------------------------
    def fit(self, union: UnionTable, settings: Settings) -> None:
        from lakefuse.block.ann import knn, tuple_embeddings

        o = self.options
        t0 = time.perf_counter()
        _seed_all(settings.seed)
        rng = np.random.default_rng(settings.seed)
        stats = self.stats_of(union)
        values = union.values()
        rows = [[values[a][t] for a in union.attributes] for t in range(union.n_tuples)]
        A = len(union.attributes)
        x = tuple_embeddings(union, o["encoder"])
        near, _ = knn(x, o["neighbours"], seed=settings.seed)
        t_embed = time.perf_counter() - t0
        n_anchor = min(union.n_tuples, o["max_anchors"])
        anchors = np.sort(rng.choice(union.n_tuples, n_anchor, replace=False))
        aug = Augmenter(se=o["se_aug"], te=o["te_aug"], drop=o["drop_aug"])
        groups = make_groups(rows, stats, near, anchors, aug, rng, n_neg=o["n_neg"])
        el, er, st, mask, _ = self._tensors(groups.left, groups.right, A)
        labels = torch.tensor(groups.label, dtype=torch.float32)
        t_data = time.perf_counter() - t0 - t_embed

        self.matcher = Matcher(el.shape[-1], o["proj_dim"], seed=settings.seed)
        curve = self._train(el, er, st, mask, labels, groups.size, settings.seed)
        t_train = time.perf_counter() - t0 - t_embed - t_data

        # threshold without labels: the score distribution of nearest-neighbour pairs
        method = "given"
        if settings.threshold is not None:
            self.threshold = float(settings.threshold)
        elif o["threshold"] is not None:
            self.threshold = float(o["threshold"])
        else:
            self.threshold, method = self._auto_threshold(union, near, rng)
        kinds: dict[str, int] = {}
        for k in groups.kind:
            kinds[k] = kinds.get(k, 0) + 1
        self._report = {
            "encoder": o["encoder"],
            "anchors": int(n_anchor),
            "groups": groups.n_groups,
            "pairs_by_kind": kinds,
            "loss_curve": curve,
            "threshold": round(self.threshold, 4),
            "threshold_method": method,
            "embedded_values": int(self.embedder.stats["requested"]),
            "embedding_computed": int(self.embedder.stats["computed"]),
            "seconds": {
                "embed_and_knn": round(t_embed, 2),
                "augment_and_features": round(t_data, 2),
                "train": round(t_train, 2),
                "total_fit": round(time.perf_counter() - t0, 2),
            },
            "options": {k: v for k, v in o.items() if k != "threshold_bounds"},
        }

    def _loss(
        self,
        el: torch.Tensor,
        er: torch.Tensor,
        st: torch.Tensor,
        mask: torch.Tensor,
        labels: torch.Tensor,
        size: int,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        assert self.matcher is not None
        o = self.options
        cos = self.matcher.cosine(el, er) * mask
        logit, _, _ = self.matcher(cos, st, mask)
        s = torch.tanh(logit / 2).view(-1, size) / o["temperature"]
        if o["loss"] == "dcl":
            nce = (-s[:, 0] + torch.logsumexp(s[:, 1:], dim=1)).mean()
        else:
            nce = torch.nn.functional.cross_entropy(s, torch.zeros(len(s), dtype=torch.long))
        bce = torch.nn.functional.binary_cross_entropy_with_logits(logit, labels)
        return nce + o["bce_weight"] * bce, nce, bce

    def _train(
        self,
        el: torch.Tensor,
        er: torch.Tensor,
        st: torch.Tensor,
        mask: torch.Tensor,
        labels: torch.Tensor,
        size: int,
        seed: int,
    ) -> list[dict[str, float]]:
        assert self.matcher is not None
        o = self.options
        n_groups = len(labels) // size
        opt = torch.optim.AdamW(self.matcher.parameters(), lr=o["lr"], weight_decay=1e-4)
        gen = torch.Generator().manual_seed(seed)
        curve = []
        for epoch in range(o["epochs"]):
            perm = torch.randperm(n_groups, generator=gen)
            sums = {"loss": 0.0, "nce": 0.0, "bce": 0.0, "adv": 0.0}
            steps = 0
            for s in range(0, n_groups, o["batch"]):
                g = perm[s : s + o["batch"]]
                idx = (g[:, None] * size + torch.arange(size)[None]).reshape(-1)
                bl, br, bs, bm, by = el[idx], er[idx], st[idx], mask[idx], labels[idx]
                loss, nce, bce = self._loss(bl, br, bs, bm, by, size)
                adv = torch.zeros(())
                if o["adversarial"] and o["epsilon"] > 0:
                    br_adv = self._perturb(bl, br, bs, bm, by, size)
                    adv, _, _ = self._loss(bl, br_adv, bs, bm, by, size)
                    loss = loss + o["adv_weight"] * adv
                opt.zero_grad()
                loss.backward()
                opt.step()
                sums["loss"] += float(loss)
                sums["nce"] += float(nce)
                sums["bce"] += float(bce)
                sums["adv"] += float(adv)
                steps += 1
            curve.append({"epoch": epoch + 1, **{k: round(v / steps, 5) for k, v in sums.items()}})
        self.matcher.eval()
        return curve

    def _perturb(
        self,
        bl: torch.Tensor,
        br: torch.Tensor,
        bs: torch.Tensor,
        bm: torch.Tensor,
        by: torch.Tensor,
        size: int,
    ) -> torch.Tensor:
        """PGD (FGM when ``adv_steps`` = 1) on the right side's value embeddings: each
        vector moves within an L2 ball of radius ``epsilon`` to increase the loss."""
        eps, steps = float(self.options["epsilon"]), max(1, int(self.options["adv_steps"]))
        delta = torch.zeros_like(br)
        for _ in range(steps):
            delta.requires_grad_(True)
            loss, _, _ = self._loss(bl, br + delta, bs, bm, by, size)
            (grad,) = torch.autograd.grad(loss, delta)
            norm = grad.norm(dim=-1, keepdim=True).clamp_min(1e-12)
            delta = (delta.detach() + (eps / steps) * grad / norm).detach()
            dn = delta.norm(dim=-1, keepdim=True)
            delta = delta * torch.clamp(eps / dn.clamp_min(1e-12), max=1.0)
        return (br + delta * bm.unsqueeze(-1)).detach()

    def _auto_threshold(
        self, union: UnionTable, near: np.ndarray, rng: np.random.Generator
    ) -> tuple[float, str]:
        n, k = near.shape
        l = np.repeat(np.arange(n), k)
        r = near.reshape(-1)
        ok = r >= 0
        l, r = l[ok], r[ok]
        if len(l) > 20_000:
            pick = np.sort(rng.choice(len(l), 20_000, replace=False))
            l, r = l[pick], r[pick]
        if len(l) < 10:
            return 0.5, "default"
        scores = self._scores(union, l, r)[0]
        scores = scores[np.isfinite(scores)]
        lo, hi = self.options["threshold_bounds"]
        return float(np.clip(otsu(scores), lo, hi)), "otsu-on-neighbour-pairs"

    # -- judging -----------------------------------------------------------------------
    def _scores(
        self, union: UnionTable, left: np.ndarray, right: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        if self.matcher is None:
            raise RuntimeError("judge used before fit() or load()")
        stats = self.stats_of(union)
        values = union.values()
        attrs = union.attributes
        A = len(attrs)
        rows: dict[int, list[str | None]] = {}
        for t in np.unique(np.concatenate([left, right])).tolist():
            rows[t] = [values[a][t] for a in attrs]
        lv = [stats.view(t, rows[t]) for t in left.tolist()]
        rv = [stats.view(t, rows[t]) for t in right.tolist()]
        scores = np.zeros(len(left))
        ev = np.full((len(left), A), np.nan)
        att = np.zeros((len(left), A))
        static = np.full((len(left), A, N_STATIC), np.nan, dtype=np.float32)
        with torch.no_grad():
            for s in range(0, len(left), 4096):
                el, er, st, mask, raw = self._tensors(lv[s : s + 4096], rv[s : s + 4096], A)
                cos = self.matcher.cosine(el, er) * mask
                logit, c, w = self.matcher(cos, st, mask)
                scores[s : s + len(raw)] = torch.sigmoid(logit).numpy()
                e = torch.sigmoid(c).numpy()
                ev[s : s + len(raw)] = np.where(mask.numpy(), e, np.nan)
                att[s : s + len(raw)] = w.numpy()
                static[s : s + len(raw)] = raw
        return scores, ev, att, static

    def score(self, union: UnionTable, left: np.ndarray, right: np.ndarray) -> ScoredPairs:
        left = np.asarray(left, dtype=np.int64)
        right = np.asarray(right, dtype=np.int64)
        scores, ev, att, static = self._scores(union, left, right)
        present = ~np.isnan(ev)
        shared = present.sum(axis=1)
        decision = (shared > 0) & (scores >= self.threshold)
        char = np.nan_to_num(static[:, :, 0], nan=1.0)
        canon = np.nan_to_num(static[:, :, 4], nan=1.0)
        ident = np.nan_to_num(static[:, :, STATIC_NAMES.index("dist_max")], nan=0.0) >= 0.5
        clear = present & (np.nan_to_num(ev, nan=1.0) < 0.1) & (char < 0.6) & (canon < 1) & ident
        conflict = ~decision & clear.any(axis=1)
        attrs = union.attributes
        table = scored_table(
            left, right, ev, scores, decision, conflict, attrs, np.ones(len(attrs))
        )
        drivers = []
        for i in range(len(left)):
            order = [j for j in np.argsort(-att[i], kind="stable") if present[i, j]][:3]
            drivers.append(
                ",".join(
                    f"{attrs[j]}={ev[i, j]:.2f}(w={att[i, j]:.2f},chr={static[i, j, 0]:.2f})"
                    for j in order
                )
            )
        table = table.set_column(
            table.column_names.index("drivers"), "drivers", pa.array(drivers, type=pa.string())
        )
        return ScoredPairs(table, self.name, self.threshold)

    # -- persistence -------------------------------------------------------------------
    def report(self) -> dict[str, Any]:
        return dict(self._report)

    def save(self, path: str | Path) -> None:
        if self.matcher is None:
            raise RuntimeError("nothing to save: fit() first")
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        torch.save(self.matcher.state_dict(), folder / "matcher.pt")
        opts = {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.options.items()}
        meta = {
            "name": self.name,
            "options": opts,
            "threshold": self.threshold,
            "dim": int(self.matcher.proj.in_features),
            "report": self._report,
        }
        (folder / "judge.json").write_text(json.dumps(meta, indent=2, default=str))

    @classmethod
    def load(cls, path: str | Path) -> SSACLJudge:
        folder = Path(path)
        meta = json.loads((folder / "judge.json").read_text())
        opts = dict(meta["options"])
        if "threshold_bounds" in opts:
            opts["threshold_bounds"] = tuple(opts["threshold_bounds"])
        judge = cls(**opts)
        judge.matcher = Matcher(int(meta["dim"]), opts["proj_dim"])
        state = torch.load(folder / "matcher.pt", weights_only=True)
        judge.matcher.load_state_dict(state)
        judge.matcher.eval()
        judge.threshold = float(meta["threshold"])
        judge._report = {**meta.get("report", {}), "loaded_from": str(folder)}
        return judge
