"""Log lines: `2026-11-21T02:00:03+08:00 INFO reconcile.ops.pipeline run.start run=3 as_of=…`.

Each event is a dotted name and key=value pairs, so a log is read by people and by
grep alike. `reconcile serve` writes `<state_dir>/logs/serve.log`, a manual run
`<state_dir>/logs/run.log`; each rotates at 5 MiB and keeps ten old files. Without
a terminal (cron, systemd) the same lines also go to stderr.
"""

from __future__ import annotations

import logging
import logging.handlers
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROTATE_BYTES = 5 * 2**20
ROTATE_KEEP = 10


class LineFormatter(logging.Formatter):
    def __init__(self, zone: ZoneInfo | None = None) -> None:
        super().__init__()
        self.zone = zone

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created).astimezone(self.zone)
        line = (
            f"{moment.isoformat(timespec='seconds')} {record.levelname} "
            f"{record.name} {record.getMessage()}"
        )
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


@contextmanager
def logging_to(
    folder: Path | None, name: str, zone: ZoneInfo | None, stderr_level: int
) -> Iterator[Path | None]:
    """Send the `reconcile` loggers to `folder/<name>.log` (if given) and to stderr at
    `stderr_level`, for the duration of one command; yields the log file's path."""
    logger = logging.getLogger("reconcile")
    formatter = LineFormatter(zone)
    handlers: list[logging.Handler] = []
    path = None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.log"
        handlers.append(
            logging.handlers.RotatingFileHandler(
                path, maxBytes=ROTATE_BYTES, backupCount=ROTATE_KEEP, encoding="utf-8"
            )
        )
    console = logging.StreamHandler()
    console.setLevel(stderr_level)
    handlers.append(console)
    for handler in handlers:
        handler.setFormatter(formatter)
        logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield path
    finally:
        logger.setLevel(previous)
        for handler in handlers:
            logger.removeHandler(handler)
            handler.close()
