"""What the judge reads: the rows known as of a night, one polars frame per kind.

Only rows first seen by a run as of that night or earlier, and dated on or before
it (rows without a date always count), so a past night replays exactly. `load` reads
them from the ledger; `build` makes the same inputs from plain tables shaped like the
ledger's, so the judge can also run without one.

Columns common to every frame: `row_id`, `channel`, `agent`, `customer_name`,
`surnames`, `phone`, `phone_pattern`, `at` (zone-aware datetime or null), `path`,
`sheet`, `row_no` (submission order; a row's `source` text is made from them where it
is shown, `reconcile.normalise.places`), and `first_seen` / `first_run` for reports.
Kind-specific fields are columns named after the keys of the row's `data` JSON.
"""

from __future__ import annotations

import ctypes
import json
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, time

import polars as pl

from reconcile.config.kinds import KIND_LIST
from reconcile.config.rules import Rules
from reconcile.judge.reasons import r02
from reconcile.normalise import dates
from reconcile.normalise.names import channels_named, named_channel
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


# The ledger is read this many places (`rowid`) at a time, and each slice's `data` JSON
# decoded and its raw columns let go once decoded: a million report rows are never held
# raw, decoded and sorted all at once (decoding alone takes ~0.5 KiB a row). Two slices
# are held raw at most: the database driver reads the next (in a thread, without the
# GIL) while polars decodes this one, so reading and decoding overlap (~-0.2 s at
# 200,000 reports, of ~0.5 s reading).
SLICE_ROWS = 100_000


def load(ledger: Ledger, rules: Rules, as_of: date) -> Inputs:
    """The night's inputs as the ledger knows them."""
    seen_by = night_end(rules, as_of).isoformat()
    places = ledger.row_places()
    slices = [
        range(start, min(start + SLICE_ROWS, places.stop))
        for start in range(places.start, places.stop, SLICE_ROWS)
    ]
    parts: dict[str, list[pl.DataFrame]] = {kind: [] for kind in _DATA_FIELDS}
    with ThreadPoolExecutor(max_workers=1) as reader:
        read: Future[pl.DataFrame] | None = None
        for stored in [*slices, None]:
            ahead = None if stored is None else reader.submit(ledger.judge_rows, seen_by, stored)
            if read is not None:
                rows = read.result()
                del read  # the future would keep the rows
                _split(rows, parts, rules.timezone)
                del rows
            read = ahead
    decoded = {
        kind: pl.concat(found) if found else _decoded(pl.DataFrame(), kind, rules.timezone)
        for kind, found in parts.items()
    }
    parts.clear()
    inputs = _inputs(rules, as_of, decoded, ledger.judge_report_errors(seen_by), ledger.first_run())
    _return_free_heap()
    return inputs


def _return_free_heap() -> None:
    """Give the C heap's free pages back to the system (glibc only).

    The driver's result batches and the night's reading leave it largely free but kept
    (hundreds of MiB at a million rows), and the judge's Python objects and polars
    frames are allocated elsewhere, so nothing would reuse it: the night's peak grew
    by all of it.
    """
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)
    if trim is not None:
        trim(0)


def _split(rows: pl.DataFrame, parts: dict[str, list[pl.DataFrame]], zone: str) -> None:
    """Each kind's rows of a slice, decoded, added to its parts; the slice itself is let
    go on return, before the next one is read."""
    for kind, found in parts.items():
        of_kind = rows.filter(pl.col("kind") == kind) if rows.height else rows
        if of_kind.height:
            found.append(_decoded(of_kind, kind, zone))


def build(
    rules: Rules, as_of: date, rows: pl.DataFrame, errors: pl.DataFrame, first_run: int | None
) -> Inputs:
    """The night's inputs from plain tables, no ledger needed.

    `rows`: every row of the files first seen by the night, with the columns of
    `ROW_SCHEMA` (a column without any value may come as polars `Null`). `errors`: the
    rejected report rows of those files, with the columns of `ERROR_SCHEMA`, in `path`,
    `sheet`, `row_no` order. `first_run`: the workspace's very first run.
    """
    decoded = {
        kind: _decoded(rows.filter(pl.col("kind") == kind) if rows.height else rows, kind,
                       rules.timezone)
        for kind in _DATA_FIELDS
    }  # fmt: skip
    return _inputs(rules, as_of, decoded, errors, first_run)


def _inputs(
    rules: Rules,
    as_of: date,
    decoded: dict[str, pl.DataFrame],
    errors: pl.DataFrame,
    first_run: int | None,
) -> Inputs:
    """The inputs from each kind's decoded rows (`_decoded`, any order), which it takes
    out of `decoded` one by one: a kind's sorted copy replaces them."""
    as_of_end = night_end(rules, as_of)
    seen = pl.col("at").is_null() | (pl.col("at") <= as_of_end)
    frames = {kind: _in_order(decoded.pop(kind), seen) for kind in list(decoded)}
    # The channels the night knows: those that reported, and those the rules name.
    known = frozenset(frames["report"]["channel"].drop_nulls().unique().to_list())
    known |= rules.known_channels
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
        visits=_channels_known(_brought_by_source(frames["visit"], known), known),
        crm=crm,
        deals=frames["deal"],
        deal_changes=frames["deal_change"],
        rulings=_shares_known(_channels_known(frames["ruling"], known), known),
        payments=frames["payment"],
        statements=frames["statement"],
        followups=frames["crm_followup"],
        roster=frames["roster"],
    )


def _channels_known(frame: pl.DataFrame, known: frozenset[str]) -> pl.DataFrame:
    """The frame with a channel written otherwise than the channel itself (链家地产,
    北京链家望京店 for 链家) given that channel: the one known channel whose name the cell
    contains (`names.named_channel`). A visit's bringer that never reported would decide a
    collision by the order of the reports instead; a ruling's owner would be paid under a
    name no receipt or payment knows."""
    return frame.with_columns(channels_named(frame["channel"], known))


def _brought_by_source(visits: pl.DataFrame, known: frozenset[str]) -> pl.DataFrame:
    """Visits that no channel brought by the register's own reading, whose 渠道来源 names
    a channel the night knows (`names.named_channel`), brought by it. Reading the register
    took only the channels the rules name (`records._bringer`); an agency that reported
    tonight is known as well, and without this its visitor was natural, and a collision the
    register decides went by the order of the reports."""
    if "source_channel" not in visits.columns:
        return visits
    source = channels_named(visits["source_channel"], known)
    bringer = pl.when(source.is_in(list(known))).then(source)
    return visits.with_columns(channel=pl.coalesce("channel", bringer))


def _shares_known(rulings: pl.DataFrame, known: frozenset[str]) -> pl.DataFrame:
    """Rulings whose 分成 names a channel at length, with each share's known channel."""
    from reconcile.judge.rulings import parse_shares  # the judge's, loaded when judging

    renamed = {}
    for text in rulings["shares"].drop_nulls().unique().to_list():
        shares = parse_shares(text)
        named = [[named_channel(channel, known), share] for channel, share in shares]
        if any(new != channel for (new, _), (channel, _) in zip(named, shares, strict=True)):
            renamed[text] = json.dumps(named, ensure_ascii=False)
    if not renamed:
        return rulings
    return rulings.with_columns(pl.col("shares").replace(renamed))


CONTACT_COLUMNS = (
    "row_id", "phone", "customer_name", "at", "time_known", "path", "sheet", "row_no",
    "corrected_in", "corrected_seen",
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
    "path": pl.String(),
    "sheet": pl.String(),
    "row_no": pl.Int64(),
    "first_run": pl.Int64(),
    "first_seen": pl.String(),
    # The later file the row's name and data come from (`row_versions`: a correction), and
    # when it was first seen; null when the row reads as its own file gave it.
    "corrected_in": pl.String(),
    "corrected_seen": pl.String(),
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
    return rows_frame(pl.DataFrame(), kind, "UTC")


def rows_frame(rows: pl.DataFrame, kind: str, zone: str) -> pl.DataFrame:
    """Ledger-shaped rows of one kind as the judge reads them: `data` decoded as the
    kind declares it, times parsed, in submission order."""
    return _in_order(_decoded(rows, kind, zone))


def _decoded(rows: pl.DataFrame, kind: str, zone: str) -> pl.DataFrame:
    """Rows of one kind with `data` decoded and times parsed, in the order given."""
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
    return _owned(frame.drop("data", "event_at", "first_seen", "kind"))


def _owned(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with its own copy of each column the database driver's result backs.

    polars reads a result's columns in place, and one of them kept alive keeps all of
    its batch: the raw `data` JSON and times, and the rows of every other kind.
    """
    return frame.with_columns(
        _copy(frame[name]) for name in frame.columns if name in ROW_SCHEMA or _empty(frame[name])
    )


def _copy(column: pl.Series) -> pl.Expr:
    if _empty(column):
        # A column without a value needs no memory (many kinds' fields, at a million
        # rows 16 MiB each), unless its empty cells are written out one by one.
        return pl.repeat(None, column.len(), dtype=column.dtype).alias(column.name)
    if column.dtype == pl.String():
        return pl.concat_str(column.name, pl.lit(""))
    return pl.col(column.name) + 0


def _empty(column: pl.Series) -> bool:
    return column.null_count() == column.len() > 0


def _in_order(frame: pl.DataFrame, keep: pl.Expr | None = None) -> pl.DataFrame:
    """The rows `keep` selects (all without it) in submission order: by file, sheet and
    row, a row's numbers by pattern.

    A few columns at a time, each copy replacing its columns at once: a frame's sort
    copies all of it beside the original (16 bytes a text cell, however short the text).
    """
    order = frame.select("path", "sheet", "row_no", "phone_pattern").with_row_index()
    if keep is not None:
        order = order.filter(frame.select(keep.alias("keep"))["keep"])
    places = order.sort(
        "path", "sheet", "row_no", "phone_pattern", nulls_last=True, maintain_order=True
    )["index"]
    del order
    columns: list[pl.Series] = []
    while frame.width:
        names = frame.columns[:_GATHER_COLUMNS]
        columns += frame.select(
            pl.repeat(None, len(places), dtype=frame[name].dtype).alias(name)
            if _empty(frame[name])
            else pl.col(name).gather(places)
            for name in names
        ).get_columns()
        frame = frame.drop(names)
    return pl.DataFrame(columns)


# Columns gathered together by `_in_order`: in parallel, yet never the whole frame twice.
_GATHER_COLUMNS = 4


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
