"""One measured system run for ``lakefuse bench scale pipeline``: a fresh Python process.

The parent starts ``python -m lakefuse.bench.scale_child SYSTEM INPUTS OUT PROGRESS SEED
OVERRIDES`` in its own session with the run folder as working directory (so DuckDB's default
spill folder ``.tmp`` of an in-memory database lands there too), and measures it from outside:

* wall time, from start to exit (interpreter start and imports included: what a user waits);
* peak RSS: the larger of the kernel's high-water mark of the child (``os.wait4``'s
  ``ru_maxrss``: the largest single process among it and the children it reaped) and the
  largest sampled sum of the RSS of the child's whole process tree (psutil, every
  ``SAMPLE_S``). The tree sum is what counts for ``--engine spark``: the Spark JVM is a child
  of the Python driver, alive beside it, and is never reaped by it; both figures are kept;
* temporary disk: the largest sampled size of the run folder (OUT, lakefuse's staging folder
  beside it with ``lakefuse.duckdb`` and its spill folder, DuckDB's ``.tmp``, and with Spark
  its local folders, pointed there by ``SPARK_LOCAL_DIRS``) and its size at the end;
* how far it got: the child logs each stage's start and end (``PROGRESS``, JSON lines), so a
  run killed at the wall-clock cap still shows the stages it finished and the one it was in.

The child runs the systems as :func:`lakefuse.bench.systems.execute` does (lakefuse: default
Settings, quiet, unless the caller passes overrides); only the stage tracker is swapped for
one that also writes the log.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SAMPLE_S = 0.5
DISK_EVERY = 4  # disk is walked every DISK_EVERY samples


def folder_size(path: Path) -> int:
    total = 0
    stack = [str(path)]
    while stack:
        with contextlib.suppress(OSError), os.scandir(stack.pop()) as it:
            for e in it:
                with contextlib.suppress(OSError):
                    if e.is_dir(follow_symlinks=False):
                        stack.append(e.path)
                    elif e.is_file(follow_symlinks=False):
                        total += e.stat(follow_symlinks=False).st_blocks * 512
    return total


def _tree_rss(pid: int, cpu: dict[int, float] | None = None) -> tuple[int, int]:
    """The summed RSS of ``pid`` and all its descendants, and how many processes that is;
    ``cpu`` gets each one's CPU seconds so far (user + system) by pid."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0, 0
    total, count = 0, 0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
            count += 1
            if cpu is not None:
                t = p.cpu_times()
                cpu[p.pid] = t.user + t.system
    return total, count


def read_progress(path: Path) -> dict[str, Any]:
    """The stages a run finished (name -> wall_s), the one it was in when it stopped and the
    seconds it had spent there (to now)."""
    done: dict[str, float] = {}
    current, since = None, None
    if path.exists():
        for line in path.read_text().splitlines():
            with contextlib.suppress(ValueError, KeyError):
                ev = json.loads(line)
                if ev["event"] == "start":
                    current, since = ev["stage"], ev.get("t")
                else:
                    done[ev["stage"]] = ev["wall_s"]
                    current, since = None, None
    out: dict[str, Any] = {"finished_stages": done, "stage_at_stop": current}
    if current is not None and since is not None:
        out["stage_at_stop_s"] = round(max(0.0, time.time() - since), 3)
    return out


def run_measured(
    system: str,
    inputs: Path,
    run_dir: Path,
    timeout: float,
    seed: int = 0,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run ``system`` (lakefuse or splink) on ``inputs`` with output ``run_dir/out``;
    ``overrides``: lakefuse Settings changed from the defaults (in the benchmark only
    ``engine='spark'``, the ``lakefuse-spark`` row)."""
    run_dir = Path(run_dir).resolve()
    shutil.rmtree(run_dir, ignore_errors=True)  # an earlier run's files would count as disk
    run_dir.mkdir(parents=True)
    out, progress, log = run_dir / "out", run_dir / "progress.jsonl", run_dir / "child.log"
    disk0 = folder_size(run_dir)
    load = os.getloadavg()[0]  # the machine's 1-minute load: others' work slows a run down
    cmd = [sys.executable, "-m", "lakefuse.bench.scale_child", system, str(Path(inputs).resolve())]
    cmd += [str(out), str(progress), str(seed), json.dumps(overrides or {})]
    # no embedding cache: each run embeds its values as a user's first run does (a warm
    # cache from an earlier size or run would hide the encoder's cost)
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "LAKEFUSE_NO_CACHE": "1"}
    if (overrides or {}).get("engine") == "spark":  # Spark's shuffle and checkpoint files
        env["SPARK_LOCAL_DIRS"] = str(run_dir / "spark-local")
    with log.open("w") as fh:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            cmd, cwd=run_dir, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True, env=env
        )
    tree_peak, tree_procs, disk_peak, tick, timed_out = 0, 0, 0, 0, False
    status, usage = None, None
    tree_cpu: dict[int, float] = {}  # last seen CPU seconds of each process of the tree
    while True:
        pid, st, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            status, usage = st, ru
            break
        if time.perf_counter() - t0 > timeout:
            timed_out = True
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            _, status, usage = os.wait4(proc.pid, 0)
            break
        rss, count = _tree_rss(proc.pid, tree_cpu)
        tree_peak, tree_procs = max(tree_peak, rss), max(tree_procs, count)
        if tick % DISK_EVERY == 0:
            disk_peak = max(disk_peak, folder_size(run_dir) - disk0)
        tick += 1
        time.sleep(SAMPLE_S)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    with contextlib.suppress(ProcessLookupError, PermissionError):  # leftovers of the group
        os.killpg(proc.pid, signal.SIGKILL)
    disk_end = folder_size(run_dir)
    res: dict[str, Any] = {
        "ok": not timed_out and proc.returncode == 0 and (out / "membership.csv").exists(),
        "timed_out": timed_out,
        "exit_code": proc.returncode,
        "wall_s": round(wall, 3),
        "peak_rss_mb": round(max(usage.ru_maxrss * 1024, tree_peak) / 2**20, 1),
        "peak_rss_self_mb": round(usage.ru_maxrss / 1024, 1),  # Linux: KiB
        "peak_rss_tree_mb": round(tree_peak / 2**20, 1),
        "tree_procs_max": tree_procs,
        # the child's own and reaped children's, or the tree's as last sampled (a Spark JVM
        # is never reaped by the child), whichever is larger
        "cpu_s": round(max(usage.ru_utime + usage.ru_stime, sum(tree_cpu.values())), 2),
        "cpu_self_s": round(usage.ru_utime + usage.ru_stime, 2),
        "load_before": round(load, 2),
        "load_after": round(os.getloadavg()[0], 2),
        "disk_peak_mb": round(max(disk_peak, disk_end - disk0) / 2**20, 2),
        "disk_end_mb": round(disk_end / 2**20, 2),
        "out": str(out),
        **read_progress(progress),
    }
    if timed_out:
        res["error"] = f"timeout after {timeout:.0f}s"
    elif not res["ok"]:
        tail = log.read_text(errors="replace").strip().splitlines()[-3:] if log.exists() else []
        res["error"] = " | ".join(tail)[-500:] or f"exit {proc.returncode}"
    if (out / "run.json").exists() and res["ok"]:
        run = json.loads((out / "run.json").read_text())
        res["system_wall_s"] = run.get("wall_s_total")
        res["stages"] = {k: v.get("wall_s") for k, v in run.get("stages", {}).items()}
        res["stage_peak_rss_mb"] = {
            k: v.get("peak_rss_mb") for k, v in run.get("stages", {}).items()
        }
        if "splink" in run:
            res["splink"] = run["splink"]
    return res


def _logging_tracker(progress: Path) -> type:
    from lakefuse.progress import StageStats, Tracker

    class LoggingTracker(Tracker):
        """The usual tracker, plus one JSON line per stage start and end."""

        def _log(self, **event: Any) -> None:
            with progress.open("a") as fh:
                fh.write(json.dumps(event) + "\n")

        @contextlib.contextmanager
        def stage(self, name: str) -> Iterator[StageStats]:
            self._log(stage=name, event="start", t=time.time())
            with super().stage(name) as st:
                yield st
            self._log(stage=name, event="end", t=time.time(), wall_s=round(st.wall_s, 4))

    return LoggingTracker


def main(argv: list[str]) -> int:
    system, inputs, out, progress, seed, overrides = argv
    import lakefuse.bench.baselines as baselines
    import lakefuse.pipeline as pipeline
    from lakefuse.bench.systems import System, execute

    tracker = _logging_tracker(Path(progress))
    pipeline.Tracker = tracker  # type: ignore[misc]
    baselines.Tracker = tracker  # type: ignore[misc]
    execute(System(system, system, json.loads(overrides)), Path(inputs), Path(out), int(seed))
    return 0


if __name__ == "__main__":
    from lakefuse.shutdown import exit_now

    exit_now(main(sys.argv[1:]))  # each system's process ends as the lakefuse command does
