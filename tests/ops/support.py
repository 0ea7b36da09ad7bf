"""Running `reconcile` as real processes, and small workspaces for the nightly-operation tests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from reconcile.ops.demo import generate_workspace

RECONCILE = str(Path(sys.executable).parent / "reconcile")


def demo_workspace(root: Path, extra_rules: str = "") -> Path:
    """The demo's inputs and rules, with `extra_rules` (top-level keys) in place of the
    demo's own blocks of those keys."""
    generate_workspace(root)
    if extra_rules:
        rules = root / "rules.yaml"
        text = rules.read_text(encoding="utf-8")
        for key in re.findall(r"^([A-Za-z_]+):", extra_rules, flags=re.MULTILINE):
            text = without_key(text, key)
        rules.write_text(text + "\n" + extra_rules, encoding="utf-8")
    return root


def without_key(text: str, key: str, indent: str = "") -> str:
    """A rules.yaml text without the block of `key` at `indent` (its line and the more
    deeply indented lines under it): rules.yaml refuses a key written twice."""
    kept, inside = [], False
    for line in text.splitlines(keepends=True):
        if line.startswith(f"{indent}{key}:"):
            inside = True
            continue
        if inside and (not line.strip() or line.startswith(indent + " ")):
            continue
        inside = False
        kept.append(line)
    return "".join(kept)


def spawn(*args: str, log: Path) -> subprocess.Popen:
    """`reconcile ARGS` in its own process, stdout and stderr to `log`; no terminal."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [RECONCILE, *args], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )


def wait_for(condition, timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""


__all__ = ["RECONCILE", "demo_workspace", "os", "spawn", "text", "wait_for"]
