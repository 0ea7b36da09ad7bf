"""Statement parameters typed by the ledger bind exactly as the driver binds them."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from reconcile.store.ledger import Ledger

VALUES = (
    0,
    7,
    -(2**63),
    2**63 - 1,
    "渠道",
    "",
    1.5,
    -0.0,
    True,
    False,
    b"\x00\x01",
    None,
    date(2026, 11, 20),  # not typed by the ledger: the driver's own conversion
)


def test_parameters_are_stored_as_the_driver_stores_them(tmp_path: Path) -> None:
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        ledger.execute("CREATE TABLE bound (via TEXT, n INTEGER, v, w)")
        for n, value in enumerate(VALUES):
            ledger.execute("INSERT INTO bound VALUES ('ledger', ?, ?, ?)", (n, value, "x"))
            with ledger._conn.cursor() as cursor:  # the driver's own conversion of a tuple
                cursor.execute("INSERT INTO bound VALUES ('driver', ?, ?, ?)", (n, value, "x"))
        stored = {
            via: ledger.execute(
                "SELECT n, typeof(v), quote(v), typeof(w), w FROM bound WHERE via = ? ORDER BY n",
                (via,),
            )
            for via in ("ledger", "driver")
        }
    assert len(stored["ledger"]) == len(VALUES)
    assert stored["ledger"] == stored["driver"]
