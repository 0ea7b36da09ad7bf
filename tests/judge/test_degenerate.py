"""Degenerate input (issue 12, item 2): many reports of one number cost linear time and
memory, with the results the pairwise definitions give.

- `link.self_pairs` and `link.self_duplicates` against the definitions they replace
  (every pair of a bucket joined with itself, then walked in submission order), and
  the timeline's ranking and ties against comparing every pair of candidates, on
  random small inputs; the whole judge against the judge with those references
  swapped back in.
- 20,000 rows of one number, of one agency file of one number, of one visitor
  reported 20,000 times (also all at one 报备时间) and of one customer known only from
  the CRM, judged in a child process each (`benchmarks/degenerate.py --child`):
  quickly, and within a memory bound.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconcile.config.rules import parse_rules
from reconcile.judge import judge, link
from reconcile.judge.inputs import CONTACT_COLUMNS, Inputs, empty_frame
from reconcile.judge.periods import local_day, period_end, period_end_expr
from reconcile.judge.reasons import contest, existing, r05
from reconcile.judge.timeline import OrderUnknown, Report, Timeline
from reconcile.normalise.names import agree_series, name_series

ROOT = Path(__file__).resolve().parents[2]
ZONE = "Asia/Shanghai"
TZ = ZoneInfo(ZONE)
MOMENT = pl.Datetime("us", ZONE)
START = datetime(2026, 11, 10, 9, 0, tzinfo=TZ)
MiB = 2**20


# --- the pairwise definitions (the code before issue 12) --------------------------------------


def reference_self_pairs(reports: pl.DataFrame, *, same_channel: bool) -> pl.DataFrame:
    """Every pair of a bucket (and channel) joined with itself, then filtered."""
    columns = ["row_id", "channel", "phone_pattern", "customer_name", "bucket", "at", "until"]
    ranked = reports.with_columns(rank=pl.int_range(pl.len())).select(*columns, "rank")
    keys = ["bucket", "channel"] if same_channel else ["bucket"]
    joined = ranked.join(ranked, on=keys, how="inner", suffix="_2")
    if not same_channel:
        joined = joined.filter(pl.col("channel") != pl.col("channel_2"))
    joined = joined.filter(
        (
            (pl.col("at") < pl.col("at_2"))
            | ((pl.col("at") == pl.col("at_2")) & (pl.col("rank") < pl.col("rank_2")))
        )
        & (pl.col("until").is_null() | (pl.col("at_2") < pl.col("until")))
    ).filter(link.compatible_expr("phone_pattern", "phone_pattern_2"))
    if joined.height == 0:
        return pl.DataFrame(schema={"first": pl.String, "second": pl.String})
    agree = agree_series(joined["customer_name"], joined["customer_name_2"])
    return joined.filter(agree).select(first="row_id", second="row_id_2")


def reference_self_duplicates(clean: pl.DataFrame, *, invalidate_all: bool) -> set[str]:
    """The pairs of one channel walked in submission order (a stable sort: equal rows
    keep the frame's order)."""
    pairs = reference_self_pairs(clean, same_channel=True)
    earlier: dict[str, list[str]] = defaultdict(list)
    for first, second in pairs.iter_rows():
        earlier[second].append(first)
    involved = {*earlier, *(f for fs in earlier.values() for f in fs)}
    order = clean.filter(pl.col("row_id").is_in(list(involved)))
    kept: set[str] = set()
    duplicates: set[str] = set()
    for row_id in order.sort("at", "path", "sheet", "row_no", maintain_order=True)["row_id"]:
        holders = [f for f in earlier.get(row_id, []) if f in kept]
        if not holders:
            kept.add(row_id)
            continue
        duplicates.add(row_id)
        if invalidate_all:
            kept.add(row_id)
            duplicates.update(holders)
    return duplicates


def reference_self_duplicates_frame(admitted: pl.DataFrame, rules) -> pl.DataFrame:
    clean = admitted.filter(pl.col("codes").list.len() == 0)
    invalidate_all = rules.report.self_duplicate == "invalidate_all"
    duplicates = reference_self_duplicates(clean, invalidate_all=invalidate_all)
    return admitted.with_columns(
        codes=pl.when(pl.col("row_id").is_in(list(duplicates)))
        .then(pl.col("codes").list.concat(pl.lit(["R05"])))
        .otherwise(pl.col("codes"))
    )


def reference_before(rules, first: Report, second: Report) -> bool:
    """`first` was reported before `second`, farther apart than `conflict.min_gap`; with a
    date-only report the day decides, on the same day the order is unknown."""
    zone = rules.zone
    if not (first.time_known and second.time_known):
        return local_day(first.at, zone) < local_day(second.at, zone)
    if first.at >= second.at:
        return False
    gap = rules.conflict.min_gap
    if gap is None:
        return True
    end = period_end(first.at, gap, zone)
    return end is not None and second.at >= end


def reference_rank(rules, pool: list[Report], bringers: list[str]) -> list[Report]:
    remaining = list(pool)
    for rule in rules.conflict.order:
        if rule == "first_visit":
            if any(r.channel in bringers for r in remaining):
                remaining = [r for r in remaining if r.channel in bringers]
        else:
            remaining = [
                r for r in remaining if not any(reference_before(rules, o, r) for o in remaining)
            ]
    return remaining


def reference_tied_same_day(self: Timeline, tied: list[Report]) -> list[OrderUnknown]:
    found = []
    for index, first in enumerate(tied):
        for second in tied[index + 1 :]:
            if (
                first.channel != second.channel
                and not (first.time_known and second.time_known)
                and local_day(first.at, self.zone) == local_day(second.at, self.zone)
            ):
                found.append(
                    OrderUnknown(
                        first,
                        kind="report",
                        at=second.at,
                        time_known=second.time_known,
                        source=second.source,
                        channel=second.channel,
                    )
                )
    return found


def reference_known_in_crm(linked: list[Report], crm: pl.DataFrame, rules) -> None:
    """Every report joined with every CRM contact of its number."""
    existing = rules.existing_customer
    admitted = [r for r in linked if not r.codes]
    if not admitted or not existing.crm_contact_before_report:
        return
    zone = rules.timezone
    asked = pl.DataFrame(
        {
            "row_id": [r.row_id for r in admitted],
            "phone": [r.phone for r in admitted],
            "reported_at": pl.Series([r.at for r in admitted], dtype=pl.Datetime("us", zone)),
        }
    )
    known = "time_known" in crm.columns
    time_known = pl.col("time_known").fill_null(True) if known else pl.lit(True)
    contacts = crm.filter(
        pl.col("at").is_not_null() & pl.col("phone").is_in(asked["phone"].implode())
    )
    contacts = contacts.select("phone", contact_at=pl.col("at"), time_known=time_known)
    contact_at, reported_at = pl.col("contact_at"), pl.col("reported_at")
    same_day_unknown = ~pl.col("time_known") & (contact_at.dt.date() == reported_at.dt.date())
    latest = (
        asked.join(contacts, on="phone", how="inner")
        .filter((contact_at < reported_at) & ~same_day_unknown)
        .group_by("row_id")
        .agg(contact_at.max(), reported_at.first())
    )
    if existing.released_after is not None:
        held_until = period_end_expr(contact_at, existing.released_after, zone)
        latest = latest.filter(held_until.is_null() | (reported_at < held_until))
    held = set(latest["row_id"].to_list())
    for report in admitted:
        if report.row_id in held:
            report.codes = [*report.codes, "R06"]


def reference_same_day_contacts(self: Timeline, report: Report) -> tuple[OrderUnknown, ...]:
    """Every contact of the report's day looked at."""
    found = []
    for contact in self.contacts_by_day.get(local_day(report.at, self.zone), ()):
        if contact.time_known and report.time_known:
            continue
        end = self._developer_until(contact.at)
        if end is None or report.at < end:
            found.append(
                OrderUnknown(
                    report,
                    kind=contact.kind,
                    at=contact.at,
                    time_known=contact.time_known,
                    source=contact.source,
                )
            )
    return tuple(found)


# --- random small inputs ---------------------------------------------------------------------

# Patterns of one bucket (138|1234) shown and hidden in several ways, one of another bucket,
# and a few odd strings: `self_pairs` takes any frame.
PATTERNS = (
    "138****1234", "1381**21234", "13812341234", "13899991234", "138*9**1234",
    "1389***1234", "13800001234", "138****1235", "139****1234", "1381234123", "138****12345",
)  # fmt: skip
NAMES = (
    "张先生", "张伟", "张强", "張先生", "李先生", None, "先生", "张三/李四", "李四", "王**",
    "老王", "王五", "欧阳娜娜", "欧阳先生", "张伟(男)", "Zhang Wei", "张某",
)  # fmt: skip
CHANNELS = ("链家", "贝壳", "中原")


@st.composite
def report_frames(draw) -> pl.DataFrame:
    """Admitted-report frames as the judge hands them to `link`: any order, ties in
    time and in submission order, protection ends from 45 minutes to forever."""
    n = draw(st.integers(0, 24))
    rows = []
    for i in range(n):
        at = draw(st.integers(-1, 8))  # -1: no 报备时间
        validity = draw(st.sampled_from((45, 90, 240, 1440, None)))
        moment = None if at < 0 else START + timedelta(minutes=30 * at)
        rows.append(
            {
                "row_id": f"r{i}",
                "channel": draw(st.sampled_from((*CHANNELS, CHANNELS[0], None))),
                "phone_pattern": draw(st.sampled_from(PATTERNS)),
                "customer_name": draw(st.sampled_from(NAMES)),
                "bucket": draw(st.sampled_from(("138|1234", "138|1234", "B", None))),
                "at": moment,
                "until": None
                if moment is None or validity is None
                else moment + timedelta(minutes=validity),
                "path": draw(st.sampled_from(("a.xlsx", "b.xlsx"))),
                "sheet": "报备",
                "row_no": draw(st.integers(2, 5)),
            }
        )
    schema = {
        "row_id": pl.String, "channel": pl.String, "phone_pattern": pl.String,
        "customer_name": pl.String, "bucket": pl.String, "at": MOMENT, "until": MOMENT,
        "path": pl.String, "sheet": pl.String, "row_no": pl.Int64,
    }  # fmt: skip
    return pl.DataFrame(rows, schema=schema)


def _pairs(frame: pl.DataFrame) -> list[tuple[str, str]]:
    return sorted(frame.iter_rows())


# Groups up to `link.PAIRWISE_UP_TO` reports are joined pair by pair, larger ones keyed:
# 0 sends every group through the keys, 2 splits them.
SPLITS = st.sampled_from((0, 2, link.PAIRWISE_UP_TO))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(report_frames(), st.booleans(), SPLITS)
def test_self_pairs_are_the_pairwise_definition(frame, same_channel, split):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(link, "PAIRWISE_UP_TO", split)
        found = link.self_pairs(frame, same_channel=same_channel)
    assert _pairs(found) == _pairs(reference_self_pairs(frame, same_channel=same_channel))
    assert found.rows() == sorted(found.rows(), key=_in_time_order(frame))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(report_frames(), st.booleans(), SPLITS)
def test_self_duplicates_are_the_pairs_walked_in_submission_order(frame, invalidate_all, split):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(link, "PAIRWISE_UP_TO", split)
        found = link.self_duplicates(frame, invalidate_all=invalidate_all)
    assert found == reference_self_duplicates(frame, invalidate_all=invalidate_all)


def _in_time_order(frame: pl.DataFrame):
    """Pairs ordered by their first report, then their second (报备时间, then row)."""
    position = {
        row_id: (at, i) for i, (row_id, at) in enumerate(frame.select("row_id", "at").rows())
    }
    return lambda pair: (position[pair[0]], position[pair[1]])


# --- the timeline: ranking by first report, ties of unknown order ----------------------------

GAPS = (None, "15m", "1h", "1d", "1mo")


def _timeline(gap: str | None) -> Timeline:
    rules = parse_rules(f"conflict: {{min_gap: {gap}}}" if gap else "project: x", "rules.yaml")
    return Timeline("13812341234", rules)


@st.composite
def candidates(draw) -> list[Report]:
    """Reports of one customer over three days, some date-only, ties in time."""
    reports = []
    for i in range(draw(st.integers(0, 16))):
        day = draw(st.integers(0, 2))
        known = draw(st.integers(0, 3)) > 0
        minutes = draw(st.sampled_from((0, 5, 10, 20, 60, 600))) if known else 0
        at = START.replace(hour=0) + timedelta(days=day, minutes=minutes + (540 if known else 0))
        channel = draw(st.sampled_from(CHANNELS))
        reports.append(
            Report(
                row_id=f"r{i}",
                channel=channel,
                agent=None,
                customer_name="张先生",
                phone_pattern="138****1234",
                at=at,
                report_type=None,
                until=None,
                order=(f"{channel}.xlsx", "报备", i + 2),
                time_known=known,
            )  # fmt: skip
        )
    return reports


@settings(max_examples=300)
@given(candidates(), st.sampled_from(GAPS), st.lists(st.sampled_from(CHANNELS), max_size=2))
def test_ranking_is_the_pairwise_definition(reports, gap, bringers):
    timeline = _timeline(gap)
    rules = timeline.rules
    assert contest.rank(rules, reports, bringers) == reference_rank(rules, reports, bringers)


@settings(max_examples=300)
@given(candidates())
def test_ties_of_unknown_order_are_every_pair_in_list_order(reports):
    timeline = _timeline(None)
    found = [(o.report, o.source, o.channel) for o in timeline._tied_same_day(reports)]
    expected = [(o.report, o.source, o.channel) for o in reference_tied_same_day(timeline, reports)]
    assert found == expected


@st.composite
def crm_linked(draw):
    """Reports linked to customers known only from the CRM, and the CRM's rows of them."""

    def moment(known: bool) -> datetime:
        day = draw(st.integers(0, 3))
        return START.replace(hour=draw(st.sampled_from((9, 10, 16))) if known else 0) + timedelta(
            days=day
        )

    reports = []
    for i in range(draw(st.integers(0, 10))):
        known = draw(st.integers(0, 3)) > 0
        reports.append(
            Report(
                row_id=f"r{i}",
                channel="链家",
                agent=None,
                customer_name="张先生",
                phone_pattern="138****1234",
                at=moment(known),
                report_type=None,
                until=None,
                order=("r", "r", i),
                codes=draw(st.sampled_from(([], [], ["R05"]))),
                phone=draw(st.sampled_from(PHONES[:2])),
                time_known=known,
            )  # fmt: skip
        )
    rows = []
    for i in range(draw(st.integers(0, 10))):
        known = draw(st.sampled_from((True, True, False, None)))
        rows.append(
            {
                "row_id": f"c{i}",
                "phone": draw(st.sampled_from(PHONES)),
                "at": None if draw(st.integers(0, 9)) == 0 else moment(known is not False),
                "time_known": known,
            }
        )
    crm = pl.DataFrame(
        rows,
        schema={"row_id": pl.String, "phone": pl.String, "at": MOMENT, "time_known": pl.Boolean},
    )
    if draw(st.booleans()):
        crm = crm.drop("time_known")
    released = draw(st.sampled_from((*RELEASED, "14d")))
    return reports, crm, parse_rules(f"existing_customer: {{released_after: {released}}}")


@settings(max_examples=300)
@given(crm_linked())
def test_reports_known_in_the_crm_are_r06_as_when_every_contact_was_compared(case):
    reports, crm, rules = case
    expected = [Report(**{f: getattr(r, f) for f in Report.__slots__}) for r in reports]
    for report in expected:
        report.codes = list(report.codes)
    existing.known_in_crm(reports, crm, rules)
    reference_known_in_crm(expected, crm, rules)
    assert [r.codes for r in reports] == [r.codes for r in expected]


# --- the whole judge, against the judge with the pairwise definitions ---------------------------

PHONES = ("13812341234", "13899991234", "13812345678")
VISITOR_NAMES = ("张先生", "张伟", "李四")
CRM_ONLY = "13800001234"  # in the bucket of PHONES[0]: a customer known only from the CRM
RELEASED = ("null", "2h", "1d")
REPORTED_NAMES = ("张先生", "张先生", "张伟", "张强", "李先生", "先生")


def _frame(kind: str, rows: list[dict]) -> pl.DataFrame:
    schema = dict(empty_frame(kind).schema)
    schema["at"] = schema["first_seen_at"] = MOMENT
    records = []
    for number, row in enumerate(rows, start=2):
        record = dict.fromkeys(schema)
        record.update(
            path=f"{kind}s/{row.get('channel') or '自然'}.xlsx", sheet="表", row_no=number
        )
        record.update(first_run=1, time_known=True, first_seen_at=START + timedelta(days=9))
        record.update(row)
        record["source"] = f"{record['path']}#{record['sheet']}!{record['row_no']}"
        records.append(record)
    frame = pl.DataFrame(records, schema=schema)
    if frame.height:
        frame = frame.with_columns(surnames=name_series(frame["customer_name"])["surnames"])
    return frame.sort("path", "sheet", "row_no", "phone_pattern", nulls_last=True)


@st.composite
def nights(draw):
    """A night of a few numbers: reports of three channels, visits, a CRM contact."""

    def moment():
        day, known = draw(st.integers(0, 3)), draw(st.integers(0, 4)) > 0
        minutes = draw(st.sampled_from((0, 0, 20, 45, 300))) if known else -540
        return START + timedelta(days=day, minutes=minutes), known

    reports = []
    for _ in range(draw(st.integers(0, 14))):
        at, known = moment()
        phone = draw(st.sampled_from(PHONES))
        masked = draw(
            st.sampled_from((phone[:3] + "****" + phone[7:], phone, phone[:4] + "**" + phone[6:]))
        )
        reports.append(
            {
                "row_id": f"r{len(reports)}",
                "channel": draw(st.sampled_from(CHANNELS)),
                "agent": "王五",
                "customer_name": draw(
                    st.sampled_from(("张先生", "张伟", "张强", "李先生", "先生"))
                ),
                "phone_pattern": masked,
                "phone": phone if "*" not in masked else None,
                "at": at,
                "time_known": known,
            }
        )
    visits = []
    for i in range(draw(st.integers(0, 3))):
        day, known = draw(st.integers(0, 3)), draw(st.integers(0, 4)) > 0
        hour = draw(st.sampled_from((11, 15))) if known else 0
        visits.append(
            {
                "row_id": f"v{len(visits)}",
                "channel": draw(st.sampled_from((*CHANNELS, None, None))),
                "customer_name": draw(st.sampled_from(VISITOR_NAMES)) if i else "张先生",
                "phone": (phone := draw(st.sampled_from(PHONES)) if i else PHONES[0]),
                "phone_pattern": phone,
                "at": START.replace(hour=hour) + timedelta(days=day),
                "time_known": known,
            }
        )
    contacts = []
    for _ in range(draw(st.integers(0, 4))):
        day, known = draw(st.integers(0, 3)), draw(st.integers(0, 3)) > 0
        contacts.append(
            {
                "row_id": f"c{len(contacts)}",
                "phone": draw(st.sampled_from((PHONES[0], PHONES[2], CRM_ONLY))),
                "customer_name": draw(st.sampled_from(("张先生", "张伟", None))),
                "at": START.replace(hour=draw(st.sampled_from((9, 10, 16))) if known else 0)
                + timedelta(days=day),
                "time_known": known,
                "kind": draw(st.sampled_from(("crm", "followup"))),
            }
        )
    rules = parse_rules(
        "\n".join(
            [
                "project: x",
                "timezone: Asia/Shanghai",
                f"report: {{validity: {draw(st.sampled_from(('2h', '1d', '30d', '30d')))}, "
                f"self_duplicate: {draw(st.sampled_from(('keep_first', 'invalidate_all')))}}}",
                f"existing_customer: {{released_after: {draw(st.sampled_from(RELEASED))}}}",
                "conflict: {"
                + f"min_gap: {draw(st.sampled_from(('null', '30m', '1d')))}, "
                + f"natural_visit: {draw(st.sampled_from(('first_reporter', 'natural')))}}}",
            ]
        )
    )
    as_of = (START + timedelta(days=5)).date()
    kinds = pl.Series("kind", [c.pop("kind") for c in contacts], dtype=pl.String)
    crm = _frame("crm_customer", contacts).with_columns(kind=kinds)  # rows in the given order
    inputs = Inputs(
        as_of=as_of,
        as_of_end=datetime.combine(as_of, datetime.max.time(), TZ).replace(microsecond=0),
        first_run=1,
        reports=_frame("report", reports),
        report_errors=pl.DataFrame(
            schema={
                "row_id": pl.String,
                "channel": pl.String,
                "agent": pl.String,
                "customer_name": pl.String,
                "reported_at": MOMENT,
                "report_type": pl.String,
                "reason": pl.String,
                "source": pl.String,
                "path": pl.String,
                "sheet": pl.String,
                "row_no": pl.Int64,
            }  # fmt: skip
        ),
        visits=_frame("visit", visits),
        crm=crm.select(*CONTACT_COLUMNS, kind=pl.lit("crm")),
        deals=_frame("deal", []),
        rulings=_frame("ruling", []),
    )
    return inputs, rules


def _said(judgement) -> tuple:
    reports = sorted((r.row_id, r.status, tuple(r.codes), r.phone) for r in judgement.reports)
    episodes = [
        (e.phone, e.owner_type, e.first_visit_at, e.until, tuple(e.channels),
         e.report.row_id if e.report else None, tuple(e.codes), e.flags,
         tuple(r.row_id for r in e.contested),
         tuple((o.report.row_id, o.kind, o.source) for o in e.order_unknown))
        for e in judgement.episodes
    ]  # fmt: skip
    suspected = sorted((a.row_id, b.row_id) for a, b in judgement.suspected)
    return reports, episodes, suspected, sorted(judgement.fits.items())


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(nights())
def test_the_judge_says_what_the_pairwise_judge_says(night):
    inputs, rules = night
    found = _said(judge(inputs, rules))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(r05, "decide", reference_self_duplicates_frame)
        patch.setattr(link, "self_pairs", reference_self_pairs)
        patch.setattr(contest, "rank", reference_rank)
        patch.setattr(Timeline, "_tied_same_day", reference_tied_same_day)
        patch.setattr(Timeline, "_same_day_contacts", reference_same_day_contacts)
        patch.setattr(existing, "known_in_crm", reference_known_in_crm)
        expected = _said(judge(inputs, rules))
    assert found == expected


# --- 20,000 rows of one number, in a child process each ---------------------------------------

ROWS = 20_000
# Five side by side on a loaded 2-core machine: 0.5–1.5 s and 25–50 MiB each. The
# pairwise code needed 2.5 GiB for 3,000 rows of one number and was killed past 8 GiB
# at 10,000. Time is the benchmark's to measure (`benchmarks/degenerate.py`); here the
# memory bound is what tells quadratic work from linear.
MEMORY = 300 * MiB  # peak RSS of the judge call above the RSS just before it
WATCHDOG = 1536 * MiB  # a regression is killed here rather than taking the machine


def _judge_in_child(shape: str) -> subprocess.Popen:
    command = [sys.executable, str(ROOT / "benchmarks" / "degenerate.py"), "--child", shape]
    return subprocess.Popen(
        [*command, "--rows", str(ROWS)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def _watch(child: subprocess.Popen, killed: list[str]) -> None:
    status = Path(f"/proc/{child.pid}/status")
    deadline = time.monotonic() + 120
    while child.poll() is None:
        try:
            rss = next(
                (line for line in status.read_text().splitlines() if line.startswith("VmRSS")),
                None,
            )
        except OSError:
            return
        if rss is not None and int(rss.split()[1]) * 1024 > WATCHDOG:
            killed.append(f"resident memory past {WATCHDOG // MiB} MiB")
            child.kill()
        elif time.monotonic() > deadline:
            killed.append("still running after 120 s")
            child.kill()
        time.sleep(0.02)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_twenty_thousand_rows_of_one_number_are_judged_in_little_memory():
    shapes = ("one_number", "agency_file", "one_visitor", "one_instant", "crm_only")
    children = {shape: _judge_in_child(shape) for shape in shapes}
    killed: dict[str, list[str]] = {shape: [] for shape in shapes}
    watchers = [
        threading.Thread(target=_watch, args=(child, killed[shape]), daemon=True)
        for shape, child in children.items()
    ]
    for watcher in watchers:
        watcher.start()
    ended = {shape: child.communicate() for shape, child in children.items()}
    for watcher in watchers:
        watcher.join()
    results = {}
    for shape, (out, err) in ended.items():
        ok = children[shape].returncode == 0 and not killed[shape]
        assert ok, (shape, killed[shape], err[-2000:])
        results[shape] = json.loads(out.strip().splitlines()[-1])
    for shape, run in results.items():
        used = run["judge_peak"] - run["base"]
        assert used < MEMORY, (shape, used // MiB, run)
    # What the rows come to (the benchmark's shapes, SPEC semantics unchanged).
    assert results["one_number"]["counts"] == {
        "invalid": ROWS - 1, "valid": 1, "episodes": 1, "suspected": 0, "fits": ROWS,
    }  # fmt: skip
    assert results["one_instant"]["counts"]["disputed"] == 40
