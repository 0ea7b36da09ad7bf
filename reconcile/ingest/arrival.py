"""Safe arrival: a file is read only once it has stopped changing.

Agencies copy files onto the share at any hour; a file still being copied has a
size or modification time that moves. A file counts as settled when nothing has
touched it for `schedule.settle` seconds: its last change (the later of mtime and
ctime, since copy tools that keep the original mtime still move ctime) is that old,
or it stays exactly the same while the run waits out the rest of the interval.
Only freshly changed files make the run wait, and only once.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from reconcile.ingest.files import InputFile, Waiting


class Stop(Protocol):
    """A stop request the wait honours (`reconcile.ops.stop.Stop`); ingest never imports ops."""

    def wait(self, seconds: float) -> bool: ...


@dataclass(frozen=True)
class Snapshot:
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, path: Path) -> Snapshot | None:
        """None when the file has gone (moved away by its owner meanwhile)."""
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        # Windows reports the creation time as st_ctime; there mtime alone tells.
        ctime = stat.st_mtime_ns if os.name == "nt" else stat.st_ctime_ns
        return cls(stat.st_size, stat.st_mtime_ns, ctime)

    @property
    def changed_ns(self) -> int:
        return max(self.mtime_ns, self.ctime_ns)

    def age_ns(self) -> int:
        """How long ago the file last changed (negative if the share's clock runs ahead)."""
        return time.time_ns() - self.changed_ns


def pause(seconds: float, stop: Stop | None) -> bool:
    """Wait; True when a stop was requested meanwhile (the wait then ends early)."""
    if stop is None:
        time.sleep(seconds)
        return False
    return stop.wait(seconds)


def settled(
    files: list[InputFile], settle: float, stop: Stop | None = None
) -> tuple[list[tuple[InputFile, Snapshot]], list[Waiting]]:
    """The files that are safe to read, each with the snapshot it was judged on, and
    the files still changing."""
    first = {item.rel: Snapshot.of(item.path) for item in files}
    settle_ns = int(settle * 1e9)
    ages = {rel: snapshot.age_ns() for rel, snapshot in first.items() if snapshot is not None}
    ages = {rel: age for rel, age in ages.items() if age < settle_ns}
    if ages:
        # A share whose clock runs ahead gives negative ages: never wait more than `settle`.
        pause(min(settle_ns, settle_ns - min(ages.values())) / 1e9, stop)
    ready: list[tuple[InputFile, Snapshot]] = []
    waiting: list[Waiting] = []
    for item in files:
        snapshot = first[item.rel]
        if snapshot is None:
            continue
        if item.rel in ages:
            again = Snapshot.of(item.path)
            if again is None:
                continue
            if again != snapshot:
                reason = f"文件仍在写入（{settle:g} 秒内大小或修改时间有变化），稳定后再读取"
                waiting.append(Waiting(item.rel, reason))
                continue
        ready.append((item, snapshot))
    return ready, waiting
