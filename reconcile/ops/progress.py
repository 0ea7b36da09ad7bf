"""How a run shows its steps: bars on a terminal, structured log lines under cron.

The pipeline only calls `step(label, total)` and the `advance(item)` it yields; it
never knows whether anyone is watching.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # rich is loaded only when bars are shown (on a terminal)
    from rich.console import Console

Advance = Callable[[str], None]


class Steps:
    """Silent: for library callers and tests."""

    @contextmanager
    def step(self, label: str, total: int | None = None) -> Iterator[Advance]:
        yield lambda item: None


class LogSteps(Steps):
    """One log line per step and per item: `step.start name=读取文件 total=8`."""

    def __init__(self, logger: logging.Logger) -> None:
        self.log = logger

    @contextmanager
    def step(self, label: str, total: int | None = None) -> Iterator[Advance]:
        started, cpu = time.monotonic(), _cpu()
        done = 0
        self.log.info("step.start name=%s%s", label, f" total={total}" if total is not None else "")

        def advance(item: str) -> None:
            nonlocal done
            done += 1
            self.log.info("step.item name=%s n=%d/%s item=%s", label, done, total or "?", item)

        yield advance
        self.log.info(
            "step.done name=%s seconds=%.2f cpu=%.2f%s",
            label,
            time.monotonic() - started,
            _cpu() - cpu,
            _peak(),
        )


def _cpu() -> float:
    """CPU seconds of this process and of its children that ended, so far: a step's
    share against its `seconds` says how many cores it kept busy (the forked children
    that write receipts count once they are waited for, within their step)."""
    spent = os.times()
    return spent.user + spent.system + spent.children_user + spent.children_system


def _peak() -> str:
    """` peak_mib=N`: the process's largest resident size so far, where the system says."""
    try:
        import resource
    except ImportError:  # Windows
        return ""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux counts KiB, macOS bytes.
    return f" peak_mib={peak / (2**20 if sys.platform == 'darwin' else 2**10):.0f}"


class BarSteps(Steps):
    """rich progress bars on stderr, cleared when the step ends."""

    def __init__(self, console: Console | None = None) -> None:
        from rich.console import Console

        self.console = console or Console(stderr=True)

    @contextmanager
    def step(self, label: str, total: int | None = None) -> Iterator[Advance]:
        from rich.markup import escape
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        columns = [SpinnerColumn(), TextColumn("{task.description}")]
        if total is not None:
            columns += [BarColumn(), MofNCompleteColumn()]
        columns += [TimeElapsedColumn(), TextColumn("[dim]{task.fields[item]}")]
        with Progress(*columns, console=self.console, transient=True) as bars:
            task = bars.add_task(label, total=total, item="")
            # A file's name is shown as it is, never read as rich markup ("[/]" in it).
            yield lambda item: bars.update(task, advance=1, item=escape(item))
