"""SSACL: self-supervised adversarial contrastive learning of integrability (Ji et al.,
arXiv 2412.00324), trained on the very tables being integrated, with no labels.

* A frozen pretrained encoder (all-MiniLM-L6-v2, offline) embeds each distinct value once
  (cached on disk).
* A pair is judged attribute by attribute (:mod:`lakefuse.judge.ssacl_features`) and an
  attention matcher (:mod:`lakefuse.judge.matcher`) combines the evidence: nulls are
  ignored, a single agreeing key can integrate two partial tuples, and a clear
  disagreement on an identifying attribute weighs heavily.
* Training (:mod:`lakefuse.judge.ssacl_data`): for sampled anchors, a positive from
  augmentation (semantic equivalents, typos, dropped attributes) against negatives (hard
  ones by perturbation, near neighbours that disagree on a key, random tuples); an InfoNCE
  (or decoupled) contrastive loss with temperature ``temperature`` plus a binary loss that
  calibrates the score, and the same losses on adversarial examples made by gradient
  perturbation of the value embeddings (FGSM within an L2 ball of radius ``epsilon``).
* The decision threshold needs no labels: by default the score is read as calibrated by the
  binary loss on the training mix, whose negatives are the hard ones (near neighbours and
  perturbations, the pairs near the boundary), and cut at ``threshold_posterior`` (a little
  under 1/2: the F1-optimal cut of a calibrated score is half the attainable F1). Correcting
  for the much lower match share among real candidates ("prior-em", Saerens et al.) assumes
  their negatives look like the training ones; they are far easier, so that correction
  over-shoots (it sat at its upper bound on every bench task). "otsu" splits the candidates'
  score histogram. A given threshold overrides all.
* A Fellegi-Sunter model of the same tables (:mod:`lakefuse.judge.fellegi_sunter`, no
  labels) accepts the pairs it is sure of, and the matcher may not accept a pair the model
  finds more likely different than one (``fs_veto``): the model knows the lake's prior of a
  match and how common each agreed value is, the matcher neither.
* A pair whose agreeing values are common (other tuples of a side's table are expected to
  share them all: a given name, a state and a house number) is not integrable, whatever
  its score (:func:`~lakefuse.judge.ssacl_features.chance_matches`, ``max_chance_matches``):
  such pairs meet more often by chance the larger the lake."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lakefuse.augment import Augmenter
from lakefuse.config import Settings
from lakefuse.judge.fellegi_sunter import FellegiSunter
from lakefuse.judge.matcher import Ensemble, Matcher
from lakefuse.judge.options import SSACLOptions
from lakefuse.judge.pair_features import REST_COLUMNS, SIM_COLUMNS, encode
from lakefuse.judge.similarity import SimilarityJudge, pairs_table
from lakefuse.judge.ssacl_data import Rows, make_groups
from lakefuse.judge.ssacl_features import (
    REST_CONTEXT,
    STATIC_NAMES,
    UnionStats,
    View,
    chance_matches,
    pair_static,
    static_features,
)
from lakefuse.judge.ssacl_scoring import Vectors, as_tensors, drivers
from lakefuse.judge.ssacl_train import TrainingTensors, auto_threshold, train_all
from lakefuse.text.rows import pick
from lakefuse.threads import thread_count
from lakefuse.types import ScoredPairs, UnionTable

#: every option and its default, from its model (types, ranges and what each option does:
#: :class:`lakefuse.judge.options.SSACLOptions`, ``lakefuse options judge ssacl``)
DEFAULTS: dict[str, Any] = SSACLOptions().model_dump()


def _seed_all(seed: int, threads: int | None) -> None:
    torch.manual_seed(seed)
    torch.set_num_threads(thread_count(threads))
    torch.set_flush_denormal(True)


class SSACLJudge:
    name = "ssacl"

    def __init__(self, **options: Any) -> None:
        unknown = set(options) - set(DEFAULTS)
        if unknown:
            raise ValueError(f"unknown ssacl options: {sorted(unknown)}")
        self.options = {**DEFAULTS, **options}
        #: encoder "auto": decided by each fit() (and saved so decided)
        self._encoder_auto = self.options["encoder"] == "auto"
        self.matcher: Matcher | Ensemble | None = None
        self.threshold: float = 0.5
        self._report: dict[str, Any] = {}
        self._embedder: Any = None
        self._stats: tuple[int, UnionStats] | None = None
        self._vectors: tuple[UnionStats, Vectors] | None = None
        #: the union statistics whose values the embedder holds (set by fit)
        self._embedded: UnionStats | None = None
        self.train_prior = 0.125
        self._single: tuple[int, SimilarityJudge] | None = None
        #: the Fellegi-Sunter model of the union fit() met (None: off or not estimable)
        self.fs: FellegiSunter | None = None
        #: called as ``progress(epoch, epochs)`` after each training epoch (a progress bar)
        self.progress: Any = None

    # -- helpers -----------------------------------------------------------------------
    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            from lakefuse.encode import Embedder

            self._embedder = Embedder(
                self.options["encoder"],
                threads=self.options["threads"],
                numbers_by_chars=bool(self.options["numbers_by_chars"]),
            )
        return self._embedder

    @property
    def trained(self) -> bool:
        return self.matcher is not None

    def _plain(self, union: UnionTable) -> SimilarityJudge:
        """The plain similarity judge, fitted on the union being judged (a saved model meets
        new tables)."""
        if self._single is None or self._single[0] != id(union):
            judge = SimilarityJudge()
            judge.fit(union, Settings())
            self._single = (id(union), judge)
        return self._single[1]

    def single_key_judge(self, union: UnionTable) -> SimilarityJudge | None:
        """The judge of pairs that share one attribute only (None: the matcher judges them)."""
        return self._plain(union) if self.options["single_key"] == "similarity" else None

    def stats_of(self, union: UnionTable) -> UnionStats:
        key = id(union)
        if self._stats is None or self._stats[0] != key:
            self._stats = (key, UnionStats(union))
        return self._stats[1]

    def _tensors(
        self, left: list[View], right: list[View], n_attr: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, np.ndarray]:
        """Embedding cosines (P, A), static features (zeros where null), mask; raw static."""
        static = static_features(left, right, n_attr, self.options["threads"])
        flat = [v for views in (left, right) for x in views for v in x.values[:n_attr]]
        codes, strings = encode(flat)
        codes = codes.reshape(2, len(left), n_attr)

        def embed(ids: np.ndarray) -> np.ndarray:
            return self.embedder.embed(pick(strings, ids))

        return as_tensors(static, codes[0], codes[1], strings, embed)

    # -- training ----------------------------------------------------------------------
    def fit(self, union: UnionTable, settings: Settings) -> None:
        from lakefuse.encode import resolve_encoder
        from lakefuse.encode.tuples import knn_of, tuple_embeddings

        o = self.options
        t0 = time.perf_counter()
        self._report = {}
        self.fs = None  # a judge fitted again keeps no model of the last union
        _seed_all(settings.seed, o["threads"])
        rng = np.random.default_rng(settings.seed)
        stats = self.stats_of(union)
        if self._encoder_auto:  # by this machine's CPU, kept with the model
            o["encoder"] = resolve_encoder("auto")
            self._embedder = None
        self._report["numbers_by_chars"] = o["numbers_by_chars"]
        rows = Rows(stats)
        A = len(union.attributes)
        x = tuple_embeddings(union, o["encoder"], threads=o["threads"], embedder=self.embedder)
        self._embedded = stats
        n_anchor = min(union.n_tuples, o["max_anchors"])
        anchors = np.sort(rng.choice(union.n_tuples, n_anchor, replace=False))
        # near neighbours (hard negatives) of the anchors only: a bounded number of exact
        # searches, linear in the table
        near = knn_of(x, anchors, o["neighbours"], threads=o["threads"])
        t_embed = time.perf_counter() - t0
        repeat = int(np.clip(np.ceil(o["target_groups"] / max(1, n_anchor)), 1, 8))
        anchors = np.repeat(anchors, repeat)
        aug = Augmenter(se=o["se_aug"], te=o["te_aug"], drop=o["drop_aug"])
        groups = make_groups(
            rows, stats, near, anchors, aug, rng, n_neg=o["n_neg"], key_share=o["key_share"]
        )
        if groups.n_groups == 0:
            # no tuple holds a value that identifies it in its table: nothing to contrast, so
            # the plain similarity rule judges (recorded in run.json)
            self.matcher = None
            self.threshold = self._plain(union).threshold
            self._report = {"untrained": "no identifying values to learn from; plain rule"}
            return
        cos, st, mask, _ = self._tensors(groups.left, groups.right, A)
        labels = torch.tensor(groups.label, dtype=torch.float32)
        self.train_prior = float(labels.mean())
        t_data = time.perf_counter() - t0 - t_embed
        data = TrainingTensors(cos, st, mask, labels, groups.size)
        fitted = train_all(o, data, settings.seed, self.progress, stats, rng)
        self.matcher, curve, fs = fitted.matcher, fitted.curve, fitted.fs
        t_train, t_fs = fitted.seconds_train, fitted.seconds_fs
        self.fs = fs if fs is not None and fs.used else None

        method = "given"
        if settings.threshold is not None:
            self.threshold = float(settings.threshold)
        elif o["threshold"] is not None:
            self.threshold = float(o["threshold"])
        elif o["threshold_method"] == "calibrated":
            self.threshold, method = float(o["threshold_posterior"]), "calibrated"
        else:
            self.threshold, method, share = auto_threshold(self, union, settings, near, rng)
            if share is not None:
                self._report["estimated_match_share"] = share
        kinds = dict(Counter(groups.kind))
        self._report = {
            **self._report,
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
                # (beside the training, on its own thread: not part of the sum)
                "fellegi_sunter": round(t_fs, 2),
                "total_fit": round(time.perf_counter() - t0, 2),
            },
            "options": {k: v for k, v in o.items() if k != "threshold_bounds"},
        }
        if o["fellegi_sunter"]:
            self._report["fellegi_sunter"] = (
                fs.report
                if fs is not None
                else "not estimable: no two attributes whose values several tuples share"
            )

    # -- judging -----------------------------------------------------------------------
    def matcher_scores(
        self,
        union: UnionTable,
        left: np.ndarray,
        right: np.ndarray,
        static: np.ndarray | None = None,
        run: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Matcher scores, per-attribute evidence (nan: null), attention and static
        features of the pairs. ``run``: the pairs the matcher scores (the others get score
        0, evidence 0 where both sides hold a value, attention 0); ``static``: the pairs'
        static features, when already computed."""
        if self.matcher is None:
            raise RuntimeError("judge used before fit() or load()")
        torch.set_num_threads(thread_count(self.options["threads"]))
        stats = self.stats_of(union)
        A = len(union.attributes)
        # the static features of all pairs at once (over distinct values and value pairs);
        # the embeddings and the matcher in batches of 4096 pairs
        if static is None:
            static = pair_static(stats, left, right, self.options["threads"])
        if self._vectors is None or self._vectors[0] is not stats:
            if self._embedded is not stats:
                # a judge loaded with --model (or fitted on another union): every value
                # embedded first, in one pass and the batches training uses, not a few at a
                # time in whichever scoring thread meets them (the first batch runs alone)
                from lakefuse.encode.tuples import embed_values

                embed_values(union, self.embedder)
                self._embedded = stats
            self._vectors = (stats, Vectors(self.embedder, stats.strings))
        vectors = self._vectors[1]
        scores = np.zeros(len(left))
        ev = np.where(np.isnan(static[:, :, 0]), np.nan, 0.0)
        att = np.zeros((len(left), A))
        todo = np.arange(len(left)) if run is None else np.flatnonzero(run)
        with torch.no_grad():
            for s in range(0, len(todo), 4096):
                rows = todo[s : s + 4096]
                lc, rc = stats.codes[left[rows]], stats.codes[right[rows]]
                cos, st, mask, _ = as_tensors(static[rows], lc, rc, stats.strings, vectors)
                logit, c, w = self.matcher(cos * mask, st, mask)
                scores[rows] = torch.sigmoid(logit).numpy()
                e = torch.sigmoid(c).numpy()
                ev[rows] = np.where(mask.numpy(), e, np.nan)
                att[rows] = w.numpy()
        return scores, ev, att, static

    def score(self, union: UnionTable, left: np.ndarray, right: np.ndarray) -> ScoredPairs:
        left = np.asarray(left, dtype=np.int64)
        right = np.asarray(right, dtype=np.int64)
        if self.matcher is None and self._report.get("untrained"):
            return self._plain(union).score(union, left, right)
        stats, threads = self.stats_of(union), self.options["threads"]
        fs = self.fs if self.fs is not None and self.fs.attributes == union.attributes else None
        # with the model, first only the features its comparison and a pair's reported
        # evidence read (lite): the matcher's pairs get the rest below
        static = pair_static(stats, left, right, threads, "lite" if fs is not None else "all")
        nonnull = stats.nonnull.sum(axis=0) if self.options["fs_tf"] else None
        post = fs.posterior(static, union.n_tuples, nonnull) if fs is not None else None
        # a pair that shares several attributes and that the Fellegi-Sunter model finds
        # more likely different than one (a posterior under ``fs_veto``) may not be
        # accepted by the matcher: the matcher knows neither this lake's prior of a match,
        # which falls as the lake grows, nor how common the values it agrees on are here.
        # Such a pair (or one under ``fs_skip``) is not scored by the matcher either (a
        # cascade: the cheap model's hopeless pairs skip the costly one and most of its
        # features); its score is the model's posterior
        shared = (~np.isnan(static[:, :, 0])).sum(axis=1)
        hopeless = (
            (post < max(self.options["fs_skip"], self.options["fs_veto"])) & (shared > 1)
            if post is not None
            else np.zeros(len(left), dtype=bool)
        )
        if fs is not None:
            run = np.flatnonzero(~hopeless)
            rest = pair_static(stats, left[run], right[run], threads, "rest")
            for c in (*REST_COLUMNS, *(SIM_COLUMNS + k for k in REST_CONTEXT)):
                static[run, :, c] = rest[:, :, c]
        scores, ev, att, static = self.matcher_scores(union, left, right, static, ~hopeless)
        present = ~np.isnan(ev)
        decision = (shared > 0) & (scores >= self.threshold)
        if post is not None:
            scores[hopeless] = post[hopeless]
            decision[hopeless] = False
            # the Fellegi-Sunter model's sure pairs: it knows how often this lake's
            # duplicates disagree on each attribute, which augmentations cannot tell
            sure = (post >= self.options["fs_threshold"]) & (shared > 1)
            decision |= sure
            scores = np.where(sure, np.maximum(scores, post), scores)
        # (a comparison with NaN, a null side, is False: no clear disagreement there)
        char_low = static[:, :, 0] < 0.6
        not_canon = static[:, :, 4] < 1
        ident = static[:, :, STATIC_NAMES.index("dist_max")] >= 0.5
        clear = present & (ev < 0.1) & char_low & not_canon & ident
        conflict = ~decision & clear.any(axis=1)
        # per-attribute evidence on the scale every judge reports (set discovery reads it:
        # >= 0.8 agrees, < 0.6 disagrees): the learned attribute evidence, raised to the
        # value similarity where the values are equal, typo-close or canonically the same
        # (similarities are >= 0: the largest of those present, 0 where none is)
        same = np.fmax(np.fmax(static[:, :, 0], static[:, :, 4]), static[:, :, 5])
        same[np.isnan(same)] = 0.0
        ev = np.where(present, np.maximum(ev, same), np.nan)
        sk = self.single_key_judge(union)
        single = np.flatnonzero(shared == 1) if sk is not None else np.zeros(0, dtype=np.int64)
        if len(single):
            t = sk.score(union, left[single], right[single]).table  # type: ignore[union-attr]
            scores[single] = t.column("score").to_numpy(zero_copy_only=False)
            decision[single] = t.column("decision").to_numpy(zero_copy_only=False)
            conflict[single] = t.column("conflict").to_numpy(zero_copy_only=False)
            for j, a in enumerate(union.attributes):
                col = t.column(f"ev:{a}").to_numpy(zero_copy_only=False)
                ev[single, j] = np.asarray(col, dtype=float)
        limit = self.options.get("max_chance_matches")
        if limit is not None:
            # agreement on common values only identifies nothing (more so in a larger lake);
            # a pair that shares one attribute only is a key look-up (a player's team in a
            # table of teams, a conflicting copy of that team there): it is no look-up
            # when more than one other tuple holds the value on both sides
            # (read only where a pair is accepted: the rule only ever rejects)
            d = np.flatnonzero(decision)
            chance = chance_matches(stats, left[d], right[d], static[d])
            decision[d] &= ~(chance >= np.where(shared[d] > 1, limit, max(limit, 2.0)))
        # a cascade pair: the Fellegi-Sunter model decided (no attention to rank drivers by)
        cascade = (hopeless, "fellegi_sunter", scores)
        why = drivers(union.attributes, ev, att, static[:, :, 0], present, cascade)
        table = pairs_table(left, right, ev, scores, decision, conflict, union.attributes, why)
        return ScoredPairs(table, self.name, self.threshold)

    # -- persistence -------------------------------------------------------------------
    def report(self) -> dict[str, Any]:
        return dict(self._report)

    def save(self, path: str | Path) -> None:
        """The matcher's weights, options, threshold, report and Fellegi-Sunter model in
        folder ``path`` (:mod:`lakefuse.judge.ssacl_io`)."""
        from lakefuse.judge.ssacl_io import save

        save(self, path)

    @classmethod
    def load(cls, path: str | Path) -> SSACLJudge:
        from lakefuse.judge.ssacl_io import load

        return load(cls, path)
