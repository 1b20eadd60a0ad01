"""llama.cpp in a child process: a native crash or a hang there never ends a lakefuse run.

:class:`LlamaBackend` is what ICLCR talks to.  It starts the model process
(:mod:`lakefuse.resolve.llm_worker`) once, sends it each prompt prefix with its candidates, and
waits for the scores with a time limit of its own:

- the child checks the request's deadline between decodes and answers "timed out" itself
  (:class:`~lakefuse.resolve.llm.LLMTimeout`; the process stays and keeps its cache);
- a child that says nothing for the request's time and as long again (at least
  :data:`MIN_GRACE_S`) is hung: it is killed (SIGKILL) and the request fails with
  :class:`~lakefuse.resolve.llm.LLMProcessError`;
- a child that dies (killed by a signal such as SIGSEGV or SIGABRT, or exiting: the pipe
  reaches its end) fails the request with :class:`~lakefuse.resolve.llm.LLMProcessError`
  naming the signal or the exit status.

Restart policy: after a crash or a hang the next request starts a new model process, at most
``restarts`` times (1 by default) per backend; after that the backend gives the model up (its
``given_up`` says why) and every request fails at once with ``given_up`` set on the error, so a
caller never waits on a model that keeps dying.  The request that met the crash is not retried
(it may be the one that makes the model crash).  ICLCR makes one backend per resolver, i.e. per
run, so its conflicts go to the classic fallback resolver.

Model processes are shared by backends of the same (model file, context, threads) in this
process, so consecutive runs (benchmarks, tests) reuse the loaded model and its cache; they are
closed at exit (:func:`close_workers`), and a model process whose parent is gone ends when its
stdin does.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lakefuse.resolve.llm import LLMError, LLMProcessError, LLMTimeout, locate_model
from lakefuse.threads import thread_count

log = logging.getLogger("lakefuse")

#: a child silent for a request's time plus this long at least is hung
MIN_GRACE_S = 2.0
#: the longest wait for a request without a deadline, and for the model to load
UNBOUNDED_WAIT_S = 3600.0
LOAD_TIMEOUT_S = 600.0


def describe_exit(returncode: int | None) -> str:
    if returncode is None:
        return "still running"
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exited with status {returncode}"


class ModelProcess:
    """One model process and the pipe to it; one request at a time."""

    def __init__(self, path: Path, n_ctx: int, n_threads: int) -> None:
        env = dict(os.environ)
        # OpenMP threads that spin while waiting starve each other on a busy machine
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        # the child imports the same lakefuse as this process, installed or not
        src = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
        config = {"path": str(path), "n_ctx": n_ctx, "n_threads": n_threads}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lakefuse.resolve.llm_worker", json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            bufsize=0,
            # not in the terminal's process group: Ctrl-C reaches lakefuse, which closes it
            start_new_session=True,
        )
        self.pid = self.proc.pid
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._in, self._out = self.proc.stdin.fileno(), self.proc.stdout.fileno()
        os.set_blocking(self._in, False)  # a request never waits on a full pipe past its time
        self.lock = threading.Lock()
        self.failure: str | None = None  # why it is gone, once it is
        self.failure_kind = "crashed"
        self._buf = b""
        hello = self._read(time.monotonic() + LOAD_TIMEOUT_S, "loading the model")
        if "error" in hello:
            self.close()
            raise LLMError(f"model process could not load {path.name}: {hello['error']}")

    @property
    def alive(self) -> bool:
        if self.failure is None and self.proc.poll() is not None:  # died between requests
            self.failure = f"crashed: {describe_exit(self.proc.returncode)} while idle"
            self._close_pipes()
        return self.failure is None

    def error(self) -> LLMProcessError:
        """Why the process is gone, as the error a request meets."""
        return LLMProcessError(
            f"model process (pid {self.pid}) {self.failure or 'is gone'}", self.failure_kind
        )

    def request(self, message: dict[str, Any], wait_until: float, doing: str) -> dict[str, Any]:
        """Send ``message`` and read the answer; :class:`LLMProcessError` if the process dies
        or says nothing until ``wait_until`` (it is then killed)."""
        with self.lock:
            if not self.alive:
                raise self.error()
            started = time.monotonic()
            data = memoryview(json.dumps(message).encode() + b"\n")
            while data:
                left = wait_until - time.monotonic()
                if left <= 0:
                    self._gone("hung", doing, started)
                if select.select([], [self._in], [], left)[1]:
                    try:
                        data = data[os.write(self._in, data) :]
                    except BlockingIOError:
                        continue
                    except OSError:  # BrokenPipeError: it died before reading
                        self._gone("crashed", doing, started)
            return self._read(wait_until, doing, started)

    def _read(self, wait_until: float, doing: str, started: float | None = None) -> dict[str, Any]:
        started = time.monotonic() if started is None else started
        while b"\n" not in self._buf:
            left = wait_until - time.monotonic()
            if left <= 0:
                self._gone("hung", doing, started)
            if select.select([self._out], [], [], left)[0]:
                chunk = os.read(self._out, 1 << 16)
                if not chunk:
                    self._gone("crashed", doing, started)
                self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        try:
            answer = json.loads(line)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            self.kill()
            self.failure = f"crashed: garbled answer while {doing}, killed"
            raise self.error()
        return answer

    def _gone(self, kind: str, doing: str, started: float) -> None:
        """Record why the process is gone (killing it if hung) and raise."""
        self.failure_kind = kind
        if kind == "hung":
            self.kill()
            waited = time.monotonic() - started
            self.failure = f"hung: no answer in {waited:.1f} s while {doing}, killed"
        else:
            try:
                self.proc.wait(timeout=5.0)
            except subprocess.TimeoutExpired:
                self.kill()  # closed its stdout but lives on
            self.failure = f"crashed: {describe_exit(self.proc.returncode)} while {doing}"
        self._close_pipes()
        raise self.error()

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.kill()  # SIGKILL also ends a stopped process
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10.0)
        self._close_pipes()

    def close(self) -> None:
        """Ask the process to end; kill it if it does not within a few seconds."""
        self.failure = self.failure or "closed"
        assert self.proc.stdin is not None
        if self.proc.poll() is None and not self.proc.stdin.closed:
            with contextlib.suppress(OSError):
                os.write(self._in, b'{"op": "close"}\n')  # or it ends at the end of its stdin
            self._close_pipes()
            try:
                self.proc.wait(timeout=5.0)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close_pipes()

    def _close_pipes(self) -> None:
        for pipe in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                if pipe is not None:
                    pipe.close()


_WORKERS: dict[tuple[str, int, int], ModelProcess] = {}
_WORKERS_LOCK = threading.Lock()


def model_process(path: Path, n_ctx: int, n_threads: int) -> ModelProcess:
    """The running model process for these settings, started if there is none."""
    key = (str(path), n_ctx, n_threads)
    with _WORKERS_LOCK:
        worker = _WORKERS.get(key)
        if worker is None or not worker.alive:
            _WORKERS.pop(key, None)
            worker = ModelProcess(path, n_ctx, n_threads)
            _WORKERS[key] = worker
        return worker


@atexit.register
def close_workers() -> None:
    """End every model process this process started."""
    with _WORKERS_LOCK:
        while _WORKERS:
            _, worker = _WORKERS.popitem()
            worker.close()


class LlamaBackend:
    """llama.cpp log-probability scorer behind a process boundary (see the module docstring).

    ``n_threads``: llama.cpp threads, every available core by default (``None``); a number
    lowers it.  ``restarts``: new model processes allowed after a crash or hang."""

    mode = "score"

    def __init__(
        self,
        model: str = "smollm2",
        n_ctx: int = 2048,
        n_threads: int | None = None,
        restarts: int = 1,
    ) -> None:
        self.path = locate_model(model)
        self.model_id = f"llama.cpp:{self.path.name}:{self.path.stat().st_size}"
        self.n_ctx = int(n_ctx)
        self.n_threads = thread_count(n_threads)
        self.restarts_left = max(0, int(restarts))
        self.restarts = 0
        self.crashes = 0
        self.hangs = 0
        #: what happened to the model processes, in order (for run.json)
        self.events: list[str] = []
        #: why the model was given up for this backend's life, or None
        self.given_up: str | None = None
        self.last_lengths: list[int] = []
        #: tokens the model ran for the last request (the rest came from its cache)
        self.last_decoded = 0
        self._worker: ModelProcess | None = model_process(self.path, self.n_ctx, self.n_threads)
        self._counted: ModelProcess | None = None  # the dead process already counted

    @property
    def pid(self) -> int | None:
        """The model process now serving this backend (None when there is none)."""
        return self._worker.pid if self._worker is not None and self._worker.alive else None

    def score(
        self, prefix: str, continuations: Sequence[str], deadline: float | None = None
    ) -> list[float]:
        """Summed log-probability of each continuation after ``prefix`` (token counts in
        ``self.last_lengths``), computed in the model process."""
        [(logp, lengths)] = self.score_many([(prefix, continuations)], deadline)
        self.last_lengths = lengths
        return logp

    def score_many(
        self, items: Sequence[tuple[str, Sequence[str]]], deadline: float | None = None
    ) -> list[tuple[list[float], list[int]]]:
        """Several (prefix, continuations) in one round trip: per item, the log-probabilities
        and token counts."""
        worker = self._live_worker()
        now = time.monotonic()
        if deadline is None:
            timeout, wait_until = None, now + UNBOUNDED_WAIT_S
        else:
            timeout = max(0.0, deadline - now)
            wait_until = now + timeout + max(MIN_GRACE_S, timeout)
        message = {"op": "score", "items": [[p, list(c)] for p, c in items], "timeout_s": timeout}
        try:
            answer = worker.request(message, wait_until, "scoring")
        except LLMProcessError as exc:
            self._counted = worker
            self._lost(exc)
            raise
        if "error" in answer:
            raise (LLMTimeout if answer.get("timeout") else LLMError)(answer["error"])
        self.last_decoded = int(answer.get("decoded", 0))
        return [(list(logp), list(n)) for logp, n in answer["results"]]

    def _live_worker(self) -> ModelProcess:
        worker = self._worker
        if worker is not None and worker.alive:
            return worker
        if worker is not None and worker.failure != "closed" and worker is not self._counted:
            self._counted = worker  # died between requests: a crash all the same
            self._lost(worker.error())
        if self.given_up is not None:
            raise LLMProcessError(f"model given up: {self.given_up}", "given_up", given_up=True)
        restart = worker is not None and worker.failure != "closed"  # else: closed at rest
        if restart:
            self.restarts_left -= 1
            self.restarts += 1
        try:
            self._worker = model_process(self.path, self.n_ctx, self.n_threads)
        except LLMError as exc:
            self.given_up = f"restart failed: {exc}"
            self.events.append(self.given_up)
            raise LLMProcessError(f"model given up: {exc}", "given_up", given_up=True) from exc
        if restart:
            self.events.append(f"restarted (pid {self._worker.pid})")
            log.warning("iclcr: model process restarted (pid %d)", self._worker.pid)
        return self._worker

    def _lost(self, exc: LLMProcessError) -> None:
        """Count a crash or hang; give the model up when no restart is left."""
        if exc.kind == "hung":
            self.hangs += 1
        else:
            self.crashes += 1
        self.events.append(str(exc))
        if self.restarts_left <= 0:
            self.given_up = str(exc)
            exc.given_up = True
            self.events.append("model given up for the rest of the run")
        log.warning("iclcr: %s%s", exc, "; model given up" if exc.given_up else "")

    def report(self) -> dict[str, Any]:
        """What happened to the model processes (the resolve stage's detail in run.json)."""
        return {
            "isolated": True,
            "n_threads": self.n_threads,
            "crashes": self.crashes,
            "hangs": self.hangs,
            "restarts": self.restarts,
            "given_up": self.given_up is not None,
            "events": list(self.events),
        }
