"""Re-deriving stored sheets from their raw cells (SPEC 4.1 "Re-reading").

The ledger keeps every cell of every sheet it read. When the header vocabulary, the
sheet-kind declarations or a project's `columns:` / `channels:` change, what a sheet
yields may change too, so every stored file is derived again from those cells and
replaces what it yielded before — never a second copy. Each row keeps its file
(hence `source` and first-seen time); a row whose content changed gets a new id and
the old id stays an alias (`row_aliases`), so `explain` still finds it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date, datetime
from enum import Enum
from pathlib import Path

import polars as pl

from reconcile.config.kinds import (
    FIELD_LIST,
    HEADER_ATTRIBUTES,
    HEADER_PAIRINGS,
    HEADER_QUALIFIERS,
    HEADER_SUBJECTS,
    KIND_LIST,
    NO_CHANNEL,
    PLACEHOLDERS,
)
from reconcile.config.rules import Rules
from reconcile.config.workspace import CHANNEL_FOLDERS, INPUT_FOLDERS
from reconcile.ingest.files import FileOutcome, InputFile, checked_project, derive
from reconcile.ingest.headers import AliasTable
from reconcile.ingest.limits import Bounds, OverLimit
from reconcile.ingest.readers import RawSheet, over_limit
from reconcile.normalise.records import Normalised, ids_from_keys
from reconcile.normalise.table import ROW
from reconcile.store.ledger import Ledger

log = logging.getLogger(__name__)

# What a row yields also depends on code, not only on the declarations: bump this when
# normalising changes in a way that must reach rows already in the ledger.
# 4: deal stages awaiting approval or not yet reached (待签约, 签约审核中), signed amounts
# wherever the sign stands, English-month and compact dates, phone notes, CSV `="…"` text.
# 5: a 明源 record closed by 换房 counts as its stage (the judge follows the deal to its new
# flat); a standing (激活) record keeps no 关闭原因; a plain 日期 is the time of the kind
# the sheet's name or own folder names (a 来访登记 read as CRM customers becomes visits);
# a mobile with a trunk 0; a visit register's 渠道来源 naming a channel the rules know;
# amounts headed in 万元; more mask glyphs (138••••1234, 138○○○○1234, 138____1234);
# 挞定/弃购 as 退房, 排号 as 小订, post-contract words as 签约; other projects' rows skipped;
# a number in two columns (前三位, 后四位); an agent cell's own mobile as 经纪人电话.
# 6: a moment with its zone named before the offset (GMT+08:00, UTC+8) or counted since 1970
# (1763432400000); a staff member's number under a group label or after a person in a
# combined header (经纪人/电话) is no customer's; a report's channel written at length
# (北京链家房地产经纪有限公司, 链家李四) is the known channel it names; a message's 全号/尾号
# is no customer's name, nor a part of the sender's nickname the agency; an amount of `-` or
# 待定 is none (the deal row is kept), 元整 and 亿 are read; a later file's reading of a row
# held already is kept as its version (`row_versions`: re-reading makes those of files read
# before); a message file's name stating its day dates headers that give a time alone; an
# agent's signed number is no customer; 138 5678（前三后四） is a masked number; a money
# column noted 大写 is not the amount.
DERIVATION = 6
VOCABULARY_KEY = "vocabulary"


def vocabulary_fingerprint(rules: Rules) -> str:
    """Everything that decides what a stored sheet yields, as one hash."""
    payload = {
        "derivation": DERIVATION,
        "fields": [(f.name, list(f.aliases)) for f in FIELD_LIST],
        "composed": [
            HEADER_QUALIFIERS,
            HEADER_SUBJECTS,
            HEADER_ATTRIBUTES,
            sorted(HEADER_PAIRINGS.items()),
        ],
        "kinds": [_canonical(kind) for kind in KIND_LIST],
        "no_channel": sorted(NO_CHANNEL),
        "placeholders": sorted(PLACEHOLDERS),
        "columns": rules.columns,
        "channels": rules.channels,
        "known_channels": sorted(rules.known_channels),
        "report_types": sorted(rules.report.types),
        "timezone": rules.timezone,
        "project": rules.project,
    }
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _canonical(value: object) -> object:
    """A declaration as plain JSON data, sets sorted: `repr` of a frozenset follows the
    process's string-hash seed, so it would differ from one night's process to the next."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _canonical(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, frozenset | set):
        return sorted(_canonical(v) for v in value)  # type: ignore[type-var]
    if isinstance(value, tuple | list):
        return [_canonical(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    return value


@dataclass
class Reread:
    files: int = 0
    rows_before: int = 0
    rows_after: int = 0
    errors_before: int = 0
    errors_after: int = 0
    renamed: int = 0  # rows whose content (so id) changed: the old id is kept as an alias
    now_read: list[str] = field(default_factory=list)  # quarantined before, read now
    now_quarantined: list[str] = field(default_factory=list)


def needs_reread(ledger: Ledger, rules: Rules) -> bool:
    """Whether the stored sheets were derived under another vocabulary than tonight's."""
    known = ledger.meta(VOCABULARY_KEY)
    if known == vocabulary_fingerprint(rules):
        return False
    return known is not None or ledger.count("files") > 0


def reread(ledger: Ledger, rules: Rules, run_id: int | None = None) -> Reread:
    """Derive every stored file again from its cells, in one transaction."""
    aliases = AliasTable.build(rules.columns)
    result = Reread(rows_before=ledger.count("rows"), errors_before=ledger.count("row_errors"))
    with ledger.transaction():
        stored = ledger.stored_files()
        old = [ledger.forget_derived(file_id) for file_id, *_ in stored]
        new: list[pl.DataFrame] = []
        for file_id, path, sha, status, first_seen in stored:
            outcome, parts = _derive_file(ledger, rules, aliases, file_id, path, sha, first_seen)
            new += [_identities(part) for part in parts]
            record_outcome(
                ledger, file_id, outcome, sum(ledger.add_part(p, file_id)[0] for p in parts)
            )
            if status == "quarantined" and outcome.rejected is None:
                result.now_read.append(path)
            elif status != "quarantined" and outcome.rejected is not None:
                result.now_quarantined.append(path)
        pairs = _replaced(pl.concat(old) if old else None, pl.concat(new) if new else None)
        ledger.add_aliases(pairs, run_id)
        ledger.set_meta(VOCABULARY_KEY, vocabulary_fingerprint(rules))
    result.files = len(stored)
    result.renamed = len(pairs)
    result.rows_after = ledger.count("rows")
    result.errors_after = ledger.count("row_errors")
    log.info(
        "ledger.reread files=%d rows_before=%d rows_after=%d renamed=%d",
        result.files,
        result.rows_before,
        result.rows_after,
        result.renamed,
    )
    return result


def _derive_file(
    ledger: Ledger,
    rules: Rules,
    aliases: AliasTable,
    file_id: int,
    path: str,
    sha: str,
    first_seen: str,
) -> tuple[FileOutcome, list[Normalised]]:
    sheets = ledger.stored_sheets(file_id)
    item = _input_file(path)
    outcome = FileOutcome(item, sha, 0)
    try:
        raw = [
            _raw_sheet(name, hidden, cells, rules, item.path.name)
            for name, hidden, _, cells in sheets
        ]
    except OverLimit as broken:  # limits lowered since the messages were first read
        outcome.rejected = over_limit(broken)
        return outcome, []
    seen_on = datetime.fromisoformat(first_seen).date()
    refs = {name: date.fromisoformat(ref) if ref else seen_on for name, _, ref, _ in sheets}
    parts: list[Normalised] = []
    derive(outcome, raw, rules, aliases, lambda sheet: refs.get(sheet, seen_on), sink=parts.append)
    return outcome, parts


def _raw_sheet(
    name: str, hidden: bool, cells: pl.DataFrame, rules: Rules, file_name: str
) -> RawSheet:
    """A stored sheet as the reader would hand it on: a message file's kept lines are
    read by tonight's message reader (its file's name may state their day), any other
    sheet's cells are its cells."""
    # Imported here: a night that re-reads nothing does not load the message reader.
    from reconcile.ingest.wechat import kept_lines, messages_of_lines

    lines = kept_lines(name, cells)
    if lines is None:
        return RawSheet(name, not hidden, cells.drop(ROW), line_numbers=cells[ROW].to_list())
    size = sum(len(line.encode()) + 1 for line in lines)
    return messages_of_lines(
        lines, Bounds.of(rules.limits), checked_project(rules), size, file_name
    )


def _input_file(rel: str) -> InputFile:
    parts = rel.split("/")
    folder = parts[0] if len(parts) > 1 and parts[0] in INPUT_FOLDERS else None
    channel = parts[1] if folder in CHANNEL_FOLDERS and len(parts) > 2 else None
    return InputFile(Path(rel), rel, folder, channel)


def _identities(part: Normalised) -> pl.DataFrame:
    records = part.records
    return records.select(
        ids_from_keys(records["row_key"]).alias("row_id"),
        "kind",
        "sheet",
        pl.col("row_no").cast(pl.Int64),
        "phone_pattern",
    )


def _replaced(old: pl.DataFrame | None, new: pl.DataFrame | None) -> list[tuple[str, str]]:
    """(old id, new id) for source rows whose content id changed.

    A row is the same row when kind, sheet, row and number agree; failing that (the
    number itself was re-read), when it is the only record of its kind on that row.
    """
    if old is None or new is None or old.height == 0 or new.height == 0:
        return []
    old = old.with_columns(pl.col("row_no").cast(pl.Int64)).unique()
    new = new.unique()
    gone = old.join(new.select("row_id"), on="row_id", how="anti")
    if gone.height == 0:
        return []
    keys = ["kind", "sheet", "row_no", "phone_pattern"]
    exact = gone.join(new, on=keys, how="inner", nulls_equal=True, suffix="_new")
    rest = gone.join(exact.select("row_id"), on="row_id", how="anti")
    single = ["kind", "sheet", "row_no"]
    alone_old = rest.filter(pl.len().over(single) == 1)
    alone_new = new.filter(pl.len().over(single) == 1)
    loose = alone_old.join(alone_new, on=single, how="inner", suffix="_new")
    pairs = pl.concat([exact.select("row_id", "row_id_new"), loose.select("row_id", "row_id_new")])
    return sorted(pairs.filter(pl.col("row_id") != pl.col("row_id_new")).iter_rows())


def record_outcome(ledger: Ledger, file_id: int, outcome: FileOutcome, added: int) -> None:
    """A file's sheets and counts (or its rejection) in the ledger."""
    if outcome.rejected is not None:
        ledger.update_file(
            file_id,
            status="quarantined",
            reason_code=outcome.rejected.code,
            reason=outcome.rejected.reason,
        )
        return
    for sheet in outcome.sheets:
        ledger.record_sheet(
            file_id=file_id,
            sheet=sheet.name,
            kind=sheet.kind,
            hidden=int(sheet.hidden),
            header_row=sheet.header_row,
            mapping=json.dumps(sheet.mapping, ensure_ascii=False),
            headers=json.dumps(sheet.headers, ensure_ascii=False),
            rows_in=sheet.rows_in or sheet.unrecognised_rows,
            accepted=sheet.accepted,
            rejected=sheet.rejected,
            skipped=json.dumps(dict(sheet.skipped), ensure_ascii=False, sort_keys=True),
            note=sheet.note,
            unused=json.dumps(sheet.unused, ensure_ascii=False),
            ref_date=sheet.ref_date.isoformat() if sheet.ref_date else None,
        )
    ledger.update_file(
        file_id,
        status="ingested",
        reason_code=None,
        reason=None,
        rows_in=outcome.total("rows_in"),
        accepted=outcome.total("accepted"),
        rejected=outcome.total("rejected"),
        skipped=sum(outcome.skipped.values()),
        rows_added=added,
    )
