"""How many threads the numeric libraries (torch, faiss, onnxruntime) may use: by default
every core this process may run on (``os.sched_getaffinity``, else ``os.cpu_count``,
within a cgroup v2 CPU quota), lowered by ``$LAKEFUSE_THREADS`` or, per component, by its
``threads`` option."""

from __future__ import annotations

import math
import os
from pathlib import Path

ENV = "LAKEFUSE_THREADS"


CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def _cgroup_limit(path: Path = CGROUP_CPU_MAX) -> int | None:
    """Cores a cgroup v2 CPU quota grants (a container run with ``--cpus 2``: ``200000
    100000``), rounded up; None without a quota."""
    try:
        quota, period = path.read_text().split()[:2]
        return max(1, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):  # no cgroup v2 file, or "max": no quota
        return None


def available_cores() -> int:
    """Cores this process may run on: its CPU affinity where the OS reports one (else the
    machine's count), within a container's CPU quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # macOS, Windows: no affinity call
        cores = os.cpu_count() or 1
    limit = _cgroup_limit()
    return max(1, min(cores, limit) if limit else cores)


def thread_count(requested: int | None = None) -> int:
    """``requested`` when it is a positive number, else ``$LAKEFUSE_THREADS`` when set to
    one, else :func:`available_cores`; never more than the available cores."""
    cores = available_cores()
    if requested is not None and int(requested) >= 1:
        return min(int(requested), cores)
    env = os.environ.get(ENV, "").strip()
    if env.isdigit() and int(env) >= 1:
        return min(int(env), cores)
    return cores
