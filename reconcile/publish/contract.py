"""The integration contract (SPEC §7): reports.csv, attribution.csv, deals.csv, settlement.csv,
and consultants.csv, performance.csv, rotation.csv when the rules turn them on (SPEC 6.7).

UTF-8, header rows exactly as SPEC says, ISO 8601 timestamps with offset, lists
`;`-separated. Rows are sorted so that the same night always gives the same bytes.
Each file is written to a temporary name and renamed, so a reader never sees half.
"""

from __future__ import annotations

import csv
import io
import itertools
import operator
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from reconcile.judge import Judgement, cycle_collector_paused
from reconcile.judge.deals import DealLine, line_order
from reconcile.judge.rulings import share_text
from reconcile.judge.timeline import Report
from reconcile.judge.vocabulary import Code, Flags, FlagValue, OwnerType, ReportStatus
from reconcile.normalise.places import place_expr
from reconcile.store.files import write_atomic_parts

REPORT_HEADER = (
    "report_id", "channel", "agent", "customer_name", "phone_pattern", "reported_at",
    "report_type", "status", "reason_codes", "customer_phone", "source",
)  # fmt: skip
ATTRIBUTION_HEADER = (
    "customer_phone", "customer_name", "first_visit_at", "owner_type", "channel", "agent",
    "report_id", "protection_until", "reason_codes", "flags",
)  # fmt: skip
DEAL_HEADER = (
    "deal_id", "customer_phone", "stage", "deal_date", "amount", "owner_type", "channel",
    "agent", "share", "commission", "status", "reason_codes",
)  # fmt: skip
SETTLEMENT_HEADER = (
    "deal_id", "channel", "agent", "share", "commission", "paid", "outstanding", "status",
    "claimed", "check",
)  # fmt: skip

# SPEC 6.7, written only when the rules set `consultant:` (and `rotation:`)
CONSULTANT_HEADER = (
    "customer_phone", "customer_name", "consultant", "valid_from", "valid_until",
    "reason_codes", "source",
)  # fmt: skip
PERFORMANCE_HEADER = (
    "deal_id", "customer_phone", "consultant", "share", "crm_consultant", "reason_codes",
)  # fmt: skip
ROTATION_HEADER = (
    "visit_at", "customer_phone", "consultant", "in_turn", "verdict", "reason_codes", "source",
)  # fmt: skip

SLICE = 20_000  # rows made into cells and CSV text at a time (more only held more memory)


def iso(moment: datetime | None) -> str:
    if moment is None:
        return ""
    # The same text without microseconds, at half the cost of parsing `timespec`.
    return moment.isoformat() if not moment.microsecond else moment.isoformat(timespec="seconds")


def money(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def report_rows(judgement: Judgement) -> Iterator[tuple]:
    """Every report row, error rows among them, in file order (then masked phone)."""
    for columns in _report_columns(judgement):
        yield from zip(*columns, strict=True)


def _report_columns(judgement: Judgement) -> Iterator[list[list | pl.Series]]:
    """`report_rows` as columns, `SLICE` rows at a time, each column made at once."""
    reports = _in_file_order(judgement)
    texts = _IsoTexts()
    for start in range(0, len(reports), SLICE):
        part = reports[start : start + SLICE]
        yield [
            *_attributes(part, "row_id", "channel", "agent", "customer_name", "phone_pattern"),
            texts.of(_attribute(part, "at")),
            *_attributes(part, "report_type", "status"),
            _joined(_attribute(part, "codes")),
            _attribute(part, "phone"),
            _sources(_attribute(part, "order")),
        ]


def _in_file_order(judgement: Judgement) -> Sequence[Report | _Unreadable]:
    """The judged reports and the unreadable rows by place in their files, then masked
    phone. The judge keeps its reports in that order, and then no key is made (200,000
    reports' keys cost more than the sort): their places, each after the one before, are
    only compared."""
    reports = judgement.reports
    places = _attribute(reports, "order")
    if judgement.error_reports.is_empty() and all(
        map(operator.lt, places, itertools.islice(places, 1, None))
    ):
        return reports
    del places
    keys: list[tuple] = [(r.order, r.phone_pattern) for r in reports]
    rows: list[Report | _Unreadable] = list(reports)
    for e in judgement.error_reports.iter_rows(named=True):
        keys.append(((e["path"], e["sheet"], e["row_no"]), ""))
        rows.append(
            _Unreadable(
                e["row_id"],
                e["channel"],
                e["agent"],
                e["customer_name"],
                e["reported_at"],
                e["report_type"],
                (e["path"], e["sheet"], e["row_no"]),
            )
        )
    order = sorted(range(len(keys)), key=keys.__getitem__)
    del keys
    return [rows[i] for i in order]


@dataclass(frozen=True, slots=True)
class _Unreadable:
    """A report row whose phone could not be read (invalid, R02), with a judged report's
    attributes as `reports.csv` writes them."""

    row_id: str
    channel: str | None
    agent: str | None
    customer_name: str | None
    at: datetime | None
    report_type: str | None
    order: tuple[str, str, int]  # its place: (path, sheet, row)
    phone_pattern: str = ""
    status: ReportStatus = ReportStatus.INVALID
    codes: tuple[Code, ...] = (Code.R02,)
    phone: None = None


def attribution_rows(judgement: Judgement) -> Iterator[tuple]:
    """One row per episode, by customer then first visit."""
    for columns in _attribution_columns(judgement):
        yield from zip(*columns, strict=True)


def _attribution_columns(judgement: Judgement) -> Iterator[list[list]]:
    """`attribution_rows` as columns, `SLICE` rows at a time."""
    episodes = judgement.episodes
    texts = _IsoTexts()
    first_visits = texts.of(_attribute(episodes, "first_visit_at"))
    keys = list(zip(_attribute(episodes, "phone"), first_visits, strict=True))
    order = sorted(range(len(keys)), key=keys.__getitem__)
    del keys
    for start in range(0, len(order), SLICE):
        chosen = order[start : start + SLICE]
        part = [episodes[i] for i in chosen]
        yield [
            _attribute(part, "phone"),
            _attribute(part, "customer_name"),
            [first_visits[i] for i in chosen],
            _attribute(part, "owner_type"),
            [
                e.channels[0] if e.owner_type == OwnerType.CHANNEL and e.channels else None
                for e in part
            ],
            _attribute(part, "agent"),
            [e.report.row_id if e.report is not None else None for e in part],
            texts.of(_attribute(part, "until")),
            _joined(_attribute(part, "codes")),
            # Most episodes have no flag: told by comparison, no list made.
            [";".join(flag_texts(f)) if f != _NO_FLAGS else "" for f in _attribute(part, "flags")],
        ]


_NO_FLAGS = Flags()


def _sources(places: list[tuple]) -> pl.Series:
    """`place_text` of each place, a column at once (as a property of each row it took a
    tenth of `reports.csv`)."""
    paths, sheets, rows = zip(*places, strict=True) if places else ((), (), ())
    frame = pl.DataFrame(
        [
            pl.Series("path", paths, dtype=pl.String),
            pl.Series("sheet", sheets, dtype=pl.String),
            pl.Series("row_no", rows, dtype=pl.Int64),
        ]
    )
    return frame.select(place_expr()).to_series()


def _attribute(items: Iterable, name: str) -> list:
    return list(map(operator.attrgetter(name), items))


def _attributes(items: Sequence, *names: str) -> list[list]:
    return [_attribute(items, name) for name in names]


def _joined(lists: list) -> list[str]:
    """Each list of codes `;`-joined (most are empty or one code)."""
    return list(map(";".join, lists))


class _IsoTexts:
    """`iso` of many moments, at a third of its cost: a moment's text is its day's, its
    clock time's and its offset's, each made by `iso` once and then looked up (most rows
    share their day, clock times repeat, a zone has a few offsets). `utcoffset` keeps a
    repeated wall time of a night the clocks go back two moments, as `isoformat` does;
    microseconds are never written."""

    def __init__(self) -> None:
        self._days: dict[int, str] = {}
        self._clocks: dict[int, str] = {}
        self._offsets: dict[timedelta | None, str] = {}

    def of(self, moments: list[datetime | None]) -> list[str]:
        days, clocks, offsets = self._days, self._clocks, self._offsets
        texts = []
        for moment in moments:
            if moment is None:
                texts.append("")
                continue
            day = days.get(ordinal := moment.toordinal())
            if day is None:
                day = days[ordinal] = iso(moment)[:11]  # 2026-11-30T
            clock = clocks.get(second := moment.hour * 3600 + moment.minute * 60 + moment.second)
            if clock is None:
                clock = clocks[second] = iso(moment)[11:19]  # 09:30:00
            offset = offsets.get(delta := moment.utcoffset())
            if offset is None:
                offset = offsets[delta] = iso(moment)[19:]  # +08:00, or "" when naive
            texts.append(day + clock + offset)
        return texts


def flag_texts(flags: Flags) -> list[str]:
    """An episode's flags as `attribution.csv` writes them: `key=value`, or the key alone
    for a statement (`order_unknown`); shares as `split=链家:0.5;我爱我家:0.5`."""
    return [
        flag if value is None else f"{flag}={_flag_value(value)}" for flag, value in flags.items()
    ]


def _flag_value(value: FlagValue) -> str:
    if isinstance(value, tuple):
        return ";".join(f"{channel}:{share_text(share)}" for channel, share in value)
    return str(value)


def _ordered_lines(judgement: Judgement) -> list[DealLine]:
    """Deal lines in `deals.csv` order: by deal, the larger share first, then channel."""
    return sorted(judgement.deals, key=line_order)


def deal_rows(judgement: Judgement) -> Iterator[tuple]:
    return (
        (
            d.deal_id,
            d.customer_phone,
            d.stage,
            iso(d.deal_date),
            money(d.amount),
            d.owner_type,
            d.channel,
            d.agent,
            share_text(d.share),
            money(d.commission),
            d.status,
            ";".join(d.reason_codes),
        )  # fmt: skip
        for d in _ordered_lines(judgement)
    )


def settlement_rows(judgement: Judgement) -> Iterator[tuple]:
    """One row per `deals.csv` row, then one per claim line matching none (SPEC 6.6)."""
    return (
        (
            s.deal_id,
            s.channel,
            s.agent,
            share_text(s.share),
            money(s.commission),
            money(s.paid + 0.0),  # + 0.0: never -0.00
            money(s.outstanding + 0.0),
            s.status,
            None if s.claimed is None else money(s.claimed + 0.0),
            s.check,
        )  # fmt: skip
        for s in judgement.settlement
    )


def consultant_rows(judgement: Judgement) -> list[tuple]:
    """One row per consultant record (建档), by customer then start."""
    found = judgement.consultants
    records = found.records if found is not None else []
    rows = [
        (
            r.phone,
            r.customer_name,
            r.consultant,
            iso(r.valid_from),
            iso(r.valid_until),
            ";".join(r.codes),
            r.source,
        )  # fmt: skip
        for r in records
    ]
    return sorted(rows, key=lambda row: (row[0], row[3]))


def performance_rows(judgement: Judgement) -> Iterator[tuple]:
    """One row per consultant with a share of a deal, by deal, the larger share first."""
    found = judgement.consultants
    return (
        (s.deal_id, s.phone, s.consultant, share_text(s.share), s.crm_consultant, ";".join(s.codes))
        for s in (found.shares if found is not None else [])
    )


def rotation_rows(judgement: Judgement) -> Iterator[tuple]:
    return (
        (
            iso(t.visit_at),
            t.phone,
            t.consultant,
            t.in_turn,
            t.verdict,
            ";".join(t.codes),
            t.source,
        )  # fmt: skip
        for t in judgement.rotation or []
    )


def csv_bytes(header: tuple[str, ...], rows: Iterable[tuple]) -> bytes:
    """The rows as CSV, header first: see `csv_parts`."""
    return b"".join(csv_parts(header, rows))


def csv_parts(header: tuple[str, ...], rows: Iterable[tuple]) -> Iterator[bytes]:
    """The rows as CSV, the header then `SLICE` rows a part (see `column_parts`)."""
    remaining = iter(rows)
    return column_parts(
        header,
        (
            [list(cells) for cells in zip(*part, strict=True)]
            for part in iter(lambda: list(itertools.islice(remaining, SLICE)), [])
        ),
    )


def column_parts(
    header: tuple[str, ...], parts: Iterable[Sequence[list | pl.Series]]
) -> Iterator[bytes]:
    """The header, then each part's columns as CSV rows: a cell quoted only when it
    holds `,`, `"` or a line feed, `""` doubled, `\n` line ends, no BOM; None and "" are
    both an empty cell. Only one part's cells are ever held (a million reports' rows at
    once took ~550 MiB).

    These are the bytes Python's csv module writes (QUOTE_MINIMAL, lineterminator
    `\n`); polars writes them several times faster. Two differences are evened out: polars
    quotes an empty string (so it gets a null), and quotes a carriage return, which the
    csv module leaves bare (a part with one in any cell is written by the csv module)."""
    yield _csv_module([header])
    for columns in parts:
        frame = pl.DataFrame(
            [_text_column(name, cells) for name, cells in zip(header, columns, strict=True)]
        )
        if frame.select(pl.any_horizontal(pl.all().str.contains("\r", literal=True).any())).item():
            yield _csv_module(zip(*columns, strict=True))
            continue
        written = io.BytesIO()
        frame.write_csv(written, include_header=False, line_terminator="\n")
        del frame
        yield written.getvalue()


def _csv_module(rows: Iterable[tuple]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(["" if cell is None else cell for cell in row] for row in rows)
    return buffer.getvalue().encode("utf-8")


def _text_column(name: str, cells: list | pl.Series) -> pl.Series:
    """A column of text, "" and None as null; other values (`in_turn`'s booleans) as `str`
    writes them, as the csv module does."""
    try:
        column = (
            cells.alias(name)
            if isinstance(cells, pl.Series)
            else pl.Series(name, cells, dtype=pl.String, strict=True)
        )
    except TypeError:
        texts = [None if cell is None else str(cell) for cell in cells]
        column = pl.Series(name, texts, dtype=pl.String)
    if not (column == "").any():
        return column  # most columns: no copy (a million reports' texts are large)
    return pl.select(pl.when(column != "").then(column)).to_series().alias(name)


def contract_files(judgement: Judgement) -> dict[str, bytes]:
    """The night's files by name, as the bytes written (for judging in memory): the
    four of every night, and SPEC 6.7's when the rules turn them on."""
    with cycle_collector_paused():
        return {name: b"".join(parts) for name, parts in _contract_parts(judgement)}


def write_contract(judgement: Judgement, folder: Path) -> list[Path]:
    """The night's files written one after the other, each a part at a time."""
    with cycle_collector_paused():
        return [
            write_atomic_parts(folder / name, parts) for name, parts in _contract_parts(judgement)
        ]


def _contract_parts(judgement: Judgement) -> Iterator[tuple[str, Iterator[bytes]]]:
    yield "reports.csv", column_parts(REPORT_HEADER, _report_columns(judgement))
    yield "attribution.csv", column_parts(ATTRIBUTION_HEADER, _attribution_columns(judgement))
    yield "deals.csv", csv_parts(DEAL_HEADER, deal_rows(judgement))
    yield "settlement.csv", csv_parts(SETTLEMENT_HEADER, settlement_rows(judgement))
    if judgement.consultants is not None:
        yield "consultants.csv", csv_parts(CONSULTANT_HEADER, consultant_rows(judgement))
        yield "performance.csv", csv_parts(PERFORMANCE_HEADER, performance_rows(judgement))
    if judgement.rotation is not None:
        yield "rotation.csv", csv_parts(ROTATION_HEADER, rotation_rows(judgement))
