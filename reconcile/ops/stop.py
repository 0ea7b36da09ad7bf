"""A request to stop, safe to make from a signal handler.

`threading.Event.set` takes a lock, and a signal handler that runs while the main
thread is inside `Event.wait` holding that lock deadlocks the process. Here the
handler only assigns an attribute; waiting polls it in short sleeps, which a signal
cuts short anyway.
"""

from __future__ import annotations

import time

POLL_SECONDS = 0.2


class Stop:
    def __init__(self) -> None:
        self.reason: str | None = None

    def request(self, reason: str) -> None:
        self.reason = reason

    def is_set(self) -> bool:
        return self.reason is not None

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True as soon as a stop is requested."""
        deadline = time.monotonic() + seconds
        while not self.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(left, POLL_SECONDS))
        return True
