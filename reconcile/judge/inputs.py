"""What the judge reads: the rows known as of a night, one polars frame per kind.

Only rows first seen by a run as of that night or earlier, and dated on or before
it (rows without a date always count), so a past night replays exactly. `load` reads
them from the ledger; `build` makes the same inputs from plain tables shaped like the
ledger's, so the judge can also run without one.

Columns common to every frame: `row_id`, `channel`, `agent`, `customer_name`,
`surnames`, `phone`, `phone_pattern`, `at` (zone-aware datetime or null),
`source` (`path#sheet!row`), `path`, `sheet`, `row_no` (submission order), and
`first_seen` / `first_run` for reports. Kind-specific fields are columns named
after the keys of the row's `data` JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

import polars as pl

from reconcile.config.kinds import KIND_LIST
from reconcile.config.rules import Rules
from reconcile.judge.reasons import r02
from reconcile.normalise import dates
from reconcile.store.ledger import Ledger

ISO_FORMAT = "%Y-%m-%dT%H:%M:%S%:z"

# What the judge reads of each kind's `data` JSON: its declaration, typed.
_DATA_FIELDS: dict[str, dict[str, pl.DataType]] = {k.name: k.data_types for k in KIND_LIST}


@dataclass
class Inputs:
    as_of: date
    as_of_end: datetime  # 23:59:59 of the as-of day, project time
    first_run: int | None  # the workspace's very first run (never R10)
    reports: pl.DataFrame
    report_errors: pl.DataFrame  # report rows whose phone could not be used (R02)
    visits: pl.DataFrame
    crm: pl.DataFrame  # CRM customers and follow-ups: developer contacts
    deals: pl.DataFrame
    rulings: pl.DataFrame
    # 交易变更 rows (退房, 换房, 更名 …), which reach their deal by flat or number, not phone
    deal_changes: pl.DataFrame = field(default_factory=lambda: empty_frame("deal_change"))
    # Finance's payment records (付款记录, SPEC 6.6), dated by 付款日期
    payments: pl.DataFrame = field(default_factory=lambda: empty_frame("payment"))
    # Agencies' claims (请款单/对账单, SPEC 6.6), dated by 请款日期, else by arrival
    statements: pl.DataFrame = field(default_factory=lambda: empty_frame("statement"))
    # CRM follow-ups with their 跟进人, and the reception rotation (轮排表): SPEC 6.7
    followups: pl.DataFrame = field(default_factory=lambda: empty_frame("crm_followup"))
    roster: pl.DataFrame = field(default_factory=lambda: empty_frame("roster"))


def parse_iso(column: str | pl.Expr, zone: str) -> pl.Expr:
    expr = pl.col(column) if isinstance(column, str) else column
    return expr.str.to_datetime(ISO_FORMAT, time_zone="UTC").dt.convert_time_zone(zone)


def night_end(rules: Rules, as_of: date) -> datetime:
    """23:59:59 of the as-of day, project time: the moment a night judges at."""
    return datetime.combine(as_of, time(23, 59, 59), rules.zone)


def load(ledger: Ledger, rules: Rules, as_of: date) -> Inputs:
    """The night's inputs as the ledger knows them."""
    seen_by = night_end(rules, as_of).isoformat()
    return build(
        rules,
        as_of,
        ledger.judge_rows(seen_by),
        ledger.judge_report_errors(seen_by),
        ledger.first_run(),
    )


def build(
    rules: Rules, as_of: date, rows: pl.DataFrame, errors: pl.DataFrame, first_run: int | None
) -> Inputs:
    """The night's inputs from plain tables, no ledger needed.

    `rows`: every row of the files first seen by the night, with the columns of
    `ROW_SCHEMA` (a column without any value may come as polars `Null`). `errors`: the
    rejected report rows of those files, with the columns of `ERROR_SCHEMA`, in `path`,
    `sheet`, `row_no` order. `first_run`: the workspace's very first run.
    """
    zone = rules.timezone
    as_of_end = night_end(rules, as_of)
    frames = {kind: _kind_frame(rows, kind, zone, as_of_end) for kind in _DATA_FIELDS}
    crm = pl.concat(
        [
            frames["crm_customer"].select(CONTACT_COLUMNS).with_columns(kind=pl.lit("crm")),
            frames["crm_followup"].select(CONTACT_COLUMNS).with_columns(kind=pl.lit("followup")),
        ]
    )
    return Inputs(
        as_of=as_of,
        as_of_end=as_of_end,
        first_run=first_run,
        reports=frames["report"],
        report_errors=_report_errors(errors, rules, as_of_end),
        visits=frames["visit"],
        crm=crm,
        deals=frames["deal"],
        deal_changes=frames["deal_change"],
        rulings=frames["ruling"],
        payments=frames["payment"],
        statements=frames["statement"],
        followups=frames["crm_followup"],
        roster=frames["roster"],
    )


CONTACT_COLUMNS = (
    "row_id", "phone", "customer_name", "at", "time_known", "source", "path", "sheet", "row_no",
)  # fmt: skip


# The rows the judge reads, as the ledger gives them (`Ledger.judge_rows`): `data` is the
# JSON of the kind's declared fields, `event_at` and `first_seen` ISO 8601 text.
ROW_SCHEMA: dict[str, pl.DataType] = {
    "row_id": pl.String(),
    "kind": pl.String(),
    "channel": pl.String(),
    "agent": pl.String(),
    "customer_name": pl.String(),
    "surnames": pl.String(),
    "phone": pl.String(),
    "phone_pattern": pl.String(),
    "event_at": pl.String(),
    "report_type": pl.String(),
    "data": pl.String(),
    "source": pl.String(),
    "path": pl.String(),
    "sheet": pl.String(),
    "row_no": pl.Int64(),
    "first_run": pl.Int64(),
    "first_seen": pl.String(),
}
# Rejected report rows as the ledger gives them (`Ledger.judge_report_errors`): `codes`
# `;`-joined, `raw` the JSON array of the row's cells, `mapping` and `headers` the JSON
# of its sheet's header mapping (null when the sheet was not recorded).
ERROR_SCHEMA: dict[str, pl.DataType] = {
    "error_id": pl.String(),
    "channel": pl.String(),
    "codes": pl.String(),
    "reason": pl.String(),
    "raw": pl.String(),
    "mapping": pl.String(),
    "headers": pl.String(),
    "source": pl.String(),
    "path": pl.String(),
    "sheet": pl.String(),
    "row_no": pl.Int64(),
}


def empty_frame(kind: str) -> pl.DataFrame:
    """A kind's judge frame with no rows (tests and benchmarks build inputs in memory)."""
    return _kind_frame(pl.DataFrame(), kind, "UTC", datetime(9999, 12, 31, tzinfo=UTC))


def _kind_frame(rows: pl.DataFrame, kind: str, zone: str, as_of_end: datetime) -> pl.DataFrame:
    frame = rows_frame(rows.filter(pl.col("kind") == kind) if rows.height else rows, kind, zone)
    return frame.filter(pl.col("at").is_null() | (pl.col("at") <= as_of_end))


def rows_frame(rows: pl.DataFrame, kind: str, zone: str) -> pl.DataFrame:
    """Ledger-shaped rows of one kind as the judge reads them: `data` decoded as the
    kind declares it, times parsed, in submission order."""
    if rows.height == 0:
        frame = pl.DataFrame(schema=ROW_SCHEMA)
    else:
        frame = rows.select(list(ROW_SCHEMA)).cast(ROW_SCHEMA)  # type: ignore[arg-type]
    fields = _DATA_FIELDS[kind]
    data = frame["data"].str.json_decode(pl.Struct(fields)) if frame.height else None
    frame = frame.with_columns(
        at=parse_iso("event_at", zone),
        first_seen_at=parse_iso("first_seen", zone),
    )
    if data is not None:
        frame = frame.with_columns(data.struct.unnest())
    else:
        frame = frame.with_columns(
            pl.lit(None, dtype=dtype).alias(name) for name, dtype in fields.items()
        )
    return frame.drop("data", "event_at", "first_seen", "kind").sort(
        "path", "sheet", "row_no", "phone_pattern", nulls_last=True
    )


def _report_errors(errors: pl.DataFrame, rules: Rules, as_of_end: datetime) -> pl.DataFrame:
    """Report rows rejected for their phone, with what can be read of their other cells."""
    records = []
    for error in errors.iter_rows(named=True):
        if not r02.unreadable(error["codes"]):
            continue
        cells = _cells_by_field(json.loads(error["raw"]), error["mapping"], error["headers"])
        reported = _reported_at(cells, as_of_end)
        if reported is not None and reported > as_of_end:
            continue
        records.append(
            {
                "row_id": error["error_id"],
                "channel": error["channel"],
                "agent": cells.get("agent"),
                "customer_name": cells.get("customer_name"),
                "reported_at": reported,
                "report_type": cells.get("report_type"),
                "reason": error["reason"],
                "source": error["source"],
                "path": error["path"],
                "sheet": error["sheet"],
                "row_no": error["row_no"],
            }
        )
    schema = {
        "row_id": pl.String(),
        "channel": pl.String(),
        "agent": pl.String(),
        "customer_name": pl.String(),
        "reported_at": pl.Datetime("us", rules.timezone),
        "report_type": pl.String(),
        "reason": pl.String(),
        "source": pl.String(),
        "path": pl.String(),
        "sheet": pl.String(),
        "row_no": pl.Int64(),
    }
    return pl.DataFrame(records, schema=schema)


def _cells_by_field(raw: list, mapping: str | None, headers: str | None) -> dict[str, str]:
    """A rejected row's cells by canonical field, through its sheet's header mapping."""
    if not mapping or not headers:
        return {}
    header_list = json.loads(headers)
    cells: dict[str, str] = {}
    for name, header in json.loads(mapping).items():
        if header in header_list:
            index = header_list.index(header)
            if index < len(raw) and raw[index] not in (None, ""):
                cells[name] = str(raw[index])
    return cells


def _reported_at(cells: dict[str, str], as_of_end: datetime) -> datetime | None:
    ref = as_of_end.date()
    day = cells.get("reported_date") or cells.get("date")
    if day is not None:
        parsed = dates.combine(day, cells.get("time") or cells.get("reported_at"), ref=ref)
    else:
        parsed = dates.parse_datetime(cells.get("reported_at"), ref=ref)
    if parsed.value is None:
        return None
    return parsed.value.replace(tzinfo=as_of_end.tzinfo)
