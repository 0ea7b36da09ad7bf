"""What the commands print may reach a terminal: it never carries a control sequence.

A customer's name, a sheet's header, a file's name or an error message quoting a cell
is hostile text. An ESC in it would let a file retitle the terminal, move the cursor
over earlier lines or hide what follows; a carriage return or a bidi override would
make a line read as something else. Every line the commands print goes through
`visible`, which spells such characters out (`\\x1b`, `\\u202e`) so the clerk sees
that they are there. Tabs and line breaks stay.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from typing import TextIO

# C0 but tab and line feed, DEL and C1; zero-width and direction marks, bidi embeddings,
# overrides and isolates, the line and paragraph separators, and the byte-order mark.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")


def visible(text: str) -> str:
    """`text` with every character that could steer a terminal spelled out."""
    return _UNSAFE.sub(_spelled, text)


def _spelled(found: re.Match[str]) -> str:
    point = ord(found.group())
    return f"\\x{point:02x}" if point < 0x100 else f"\\u{point:04x}"


class VisibleStream:
    """A text stream that writes `visible` text to `underlying`."""

    def __init__(self, underlying: TextIO) -> None:
        self.underlying = underlying

    def write(self, text: str) -> int:
        self.underlying.write(visible(text))
        return len(text)

    def flush(self) -> None:
        self.underlying.flush()

    def isatty(self) -> bool:
        return self.underlying.isatty()

    @property
    def encoding(self) -> str:
        return getattr(self.underlying, "encoding", "utf-8")


@contextmanager
def visible_output() -> Iterator[None]:
    """stdout and stderr, and the log lines sent to them, made `visible` while a
    command runs."""
    with (
        redirect_stdout(VisibleStream(sys.stdout)),
        redirect_stderr(VisibleStream(sys.stderr)),
    ):
        yield


def raw_stream(stream: TextIO) -> TextIO:
    """The terminal itself under a `VisibleStream`: for progress bars, whose own
    control sequences are the point (the texts they show are escaped by them)."""
    return stream.underlying if isinstance(stream, VisibleStream) else stream
