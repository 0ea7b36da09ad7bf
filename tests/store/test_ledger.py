"""The ledger as the rest of the job relies on it."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

from reconcile.store.ledger import Ledger

# Long enough (about a second) that a signal sent 0.2 s in lands inside the statement.
_SLOW_COUNT = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000)
SELECT count(*) FROM n
"""


def test_a_sigint_during_a_statement_reaches_pythons_handler_after_it(ledger_location):
    # The database driver would otherwise take SIGINT over while a statement runs and turn
    # a Ctrl+C (or a service manager's SIGINT) into a failed statement, never telling the
    # run's stop request: serve kept running after SIGINT.
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT))
    try:
        with Ledger(ledger_location) as ledger:
            timer.start()
            assert ledger.execute(_SLOW_COUNT) == [(3000000,)]
            timer.join()
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    assert received == [signal.SIGINT]


def test_an_older_ledgers_views_are_made_again(ledger_location):
    # A ledger made before WeChat messages got their `path#line` sources had views that
    # always wrote `path#sheet!row`: opening it with this layout replaces them.
    old = (
        "SELECT r.*, 'old' AS source, f.first_run, f.first_seen "
        "FROM rows r JOIN files f USING (file_id)"
    )
    with Ledger(ledger_location) as ledger:
        with ledger.transaction():
            ledger.execute("DROP VIEW ledger_rows")
            ledger.execute(f"CREATE VIEW ledger_rows AS {old}")
            ledger.set_meta("layout", "older")
    with Ledger(ledger_location) as ledger:
        [(definition,)] = ledger.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'ledger_rows'"
            if isinstance(ledger_location, Path)
            else "SELECT definition FROM pg_views WHERE viewname = 'ledger_rows' "
            "AND schemaname = current_schema()"
        )
    assert "'old'" not in definition and "CASE" in definition.upper()
