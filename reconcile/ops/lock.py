"""One run at a time: the lock shared by `reconcile run`, `reconcile serve` and `demo`.

The same kind of lock, named `serve`, keeps a second `reconcile serve` off a
workspace that one already serves, and tells `reconcile status` that it is alive.

The lock itself is an OS file lock (`filelock`: flock on Linux, msvcrt on Windows),
so it is released by the kernel when its holder dies, however it dies. Who holds
it is written beside it in `run.json`: a second run can then say whose run is in
the way, and a holder that finds `run.json` already there knows the previous
holder died without cleaning up, and says that it took over.
The state folder must be on a local disk: file locks on network shares are not
reliable (docs/deployment.md).
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from filelock import FileLock, Timeout

from reconcile.store.files import write_atomic

HOLDER_WRITE_TRIES = 20  # × 50 ms


@dataclass(frozen=True)
class Holder:
    pid: int
    host: str
    command: str  # run | serve | demo
    started_at: str  # ISO 8601 with offset

    def describe(self) -> str:
        started = self.started_at[:19].replace("T", " ")
        return f"进程 {self.pid}（{self.host}，{self.command}，开始于 {started}）"


class RunLocked(Exception):
    """Another run holds the lock."""

    def __init__(self, holder: Holder | None) -> None:
        self.holder = holder
        who = holder.describe() if holder else "另一个进程"
        super().__init__(f"另一个对账任务正在运行：{who}；本次未运行，请等它结束后再试")


def read_holder(state_dir: Path, name: str = "run") -> Holder | None:
    try:
        data = json.loads((state_dir / f"{name}.json").read_text(encoding="utf-8"))
        return Holder(int(data["pid"]), data["host"], data["command"], data["started_at"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


@contextmanager
def run_lock(
    state_dir: Path, command: str, started_at: datetime, name: str = "run"
) -> Iterator[Holder | None]:
    """Hold the lock `name`; yields the holder that died holding it before us, if any.

    Raises RunLocked at once, without waiting, if a live process holds it.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(state_dir / f"{name}.lock", blocking=False)
    try:
        lock.acquire()
    except Timeout:
        raise RunLocked(_holder_of_busy_lock(state_dir, name)) from None
    holder_path = state_dir / f"{name}.json"
    try:
        stale = read_holder(state_dir, name) if holder_path.exists() else None
        started = started_at.isoformat("T", "seconds")
        me = Holder(os.getpid(), socket.gethostname(), command, started)
        write_atomic(holder_path, json.dumps(asdict(me), ensure_ascii=False).encode())
        yield stale
    finally:
        holder_path.unlink(missing_ok=True)
        lock.release()


def _holder_of_busy_lock(state_dir: Path, name: str) -> Holder | None:
    """The holder writes its name just after taking the lock: give it a moment."""
    for _ in range(HOLDER_WRITE_TRIES):
        holder = read_holder(state_dir, name)
        if holder is not None:
            return holder
        time.sleep(0.05)
    return None


@dataclass(frozen=True)
class LockState:
    running: Holder | None  # a live process holds the lock
    died: Holder | None  # the last holder died without releasing it


def lock_state(state_dir: Path, name: str = "run") -> LockState:
    """Whether the lock is held, without touching it (for `reconcile status`).

    Probing the lock itself could make a run starting at that instant find it taken,
    and needs write access; the holder's note and whether its process lives tell the
    same, read-only. (A holder on another machine is taken as alive.)
    """
    holder = read_holder(state_dir, name)
    if holder is None:
        return LockState(None, None)
    if holder.host != socket.gethostname() or _alive(holder.pid):
        return LockState(holder, None)
    return LockState(None, holder)


def _alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill(pid, 0) would send Ctrl+C there: assume alive
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    except OSError:
        return False
    return True
