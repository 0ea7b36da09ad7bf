"""Inputs as a 02:00 night sees them: changed long before the run started.

Safe arrival (reconcile/ingest/arrival.py) reads a file only once its last change,
the later of mtime and ctime, is `schedule.settle` seconds old; a younger file makes
the run wait. A benchmark that copies or writes its inputs just before timing would
measure that wait, which a real night never pays. `os.utime` moves the mtime into
the past, but the kernel sets ctime to now on every change, utime included, and
nothing can set it back: so the benchmark waits out the interval once, untimed,
before it starts the clock.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from reconcile.config.rules import ScheduleRules

SETTLE = ScheduleRules().settle  # the default interval a workspace without a schedule uses
EVENING = 6 * 3600  # the files were copied onto the share the evening before
MARGIN = 0.5  # seconds beyond the interval, so no clock granularity makes a file young


def age_past_settle(root: Path, settle: float = SETTLE) -> float:
    """Backdate every file under `root` and wait until each changed more than `settle`
    seconds ago; returns the seconds waited (not part of any measurement)."""
    files = [path for path in root.rglob("*") if path.is_file()]
    evening = time.time() - EVENING
    for path in files:
        os.utime(path, (evening, evening))
    if not files:
        return 0.0
    newest = max(max(path.stat().st_mtime, path.stat().st_ctime) for path in files)
    wait = max(0.0, newest + settle + MARGIN - time.time())
    time.sleep(wait)
    return wait
