"""Normalise a recognised sheet into ledger records and row-level errors.

Output columns (`RECORD_COLUMNS`), one record per customer number (a cell with
two numbers gives two records with the same `source`):

- `row_key`: the row's normalised content that identifies it (for reports the
  SPEC §7 `report_id` fields: channel, agent, phone pattern, surname,
  reported_at); the ledger's `row_id` is `ids_from_keys(row_key)`
- `kind`: report | visit | crm_customer | crm_followup | deal | ruling
- `channel`, `agent`: agency and its agent (bringer for visits, owner for rulings)
- `customer_name`: simplified display name; `surnames`: `;`-joined surnames
- `phone`: full 11-digit mobile or null; `phone_pattern`: the full number or
  the masked pattern `138****1234` (hidden positions as `*`)
- `event_at`: the row's own time (报备/到访/首次接触/跟进/成交/裁决), ISO 8601
  with offset, or null when the kind allows an undated row
- `report_type`: 预报备 / 临报 … (reports only)
- `data`: JSON of kind-specific normalised fields (the cells as read stay with
  the sheet: `SheetTable.cells`)
- `sheet`, `row_no`, `source` (`path#sheet!row`)

Errors (`ERROR_COLUMNS`): `error_key`, `kind`, `channel`, `sheet`, `row_no`,
`source`, `codes` (`;`-joined machine codes), `reason` (Chinese, `；`-joined),
`raw` (JSON array of the row's cells, so an error list stands on its own).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import polars as pl

from reconcile.ingest.sheet import ROW, SheetTable, json_array
from reconcile.normalise import dates, deals, names, phones

RECORD_COLUMNS = (
    "row_key",
    "kind",
    "channel",
    "agent",
    "customer_name",
    "surnames",
    "phone",
    "phone_pattern",
    "event_at",
    "report_type",
    "data",
    "sheet",
    "row_no",
    "source",
)
ERROR_COLUMNS = (
    "error_key",
    "kind",
    "channel",
    "sheet",
    "row_no",
    "source",
    "codes",
    "reason",
    "raw",
)

_MAIN_TIME: dict[str, tuple[str, str | None, bool]] = {
    # kind: (datetime field, separate date field, required)
    "report": ("reported_at", "reported_date", True),
    "visit": ("visited_at", "visited_date", True),
    "crm_customer": ("first_contact_at", None, False),
    "crm_followup": ("followed_at", None, True),
    "deal": ("deal_date", None, False),
    "ruling": ("ruled_at", None, False),
}
_TIME_LABELS = {
    "reported_at": "报备时间",
    "visited_at": "到访时间",
    "first_contact_at": "首次接触时间",
    "followed_at": "跟进时间",
    "deal_date": "成交日期",
    "ruled_at": "裁决日期",
}
_KEY_FIELDS: dict[str, tuple[str, ...]] = {
    "report": ("channel", "agent", "phone_pattern", "surname_key", "event_at"),
    "visit": ("phone", "event_at", "channel", "agent"),
    "crm_customer": ("phone", "event_at", "customer_name"),
    "crm_followup": ("phone", "event_at", "data"),
    "deal": ("phone", "data"),
    "ruling": ("phone", "channel", "event_at", "data"),
}


@dataclass(frozen=True)
class SheetContext:
    path: str  # relative to inputs/, with forward slashes
    folder_channel: str | None  # 渠道 from inputs/channels/<渠道>/
    ref_date: date  # for dates written without a year
    timezone: str
    report_types: tuple[str, ...] = ()
    file_name: str = ""
    # `reconcile check` of a file not yet in its channels/<渠道>/ folder: the folder will say.
    require_channel: bool = True


@dataclass
class Normalised:
    records: pl.DataFrame
    errors: pl.DataFrame


def content_keys(frame: pl.DataFrame, kind: str, fields: tuple[str, ...]) -> pl.Series:
    """The text that identifies a row: its kind and identifying fields, unit-separated."""
    return frame.select(
        pl.concat_str(
            [pl.lit(kind), *(pl.col(f).cast(pl.String).fill_null("") for f in fields)],
            separator="\x1f",
        )
    ).to_series()


def ids_from_keys(keys: pl.Series) -> pl.Series:
    """Content-derived ids: BLAKE2b-80 of the key's UTF-8 text, as 20 hex digits.

    A published hash, so ids never change across runs, machines or library versions.
    """
    blake2b = hashlib.blake2b
    return pl.Series(
        [blake2b(key, digest_size=10).hexdigest() for key in keys.cast(pl.Binary).to_list()],
        dtype=pl.String,
    )


def _column(frame: pl.DataFrame, field: str) -> pl.Series:
    if field in frame.columns:
        return frame[field]
    return pl.Series(field, [None] * frame.height, dtype=pl.String)


def _iso(values: pl.Series, timezone: str) -> pl.Series:
    """Naive wall-clock datetimes → ISO 8601 text with the project's offset."""
    offset = _constant_offset(timezone, values.min(), values.max())
    if offset is not None:
        # Most zones (Asia/Shanghai among them) keep one offset over the span: no lookups.
        return values.dt.to_string("%Y-%m-%dT%H:%M:%S") + offset
    return values.dt.replace_time_zone(
        timezone, ambiguous="earliest", non_existent="null"
    ).dt.to_string("%Y-%m-%dT%H:%M:%S%:z")


_MAX_CONSTANT_SPAN = timedelta(days=3 * 366)


@lru_cache(maxsize=256)
def _zone_offsets(timezone: str, first: date, last: date) -> frozenset[timedelta]:
    zone = ZoneInfo(timezone)
    days = (last - first).days
    return frozenset(
        zone.utcoffset(datetime.combine(first + timedelta(days=i), time(12)))
        for i in range(-1, days + 2)
    )


def _constant_offset(timezone: str, low: object, high: object) -> str | None:
    """`+08:00` when the zone has one UTC offset on every day from `low` to `high`."""
    if not isinstance(low, datetime) or not isinstance(high, datetime):
        return None
    if high - low > _MAX_CONSTANT_SPAN:
        return None
    offsets = _zone_offsets(timezone, low.date(), high.date())
    if len(offsets) != 1:
        return None
    minutes = int(next(iter(offsets)).total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


# Other dated columns of a row, whose year a year-less main date (11月18日) is read against.
_OTHER_DATES: dict[str, tuple[str, ...]] = {
    "report": ("expected_visit_at",),
    "deal": ("subscribed_at", "signed_at", "refunded_at"),
}


def _other_dates(frame: pl.DataFrame, kind: str, ctx: SheetContext) -> dict[str, pl.DataFrame]:
    """The row's other dated columns, parsed once against the file's reference date."""
    return {
        field: dates.parse_datetime_series(frame[field], ref=ctx.ref_date)
        for field in _OTHER_DATES.get(kind, ())
        if field in frame.columns
    }


def _row_reference(other: dict[str, pl.DataFrame]) -> pl.Series | None:
    """Per row, the first other column's date that was written with its year."""
    if not other:
        return None
    dated = [
        pl.select(pl.when(~parsed["year_inferred"]).then(parsed["value"].dt.date())).to_series()
        for parsed in other.values()
    ]
    return pl.select(pl.coalesce(dated)).to_series()


def _parse_times(
    frame: pl.DataFrame, kind: str, ctx: SheetContext, other: dict[str, pl.DataFrame]
) -> pl.DataFrame:
    at_field, date_field, _ = _MAIN_TIME[kind]
    ref_dates = _row_reference(other)
    if date_field and date_field in frame.columns:
        time_field = at_field if at_field in frame.columns else "time"
        triples = frame.select(
            _column(frame, date_field).alias("d"),
            _column(frame, time_field).alias("t"),
            (ref_dates if ref_dates is not None else pl.lit(None, pl.Date)).alias("r"),
        )
        unique = triples.unique()
        parsed = [dates.combine(d, t, ref=r or ctx.ref_date) for d, t, r in unique.iter_rows()]
        lookup = unique.with_columns(
            pl.Series("value", [p.value for p in parsed], dtype=pl.Datetime("us")),
            pl.Series("has_time", [p.has_time for p in parsed], dtype=pl.Boolean),
            pl.Series("error_code", [p.error_code for p in parsed], dtype=pl.String),
            pl.Series("error", [p.error for p in parsed], dtype=pl.String),
        )
        return triples.join(
            lookup, on=["d", "t", "r"], how="left", nulls_equal=True, maintain_order="left"
        )
    return dates.parse_datetime_series(
        _column(frame, at_field), ref=ctx.ref_date, ref_dates=ref_dates
    )


def _secondary_datetime(
    frame: pl.DataFrame,
    field: str,
    ctx: SheetContext,
    ref_dates: pl.Series,
    other: dict[str, pl.DataFrame],
) -> pl.Series:
    """ISO text for an optional extra datetime column; unparseable text stays in the cells.

    A year-less value takes its year from the row's own time (`ref_dates`); the parse
    against the file's date is reused when every value was written with its year.
    """
    if field not in frame.columns:
        return pl.Series(field, [None] * frame.height, dtype=pl.String)
    parsed = other.get(field)
    if parsed is None or parsed["year_inferred"].any():
        parsed = dates.parse_datetime_series(frame[field], ref=ctx.ref_date, ref_dates=ref_dates)
    return _iso(parsed["value"], ctx.timezone).alias(field)


def _map_unique(values: pl.Series, parse) -> tuple[pl.Series, pl.Series, pl.Series]:
    """Apply a small pure parser to each distinct value: (value JSON, error code, error)."""
    unique = values.unique().to_list()
    results = {value: parse(value) for value in unique}
    out = [results[value] for value in values.to_list()]
    return (
        pl.Series(
            [None if r.value is None else json.dumps(r.value, ensure_ascii=False) for r in out],
            dtype=pl.String,
        ),
        pl.Series([r.error_code for r in out], dtype=pl.String),
        pl.Series([r.error for r in out], dtype=pl.String),
    )


def normalise_table(table: SheetTable, ctx: SheetContext) -> Normalised:
    frame = table.frame
    kind = table.kind
    height = frame.height
    error_codes: list[pl.Series] = []
    error_texts: list[pl.Series] = []

    def add_error(codes: pl.Series, texts: pl.Series) -> None:
        error_codes.append(codes)
        error_texts.append(texts)

    def add_rule_error(mask: pl.Series, code: str, text: str) -> None:
        add_error(
            pl.select(pl.when(mask).then(pl.lit(code))).to_series(),
            pl.select(pl.when(mask).then(pl.lit(text))).to_series(),
        )

    # Phones: reports may be masked; every other kind identifies a customer by full number.
    parsed_phones = phones.parse_phone_series(_column(frame, "phone"))
    add_error(parsed_phones["phone_error_code"], parsed_phones["phone_error"])
    patterns = parsed_phones["phone_patterns"]
    if kind != "report":
        masked = patterns.list.eval(pl.element().str.contains(r"\*")).list.any().fill_null(False)
        add_rule_error(
            masked,
            "phone_masked",
            "隐藏号码只能用于渠道报备，来访、CRM、成交和裁决记录需要完整手机号",
        )

    # The row's own time.
    at_field, _, required = _MAIN_TIME[kind]
    other_dates = _other_dates(frame, kind, ctx)
    times = _parse_times(frame, kind, ctx, other_dates)
    time_error = times["error_code"]
    if not required:
        time_error = pl.select(
            pl.when(time_error == "date_missing").then(None).otherwise(time_error)
        ).to_series()
    label = _TIME_LABELS[at_field]
    add_error(
        time_error,
        pl.select(
            pl.when(time_error.is_not_null()).then(pl.lit(f"{label}：") + times["error"])
        ).to_series(),
    )
    event_at = _iso(times["value"], ctx.timezone).alias("event_at")
    event_date = times["value"].dt.date()

    # Who: customer name, channel, agent.
    name_frame = names.name_series(_column(frame, "customer_name"))
    channel = _column(frame, "channel")
    if ctx.folder_channel is not None:
        channel = channel.fill_null(ctx.folder_channel)
    if kind == "ruling":
        channel = _column(frame, "ruling_owner")
    if kind == "report" and ctx.require_channel:
        add_rule_error(
            channel.is_null(),
            "channel_missing",
            "无法确定渠道：表中没有渠道列，文件也不在 channels/<渠道>/ 文件夹下",
        )

    data: dict[str, pl.Series] = {}
    if kind == "report":
        data["expected_visit_at"] = _secondary_datetime(
            frame, "expected_visit_at", ctx, event_date, other_dates
        )
        data["agent_phone"] = _column(frame, "agent_phone")
    if kind in ("report", "visit"):
        # A date written without a clock time reads as 00:00; the judge must know that.
        data["time_known"] = times["has_time"]
    if kind == "visit":
        relatives = phones.parse_phone_series(_column(frame, "relative_phone"))
        data["relative_phone"] = relatives["phone_patterns"].list.first().alias("relative_phone")
        data["relative_name"] = _column(frame, "relative_name")
        data["relationship"] = _column(frame, "relationship")
        data["consultant"] = _column(frame, "consultant")
    if kind == "crm_customer":
        data["source_channel"] = _column(frame, "source_channel")
        data["consultant"] = _column(frame, "consultant")
    if kind == "crm_followup":
        data["follow_type"] = _column(frame, "follow_type")
        data["follow_note"] = _column(frame, "follow_note")
    if kind == "deal":
        _deal_fields(frame, ctx, event_date, other_dates, data, add_error, add_rule_error)
        # A deal without its own 成交日期 is dated by its earliest stage date.
        event_at = event_at.fill_null(
            pl.select(
                pl.min_horizontal(data["subscribed_at"], data["signed_at"], data["refunded_at"])
            ).to_series()
        )
    if kind == "ruling":
        shares, code, text = _map_unique(_column(frame, "ruling_shares"), deals.parse_shares)
        add_error(code, text)
        add_rule_error(
            channel.is_null() & shares.is_null(),
            "ruling_owner_missing",
            "裁决表缺少归属渠道或分成",
        )
        data["shares"] = shares
        data["remark"] = _column(frame, "remark")
    if kind in ("report", "visit"):
        data["remark"] = _column(frame, "remark")

    report_type = _report_types(frame, kind, ctx, table.sheet)

    data_json = (
        pl.DataFrame({key: series.alias(key) for key, series in data.items()})
        .select(pl.struct(pl.all()).struct.json_encode())
        .to_series()
        if data
        else pl.Series([None] * height, dtype=pl.String)
    )
    codes = _collect(error_codes, ";")
    texts = _collect(error_texts, "；")
    prefix = f"{ctx.path}#{table.sheet}!"
    base = pl.DataFrame(
        {
            "kind": pl.Series([kind] * height, dtype=pl.String),
            "channel": channel,
            "agent": _column(frame, "agent"),
            "customer_name": name_frame["customer_name"],
            "surnames": name_frame["surnames"],
            "patterns": patterns,
            "event_at": event_at,
            "report_type": report_type,
            "data": data_json,
            "sheet": pl.Series([table.sheet] * height, dtype=pl.String),
            "row_no": frame[ROW],
            "codes": codes,
            "texts": texts,
        }
    ).with_columns(source=pl.lit(prefix) + pl.col("row_no").cast(pl.String))

    failed = base.filter(pl.col("codes") != "")
    cell_columns = [name for name in table.cells.columns if name != ROW]
    raw_cells = table.cells.filter(pl.col(ROW).is_in(failed["row_no"].implode())).select(
        pl.col(ROW).alias("row_no"), json_array(cell_columns).alias("raw")
    )
    errors = (
        failed.join(raw_cells, on="row_no", how="left", maintain_order="left")
        .rename({"texts": "reason"})
        .select(column for column in ERROR_COLUMNS if column != "error_key")
    )
    errors = errors.with_columns(
        error_key=content_keys(errors, "error", ("kind", "channel", "sheet", "codes", "raw"))
    ).select(ERROR_COLUMNS)

    accepted = (
        base.filter(pl.col("codes") == "")
        .explode("patterns")
        .rename({"patterns": "phone_pattern"})
        .with_columns(
            phone=pl.when(pl.col("phone_pattern").str.contains(r"\*"))
            .then(None)
            .otherwise(pl.col("phone_pattern")),
            surname_key=pl.col("surnames").str.split(";").list.first(),
        )
    )
    records = accepted.with_columns(row_key=content_keys(accepted, kind, _KEY_FIELDS[kind])).select(
        RECORD_COLUMNS
    )
    return Normalised(records, errors)


def _collect(columns: list[pl.Series], separator: str) -> pl.Series:
    """Per row, the non-null values of several columns joined; "" when there are none."""
    frame = pl.DataFrame({f"e{i}": column for i, column in enumerate(columns)})
    return frame.select(pl.concat_str(pl.all(), separator=separator, ignore_nulls=True)).to_series()


def _report_types(frame: pl.DataFrame, kind: str, ctx: SheetContext, sheet: str) -> pl.Series:
    height = frame.height
    if kind != "report":
        return pl.Series([None] * height, dtype=pl.String)
    by_name = next(
        (name for name in ctx.report_types if name in sheet or name in ctx.file_name), None
    )
    column = _column(frame, "report_type")
    return column.fill_null(by_name) if by_name else column


def _deal_fields(frame, ctx, event_date, other_dates, data, add_error, add_rule_error) -> None:
    stage_dates = {
        field: _secondary_datetime(frame, field, ctx, event_date, other_dates)
        for field in ("subscribed_at", "signed_at", "refunded_at")
    }
    inferred_stage = pl.select(
        pl.when(stage_dates["refunded_at"].is_not_null())
        .then(pl.lit("退房"))
        .when(stage_dates["signed_at"].is_not_null())
        .then(pl.lit("签约"))
        .when(stage_dates["subscribed_at"].is_not_null())
        .then(pl.lit("认购"))
    ).to_series()
    stage_text = _column(frame, "stage").fill_null(inferred_stage)
    stage, code, text = _map_unique(stage_text, deals.parse_stage)
    add_error(code, text)
    amount, code, text = _map_unique(_column(frame, "amount"), deals.parse_amount)
    add_error(code, text)
    add_rule_error(
        _column(frame, "deal_no").is_null() & _column(frame, "room").is_null(),
        "deal_id_missing",
        "成交记录缺少成交编号和房号",
    )
    data["deal_no"] = _column(frame, "deal_no")
    data["room"] = _column(frame, "room")
    data["stage"] = stage.str.strip_chars('"')
    data["amount"] = amount.cast(pl.Float64, strict=False)
    data.update(stage_dates)
    data["relative_phone"] = phones.parse_phone_series(_column(frame, "relative_phone"))[
        "phone_patterns"
    ].list.first()
    data["consultant"] = _column(frame, "consultant")
