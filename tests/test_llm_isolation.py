"""llama.cpp runs in a child process: its crash or hang never ends a run (issue 21).

The crashes are real: the model process is killed with ``os.kill``, or made to abort, segfault
or stop itself on its first request through the test-only ``LAKEFUSE_TEST_LLM_FAULT``
(:mod:`lakefuse.resolve.llm_worker`), which is where llama.cpp's AMX path crashed."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pandas as pd
import psutil
import pyarrow.parquet as pq
import pytest

import lakefuse
from lakefuse.resolve.iclcr import ICLCR
from lakefuse.resolve.llm import LLMProcessError
from lakefuse.resolve.llm_process import LlamaBackend, close_workers, describe_exit
from lakefuse.resolve.llm_worker import FAULT_ENV
from lakefuse.threads import available_cores, thread_count
from tests.test_resolve import problem
from tests.test_resolve_iclcr import TEAMS, _real_model_or_skip, lake, packers_conflict

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "lake"
FALLBACK = "iclcr_fallback:typo_vote"


@pytest.fixture(autouse=True)
def _fresh_model_processes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A private answer cache, and no model process left from an earlier test (one started
    without the fault would be reused)."""
    monkeypatch.setenv("LAKEFUSE_CACHE", str(tmp_path / "cache"))
    close_workers()
    yield
    close_workers()


def _stopped_children() -> list[psutil.Process]:
    out = []
    for c in psutil.Process().children(recursive=True):
        try:
            if c.status() == psutil.STATUS_STOPPED:
                out.append(c)
        except psutil.NoSuchProcess:
            pass
    return out


def _kill(pid: int, sig: int) -> None:
    """Send ``sig`` and wait until the process has exited (without reaping it: that is for
    its parent), so that the next request finds it dead rather than dying under it."""
    os.kill(pid, sig)
    for _ in range(1000):
        if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
            return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} still alive after {signal.Signals(sig).name}")


def test_llama_threads_default_to_every_available_core() -> None:
    cores = available_cores()
    assert 1 <= cores <= len(os.sched_getaffinity(0))
    assert thread_count(None) == cores
    assert thread_count(1) == 1
    assert thread_count(cores + 8) == cores  # an option lowers it, never raises it
    assert ICLCR().n_threads is None
    with pytest.raises(ValueError, match="n_threads"):
        ICLCR(n_threads=0)
    with pytest.raises(ValueError, match="restarts"):
        ICLCR(restarts=-1)


def test_exit_descriptions_name_the_signal() -> None:
    assert describe_exit(-signal.SIGSEGV) == "killed by SIGSEGV"
    assert describe_exit(-signal.SIGABRT) == "killed by SIGABRT"
    assert describe_exit(3) == "exited with status 3"


def test_a_model_file_that_does_not_load_falls_back(tmp_path: Path) -> None:
    """A broken GGUF fails in the model process (an error, or even a crash there); the run's
    conflicts go to the fallback, and the report says the model was unavailable."""
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + bytes(range(256)) * 64)
    ctx, p = packers_conflict("Soldier Field")
    r = ICLCR(model=str(bad), cache=False)
    assert [d.method for d in r.resolve([p], ctx)] == [FALLBACK]
    state = r.report()["iclcr"]["model_process"]
    assert state["status"] == "unavailable" and "model process" in state["reason"]
    assert r.report()["iclcr"]["fallback"] == 1


# -- the real bundled model ---------------------------------------------------------------


def _problems() -> tuple[object, list]:
    """Four players whose two tables disagree on the facility (votes tied 1-1)."""
    teams = TEAMS[:4]
    rows = {
        "b": [(f"New {t[0]}", t[0], TEAMS[(i + 1) % 6][1], *t[2:]) for i, t in enumerate(teams)],
        "a": [(f"New {t[0]}", *t) for t in teams],
    }
    ctx = lake(rows)
    known = [{"Player": f"New {t[0]}", "Team": t[0], "Opened": t[3]} for t in teams]
    return ctx, [problem(ctx, "Facility", [("b", i), ("a", i)], i, known[i]) for i in range(4)]


@pytest.mark.slow
def test_the_model_answers_from_its_own_process_and_reuses_the_prefix() -> None:
    _real_model_or_skip()
    b = LlamaBackend("smollm2", n_threads=1)
    assert b.pid is not None and b.pid != os.getpid()
    assert psutil.Process(b.pid).ppid() == os.getpid()
    demos = "".join(f'Team="{t[0]}" => Facility="{t[1]}"\n' for t in TEAMS)
    packers, bears = demos + 'Team="Packers" => Facility=', demos + 'Team="Bears" => Facility='
    conts = ['"Lambeau Field"\n', '"Soldier Field"\n']
    b.score(packers, conts, time.monotonic() + 120)
    first = b.last_decoded
    reused = b.score(bears, conts, time.monotonic() + 120)
    # the demonstrations' keys and values stay in the model process for the next prompt ...
    assert 0 < b.last_decoded < first / 3
    assert b.report()["n_threads"] == 1
    # ... and give the scores of a fresh process, which decodes the whole prompt
    close_workers()
    fresh = LlamaBackend("smollm2", n_threads=1)
    assert fresh.score(bears, conts, time.monotonic() + 120) == pytest.approx(reused, abs=0.05)
    assert fresh.last_decoded > first / 2


@pytest.mark.slow
def test_a_killed_model_process_is_restarted_once_then_given_up() -> None:
    """os.kill on the real model process between runs of one resolver: the first loss is
    replaced by a new process (the model still answers), the second gives the model up."""
    _real_model_or_skip()
    ctx, problems = _problems()
    r = ICLCR(k=3, timeout_s=300, cache=False)
    assert {d.method for d in r.resolve(problems, ctx)} == {"iclcr"}
    state = r.report()["iclcr"]["model_process"]
    assert state["status"] == "ok" and state["n_threads"] == available_cores()
    first_pid = r._backend.pid
    _kill(first_pid, signal.SIGKILL)
    assert {d.method for d in r.resolve(problems, ctx)} == {"iclcr"}
    state = r.report()["iclcr"]["model_process"]
    assert state["status"] == "restarted" and (state["crashes"], state["restarts"]) == (1, 1)
    assert "SIGKILL" in state["events"][0] and r._backend.pid not in (None, first_pid)
    _kill(r._backend.pid, signal.SIGSEGV)
    assert [d.method for d in r.resolve(problems, ctx)] == [FALLBACK] * 4
    report = r.report()["iclcr"]
    assert report["model_process"]["status"] == "given_up"
    assert "SIGSEGV" in report["model_process"]["events"][2]
    assert report["fallback"] == 4 and report["model"] == 0


@pytest.mark.slow
def test_a_model_process_that_aborts_fails_the_request_not_the_caller(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _real_model_or_skip()
    monkeypatch.setenv(FAULT_ENV, "abort")
    b = LlamaBackend("smollm2", restarts=0)
    pid = b.pid
    with pytest.raises(LLMProcessError) as crash:
        b.score('Team="Packers" => Facility=', ['"A"\n', '"B"\n'], time.monotonic() + 60)
    assert crash.value.kind == "crashed" and crash.value.given_up
    assert "SIGABRT" in str(crash.value)
    with pytest.raises(LLMProcessError) as later:  # no new process: the model is given up
        b.score('Team="Bears" => Facility=', ['"A"\n', '"B"\n'], time.monotonic() + 60)
    assert later.value.kind == "given_up" and b.pid is None
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


@pytest.mark.slow
def test_a_hung_model_process_falls_back_after_the_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The model process stops (SIGSTOP) on its first request: after the timeout and as long
    again it is killed and every conflict goes to the fallback."""
    _real_model_or_skip()
    monkeypatch.setenv(FAULT_ENV, "hang")
    ctx, problems = _problems()
    r = ICLCR(k=3, timeout_s=1.0, restarts=0, cache=False)
    r.make_backend()  # loading the model is not part of a conflict's time
    t0 = time.monotonic()
    decisions = r.resolve(problems, ctx)
    waited = time.monotonic() - t0
    assert [d.method for d in decisions] == [FALLBACK] * 4
    assert 1.0 <= waited < 30.0
    state = r.report()["iclcr"]["model_process"]
    assert state["status"] == "given_up" and (state["hangs"], state["crashes"]) == (1, 0)
    assert "hung" in state["events"][0]
    assert _stopped_children() == []  # the stopped process was killed, not left behind


@pytest.mark.slow
def test_a_segfaulting_model_process_still_gives_a_complete_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """llama.cpp's AMX crash, reproduced: the model process dies with SIGSEGV on its first
    request, and again after its one restart.  The run completes; every conflict the model
    was to answer went to typo_vote, and provenance and run.json say so."""
    _real_model_or_skip()
    monkeypatch.setenv(FAULT_ENV, "segv")
    out = tmp_path / "out"
    lakefuse.integrate(
        [EXAMPLES],
        out,
        resolver="iclcr",
        judge="similarity",
        quiet=True,
        resolver_options={"model": "smollm2"},
    )
    run = json.loads((out / "run.json").read_text())
    resolve = run["stages"]["resolve"]
    methods = resolve["methods"]
    assert methods.get(FALLBACK, 0) > 0 and "iclcr" not in methods
    provenance = pq.read_table(out / "provenance.parquet").to_pandas()
    fell_back = provenance[provenance.method == FALLBACK]
    assert fell_back[["set_id", "attribute"]].drop_duplicates().shape[0] == methods[FALLBACK]
    membership = pd.read_csv(out / "membership.csv")
    inputs = {
        (f.stem, i)
        for f in EXAMPLES.glob("*.csv")
        for i in range(len(pd.read_csv(f, dtype=str, keep_default_na=False)))
    }
    assert set(zip(membership.table, membership.row)) == inputs
    detail = resolve["iclcr"]
    assert detail["fallback"] == methods[FALLBACK]
    state = detail["model_process"]
    assert state["status"] == "given_up"
    assert (state["crashes"], state["restarts"]) == (2, 1)
    crashes = [e for e in state["events"] if "crashed" in e]
    assert len(crashes) == 2 and all("SIGSEGV" in e for e in crashes)


def test_the_installed_llama_cpp_has_no_amx_code_path() -> None:
    """llama.cpp's AMX kernels crash (SIGSEGV in ggml_backend_amx_mul_mat, llama.cpp issue
    20824) on CPUs with Intel AMX; the Makefile builds llama.cpp without them. The library's
    own system line names AMX_INT8 when the AMX path is compiled in, whatever this CPU is."""
    llama_cpp = pytest.importorskip("llama_cpp")
    info = llama_cpp.llama_print_system_info().decode()
    assert "AVX2" in info  # the line lists the compiled CPU features
    assert "AMX" not in info, info
