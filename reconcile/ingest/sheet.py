"""From a raw sheet to a table of canonical text columns.

`extract_table` finds the header row, recognises the sheet kind, fills merged
cells, and sets aside blank, totals and notes rows with a counted reason. What it
returns is still text: normalisation is the next stage.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace

import polars as pl

from reconcile.config.kinds import FIELD_LABELS, FILL_FROM_DUPLICATES, KIND_LABELS, KINDS
from reconcile.ingest.headers import (
    COMBINED_LABELLED,
    HEADER_SCAN_ROWS,
    PART_SEPARATORS,
    AliasTable,
    HeaderMatch,
    find_header,
    recognise,
)
from reconcile.ingest.readers import RawSheet
from reconcile.normalise.names import same_project
from reconcile.normalise.places import MESSAGES
from reconcile.normalise.table import ROW, SheetTable

SKIP_BLANK = "空行"
SKIP_TOTALS = "合计/小计行"
SKIP_NOTES = "备注/说明行"
SKIP_REPEATED_HEADER = "重复的表头行"
SKIP_UNSOLD = "未售房源"
SKIP_UNRULED = "未填写裁决的行"
SKIP_OTHER_PROJECT = "其他项目的行"

_IDENTITY_FIELDS = frozenset(
    {"phone", "deal_no", "subscription_no", "contract_no", "room_id", "room", "room_name"}
)
_UNSOLD = re.compile(r"待售|未售|可售|销控|预留|未推|不可售")

_TOTALS = re.compile(r"^\s*(合计|总计|小计|共计|总数|汇总)")
_NOTES = re.compile(r"^\s*(备注|说明|注[:：]|注意|填表说明|制表|审核|附注|\*注|※)")


@dataclass
class UnrecognisedSheet:
    sheet: str
    headers: list[str]
    rows: int  # non-blank rows, header included
    reason: str
    cells: pl.DataFrame  # every row as read: `__row`, c0..cN
    hidden: bool = False
    # A header was found but the sheet could not be read safely (kind unclear, a
    # required column missing): its rows are data the night does not read.
    set_aside: bool = False
    kept: pl.DataFrame | None = None  # what the ledger keeps, when not `cells` (RawSheet.kept)


def _fill_merges(frame: pl.DataFrame, merges: list[tuple]) -> pl.DataFrame:
    """Every cell of a merged range takes the value of its top-left cell (as Excel shows it).

    Only the cells of the ranges are set: an export of a million rows under a merged
    title row must not become a million Python values per column.
    """
    relevant = [m for m in merges if m[0] < frame.height]
    if not relevant:
        return frame
    filled: dict[str, dict[int, str | None]] = {}  # column -> row -> value
    for r1, c1, r2, c2 in relevant:
        name = f"c{c1}"
        if name not in frame.columns:
            continue
        # A range's top-left may lie in a range filled before it (as it would have in a
        # sheet filled range by range).
        value = filled.get(name, {}).get(r1, frame[name][r1])
        for column in range(c1, c2 + 1):
            target = f"c{column}"
            if target not in frame.columns:
                continue
            cells = filled.setdefault(target, {})
            for row in range(r1, min(r2, frame.height - 1) + 1):
                cells[row] = value
    return frame.with_columns(
        frame[name].scatter(list(cells), pl.Series(list(cells.values()), dtype=pl.String))
        for name, cells in filled.items()
    )


def extract_table(
    sheet: RawSheet,
    aliases: AliasTable,
    folder: str | None,
    file_name: str,
) -> SheetTable | UnrecognisedSheet | None:
    """None for a sheet with no content at all.

    Merged cells are filled first, header rows included (a group label spreads over
    the columns it spans), so the stored cells re-derive the sheet on their own.
    """
    frame = _fill_merges(sheet.frame, sheet.merges)
    hidden = not sheet.visible
    if frame.height == 0 or frame.width == 0:
        return None
    non_blank = ~pl.all_horizontal(pl.col(name).is_null() for name in frame.columns)
    if frame.select(non_blank.sum()).item() == 0:
        return None
    numbers = (
        pl.Series(ROW, sheet.line_numbers, dtype=pl.Int64)
        if sheet.line_numbers
        else pl.int_range(1, frame.height + 1, dtype=pl.Int64, eager=True).alias(ROW)
    )
    match = find_header([list(row) for row in frame.head(HEADER_SCAN_ROWS).iter_rows()], aliases)
    if match is None:
        return UnrecognisedSheet(
            sheet.name,
            _first_non_blank(frame),
            frame.select(non_blank.sum()).item(),
            "找不到表头（需含客户电话、报备时间/到访时间等列名）",
            frame.with_columns(numbers),
            hidden,
        )
    fields = set(match.mapping) | {f for parts in match.combined.values() for f in parts}
    if COMBINED_LABELLED in fields:  # a 客户信息 cell holds the name and the number
        fields |= {"customer_name", "phone"}
    if "phone_tail" in fields:  # 手机前三位 + 手机后四位: the number, masked
        fields.add("phone")
    found = recognise(fields, folder, (sheet.name, file_name))
    headers = [text if text is not None else "" for text in match.headers]
    seen = "、".join(h for h in headers if h) or "无"
    kind = found.kind
    reason = None
    if kind is None:
        guesses = "或".join(KIND_LABELS[g] for g in found.guesses) or "、".join(
            KIND_LABELS.values()
        )
        reason = f"无法判断表格类型（最接近：{guesses}），为免误读未读取；请检查列名，表头：{seen}"
        if any(word in header for header in headers for word in _DEBIT_CREDIT):
            reason += _DEBIT_CREDIT_NOTE
    elif (missing := _missing_required(kind, fields)) is not None:
        reason = (
            f"识别为{KIND_LABELS[kind]}，但缺少必需的列“{missing}”，整张表未读取"
            f"（不会按默认值猜测）；表头：{seen}"
        )
    if reason is not None:
        return UnrecognisedSheet(
            sheet.name,
            [h for h in headers if h],
            frame.select(non_blank.sum()).item(),
            reason,
            frame.with_columns(numbers),
            hidden,
            set_aside=True,
        )
    assert kind is not None
    full = frame.with_columns(numbers)
    return _table(sheet.name, full, match, kind, headers, hidden, aliases)


# An accounting journal's 借方/贷方 columns: which of them is money paid to an agency
# depends on the account (a bank journal credits it, a payables ledger debits it).
_DEBIT_CREDIT = ("借方", "贷方")
_DEBIT_CREDIT_NOTE = (
    "。借方/贷方两列的方向因账而异（银行日记账付款记贷方，应付账款付款记借方），"
    "无法判断哪一列是付给渠道的钱：请整理成一列“付款金额”（退回的写负数）后提交"
)


def _missing_required(kind: str, fields: set[str]) -> str | None:
    """What a recognised sheet lacks to be read at all (SPEC 4.1), or None."""
    declared = KINDS[kind]
    if declared.phone_required and not fields & {"phone", COMBINED_LABELLED}:
        return FIELD_LABELS["phone"]
    required = declared.required
    if required is None:
        return None
    group, label = required
    if any(f in fields for f in group) or "date" in fields:
        return None
    return label


def _first_non_blank(frame: pl.DataFrame) -> list[str]:
    for row in frame.head(30).iter_rows():
        cells = [cell for cell in row if cell is not None]
        if cells:
            return [str(cell) for cell in cells]
    return []


def _table(
    name: str,
    full: pl.DataFrame,
    match: HeaderMatch,
    kind: str,
    headers: list[str],
    hidden: bool,
    aliases: AliasTable,
) -> SheetTable:
    above = [str(c) for row in full.drop(ROW).head(match.row_index).iter_rows() for c in row if c]
    title = " ".join(dict.fromkeys(above))  # a merged title fills every cell it spans
    data = full.slice(match.row_index + 1)
    data_rows = data.height
    cells = [name for name in data.columns if name != ROW]
    first_cell = pl.coalesce(cells).str.strip_chars_start()
    identity = [
        column for field, column in match.mapping.items() if field in _IDENTITY_FIELDS
    ] + list(match.combined)
    no_identity = (
        pl.all_horizontal(pl.col(name).is_null() for name in identity) if identity else pl.lit(True)
    )
    # A 明源 房源明细 lists unsold flats too: no buyer, status 待售 — not a deal, not an error.
    stage = match.mapping.get("stage") if kind == "deal" else None
    unsold = (
        pl.col(stage).str.contains(_UNSOLD.pattern).fill_null(False)
        & (pl.col(match.mapping["phone"]).is_null() if "phone" in match.mapping else pl.lit(True))
        if stage is not None
        else pl.lit(False)
    )
    # The pre-filled 裁决表 lists every open customer; a row the admin did not rule (no
    # 归属渠道, no 分成) is no ruling and no error.
    ruled_by = [match.mapping[f] for f in ("ruling_owner", "ruling_shares") if f in match.mapping]
    unruled = (
        pl.all_horizontal(pl.col(column).is_null() for column in ruled_by)
        if kind == "ruling" and ruled_by
        else pl.lit(False)
    )
    raw = match.raw_headers
    repeated_header = (
        pl.sum_horizontal(
            (pl.col(name) == str(raw[i])).fill_null(False).cast(pl.Int32)
            for i, name in enumerate(cells)
            if i < len(raw) and raw[i]
        )
        >= 2
    )
    blank = pl.all_horizontal(pl.col(name).is_null() for name in cells)
    label = (
        pl.when(blank)
        .then(pl.lit(SKIP_BLANK))
        .when(repeated_header)
        .then(pl.lit(SKIP_REPEATED_HEADER))
        .when(no_identity & first_cell.str.contains(_TOTALS.pattern))
        .then(pl.lit(SKIP_TOTALS))
        .when(no_identity & first_cell.str.contains(_NOTES.pattern))
        .then(pl.lit(SKIP_NOTES))
        .when(unsold)
        .then(pl.lit(SKIP_UNSOLD))
        .when(unruled)
        .then(pl.lit(SKIP_UNRULED))
        .otherwise(None)
        .alias("__skip")
    )
    data = data.with_columns(label)
    skipped = Counter(
        dict(data.filter(pl.col("__skip").is_not_null())["__skip"].value_counts().iter_rows())
    )
    data = data.filter(pl.col("__skip").is_null())
    reads = KINDS[kind].reads
    match = _standing_for(match, KINDS[kind].stands_for, headers)
    data, match, split_phone = _split_phone(data, match)
    mapping_columns = {f: c for f, c in _flag_not_date(match.mapping, data).items() if f in reads}
    # A second phone column (客户电话 + 联系电话) holds more numbers of the same customer:
    # they claim together, like several numbers in one cell.
    extra_phones = [column for column, field in match.duplicates.items() if field == "phone"]
    fallbacks = {
        column: field
        for column, field in match.duplicates.items()
        if field in FILL_FROM_DUPLICATES and field in mapping_columns
    }
    table = data.select(
        pl.col(ROW),
        *(
            (
                _joined(column, extra_phones)
                if field == "phone"
                else _first_filled(
                    [column, *(c for c, f in fallbacks.items() if f == field)], match.in_wan
                )
            ).alias(field)
            for field, column in mapping_columns.items()
        ),
    )
    table = _split_combined(table, data, match, aliases, reads)
    mapping = {
        field: split_phone if field == "phone" and split_phone else headers[int(column[1:])]
        for field, column in mapping_columns.items()
    }
    ignored = {
        headers[int(column[1:])]: field
        for column, field in match.duplicates.items()
        if column not in extra_phones and column not in fallbacks
    }
    combined = {
        headers[int(column[1:])]: [f for f in parts if f in reads or f == COMBINED_LABELLED]
        for column, parts in match.combined.items()
    }
    parts = [match.mapping[f] for f in _PHONE_PARTS if split_phone and f in match.mapping]
    unused = _unused(headers, match, reads, [*extra_phones, *fallbacks, *parts])
    return SheetTable(
        name,
        kind,
        int(full[ROW][match.row_index]),
        headers,
        mapping,
        table,
        full,
        data_rows,
        skipped,
        title,
        hidden,
        [headers[int(column[1:])] for column in extra_phones],
        ignored,
        {headers[int(column[1:])]: field for column, field in fallbacks.items()},
        combined,
        unused,
    )


def other_projects(table: SheetTable, project: str | None) -> tuple[SheetTable, str | None]:
    """The table without the rows of other projects, counted as skipped, and a note for
    the clerk when its 项目 column names projects but never this one.

    A company-wide CRM export, or an agency's ledger for all of a developer's projects,
    lists several in its 项目 column; only this project's rows (and those naming none)
    are read. A sheet no row of which names this project is kept whole, with the note: it
    may spell the project otherwise, or be another project's file. A WeChat message
    naming another project stays a row error (SPEC 4.2): an agent posting in the wrong
    group is told so. A 意向楼盘 is what the customer wants to see (洋房, 别墅, another of
    the developer's projects), not where the row belongs."""
    header = table.mapping.get("project", "")
    if project is None or not header or "意向" in header or table.sheet == MESSAGES:
        return table, None
    cells = table.frame["project"].str.strip_chars()
    named = [text for text in cells.drop_nulls().unique() if text]
    ours = [text for text in named if same_project(text, project)]
    if not ours:
        if not named:
            return table, None
        shown = "、".join(sorted(named)[:3]) + ("等" if len(named) > 3 else "")
        return table, (
            f"“{header}”列写的是{shown}，没有一行是本项目“{project}”；已全部按本项目读取。"
            "如果这是别的项目的表，请移出 inputs/"
        )
    others = cells.is_not_null() & (cells != "") & ~cells.is_in(ours)
    count = int(others.sum())
    if count == 0:
        return table, None
    skipped = table.skipped.copy()
    skipped[SKIP_OTHER_PROJECT] += count
    return replace(table, frame=table.frame.filter(~others), skipped=skipped), None


_PHONE_PARTS = ("phone_head", "phone_tail")


def _split_phone(data: pl.DataFrame, match: HeaderMatch) -> tuple[pl.DataFrame, HeaderMatch, str]:
    """A number given as its first three digits and its last four, in two columns, as
    one masked number (`138****1234`), where the sheet has no phone column of its own; with
    the header text it is shown under (`手机前三位+手机后四位`), else "". A last-four (or
    last-five) cell Excel kept as a number lost its leading zeros (0123 → 123): they are
    put back."""
    columns = match.mapping
    if "phone" in columns or "phone_tail" not in columns:
        return data, match, ""
    width = 5 if "五" in (match.headers[int(columns["phone_tail"][1:])] or "") else 4
    tail = pl.col(columns["phone_tail"]).str.strip_chars()
    short = tail.str.contains(f"^[0-9]{{1,{width - 1}}}$")
    tail = pl.when(short).then(tail.str.zfill(width)).otherwise(tail)
    head = (
        pl.col(columns["phone_head"]).str.strip_chars().fill_null("")
        if "phone_head" in columns
        else pl.lit("")
    )
    hidden = (11 - head.str.len_chars() - tail.str.len_chars()).clip(lower_bound=1)
    number = pl.concat_str(head, pl.lit("*").repeat_by(hidden).list.join(""), tail)
    made_column = f"c{len(match.headers)}"  # past the sheet's own columns
    made = data.with_columns(
        pl.when(tail.is_null()).then(None).otherwise(number).alias(made_column)
    )
    shown = "+".join(match.headers[int(columns[f][1:])] or "" for f in _PHONE_PARTS if f in columns)
    return made, replace(match, mapping={**columns, "phone": made_column}), shown


_NUMBER_WORDS = ("电话", "手机", "号码", "联系方式")


def _standing_for(
    match: HeaderMatch, stands: tuple[tuple[str, str, str], ...], headers: list[str]
) -> HeaderMatch:
    """The match with the columns of a field this kind does not read mapped to the fields
    they stand for (`Kind.stands_for`), each only where the sheet has no column of its own."""
    if not stands:
        return match
    mapping, duplicates = dict(match.mapping), dict(match.duplicates)
    for field, phone_field, name_field in stands:
        columns = [mapping[field]] if field in mapping else []
        columns += [column for column, repeated in duplicates.items() if repeated == field]
        for column in columns:
            header = headers[int(column[1:])]
            target = phone_field if any(w in header for w in _NUMBER_WORDS) else name_field
            if target in mapping:
                continue
            mapping[target] = column
            if mapping.get(field) == column:
                del mapping[field]
            duplicates.pop(column, None)
    return replace(match, mapping=mapping, duplicates=duplicates)


# What a register writes in its first-visit column when that column is a mark, not a
# date (首次到访：是/否, 首访/复访, √).
_FIRST_VISIT_MARKS = frozenset(
    {"是", "否", "首访", "复访", "首次", "非首次", "再次",
     "y", "n", "yes", "no", "√", "×", "✓", "✗"}
)  # fmt: skip


def _flag_not_date(mapping: dict[str, str], data: pl.DataFrame) -> dict[str, str]:
    """The mapping with a 首次到访 column of marks read as the first-visit flag: a
    register's yes/no column under a date's name is no visit on an unknown day."""
    column = mapping.get("first_visit_at")
    if column is None or "first_visit_flag" in mapping:
        return mapping
    marks = data[column].drop_nulls().str.strip_chars().str.to_lowercase().unique()
    if marks.is_empty() or not marks.is_in(list(_FIRST_VISIT_MARKS)).all():
        return mapping
    flagged = {field: col for field, col in mapping.items() if field != "first_visit_at"}
    return flagged | {"first_visit_flag": column}


def describe_unused(unused: dict[str, str]) -> str:
    """`A（未识别的列）、B（…）`: every header nothing reads, with why."""
    return "、".join(f"{header}（{why}）" for header, why in unused.items())


UNUSED_UNKNOWN = "未识别的列"
UNUSED_ROW_NUMBER = "序号列，无需读取"
UNUSED_IN_WORDS = "大写金额，以数字金额列为准"
_ROW_NUMBER_HEADERS = frozenset({"序号", "行号", "no", "no.", "#"})
UNUSED_OTHER_KIND = "本表类型不使用（原文保留，可用 explain 查看）"


def _unused(
    headers: list[str], match: HeaderMatch, reads: frozenset[str], also_used: list[str]
) -> dict[str, str]:
    """Every non-blank header that yields nothing, with why (SPEC 4.1: none is dropped silently)."""
    used = {int(c[1:]) for f, c in match.mapping.items() if f in reads}
    used |= {int(c[1:]) for c in also_used}
    used |= {int(c[1:]) for c in match.combined}
    unused: dict[str, str] = {}
    for position, text in enumerate(headers):
        if not text or position in used:
            continue
        column = f"c{position}"
        repeated = match.duplicates.get(column)
        field = repeated or next((f for f, c in match.mapping.items() if c == column), None)
        if repeated is not None:
            unused[text] = f"与“{FIELD_LABELS[repeated]}”列重复，以第一列为准"
        elif column in match.withheld:
            whose, _, leaf = text.partition("·")
            unused[text] = f"“{whose}”下的{leaf}不是客户的，不读取"
        elif field is not None:
            unused[text] = UNUSED_OTHER_KIND
        # Under a group label (基本信息·序号) the column is still the row number.
        elif text.split("·")[-1].strip().lower() in _ROW_NUMBER_HEADERS:
            unused[text] = UNUSED_ROW_NUMBER
        elif "大写" in text:
            unused[text] = UNUSED_IN_WORDS
        else:
            unused[text] = UNUSED_UNKNOWN
    return unused


_LABELLED = re.compile(r"([^\s:：,，;；]{1,12})\s*[:：]\s*([^\n\r,，;；]*)")


def _split_combined(
    table: pl.DataFrame,
    data: pl.DataFrame,
    match: HeaderMatch,
    aliases: AliasTable,
    reads: frozenset[str],
) -> pl.DataFrame:
    """Fields taken out of combined cells, where no column of their own gives them.

    `客户信息` cells are `label：value` lines; a header naming several fields
    (姓名(手机), 渠道来源-机构-渠道人员-渠道人员手机) splits its cells the same way.
    """
    added: dict[str, list[str | None]] = {}
    for column, parts in match.combined.items():
        values = data[column].to_list()
        if parts == (COMBINED_LABELLED,):
            for position, text in enumerate(values):
                pairs = _LABELLED.findall(text or "")
                if text and not pairs:  # some systems put only the name in 客户信息
                    pairs = [("客户姓名", text.strip().splitlines()[0])]
                for label, value in pairs:
                    field = aliases.field_for(label)
                    if field is None or field not in reads or not value.strip():
                        continue
                    slot = added.setdefault(field, [None] * len(values))
                    slot[position] = slot[position] or value.strip()
            continue
        for position, text in enumerate(values):
            pieces = _split_parts(text, len(parts))
            for field, value in zip(parts, pieces, strict=False):
                if field in reads and value:
                    added.setdefault(field, [None] * len(values))[position] = value
    # A field's own column wins; the combined cell fills the rows where it is blank.
    return table.with_columns(
        (
            pl.col(f).fill_null(pl.Series(values, dtype=pl.String))
            if f in table.columns
            else pl.Series(f, values, dtype=pl.String)
        ).alias(f)
        for f, values in added.items()
    )


def _split_parts(text: str | None, count: int) -> list[str]:
    """A combined cell cut into `count` pieces from the left; the last keeps the rest
    (a number written 139-0000-1111 stays whole)."""
    if not text:
        return []
    pieces = PART_SEPARATORS.split(text.strip(), maxsplit=count - 1)
    return [p.strip().strip("()（） ") for p in pieces]


def _first_filled(columns: list[str], in_wan: frozenset[str] = frozenset()) -> pl.Expr:
    cells = [_yuan(name) if name in in_wan else pl.col(name).str.strip_chars() for name in columns]
    return pl.coalesce(cells) if len(cells) > 1 else cells[0]


def _yuan(column: str) -> pl.Expr:
    """A cell of a column headed in 万元 as yuan: its number followed by 万, which the
    amount readers scale; a cell that names its own unit (298万, 2,980,000元) keeps it."""
    cell = pl.col(column).str.strip_chars()
    return pl.when(cell.str.contains("[万元]") | (cell == "")).then(cell).otherwise(cell + "万")


def _joined(column: str, extra: list[str]) -> pl.Expr:
    cells = [pl.col(name).str.strip_chars() for name in (column, *extra)]
    return pl.concat_str(cells, separator=" / ", ignore_nulls=True) if extra else cells[0]
