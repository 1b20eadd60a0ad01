"""Stage timing (wall time, peak memory) and progress display on stderr."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import psutil
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from lakefuse.memory import trim

log = logging.getLogger("lakefuse")
console = Console(stderr=True)


@dataclass
class StageStats:
    name: str
    wall_s: float = 0.0
    peak_rss_mb: float = 0.0
    detail: dict[str, object] = field(default_factory=dict)


class _PeakSampler(threading.Thread):
    def __init__(self, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.proc = psutil.Process()
        self.interval = interval
        self.peak = self.proc.memory_info().rss
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            self.peak = max(self.peak, self.proc.memory_info().rss)

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        return max(self.peak, self.proc.memory_info().rss)


class Tracker:
    """Records each stage; shows a spinner/bar unless quiet."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.stages: list[StageStats] = []

    @contextmanager
    def stage(self, name: str) -> Iterator[StageStats]:
        stats = StageStats(name)
        sampler = _PeakSampler()
        sampler.start()
        t0 = time.perf_counter()
        try:
            if not self.quiet:
                with console.status(f"[bold]{name}[/bold] …", spinner="dots"):
                    yield stats
            else:
                yield stats
        finally:  # a failing stage must not leave its sampler thread running
            stats.wall_s = time.perf_counter() - t0
            stats.peak_rss_mb = sampler.stop() / 2**20
            trim()  # what the stage freed goes back to the system, not on to the next stage
        self.stages.append(stats)
        if not self.quiet:
            console.log(f"{name}: {stats.wall_s:.2f}s, peak {stats.peak_rss_mb:.0f} MiB")

    def progress(self, description: str, total: int) -> Progress:
        """A progress bar for loops (disabled when quiet)."""
        return Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=self.quiet,
            transient=True,
        )

    def as_dict(self) -> dict[str, dict[str, object]]:
        return {
            s.name: {"wall_s": round(s.wall_s, 4), "peak_rss_mb": round(s.peak_rss_mb, 1)}
            | s.detail
            for s in self.stages
        }
