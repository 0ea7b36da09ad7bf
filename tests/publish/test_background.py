"""Receipts written by a forked child: the same bytes as in-line, and every failure back home."""

from __future__ import annotations

import io
import multiprocessing
import multiprocessing.queues
import os
import threading
import time
from pathlib import Path

import pytest

from reconcile.publish import background
from reconcile.publish.background import PROCESSES_ENV, Background, ChildFailed, forking
from reconcile.publish.night import start_receipts
from tests.publish.conftest import Night

pytestmark = pytest.mark.skipif(not forking(), reason="needs fork and a second CPU")


class Refusal(Exception):
    """An exception holding what no pickler can send (a lock): it cannot come back whole,
    whatever the process installed for pickling exceptions (distributed installs tblib's,
    which rebuilds exceptions without their constructor)."""

    def __init__(self, who: str, why: str) -> None:
        super().__init__(f"{who}: {why}")
        self.lock = threading.Lock()


def test_work_runs_in_a_child_and_its_value_comes_back() -> None:
    with Background.start(lambda: (os.getpid(), "回执")) as job:
        pid, text = job.result()
    assert pid != os.getpid() and text == "回执"
    assert job.result() == (pid, text)  # asked twice, one answer


def test_in_line_when_asked_for_one_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PROCESSES_ENV, "1")
    assert not forking()
    with Background.start(os.getpid) as job:
        assert job.result() == os.getpid()


def test_the_childs_exception_is_raised_in_the_parent() -> None:
    def fail() -> None:
        raise ValueError("回执路径越界")

    with Background.start(fail) as job, pytest.raises(ValueError, match="回执路径越界"):
        job.result()


def test_an_exception_that_cannot_travel_comes_back_as_its_traceback() -> None:
    def fail() -> None:
        raise Refusal("链家", "拒收")

    with Background.start(fail) as job, pytest.raises(ChildFailed) as raised:
        job.result()
    assert "Refusal: 链家: 拒收" in str(raised.value)


def test_a_child_that_dies_is_a_failure_with_its_exit_code() -> None:
    with Background.start(lambda: os._exit(3)) as job, pytest.raises(ChildFailed, match="退出码 3"):
        job.result()


def test_a_stuck_child_is_ended_and_the_night_fails() -> None:
    started = time.monotonic()
    with Background.start(lambda: time.sleep(60)) as job, pytest.raises(ChildFailed, match="1 秒"):
        job.result(timeout=1)
    assert time.monotonic() - started < 30


def test_leaving_early_ends_the_child(tmp_path: Path) -> None:
    marker = tmp_path / "written"

    def slow() -> None:
        time.sleep(30)
        marker.write_text("too late")

    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt), Background.start(slow):
        raise KeyboardInterrupt  # a stop request while the child works
    assert time.monotonic() - started < 10
    time.sleep(0.2)
    assert not marker.exists()


def test_receipts_and_settlement_from_children_are_the_in_line_bytes(
    demo_night: Night, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    judgement, rules = demo_night.judgement, demo_night.rules
    with start_receipts(judgement, rules, tmp_path / "forked") as job:
        # Bounded: a child that called polars would wait for ever on a thread pool
        # that fork did not copy.
        forked = job.result(timeout=120)
        forked_book = job.settlement(timeout=120)
    monkeypatch.setenv(PROCESSES_ENV, "1")
    with start_receipts(judgement, rules, tmp_path / "inline") as job:
        inline = job.result()
        inline_book = job.settlement()
    assert list(forked) == list(inline) and len(forked) >= 3
    for channel, path in forked.items():
        assert path.read_bytes() == inline[channel].read_bytes(), channel
    assert forked_book.parent == tmp_path / "forked"
    assert forked_book.read_bytes() == inline_book.read_bytes()


def _report_forking(queue: multiprocessing.queues.Queue) -> None:
    queue.put(forking())


def test_never_inside_a_daemonic_worker() -> None:
    """A fleet's workers are daemonic: they may have no children, so the work stays in-line."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    worker = context.Process(target=_report_forking, args=(queue,), daemon=True)
    worker.start()
    assert queue.get(timeout=30) is False
    worker.join()


def test_in_line_when_the_machine_has_no_room_for_a_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    """A child writes to every page whose objects it reads: without memory for a copy of
    this process, the work stays in-line."""
    real_open = open

    def tight(path: str, *args: object, **kwargs: object) -> object:
        if path == "/proc/meminfo":
            return io.StringIO("MemTotal: 4000000 kB\nMemAvailable:    1024 kB\n")
        return real_open(path, *args, **kwargs)  # type: ignore[call-overload]

    assert forking()
    monkeypatch.setattr(background, "open", tight, raising=False)
    assert not forking()
    with Background.start(os.getpid) as job:
        assert job.result() == os.getpid()
