"""Headless Chromium for tests, driven over the DevTools protocol on a pipe.

Headless windows are never narrower than 500 px, so a phone is emulated with
`Emulation.setDeviceMetricsOverride` (mobile viewport, as a phone's browser lays the
page out). The protocol runs over `--remote-debugging-pipe` — file descriptors 3
and 4, messages separated by NUL — so no port is opened and nothing is installed
beyond Debian's `chromium`.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
)

_TIMEOUT = 60

# Every headline tile's text, box and visibility, the same for the what-to-do lines
# (`data-action`, `data-ruling-sheet`), and whether the page scrolls sideways.
PROBE = """(() => {
  const tiles = [...document.querySelectorAll("[data-headline]")].map((el) => {
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    return {key: el.dataset.headline, text: el.innerText, left: r.left, right: r.right,
            top: r.top, bottom: r.bottom, width: r.width, height: r.height,
            shown: s.display !== "none" && s.visibility !== "hidden" && s.opacity !== "0"};
  });
  const lines = [...document.querySelectorAll("[data-action], [data-ruling-sheet]")].map((el) => {
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    return {key: el.dataset.action || "ruling_sheet", text: el.innerText, left: r.left,
            right: r.right, width: r.width, height: r.height,
            shown: s.display !== "none" && s.visibility !== "hidden" && s.opacity !== "0"};
  });
  return {innerWidth: window.innerWidth, innerHeight: window.innerHeight,
          scrollWidth: document.documentElement.scrollWidth, tiles: tiles, lines: lines};
})()"""


def require_tool(name: str) -> str:
    """The tool's path; skipped where absent unless RECONCILE_REQUIRE_TOOLS=1 (CI)."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("RECONCILE_REQUIRE_TOOLS") == "1":
            pytest.fail(f"{name} is required (RECONCILE_REQUIRE_TOOLS=1) but not installed")
        pytest.skip(f"{name} is not installed")
    return path


@dataclass
class PhoneView:
    probe: dict
    screenshot: Path


def view_on_phone(
    page: Path, screenshot: Path, profile: Path, width: int = 390, height: int = 844
) -> PhoneView:
    """Open `page` as a phone would show it; measure the headline and save a full-page PNG."""
    with _Browser(profile) as browser:
        target = browser.call("Target.createTarget", url="about:blank")["targetId"]
        session = browser.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        browser.call(
            "Emulation.setDeviceMetricsOverride",
            session,
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=True,
        )
        browser.call("Page.enable", session)
        browser.call("Page.navigate", session, url=page.as_uri())
        browser.wait_for("Page.loadEventFired", session)
        measured = browser.call("Runtime.evaluate", session, expression=PROBE, returnByValue=True)[
            "result"
        ]["value"]
        size = browser.call("Page.getLayoutMetrics", session)["cssContentSize"]
        shot = browser.call(
            "Page.captureScreenshot",
            session,
            format="png",
            captureBeyondViewport=True,
            clip={"x": 0, "y": 0, "width": width, "height": size["height"], "scale": 1},
        )
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        screenshot.write_bytes(base64.b64decode(shot["data"]))
    return PhoneView(measured, screenshot)


class _Browser:
    def __init__(self, profile: Path) -> None:
        self.profile = profile
        self.next_id = 0
        self.buffer = b""

    def __enter__(self) -> _Browser:
        commands_read, self.commands = os.pipe()
        self.replies, replies_write = os.pipe()
        # posix_spawn, not fork: forking a test process that has mapped gigabytes fails
        # under the kernel's overcommit heuristics. Both ends move clear of 3 and 4
        # first, since either may already sit there.
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (commands_read, replies_write)]
        os.close(commands_read)
        os.close(replies_write)
        argv = [require_tool("chromium"), *_FLAGS, f"--user-data-dir={self.profile}", "about:blank"]
        try:
            self.pid = os.posix_spawn(
                argv[0],
                argv,
                os.environ,
                file_actions=[
                    (os.POSIX_SPAWN_DUP2, high[0], 3),
                    (os.POSIX_SPAWN_DUP2, high[1], 4),
                    (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                    (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
                ],
            )
        finally:
            for fd in high:
                os.close(fd)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.call("Browser.close")
        except (OSError, RuntimeError):
            os.kill(self.pid, signal.SIGKILL)
        deadline = time.monotonic() + _TIMEOUT
        while os.waitpid(self.pid, os.WNOHANG) == (0, 0):
            if time.monotonic() > deadline:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
                break
            time.sleep(0.05)
        os.close(self.commands)
        os.close(self.replies)

    def call(self, method: str, session: str | None = None, **params: object) -> dict:
        self.next_id += 1
        message: dict = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self.commands, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def wait_for(self, event: str, session: str) -> dict:
        while True:
            message = self._read()
            if message.get("method") == event and message.get("sessionId") == session:
                return message["params"]

    def _read(self) -> dict:
        while b"\0" not in self.buffer:
            ready, _, _ = select.select([self.replies], [], [], _TIMEOUT)
            if not ready:
                raise RuntimeError(f"chromium did not answer within {_TIMEOUT} s")
            chunk = os.read(self.replies, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)
