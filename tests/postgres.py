"""A throwaway PostgreSQL server for the ledger's tests, on 127.0.0.1.

Debian's `postgresql` package puts the server's programs in
/usr/lib/postgresql/<version>/bin, off the PATH; `.ci/run` installs it. The server
refuses to run as root, so when the tests do, the cluster belongs to the `postgres`
user (the package creates it) and its programs run through `runuser`. Every worker
of the suite starts its own cluster once; each test takes a schema of its own.
Where the programs are missing the tests are skipped, unless RECONCILE_REQUIRE_TOOLS=1
(CI) makes that a failure, as for the other system tools.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from reconcile.config.ledger_url import PASSWORD_VARIABLE, LedgerServer

PASSWORD = "geheim-测试"  # the superuser's; over TCP the server asks for it (scram-sha-256)


def server_programs() -> Path | None:
    """The folder holding `initdb` and `pg_ctl`: on the PATH, or Debian's newest."""
    found = shutil.which("pg_ctl")
    if found and (Path(found).parent / "initdb").exists():
        return Path(found).parent

    def version(folder: Path) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", folder.parent.name))

    folders = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "initdb").exists()]
    return max(folders, key=version) if folders else None


def _missing(what: str) -> None:
    if os.environ.get("RECONCILE_REQUIRE_TOOLS") == "1":
        pytest.fail(f"PostgreSQL is required (RECONCILE_REQUIRE_TOOLS=1) but {what}")
    pytest.skip(f"PostgreSQL: {what}")


def require_server_programs() -> Path:
    programs = server_programs()
    if programs is None:
        _missing("not installed")
    assert programs is not None
    return programs


def _owner() -> str | None:
    """Who runs the server: the tests' own user, or `postgres` when they run as root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        _missing("there is no `postgres` user to run it as (the tests run as root)")
    return "postgres"


@dataclass(frozen=True)
class Postgres:
    url: str  # postgresql://postgres@127.0.0.1:<port>/postgres, without the password

    def ledger(self, schema: str | None = None) -> LedgerServer:
        """A fresh schema of the server's database (one per test)."""
        return LedgerServer(self.url, schema or f"t_{uuid.uuid4().hex[:12]}")

    def rules_line(self, schema: str | None = None) -> str:
        """`ledger:` for a rules.yaml, with a fresh schema."""
        return f"ledger: {self.url}?schema={self.ledger(schema).schema}\n"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_owner(owner: str | None, *command: str | Path) -> list[str]:
    return [*(["runuser", "-u", owner, "--"] if owner else []), *map(str, command)]


@contextmanager
def throwaway_server(programs: Path, owner: str | None, fsync: bool = False) -> Iterator[Postgres]:
    """A new cluster in a temporary folder, started on a free port of 127.0.0.1, run by
    `owner` (None: this user); stopped and deleted on leaving. Without `fsync` it need not
    survive a power cut, and runs faster (the tests); benchmarks keep it on."""
    # Not under pytest's temporary folder: its parents are root's alone (0700).
    home = Path(tempfile.mkdtemp(prefix="reconcile-pg-"))
    uid = pwd.getpwnam(owner).pw_uid if owner else -1
    os.chown(home, uid, -1)
    data, secret = home / "data", home / "password"
    secret.write_text(PASSWORD, encoding="utf-8")
    os.chown(secret, uid, -1)
    pg_ctl = [programs / "pg_ctl", "-D", data, "-l", home / "log"]
    try:
        # A server set up for Chinese sorts text by pinyin: the ledger must not depend on it.
        subprocess.run(
            _as_owner(owner, programs / "initdb", "-D", data, "-U", "postgres", "--pwfile",
                      secret, "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync",
                      "-E", "UTF8", "--locale=C.UTF-8", "--locale-provider=icu",
                      "--icu-locale=zh-Hans-CN"),
            check=True, capture_output=True,
        )  # fmt: skip
        port = _free_port()
        options = f"-k {home} -h 127.0.0.1 -p {port} -c max_connections=40"
        started = subprocess.run(
            _as_owner(owner, *pg_ctl, "-w", "-t", "60", "-o", options + ("" if fsync else " -F"),
                      "start"),
            capture_output=True,
        )  # fmt: skip
        if started.returncode:
            log = (home / "log").read_text(encoding="utf-8", errors="replace")
            raise RuntimeError(f"PostgreSQL did not start: {started.stderr.decode()}\n{log}")
        yield Postgres(f"postgresql://postgres@127.0.0.1:{port}/postgres")
    finally:
        subprocess.run(_as_owner(owner, *pg_ctl, "-m", "immediate", "stop"), capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    programs = require_server_programs()
    previous = os.environ.get(PASSWORD_VARIABLE)
    with throwaway_server(programs, _owner()) as server:
        os.environ[PASSWORD_VARIABLE] = PASSWORD  # inherited by `reconcile` processes too
        try:
            yield server
        finally:
            if previous is None:
                os.environ.pop(PASSWORD_VARIABLE, None)
            else:
                os.environ[PASSWORD_VARIABLE] = previous


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_location(request: pytest.FixtureRequest, tmp_path: Path) -> Path | LedgerServer:
    """Where a test's ledger lives, once for each backend."""
    if request.param == "sqlite":
        return tmp_path / "ledger.sqlite"
    server: Postgres = request.getfixturevalue("postgres")
    return server.ledger()
