"""Publishing work done beside the night's other steps, in forked copies of the process.

A night is CPU-bound Python, one core's worth. The agencies' receipts are half of
publishing and the settlement workbook a good part of the rest, and nothing waits for
them but the mails; so where the machine has a second core, forked children write
them while the parent writes the CSVs, the dispute report and the ruling sheet. fork
gives a child the judged night as it is, without pickling a single row; the child
writes its files (atomically, as always) and sends back only their paths.

A child does nothing but that work, in pure Python (polars' thread pool is not
copied by fork: a polars call there would wait for ever). It neither reads the ledger
nor logs, and it leaves with `os._exit`, so no buffer, connection or lock of the
parent's is touched twice. Off Linux (Windows has no fork; macOS's system libraries
do not survive it), on one CPU, in a fleet's worker, or with `RECONCILE_PROCESSES=1`,
the same work runs in-line when its result is asked for: the same bytes either way.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import sys
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Generic, TypeVar

T = TypeVar("T")

PROCESSES_ENV = "RECONCILE_PROCESSES"
PATIENCE = 3600.0  # seconds a child may take (a night's receipts take minutes)


def forking() -> bool:
    """Whether work may go to a forked child: on Linux, with a second CPU and the memory
    for two children as big as this process.

    Not inside a fleet's worker (a daemonic process), which may have no children, and
    whose siblings already keep every core busy with other projects."""
    wanted = os.environ.get(PROCESSES_ENV, "").strip()
    if wanted.isdigit() and int(wanted) <= 1:
        return False
    if multiprocessing.current_process().daemon:
        return False
    # Linux only: Windows has no fork, and on macOS system libraries may crash in a
    # forked child (why Python spawns there by default).
    if sys.platform != "linux" or "fork" not in multiprocessing.get_all_start_methods():
        return False
    return len(os.sched_getaffinity(0)) > 1 and _room_for_a_copy()


def _room_for_a_copy() -> bool:
    """Whether the machine has memory for a child as big as this process.

    A child shares the parent's pages until it writes to them, but Python writes to
    every object it merely reads (reference counts): writing the receipts of a
    200,000-report night copies about 450 MiB. Without that much to spare, the work
    stays in-line rather than risk the out-of-memory killer."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            fields = dict(line.split(":", 1) for line in meminfo)
        available = int(fields["MemAvailable"].split()[0]) * 1024
        with open("/proc/self/statm", encoding="ascii") as statm:
            resident = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, KeyError, ValueError):
        return False
    return available > 2 * resident


class ChildFailed(RuntimeError):
    """The child's work raised something that could not be sent back as it was."""


class Background(Generic[T]):
    """`work()` running in a forked child (or deferred to `result()` without one).

    Use as a context manager: leaving the block early (an error, a stop) ends the
    child, so no orphan goes on writing after its night was abandoned.
    """

    def __init__(self, work: Callable[[], T]) -> None:
        self._work: Callable[[], T] | None = work
        self._process: multiprocessing.process.BaseProcess | None = None
        self._receiver: Connection | None = None
        self._done = False
        self._value: T | None = None

    @classmethod
    def start(cls, work: Callable[[], T]) -> Background[T]:
        job = cls(work)
        if forking():
            context = multiprocessing.get_context("fork")
            receiver, sender = context.Pipe(duplex=False)
            # What the parent has buffered would otherwise be written twice.
            sys.stdout.flush()
            sys.stderr.flush()
            job._process = context.Process(target=_child, args=(work, sender), daemon=True)
            job._process.start()
            sender.close()
            job._receiver = receiver
        return job

    def result(self, timeout: float = PATIENCE) -> T:
        """The work's return value; its exception, raised here, if it failed.

        A child still busy after `timeout` seconds is ended and the night fails: a
        night's receipts take minutes, so it is stuck, and a stuck night would hold
        the workspace's run lock for good."""
        if not self._done:
            self._done = True
            if self._process is None:
                work, self._work = self._work, None
                assert work is not None
                self._value = work()
            else:
                self._value = self._collect(timeout)
        return self._value  # type: ignore[return-value]

    def _collect(self, timeout: float) -> T:
        assert self._process is not None and self._receiver is not None
        try:
            if not self._receiver.poll(timeout):
                self._process.kill()
                self._process.join()
                raise ChildFailed(f"后台进程 {timeout:.0f} 秒仍未完成，已终止")
            ok, payload, text = self._receiver.recv()
        except EOFError:
            self._process.join()
            raise ChildFailed(
                f"后台进程意外退出（退出码 {self._process.exitcode}），渠道回执未写完"
            ) from None
        finally:
            self._receiver.close()
        self._process.join()
        if ok:
            return payload
        try:
            error = pickle.loads(payload)
        except Exception:  # noqa: BLE001 - an exception that does not come back whole
            error = None
        raise error if isinstance(error, BaseException) else ChildFailed(text)

    def __enter__(self) -> Background[T]:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._process is not None and self._process.is_alive():
            self._process.kill()
        if self._process is not None:
            self._process.join()
        if self._receiver is not None and not self._receiver.closed:
            self._receiver.close()


def _child(work: Callable[[], object], sender: Connection) -> None:
    """The child's whole life: do the work, send its value or its failure, leave.

    A failure goes back pickled, with its traceback as text for when it does not
    unpickle (an exception whose constructor wants other arguments)."""
    try:
        try:
            message: tuple[bool, object, str] = (True, work(), "")
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent
            text = "".join(traceback.format_exception(exc))
            try:
                message = (False, pickle.dumps(exc), text)
            except Exception:  # noqa: BLE001
                message = (False, b"", text)
        sender.send(message)
        sender.close()
    finally:
        os._exit(0)
