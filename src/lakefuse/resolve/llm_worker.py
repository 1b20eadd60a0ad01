"""The llama.cpp model process: :class:`LlamaScorer` and the loop that serves it over a pipe.

lakefuse never loads llama.cpp into its own process (a native crash there, such as llama.cpp's
AMX path dying with SIGSEGV on the first decode, would end the whole run).  The parent
(:mod:`lakefuse.resolve.llm_process`) starts this module as a child process::

    python -m lakefuse.resolve.llm_worker '{"path": ..., "n_ctx": ..., "n_threads": ...}'

and speaks JSON lines with it: the child's stdin carries requests, and its stdout (moved to a
private descriptor at start, so that anything native code prints goes to stderr instead)
carries answers.

- at start the child loads the model and answers ``{"ready": true, "pid": ...}``, or
  ``{"error": ...}`` and exits;
- ``{"op": "score", "items": [[prefix, [continuation, ...]], ...], "timeout_s": t}`` is
  answered ``{"results": [[[logp, ...], [tokens, ...]], ...], "decoded": n}`` (per item, the
  summed log-probability of each continuation after its prefix and its length in tokens;
  ``decoded``: the tokens the model had to run, the others' keys and values being reused), or
  ``{"error": ..., "timeout": bool}`` when the model fails or the time is up (checked between
  decodes);
- ``{"op": "close"}`` or the end of stdin (the parent is gone) ends the child.

The model stays loaded between requests and keeps the keys and values of the last shared
prefix, so consecutive prompts that share their first lines are not decoded again.

Test-only fault injection: ``LAKEFUSE_TEST_LLM_FAULT`` = ``abort`` (``os.abort()``), ``segv``
(the child sends itself SIGSEGV) or ``hang`` (it sends itself SIGSTOP and never answers) makes
the child fail that way on its first score request, where llama.cpp's AMX crash happened.  Only
the tests set it; nothing in lakefuse does.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Sequence
from typing import Any, BinaryIO

import numpy as np

from lakefuse.resolve.llm import LLMError, LLMTimeout

#: environment variable of the test-only fault injection (see the module docstring)
FAULT_ENV = "LAKEFUSE_TEST_LLM_FAULT"
FAULTS = ("abort", "segv", "hang")


class LlamaScorer:
    """llama.cpp (llama-cpp-python 0.3.x) log-probability scorer in *this* process (the model
    process runs it; lakefuse itself uses :class:`lakefuse.resolve.llm_process.LlamaBackend`)."""

    mode = "score"

    def __init__(self, path: str, n_ctx: int = 2048, n_threads: int = 1) -> None:
        # OpenMP threads that spin while waiting starve each other on a busy machine
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise LLMError("llama-cpp-python is not installed") from exc
        self.llm = Llama(
            model_path=str(path),
            n_ctx=n_ctx,
            n_batch=512,
            n_threads=n_threads,
            n_threads_batch=n_threads,
            logits_all=False,
            verbose=False,
        )
        #: the tokens whose keys and values are in the model's cache, in order
        self._kv: list[int] = []
        self.n_ctx = n_ctx
        self.n_vocab = self.llm.n_vocab()
        self.last_lengths: list[int] = []
        #: tokens run through the model so far (the shared prefix's reuse shows here)
        self.decoded = 0

    def close(self) -> None:
        """Free the model before the interpreter tears llama.cpp's bindings down."""
        self.llm.close()

    def tokenize(self, text: str) -> list[int]:
        return list(self.llm.tokenize(text.encode("utf-8"), add_bos=True, special=False))

    def _decode(
        self, tokens: Sequence[int], n_past: int, all_logits: bool, first_output: int | None = None
    ) -> np.ndarray:
        """Run ``tokens`` at positions ``n_past..``; log-softmax rows: of every token
        (``all_logits``), of the tokens from index ``first_output`` on, or of the last one."""
        llm = self.llm
        llm._ctx.kv_cache_seq_rm(-1, n_past, -1)
        del self._kv[n_past:]
        self.decoded += len(tokens)
        if first_output is None:
            first_output = 0 if all_logits else len(tokens) - 1
        rows: list[np.ndarray] = []
        for i in range(0, len(tokens), llm.n_batch):
            batch = list(tokens[i : i + llm.n_batch])
            llm._batch.set_batch(batch=batch, n_past=n_past, logits_all=False)
            wanted = [j for j in range(len(batch)) if i + j >= first_output]
            for j in wanted:
                llm._batch.batch.logits[j] = True
            if not wanted:  # set_batch asks for the last row; nothing is wanted from it
                llm._batch.batch.logits[len(batch) - 1] = True
            llm._ctx.decode(llm._batch)
            n_rows = max(1, len(wanted))
            ptr = llm._ctx.get_logits()
            block = np.ctypeslib.as_array(ptr, shape=(n_rows * self.n_vocab,)).reshape(
                n_rows, self.n_vocab
            )
            if wanted:
                rows.append(block.copy())
            n_past += len(batch)
            self._kv.extend(batch)
        logits = np.concatenate(rows)
        top = logits.max(axis=1, keepdims=True)
        return logits - top - np.log(np.exp(logits - top).sum(axis=1, keepdims=True))

    def score(
        self, prefix: str, continuations: Sequence[str], deadline: float | None = None
    ) -> list[float]:
        """Summed log-probability of each continuation after ``prefix``, and token counts
        are stored in ``self.last_lengths``.  The shared prefix is decoded together with the
        first continuation (one model call), each other continuation in a call of its own
        on top of the prefix's keys and values, which stay for the next prompt."""
        fulls = [self.tokenize(prefix + c) for c in continuations]
        if max(len(f) for f in fulls) > self.n_ctx:
            raise LLMError(f"prompt longer than the context ({self.n_ctx} tokens)")
        shared = _common_prefix(fulls)
        shared = min(shared, min(len(f) for f in fulls) - 1)
        if shared < 1:
            raise LLMError("empty prompt")
        reuse = min(_common_prefix([self._kv, fulls[0][:shared]]), shared - 1)
        # rows: the last prefix token's next-token distribution, then the first tail's
        f0 = fulls[0]
        lp0 = self._decode(f0[reuse:-1], reuse, False, first_output=shared - 1 - reuse)
        first = lp0[0]
        out: list[float] = []
        lengths: list[int] = []
        for n, f in enumerate(fulls):
            if deadline is not None and time.monotonic() > deadline:
                raise LLMTimeout("model timed out")
            tail = f[shared:]
            if n == 0:
                lp = lp0
            elif len(tail) > 1:
                lp = self._decode(tail[:-1], shared, all_logits=True)
                lp = np.concatenate([first[None, :], lp])
            else:
                lp = first[None, :]
            total = float(lp[np.arange(len(tail)), tail].sum())
            out.append(total)
            lengths.append(len(tail))
        # keep only the shared prefix as reusable for the next prompt
        del self._kv[shared:]
        self.llm._ctx.kv_cache_seq_rm(-1, shared, -1)
        self.last_lengths = lengths
        return out


def _common_prefix(seqs: Sequence[Sequence[int]]) -> int:
    n = min(len(s) for s in seqs)
    for i in range(n):
        t = seqs[0][i]
        if any(s[i] != t for s in seqs[1:]):
            return i
    return n


def _fault(kind: str) -> None:
    """The test-only failure of :data:`FAULT_ENV` (no core file for the forced crashes)."""
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if kind == "abort":
        os.abort()
    elif kind == "segv":
        os.kill(os.getpid(), signal.SIGSEGV)
    elif kind == "hang":
        os.kill(os.getpid(), signal.SIGSTOP)
    time.sleep(3600)  # a signal is delivered asynchronously: never answer meanwhile


def _answer(scorer: LlamaScorer, request: dict[str, Any]) -> dict[str, Any]:
    timeout = request.get("timeout_s")
    deadline = None if timeout is None else time.monotonic() + float(timeout)
    results = []
    before = scorer.decoded
    try:
        for prefix, conts in request["items"]:
            logp = scorer.score(prefix, conts, deadline)
            results.append([logp, scorer.last_lengths])
    except LLMTimeout as exc:
        return {"error": str(exc), "timeout": True}
    except (LLMError, ValueError, RuntimeError, KeyError, TypeError) as exc:
        return {"error": f"{type(exc).__name__}: {exc}", "timeout": False}
    return {"results": results, "decoded": scorer.decoded - before}


def serve(config: dict[str, Any], requests: BinaryIO, answers: BinaryIO) -> int:
    """Load the model, then answer ``requests`` (JSON lines) on ``answers`` until closed."""

    def send(message: dict[str, Any]) -> None:
        answers.write(json.dumps(message).encode() + b"\n")
        answers.flush()

    fault = os.environ.get(FAULT_ENV, "")
    try:
        scorer = LlamaScorer(config["path"], int(config["n_ctx"]), int(config["n_threads"]))
    except (LLMError, ValueError, RuntimeError, OSError) as exc:
        send({"error": f"{type(exc).__name__}: {exc}"})
        return 1
    try:
        send({"ready": True, "pid": os.getpid(), "n_vocab": scorer.n_vocab})
        while line := requests.readline():
            request = json.loads(line)
            if request.get("op") == "close":
                break
            if fault in FAULTS:
                _fault(fault)
            send(_answer(scorer, request))
    finally:
        scorer.close()
    return 0


def main(argv: Sequence[str]) -> int:
    # Ctrl-C belongs to the parent, which closes this process; native code's prints must not
    # reach the answer pipe: stdout is kept for the answers and fd 1 points at stderr
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    return serve(json.loads(argv[0]), sys.stdin.buffer, answers)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
