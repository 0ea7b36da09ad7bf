"""Ledger benchmark: one project's night with its ledger on PostgreSQL against SQLite.

Copies the night benchmark's cached workspace (benchmarks/night.py: `--reports`
reports in 48 files from 12 agencies, visits, CRM, payments and claims; 20,000 by
default, a fleet project's size) twice: one keeps the SQLite ledger in its state
folder, the other says `ledger: postgresql://…`. Inputs are aged past the
safe-arrival interval first (benchmarks/aging.py). The server is a throwaway cluster
on 127.0.0.1 started as the tests start theirs (tests/postgres.py), but with fsync on,
since SQLite's ledger syncs every file too; or `--url` names a server of your own
(password from RECONCILE_LEDGER_PASSWORD). Then, each in a fresh process with a frozen
copy of the code (best of `--repeat`, each on a fresh ledger):

  (a) the first night, `reconcile run --as-of 2026-11-30 --no-email`, on each backend;
  (b) the same night again, nothing new;
and prints the times, the ratios PostgreSQL / SQLite, and each ledger's size.

    .venv-bench/bin/python benchmarks/ledger.py [--reports 20000] [--repeat 1] [--url postgresql://…]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import uuid
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

from aging import age_past_settle  # noqa: E402
from night import NIGHT_1, code_version, freeze_code, generate, night  # noqa: E402

from reconcile.config.ledger_url import PASSWORD_VARIABLE, LedgerServer  # noqa: E402
from reconcile.config.workspace import Workspace  # noqa: E402
from reconcile.store.ledger import Ledger  # noqa: E402
from tests.postgres import PASSWORD, server_programs, throwaway_server  # noqa: E402


def _schema_bytes(server: LedgerServer) -> int:
    with Ledger(server, read_only=True) as ledger:
        found = ledger.execute(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = ? AND c.relkind IN ('r', 'm')",
            (server.schema,),
        )
    return int(found[0][0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=1, help="best of this many nights")
    parser.add_argument("--url", help="an existing server: postgresql://user@host:port/db")
    args = parser.parse_args()
    cached = generate(args.reports)
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="reconcile-ledger-")))
        if args.url:
            url = args.url
        else:
            programs = server_programs()
            if programs is None:
                sys.exit("PostgreSQL is not installed (Debian: apt-get install postgresql)")
            owner = "postgres" if os.geteuid() == 0 else None
            url = stack.enter_context(throwaway_server(programs, owner, fsync=True)).url
            os.environ[PASSWORD_VARIABLE] = PASSWORD
        env = freeze_code(scratch)
        print(f"code: {code_version()}; {args.reports:,} reports; server {url}", flush=True)
        times: dict[str, list[tuple[float, float]]] = {"sqlite": [], "postgresql": []}
        sizes: dict[str, int] = {}
        for attempt in range(args.repeat):
            for backend in times:
                workspace = scratch / f"{backend}-{attempt}"
                shutil.copytree(cached / "base", workspace)
                if backend == "postgresql":
                    with (workspace / "rules.yaml").open("a", encoding="utf-8") as rules:
                        joined = "&" if "?" in url else "?"
                        rules.write(f"\nledger: {url}{joined}schema=bench_{uuid.uuid4().hex[:8]}\n")
                age_past_settle(workspace / "inputs")
                first = night(workspace, NIGHT_1, scratch, env)
                again = night(workspace, NIGHT_1, scratch, env)
                times[backend].append((first.wall, again.wall))
                ledger = Workspace.open(workspace).ledger
                sizes[backend] = (
                    _schema_bytes(ledger)
                    if isinstance(ledger, LedgerServer)
                    else ledger.stat().st_size
                )
                shutil.rmtree(workspace)
    best = {
        backend: tuple(min(t[i] for t in runs) for i in (0, 1)) for backend, runs in times.items()
    }
    print(f"\n{'':18}{'SQLite':>10}{'PostgreSQL':>12}{'ratio':>8}")
    for i, label in enumerate(("first night", "same night again")):
        sqlite, server = best["sqlite"][i], best["postgresql"][i]
        print(f"{label:18}{sqlite:>9.2f}s{server:>11.2f}s{server / sqlite:>7.2f}×")
    mib = {backend: size / 2**20 for backend, size in sizes.items()}
    print(f"{'ledger size':18}{mib['sqlite']:>7.1f}MiB{mib['postgresql']:>9.1f}MiB"
          f"{mib['postgresql'] / mib['sqlite']:>7.2f}×")  # fmt: skip
    print(f"\nload average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
