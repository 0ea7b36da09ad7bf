"""Normalise a recognised sheet into ledger records and row-level errors.

Output columns (`RECORD_COLUMNS`), one record per customer number (a cell with
two numbers gives two records with the same `source`):

- `row_key`: the row's normalised content that identifies it (for reports the
  SPEC §7 `report_id` fields: channel, agent, phone pattern, surname,
  reported_at); the ledger's `row_id` is `ids_from_keys(row_key)`
- `kind`: a kind of `reconcile.config.kinds` (report | visit | crm_customer | crm_followup |
  deal | deal_change | ruling | payment); a row may also yield a record of another kind (a
  CRM customer's 最近跟进日期 is a follow-up)
- `channel`, `agent`: agency and its agent (bringer for visits, owner for rulings)
- `customer_name`: simplified display name; `surnames`: `;`-joined surnames
- `phone`: full 11-digit mobile or null; `phone_pattern`: the full number or
  the masked pattern `138****1234` (hidden positions as `*`)
- `event_at`: the row's own time (报备/到访/首次接触/跟进/成交/裁决), ISO 8601
  with offset, or null when the kind allows an undated row
- `report_type`: 预报备 / 临报 … (reports only)
- `data`: JSON of the kind's declared `data` fields, typed as declared (the cells as
  read stay with the sheet: `SheetTable.cells`)
- `sheet`, `row_no`, `source` (`path#sheet!row`)

Errors (`ERROR_COLUMNS`): `error_key`, `kind`, `channel`, `sheet`, `row_no`,
`source`, `codes` (`;`-joined machine codes), `reason` (Chinese, `；`-joined),
`raw` (JSON array of the row's cells, so an error list stands on its own).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from functools import lru_cache, partial
from zoneinfo import ZoneInfo

import polars as pl

from reconcile.config.kinds import FIELD_LABELS, KINDS, NO_CHANNEL, PLACEHOLDERS, DataType, Kind
from reconcile.config.rules import EXTENSION_TYPES, type_named
from reconcile.normalise import dates, deals, names, phones
from reconcile.normalise.errors import RowError
from reconcile.normalise.places import place_prefix
from reconcile.normalise.table import ROW, SheetTable, json_array

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

# Fields that hold only a calendar date: joined with a `time` column when there is one.
_DATE_ONLY_FIELDS = ("reported_date", "visited_date", "date")


def _time_fields(kind: Kind, columns: list[str]) -> tuple[str | None, str | None]:
    """(date-time field, date-only field) that give a row of this sheet its own time."""
    present = [f for f in kind.time if f in columns]
    at = next((f for f in present if f not in _DATE_ONLY_FIELDS), None)
    day = next((f for f in present if f in _DATE_ONLY_FIELDS), None)
    return at, day


@dataclass(frozen=True)
class SheetContext:
    path: str  # relative to inputs/, with forward slashes
    folder_channel: str | None  # 渠道 from inputs/channels/<渠道>/
    ref_date: date  # for dates written without a year
    timezone: str
    report_types: tuple[str, ...] = ()
    file_name: str = ""
    channel_names: tuple[tuple[str, str], ...] = ()  # (variant, channel) from rules `channels:`
    known_channels: frozenset[str] = frozenset()  # every channel the rules name
    title_date: date | None = None  # a date the title or a corner cell states, for time-only rows
    # `reconcile check` of a file not yet in its channels/<渠道>/ (or statements/<渠道>/)
    # folder: the folder will say.
    require_channel: bool = True


@dataclass
class Normalised:
    records: pl.DataFrame
    errors: pl.DataFrame


def content_keys(frame: pl.DataFrame, kind: str, fields: tuple[str, ...]) -> pl.Series:
    """The text that identifies a row: its kind and identifying fields, unit-separated."""
    return frame.select(content_key(kind, fields)).to_series()


def content_key(kind: str, fields: tuple[str, ...]) -> pl.Expr:
    """`content_keys` as an expression."""
    return pl.concat_str(
        [pl.lit(kind), *(pl.col(f).cast(pl.String).fill_null("") for f in fields)],
        separator="\x1f",
    )


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
def _zone_offsets(timezone: str, first: date, last: date) -> frozenset[timedelta | None]:
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
    offset = next(iter(offsets))
    if len(offsets) != 1 or offset is None:  # a ZoneInfo always has an offset
        return None
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def dates_in_order(table: SheetTable) -> SheetTable:
    """The sheet with month-first or day-first slashed dates (11/18/2026) in its date
    columns in year-first order, each whole column deciding its own
    (`dates.slashed_in_order`): before the sheet is cut into chunks, which must not each
    decide."""
    kind = KINDS[table.kind]
    frame = table.frame
    dated = {*kind.time, *(f.name for f in kind.data if f.type is DataType.DATETIME)}
    columns = [name for name in frame.columns if name in dated]
    slashed = [
        name
        for name in columns
        if frame[name].dtype == pl.String and frame[name].str.contains("/[0-9]{4}").any()
    ]
    if not slashed:
        return table
    ordered = frame.with_columns(dates.slashed_in_order(frame[name]) for name in slashed)
    return replace(table, frame=ordered)


# Other dated columns of a row, whose year a year-less main date (11月18日) is read against.
def _other_dates(frame: pl.DataFrame, kind: Kind, ctx: SheetContext) -> dict[str, pl.DataFrame]:
    """The row's other dated columns, parsed once against the file's reference date."""
    return {
        f.name: dates.parse_datetime_series(frame[f.name], ref=ctx.ref_date, zone=ctx.timezone)
        for f in kind.data
        if f.type is DataType.DATETIME and f.name in frame.columns
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
    frame: pl.DataFrame, kind: Kind, ctx: SheetContext, other: dict[str, pl.DataFrame]
) -> pl.DataFrame:
    at_field, date_field = _time_fields(kind, frame.columns)
    ref_dates = _row_reference(other)
    time_field = at_field or ("time" if "time" in frame.columns else kind.time[0])
    if date_field is None:
        parsed = dates.parse_datetime_series(
            _column(frame, time_field), ref=ctx.ref_date, ref_dates=ref_dates, zone=ctx.timezone
        )
    else:
        refs = (
            ref_dates
            if ref_dates is not None
            else pl.repeat(None, frame.height, dtype=pl.Date, eager=True)
        )
        parsed = dates.combine_series(
            _column(frame, date_field), _column(frame, time_field), refs.fill_null(ctx.ref_date)
        )
    return _dated_by_title(parsed, _column(frame, time_field), ctx)


def _parse_columns(results: list[dates.DateParse]) -> list[pl.Series]:
    return [
        pl.Series("value", [p.value for p in results], dtype=pl.Datetime("us")),
        pl.Series("has_time", [p.has_time for p in results], dtype=pl.Boolean),
        pl.Series("error_code", [p.error_code for p in results], dtype=pl.String),
        pl.Series("error", [p.error for p in results], dtype=pl.String),
    ]


def _dated_by_title(parsed: pl.DataFrame, clock: pl.Series, ctx: SheetContext) -> pl.DataFrame:
    """Rows that give only a time take the date a title or corner cell states (SPEC 4.1)."""
    only_time = (parsed["error_code"] == RowError.DATE_TIME_ONLY).fill_null(False)
    if ctx.title_date is None or not only_time.any():
        return parsed
    day = ctx.title_date.isoformat()
    rows = only_time.arg_true()
    fixed = _parse_columns([dates.combine(day, text) for text in clock.gather(rows).to_list()])
    # Only the time-only rows change; every other row keeps its own parse.
    return parsed.with_columns(parsed[new.name].scatter(rows, new) for new in fixed)


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
        parsed = dates.parse_datetime_series(
            frame[field], ref=ctx.ref_date, ref_dates=ref_dates, zone=ctx.timezone
        )
    return _iso(parsed["value"], ctx.timezone).alias(field)


def _map_unique(values: pl.Series, parse) -> tuple[pl.Series, pl.Series, pl.Series]:
    """Apply a small pure parser to each distinct value: (value JSON, error code, error)."""
    unique = values.unique().to_list()
    results = {value: parse(value) for value in unique}
    dumped = {
        value: None if r.value is None else json.dumps(r.value, ensure_ascii=False)
        for value, r in results.items()
    }
    cells = values.to_list()
    out = [results[value] for value in cells]
    return (
        pl.Series([dumped[value] for value in cells], dtype=pl.String),
        pl.Series([r.error_code for r in out], dtype=pl.String),
        pl.Series([r.error for r in out], dtype=pl.String),
    )


def channel_series(cells: pl.Series, kind: str, ctx: SheetContext) -> pl.Series:
    """Each row's channel (SPEC 4.1): its own cell, else the folder's, through `channels:`.

    A placeholder (`-`, `/`) means the folder's channel, or none outside a channel's
    folder. Words that mean "no channel" (自然到访, 案场 …) are no channel: on a
    report, whose channel is whoever sent it, they fall back to the folder too.
    """
    text = cells.str.strip_chars()
    fallback = pl.lit(ctx.folder_channel, dtype=pl.String)
    no_channel = text.is_in(list(NO_CHANNEL))
    placeholder = text.is_in(list(PLACEHOLDERS)) | (text == "")
    if kind == "report":
        placeholder = placeholder | no_channel
        no_channel = pl.repeat(False, len(text), eager=True)
    channel = pl.select(
        pl.when(text.is_null() | placeholder)
        .then(fallback)
        .when(no_channel)
        .then(None)
        .otherwise(text)
    ).to_series()
    if ctx.channel_names:
        variants, canonical = zip(*ctx.channel_names, strict=True)
        channel = channel.replace(list(variants), list(canonical))
    if kind == "report":
        channel = _at_length(channel, ctx)
    return channel.alias("channel")


def _at_length(channel: pl.Series, ctx: SheetContext) -> pl.Series:
    """A report's channel written at length or with more on it (北京链家房地产经纪有限公司,
    a message's 链家李四) as the one channel it names of those the rules and the folder know
    (`names.named_channel`): otherwise the agency is a channel of its own, its reports
    beside its own quota and receipt."""
    known = ctx.known_channels | ({ctx.folder_channel} if ctx.folder_channel else frozenset())
    return names.channels_named(channel, known) if known else channel


def _bringer(sources: pl.Series, ctx: SheetContext) -> pl.Series:
    """A visit register's 渠道来源 as the channel that brought the visitor: a channel the
    rules name (by any of its names, or at length: 链家地产), else the folder's; a media
    source (朋友介绍, 户外广告, 自然来访) brings no channel, and stays in the row as its
    客户来源."""
    text = sources.str.strip_chars()
    if ctx.channel_names:
        variants, canonical = zip(*ctx.channel_names, strict=True)
        text = text.replace(list(variants), list(canonical))
    text = names.channels_named(text, ctx.known_channels)
    known = text.is_in(list(ctx.known_channels)).fill_null(False)
    fallback = pl.lit(ctx.folder_channel, dtype=pl.String)
    return pl.select(pl.when(known).then(text).otherwise(fallback)).to_series().alias("channel")


# An agent cell with the agent's mobile beside the name: `李四13900001111`, `李四 139…`,
# `李四（13900001111）`, `13900001111李四`.
_AGENT_WITH_NUMBER = (
    r"^(?:(?P<a>[^0-9]*?)[\s:：/,，(（-]*(?P<an>1[3-9][0-9]{9})[)）]?"
    r"|(?P<bn>1[3-9][0-9]{9})[\s:：/,，-]*(?P<b>[^0-9]+?))$"
)


def _agent_and_number(frame: pl.DataFrame, kind: Kind) -> pl.DataFrame:
    """The frame with an agent cell that also gives the agent's mobile split in two: the
    name is the agent (one agent however the number is glued on, for quotas and
    receipts), the number the 经纪人电话 where the row has none."""
    if "agent" not in frame.columns:
        return frame
    cell = frame["agent"].str.strip_chars()
    if not cell.str.contains("1[3-9][0-9]{9}").any():
        return frame  # most sheets: no agent cell gives a number
    found = cell.str.extract_groups(_AGENT_WITH_NUMBER)
    name = pl.coalesce(found.struct.field("a"), found.struct.field("b")).str.strip_chars()
    number = pl.coalesce(found.struct.field("an"), found.struct.field("bn"))
    split = (
        pl.select((name.str.len_chars() > 0) & number.is_not_null()).to_series().fill_null(False)
    )
    if not split.any():
        return frame
    columns = {"agent": pl.when(split).then(name).otherwise(cell)}
    if "agent_phone" in kind.data_types:
        given = frame["agent_phone"] if "agent_phone" in frame.columns else pl.lit(None, pl.String)
        columns["agent_phone"] = pl.coalesce(given, pl.when(split).then(number))
    return frame.with_columns(**columns)


def agent_series(agents: pl.Series, channel: pl.Series, ctx: SheetContext) -> pl.Series:
    """Each row's agent, less words naming the row's channel (`names.agent_name`: a 报备群
    nickname 链家-李四 is the agent 李四 of 链家)."""
    words: dict[str, set[str]] = {}
    for variant, canonical in ctx.channel_names:
        words.setdefault(canonical, {canonical}).add(variant)
    pairs = pl.DataFrame({"agent": agents, "channel": channel}).with_row_index("i")
    # Only an agent cell that may hold its channel's name is looked at in Python.
    may_name = pl.col("agent").str.contains(pl.col("channel"), literal=True) | pl.col(
        "channel"
    ).is_in(list(words))
    named = pairs.drop_nulls().filter(may_name)
    if not named.height:
        return agents.alias("agent")
    distinct = named.select("agent", "channel").unique()
    cleaned = distinct.with_columns(
        new=pl.Series(
            [names.agent_name(a, words.get(c, {c})) for a, c in distinct.iter_rows()],
            dtype=pl.String,
        )
    )
    found = named.join(cleaned, on=["agent", "channel"], how="left")
    return agents.scatter(found["i"], found["new"]).alias("agent")


def _gendered_names(frame: pl.DataFrame) -> pl.Series:
    """The name cell, with a separate 性别 cell making a bare surname 张 read as 张先生."""
    name = _column(frame, "customer_name").str.strip_chars()
    if "gender" not in frame.columns:
        return name
    gender = frame["gender"].str.strip_chars()
    title = (
        pl.when(gender.is_in(["男", "先生", "男士", "M", "m"]))
        .then(pl.lit("先生"))
        .when(gender.is_in(["女", "女士", "小姐", "F", "f"]))
        .then(pl.lit("女士"))
    )
    # Only a surname alone (张, 欧阳) takes the title; 张三 is a full name already.
    bare_surname = (name.str.len_chars() == 1) | name.is_in(list(names.COMPOUND_SURNAMES))
    return pl.select(
        pl.when(bare_surname & title.is_not_null()).then(name + title).otherwise(name)
    ).to_series()


_MASKED_REASON = "隐藏号码只能用于渠道报备，来访、CRM、成交和裁决记录需要完整手机号"
# An agency's own table read as visits (带看时间, no 报备时间) is most often a report
# table without its report time: say so where the clerk will look.
_READ_AS_VISITS = (
    "；本表按来访登记读取（有到访/带看时间，没有报备时间列），如果这是报备表，"
    "请加一列“报备时间”后重新提交"
)


def normalise_table(table: SheetTable, ctx: SheetContext) -> Normalised:
    kind = KINDS[table.kind]
    frame = _agent_and_number(table.frame, kind)
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
    phone_code = parsed_phones["phone_error_code"]
    if not kind.phone_required:  # a transaction change reaches its deal by flat or number
        phone_code = pl.select(
            pl.when(phone_code == RowError.PHONE_MISSING).then(None).otherwise(phone_code)
        ).to_series()
    add_error(
        phone_code,
        pl.select(pl.when(phone_code.is_not_null()).then(parsed_phones["phone_error"])).to_series(),
    )
    patterns = parsed_phones["phone_patterns"]
    if not kind.masked_phone_ok:
        masked = patterns.list.eval(pl.element().str.contains(r"\*")).list.any().fill_null(False)
        add_rule_error(
            masked,
            RowError.PHONE_MASKED,
            _MASKED_REASON
            + (_READ_AS_VISITS if kind.name == "visit" and ctx.folder_channel else ""),
        )

    # The row's own time.
    other_dates = _other_dates(frame, kind, ctx)
    times = _parse_times(frame, kind, ctx, other_dates)
    time_error = times["error_code"]
    if not kind.time_required:
        time_error = pl.select(
            pl.when(time_error == RowError.DATE_MISSING).then(None).otherwise(time_error)
        ).to_series()
    at_field, day_field = _time_fields(kind, frame.columns)
    label = FIELD_LABELS[at_field or day_field or kind.time[0]].split("（")[0]
    add_error(
        time_error,
        pl.select(
            pl.when(time_error.is_not_null()).then(pl.lit(f"{label}：") + times["error"])
        ).to_series(),
    )
    event_at = _iso(times["value"], ctx.timezone).alias("event_at")
    event_date = times["value"].dt.date()

    # Who: customer name, channel, agent.
    name_frame = names.name_series(_gendered_names(frame))
    sourced = "source_channel" in frame.columns and "channel" not in frame.columns
    if kind.name == "visit" and sourced:
        channel = _bringer(frame["source_channel"], ctx)
    else:
        channel = channel_series(_column(frame, "channel"), kind.name, ctx)
    natural = None
    if kind.name == "ruling":
        # 归属渠道 read like any channel cell (name variants folded); 自然到访/无 … rules the
        # customer no channel's.
        owner = _column(frame, "ruling_owner")
        natural = owner.str.strip_chars().is_in(list(NO_CHANNEL)).fill_null(False)
        channel = channel_series(owner, kind.name, ctx)
    if kind.name == "report" and ctx.require_channel:
        add_rule_error(
            channel.is_null(),
            RowError.CHANNEL_MISSING,
            "无法确定渠道：表中没有渠道列，文件也不在 channels/<渠道>/ 文件夹下",
        )

    data = _data_columns(frame, kind, ctx, event_date, other_dates, times)
    if kind.name == "payment":
        _payment_fields(frame, data, channel, add_error, add_rule_error)
    if kind.name == "statement":
        channel = _claim_fields(frame, data, channel, ctx, add_error, add_rule_error)
        # One claim per row: a second number in the cell (co-buyers) must not claim twice.
        patterns = patterns.list.head(1)
    if kind.name in ("deal", "deal_change"):
        named = _named_stage(table.sheet, ctx.file_name)
        _deal_fields(frame, kind.name, data, add_error, add_rule_error, named)
    if kind.name == "deal":
        # A deal without its own 成交日期 is dated by its earliest stage at 认购 level or above.
        stage_dates = [data[f] for f in ("subscribed_at", "signed_at", "refunded_at") if f in data]
        if stage_dates:
            event_at = event_at.fill_null(pl.select(pl.min_horizontal(stage_dates)).to_series())
    if kind.name == "ruling":
        shares, code, text = _map_unique(_column(frame, "ruling_shares"), deals.parse_shares)
        add_error(code, text)
        assert natural is not None
        add_rule_error(
            channel.is_null() & shares.is_null() & ~natural,
            RowError.RULING_OWNER_MISSING,
            "裁决表缺少归属渠道或分成",
        )
        data["shares"] = shares
        if natural.any():  # only then: the other rulings' content (and row ids) never change
            data["natural"] = natural

    report_type = _report_types(frame, kind.name, ctx, table.sheet)

    data_json = (
        pl.DataFrame({key: series.alias(key) for key, series in data.items()})
        .select(pl.struct(pl.all()).struct.json_encode())
        .to_series()
        if data
        else pl.Series([None] * height, dtype=pl.String)
    )
    codes = _collect(error_codes, ";")
    texts = _collect(error_texts, "；")
    if "message_problem" in frame.columns:
        # A WeChat message the reader could not take (SPEC 4.2): its own reason is the
        # whole story, not the blank phone or time its row has in consequence.
        problem = frame["message_problem"]
        codes = pl.select(
            pl.when(problem.is_not_null())
            .then(pl.lit(RowError.MESSAGE_REJECTED.value))
            .otherwise(codes)
        ).to_series()
        texts = pl.select(pl.when(problem.is_not_null()).then(problem).otherwise(texts)).to_series()
    prefix = place_prefix(ctx.path, table.sheet)
    base = pl.DataFrame(
        {
            "kind": pl.Series([kind.name] * height, dtype=pl.String),
            "channel": channel,
            "agent": agent_series(_column(frame, "agent"), channel, ctx),
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
    if failed.height:
        cell_columns = [name for name in table.cells.columns if name != ROW]
        raw_cells = table.cells.filter(pl.col(ROW).is_in(failed["row_no"].implode())).select(
            pl.col(ROW).alias("row_no"), json_array(cell_columns).alias("raw")
        )
        errors = (
            failed.lazy()
            .join(raw_cells.lazy(), on="row_no", how="left", maintain_order="left")
            .rename({"texts": "reason"})
            .select(column for column in ERROR_COLUMNS if column != "error_key")
            .with_columns(
                error_key=content_key("error", ("kind", "channel", "sheet", "codes", "raw"))
            )
            .select(ERROR_COLUMNS)
            .collect()
        )
    else:  # the common case: no cells to quote
        types = {**base.schema, "reason": base.schema["texts"]}
        errors = pl.DataFrame(schema={c: types.get(c, pl.String()) for c in ERROR_COLUMNS})

    accepted = base.filter(pl.col("codes") == "")
    also = _also_records(accepted, frame, kind, ctx, event_date)
    records = (
        (pl.concat([accepted, *also]) if also else accepted)
        .lazy()
        .explode("patterns", empty_as_null=True)
        .rename({"patterns": "phone_pattern"})
        .with_columns(
            phone=pl.when(pl.col("phone_pattern").str.contains(r"\*"))
            .then(None)
            .otherwise(pl.col("phone_pattern")),
            surname_key=pl.col("surnames").str.split(";").list.first(),
        )
    )
    if not also:  # the common case: every record is of the sheet's kind
        made = records.with_columns(row_key=content_key(kind.name, kind.key))
        return Normalised(made.select(RECORD_COLUMNS).collect(), errors)
    accepted = records.collect()
    if accepted["kind"].n_unique() <= 1:  # every record of the sheet's kind
        keyed = accepted.with_columns(row_key=content_keys(accepted, kind.name, kind.key))
    else:
        keyed = pl.concat(
            group.with_columns(row_key=content_keys(group, name, KINDS[name].key))
            for (name,), group in accepted.group_by("kind", maintain_order=True)
        )
    return Normalised(keyed.select(RECORD_COLUMNS), errors)


def _data_columns(
    frame: pl.DataFrame,
    kind: Kind,
    ctx: SheetContext,
    event_date: pl.Series,
    other_dates: dict[str, pl.DataFrame],
    times: pl.DataFrame,
) -> dict[str, pl.Series]:
    """The kind's declared `data` fields, each normalised as its type says."""
    data: dict[str, pl.Series] = {}
    for spec in kind.data:
        if spec.type is not DataType.FLAG and spec.name not in frame.columns:
            # Left out rather than written as null: the judge decodes a missing key as null.
            continue
        if spec.type is DataType.DATETIME:
            data[spec.name] = _secondary_datetime(frame, spec.name, ctx, event_date, other_dates)
        elif spec.type is DataType.AMOUNT:
            amount, _, _ = _map_unique(_column(frame, spec.name), deals.parse_amount)
            data[spec.name] = amount.cast(pl.Float64, strict=False)
        elif spec.type is DataType.PHONE:
            parsed = phones.parse_phone_series(_column(frame, spec.name))
            data[spec.name] = parsed["phone_patterns"].list.first()
        elif spec.type is DataType.FLAG:
            # A date written without a clock time reads as 00:00; the judge must know that.
            data[spec.name] = times["has_time"]
        else:
            data[spec.name] = _column(frame, spec.name).str.strip_chars()
    return data


def _also_records(
    accepted: pl.DataFrame,
    frame: pl.DataFrame,
    kind: Kind,
    ctx: SheetContext,
    event_date: pl.Series,
) -> list[pl.DataFrame]:
    """Further events a row records (a visit register's 最近到访 is a second visit)."""
    extra: list[pl.DataFrame] = []
    if accepted.height == 0 or not any(field in frame.columns for field, _ in kind.also):
        return extra
    rows = frame.with_row_index("__i").filter(pl.col(ROW).is_in(accepted["row_no"].implode()))
    for field, other_kind in kind.also:
        if field not in frame.columns:
            continue
        parsed = dates.parse_datetime_series(
            rows[field],
            ref=ctx.ref_date,
            ref_dates=event_date.gather(rows["__i"]),
            zone=ctx.timezone,
        )
        at = _iso(parsed["value"], ctx.timezone)
        # The second event keeps the row's data (a visit's relatives) with its own time_known.
        known = pl.DataFrame({"time_known": parsed["has_time"]})
        if other_kind == kind.name:
            kept = accepted.select(pl.col("data").str.json_decode(pl.Struct(kind.data_types)))
            known = kept.unnest("data").drop("time_known", strict=False).hstack(known)
        data = known.select(pl.struct(pl.all())).to_series()
        more = accepted.with_columns(
            kind=pl.lit(other_kind),
            event_at=at,
            data=data.struct.json_encode(),
        ).filter(
            pl.col("event_at").is_not_null() & pl.col("event_at").ne_missing(accepted["event_at"])
        )
        extra.append(more)
    return extra


def _collect(columns: list[pl.Series], separator: str) -> pl.Series:
    """Per row, the non-null values of several columns joined; "" when there are none."""
    frame = pl.DataFrame({f"e{i}": column for i, column in enumerate(columns)})
    return frame.select(pl.concat_str(pl.all(), separator=separator, ignore_nulls=True)).to_series()


def _report_types(frame: pl.DataFrame, kind: str, ctx: SheetContext, sheet: str) -> pl.Series:
    height = frame.height
    if kind != "report":
        return pl.Series([None] * height, dtype=pl.String)
    # A sheet or file named for an extension request (延期申请) holds requests (SPEC 6.8).
    names = (*EXTENSION_TYPES, *ctx.report_types)
    by_name = next((name for name in names if name in sheet or name in ctx.file_name), None)
    column = _column(frame, "report_type")
    written = column.unique().drop_nulls().to_list()
    named = {text: type_named(text, ctx.report_types) for text in written}
    column = column.replace({text: name for text, name in named.items() if name != text})
    return column.fill_null(by_name) if by_name else column


def _named_stage(*names: str) -> str | None:
    """The stage a 认购 or 签约 table's sheet or file name gives (认购明细, 签约台账)."""
    found = {stage for word, stage in _STAGE_NAMES if any(word in name for name in names)}
    return found.pop() if len(found) == 1 else None


_STAGE_NAMES = (("认购", "认购"), ("大定", "认购"), ("签约", "签约"), ("网签", "签约"))


def _deal_fields(
    frame: pl.DataFrame,
    table_kind: str,
    data: dict,
    add_error,
    add_rule_error,
    named: str | None = None,
) -> None:
    """Stage and amount checks, and a deal row's identity (SPEC 6.5)."""
    identity = [
        _column(frame, f).is_null()
        for f in ("deal_no", "subscription_no", "contract_no", "room_id", "room_name", "room")
    ]
    add_rule_error(
        pl.select(pl.all_horizontal(identity)).to_series(),
        RowError.DEAL_ID_MISSING,
        "成交记录缺少房间（房号）和成交、认购、合同编号，无法确定是哪一套房",
    )
    if "stage" in {f.name for f in KINDS[table_kind].data}:
        _stage(frame, data, add_error, named)
    amount_code = _map_unique(_column(frame, "amount"), deals.parse_amount)
    add_error(amount_code[1], amount_code[2])


def _payment_fields(
    frame: pl.DataFrame, data: dict, channel: pl.Series, add_error, add_rule_error
) -> None:
    """A payment's signed amount (付款金额, else 金额), its channel, and whether its
    状态 says it was made at all (SPEC 6.6)."""
    status = _column(frame, "payment_status")
    if "stage" in frame.columns:
        status = status.fill_null(frame["stage"])
    _, status_code, status_text = _map_unique(status, deals.parse_payment_status)
    add_error(status_code, status_text)
    cells = _column(frame, "payment_amount")
    if "amount" in frame.columns:
        cells = cells.fill_null(frame["amount"])
    amount, code, text = _map_unique(cells, deals.parse_signed_amount)
    add_error(code, text)
    data["amount"] = amount.cast(pl.Float64, strict=False)
    add_rule_error(
        channel.is_null(),
        RowError.CHANNEL_MISSING,
        "付款记录缺少渠道（收款单位），不知道付给了谁",
    )


def _claim_fields(
    frame: pl.DataFrame,
    data: dict,
    channel: pl.Series,
    ctx: SheetContext,
    add_error,
    add_rule_error,
) -> pl.Series:
    """A claim line's signed amount and the agency that claims it (SPEC 6.6); returns the
    claiming channel of each row.

    The amount is 请款金额 as written (a 对账单 may list a claw-back as negative); a row
    giving only the whole commission (应收佣金) and what the agency has received (已收佣金)
    claims the difference. The agency is the statements folder's: a 中介公司 column on a
    claim names the sub-agency that brought the buyer, not the agency asking to be paid.
    """
    amount, code, text = _map_unique(
        _column(frame, "claim_amount"), partial(deals.parse_signed_amount, label="请款金额")
    )
    claimed = amount.cast(pl.Float64, strict=False)
    if "claim_total" in frame.columns:
        total, total_code, total_text = _map_unique(
            frame["claim_total"], partial(deals.parse_signed_amount, label="请款金额")
        )
        received, received_code, received_text = _map_unique(
            _column(frame, "claim_received"), deals.parse_amount
        )
        difference = total.cast(pl.Float64, strict=False) - received.cast(
            pl.Float64, strict=False
        ).fill_null(0.0)
        written = claimed.is_not_null() | (code == RowError.AMOUNT_INVALID.value)

        def pick(mine: pl.Series, theirs: pl.Series | pl.Expr) -> pl.Series:
            return pl.select(pl.when(written).then(mine).otherwise(theirs)).to_series()

        claimed = pick(claimed, difference.round(2))
        code = pick(code, pl.coalesce(total_code, received_code))
        text = pick(text, pl.coalesce(total_text, received_text))
    add_error(code, text)
    data["claim_amount"] = claimed
    if ctx.folder_channel is not None:
        return pl.Series("channel", [ctx.folder_channel] * frame.height, dtype=pl.String)
    if ctx.require_channel:
        add_rule_error(
            channel.is_null(),
            RowError.CHANNEL_MISSING,
            "请款单缺少渠道：表中没有渠道列，文件也不在 statements/<渠道>/ 文件夹下",
        )
    return channel


def _stage(frame: pl.DataFrame, data: dict, add_error, named: str | None) -> None:
    """The stage as written, else the latest stage whose date the row gives; a 明源
    激活/关闭 record's stage from its dates, else the table's name (`named`)."""
    inferred = pl.lit(None, pl.String)
    # Latest first: the last `when` written is the first one tried.
    for field, word in (("deposit_at", "小订"), ("subscribed_at", "认购"), ("signed_at", "签约"),
                        ("refunded_at", "退房")):  # fmt: skip
        if field in data:
            inferred = pl.when(data[field].is_not_null()).then(pl.lit(word)).otherwise(inferred)
    inferred_stage = pl.select(inferred).to_series()
    if inferred_stage.len() != frame.height:
        inferred_stage = inferred_stage.extend_constant(None, frame.height - inferred_stage.len())
    stage_text = _column(frame, "stage").fill_null(inferred_stage)
    stage, code, text = _map_unique(stage_text, deals.parse_stage)
    states = stage_text.str.strip_chars()
    recorded = states.is_in(list(deals.RECORD_STATES)).fill_null(False)
    if recorded.any():  # 明源's 激活/关闭 records: the table's own stage, or how it closed
        own = inferred_stage.fill_null(named)
        read = [
            deals.record_stage(state, reason, own_stage)
            for state, reason, own_stage in zip(
                states.filter(recorded),
                _column(frame, "close_reason").filter(recorded),
                own.filter(recorded),
                strict=True,
            )
        ]
        rows = recorded.arg_true()
        stage = stage.cast(pl.String).scatter(
            rows, pl.Series([r.value for r in read], dtype=pl.String)
        )
        code = code.scatter(rows, pl.Series([r.error_code for r in read], dtype=pl.String))
        text = text.scatter(rows, pl.Series([r.error for r in read], dtype=pl.String))
        if "close_reason" in data:  # a standing record was not closed, whatever it says
            standing = states.eq("激活").fill_null(False)
            data["close_reason"] = data["close_reason"].set(standing, None)
    add_error(code, text)
    data["stage"] = stage.str.strip_chars('"')
