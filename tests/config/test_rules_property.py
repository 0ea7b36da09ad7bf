"""Validation equals use: any rules file `parse_rules` accepts gives a night that runs.

Hypothesis draws rules files over the whole SPEC §6 schema, edge values included (zero
clock spans, `forever`, one-minute and hundred-year periods, hours over midnight, odd
time zones), and a small night to judge under each: reports (masked and full numbers,
date-only ones, typed ones, late arrivals), visits, a CRM customer, a deal (perhaps
refunded) and a ruling (perhaps with shares). The judge runs in memory, then the CSV
contract's row functions; their rows must be self-consistent.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any

import polars as pl
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from reconcile.config.rules import Rules, parse_rules
from reconcile.judge import Judgement, judge
from reconcile.judge.inputs import CONTACT_COLUMNS, Inputs, empty_frame
from reconcile.judge.periods import period_end
from reconcile.judge.reasons import REASONS
from reconcile.judge.reasons.turns import VERDICTS
from reconcile.judge.vocabulary import DealStatus, OwnerType, ReportStatus
from reconcile.normalise.names import name_series
from reconcile.publish.contract import (
    attribution_rows,
    consultant_rows,
    deal_rows,
    performance_rows,
    report_rows,
    rotation_rows,
)

CHANNELS = ("链家", "我爱我家", "房多多")
TYPES = ("预报备", "临报")
PHONES = ("13811110001", "13922220002")
CONSULTANTS = ("王芳", "李明", "赵强")
CONSULTANT_CELLS = ("consultant", "designated", "assistant", "referrer")  # a visit's, SPEC 6.7
ZONES = (
    "Asia/Shanghai",
    "UTC",
    "Asia/Kolkata",  # +05:30
    "Asia/Kathmandu",  # +05:45
    "America/New_York",  # DST at 02:00
    "America/Santiago",  # DST at midnight: some days have no 00:00
    "Australia/Lord_Howe",  # a 30-minute DST
    "Pacific/Chatham",  # +12:45 / +13:45
)
# Santiago has no 2026-09-06 00:00 (its clocks go from 23:59:59 to 01:00).
START = date(2026, 9, 4)

# --- rules files ---------------------------------------------------------------------


def _amounts(unit: str, low: int) -> st.SearchStrategy[str]:
    top = {"m": 3000, "h": 200, "d": 60, "mo": 14}[unit]
    edge = {"m": "52704000m", "h": "878400h", "d": "36600d", "mo": "1180mo"}[unit]
    return st.one_of(
        st.integers(low, top).map(lambda n: f"{n}{unit}"),
        st.just(f"{low}{unit}"),
        st.just(edge),  # a hundred years: the longest accepted
    )


def _durations(*, zero: bool, forever: bool) -> st.SearchStrategy[str]:
    """Duration text validation accepts: clock units from 0 when `zero`, calendar units
    from 1, `forever` when allowed."""
    clock = st.sampled_from(["m", "h"]).flatmap(lambda u: _amounts(u, 0 if zero else 1))
    calendar = st.sampled_from(["d", "mo"]).flatmap(lambda u: _amounts(u, 1))
    named = ["same_day", "next_day", *(["forever"] if forever else [])]
    return st.one_of(clock, calendar, st.sampled_from(named))


PERIOD = _durations(zero=False, forever=True)  # validity, protection, renewal, …
SPAN = _durations(zero=True, forever=False)  # lead_time, simultaneous_within
ANY = _durations(zero=True, forever=True)  # max_delay, min_gap, appeal_window


def _clock() -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.integers(0, 59)),
        st.sampled_from(["00:00", "23:59", "08:00", "18:00"]),
    )


def _range(**extra: st.SearchStrategy) -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries({"start": _clock(), "end": _clock()}, optional=extra).filter(
        lambda r: r["start"] != r["end"]
    )


def _optional(key: str, values: st.SearchStrategy) -> dict[str, st.SearchStrategy]:
    return {key: st.one_of(st.none(), values)}


QUOTA = st.fixed_dictionaries(
    {"per": st.sampled_from(["agent", "channel"]), "limit": st.integers(1, 3)}
)
TERM = st.one_of(
    st.fixed_dictionaries({"rate": st.sampled_from([0, 0.005, 0.01, 0.5, 1])}),
    st.fixed_dictionaries({"fixed": st.sampled_from([0, 3000, 12345.67])}),
)


@st.composite
def _report_type(draw: st.DrawFn) -> dict:
    kind: dict[str, Any] = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "lead_time": SPAN,
                "validity": PERIOD,
                "quota": QUOTA,
            },
        )
    )
    limits = draw(st.sampled_from(["none", "window", "hours"]))
    if limits == "window":
        kind["window"] = draw(_range(day=st.sampled_from(["before", "same"])))
    elif limits == "hours":
        kind["hours"] = draw(_range())
    return kind


@st.composite
def rules_texts(draw: st.DrawFn) -> str:
    """A rules.yaml, every key optional, every value one validation accepts."""
    types = draw(st.lists(st.sampled_from(TYPES), unique=True, max_size=2))
    report = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "require_surname": st.booleans(),
                "min_visible": st.fixed_dictionaries(
                    {},
                    optional={
                        "prefix": st.sampled_from([3, 0, 2, 4, 11]),
                        "suffix": st.sampled_from([4, 0, 3, 8, 11]),
                    },
                ),
                "hours": st.one_of(st.none(), _range()),
                "lead_time": SPAN,
                "validity": PERIOD,
                "validity_before_opening": PERIOD,
                "quota": st.one_of(st.none(), QUOTA),
                "self_duplicate": st.sampled_from(["keep_first", "invalidate_all"]),
                "max_delay": st.one_of(st.none(), ANY),
            },
        )
    )
    if types:
        report["types"] = {name: draw(_report_type()) for name in types}
        report["type_priority"] = draw(
            st.permutations(types).flatmap(
                lambda names: st.integers(0, len(names)).map(lambda n: list(names[:n]))
            )
        )
    # SPEC 6.8: the protection mode, and what report mode adds
    mode = draw(st.sampled_from(["report_visit", "report", "visit"]))
    if draw(st.booleans()):
        report["validity_after_deposit"] = draw(PERIOD)
    if draw(st.booleans()):
        report["extension"] = draw(
            st.fixed_dictionaries(
                {}, optional={"window": PERIOD, "extend": PERIOD, "times": st.integers(1, 3)}
            )
        )
    if mode == "report" and draw(st.booleans()):
        report["queue"] = draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "max": st.integers(1, 2),
                    "validity": PERIOD,
                    **_optional("extend_when_queued", PERIOD),
                },
            )
        )
    order = draw(st.permutations(["first_visit", "first_report"]))
    share = draw(st.sampled_from([0.5, 0.7, 0.3, 0.01, 0.99, 0.6]))
    data: dict[str, Any] = {
        "timezone": draw(st.sampled_from(ZONES)),
        "report": report,
        "existing_customer": draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "crm_contact_before_report": st.booleans(),
                    "prior_visit": st.booleans(),
                    **_optional("released_after", PERIOD),
                },
            )
        ),
        "visit": draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "protection": PERIOD,
                    "renewal": st.one_of(
                        st.none(),
                        st.fixed_dictionaries({}, optional={"window": PERIOD, "extend": PERIOD}),
                    ),
                    "simultaneous_within": SPAN,
                },
            )
        ),
        "conflict": draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "order": st.integers(1, 2).map(lambda n: order[:n]),
                    "natural_visit": st.sampled_from(["first_reporter", "natural"]),
                    "brought_by_other": st.sampled_from(["reporter", "natural"]),
                    **_optional("min_gap", ANY),
                    "appeal_window": ANY,
                    "upheld_split": st.just([share, round(1 - share, 2)]),
                },
            )
        ),
        "deal": draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "commission_stage": st.sampled_from(["认购", "签约"]),
                    "clawback_on_refund": st.booleans(),
                },
            )
        ),
        "commission": draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "default": TERM,
                    "channels": st.dictionaries(st.sampled_from(CHANNELS), TERM, max_size=2),
                },
            )
        ),
    }
    if mode != "report_visit" or draw(st.booleans()):
        data["conflict"]["mode"] = mode
    if draw(st.booleans()):
        split = st.sampled_from([[0.8, 0.2], [0.5, 0.5], [1, 0], [0, 1], [0.3, 0.7]])
        data["consultant"] = draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "record_validity": PERIOD,
                    "release_without_follow_up": PERIOD,
                    "designated_other": split,
                    "assisted": split,
                    "assisted_same_day_only": st.booleans(),
                    "assisted_same_day_split": split,
                    "referral": st.sampled_from(["referrer_owner", "receptionist"]),
                },
            )
        )
    if draw(st.booleans()):
        data["rotation"] = draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "skip_turn_for_own_customer": st.booleans(),
                    "missed_turn": st.sampled_from(["forfeit", "make_up"]),
                },
            )
        )
    if draw(st.booleans()):
        data["opening_date"] = (START + timedelta(days=draw(st.integers(-3, 5)))).isoformat()
    if draw(st.booleans()):
        data["channels"] = {"链家": ["链家地产", "北京链家"]}
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


# --- a small night ---------------------------------------------------------------------


@cache
def _schema(kind: str) -> dict[str, pl.DataType]:
    return dict(empty_frame(kind).schema)


def _utc(moment: datetime | None) -> datetime | None:
    return moment.astimezone(UTC) if moment is not None else None


def _frame(kind: str, rows: list[dict], zone: str) -> pl.DataFrame:
    """A judge frame of `kind` (as `inputs.load` gives it) from dicts; absent columns null."""
    schema = dict(_schema(kind))
    moments = ("at", "first_seen_at")
    for name in moments:
        # Through UTC: a drawn wall-clock time may not exist in the zone (Santiago skips
        # 00:00 on the day its summer time starts), as the ledger's UTC text never does.
        schema[name] = pl.Datetime("us", "UTC")
    columns = {name: [_utc(row.get(name)) if name in moments else row.get(name) for row in rows]
               for name in schema}  # fmt: skip
    frame = pl.DataFrame(
        {name: pl.Series(name, values, dtype=schema[name]) for name, values in columns.items()}
    )
    return frame.with_columns(pl.col(name).dt.convert_time_zone(zone) for name in moments)


def _row(kind: str, index: int, at: datetime | None, **fields: Any) -> dict:
    path = {"report": "channels/{}/报备.xlsx", "visit": "visits/来访.xlsx"}.get(
        kind, f"{kind}/表.xlsx"
    )
    path = path.format(fields.get("channel"))
    sheet = "表"
    return {
        "row_id": f"{kind[0]}{index}",
        "at": at,
        "first_seen_at": at,
        "time_known": True,
        "path": path,
        "sheet": sheet,
        "row_no": index + 2,
        "first_run": 1,
        "source": f"{path}#{sheet}!{index + 2}",
        **fields,
    }


@cache
def _surname(name: str | None) -> str | None:
    if name is None:
        return None
    return name_series(pl.Series([name]))["surnames"][0]


@st.composite
def nights(draw: st.DrawFn) -> dict[str, Any]:
    """A small night as plain data, in minutes from 10:00 of START in the project's zone
    (`night_inputs` places it), so that a regression can be written out as an @example."""
    # Few distinct instants, so that reports tie, visits fall inside or just outside
    # windows, and deals and rulings land on the days of the visits.
    instants = draw(st.lists(st.integers(-3 * 1440, 3 * 1440), min_size=1, max_size=4))

    def moment(after: int | None = None) -> int:
        at = draw(st.sampled_from(instants))
        return at if after is None else max(at, after + draw(st.integers(0, 90)))

    reports: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(1, 6))):
        phone = draw(st.sampled_from(PHONES))
        at = moment() - draw(st.sampled_from([0, 1, 30, 60, 1440]))
        reports.append(
            {
                "at": at,
                "known": draw(st.booleans()),  # false: a date without a clock time
                "arrived_days": draw(st.sampled_from([0, 0, 1, 3])),
                "first_run": draw(st.sampled_from([1, 2])),
                "channel": draw(st.sampled_from(CHANNELS)),
                "agent": draw(st.sampled_from(["王五", None])),
                "name": draw(st.sampled_from(["张先生", "张三", "李女士", None])),
                "pattern": draw(
                    st.sampled_from([phone[:3] + "****" + phone[-4:], phone, phone[:3] + "*" * 8])
                ),
                # 延期: an extension request, not a report (SPEC 6.8)
                "type": draw(st.sampled_from([None, *TYPES, "延期"])),
            }
        )
    first: int = min(report["at"] for report in reports)
    visits = [
        {
            "at": moment(first),
            "channel": draw(st.sampled_from([None, *CHANNELS])),
            "phone": draw(st.sampled_from(PHONES)),
            "consultant": draw(st.sampled_from([None, *CONSULTANTS])),
            "designated": draw(st.sampled_from([None, None, *CONSULTANTS])),
            "assistant": draw(st.sampled_from([None, None, "是", *CONSULTANTS])),
            "referrer": draw(st.sampled_from([None, None, *PHONES])),
        }
        for _ in range(draw(st.integers(0, 3)))
    ]
    followups = [
        (moment(), draw(st.sampled_from(PHONES)), draw(st.sampled_from(CONSULTANTS)))
        for _ in range(draw(st.integers(0, 2)))
    ]
    roster = [
        (day, order, name, draw(st.sampled_from([None, "是", "否", "请假"])))
        for day in draw(st.lists(st.integers(-3, 3), unique=True, max_size=2))
        for order, name in enumerate(draw(st.permutations(CONSULTANTS)), start=1)
    ]
    crm = [moment()] if draw(st.booleans()) else []
    deal = None
    if draw(st.booleans()):
        sold = moment()
        refunded = sold + draw(st.integers(0, 2)) * 1440 if draw(st.booleans()) else None
        stage = draw(st.sampled_from(["小订", "认购", "签约"]))
        deal = {"at": sold, "stage": stage, "refund": refunded}
    ruling = None
    if draw(st.booleans()):
        owner = draw(st.sampled_from(CHANNELS))
        other = draw(st.sampled_from([None, *(c for c in CHANNELS if c != owner)]))
        ruling = {"at": moment(), "owner": owner, "other": other}
    return {
        "reports": reports,
        "visits": visits,
        "crm": crm,
        "deal": deal,
        "ruling": ruling,
        "as_of_days": draw(st.integers(-1, 4)),
        "followups": followups,
        "roster": roster,
    }


def night_inputs(night: dict[str, Any], rules: Rules) -> Inputs:
    """The judge's inputs for a night of `nights()` under `rules` (as `inputs.load` gives them)."""
    zone, zone_name = rules.zone, rules.timezone
    base = datetime.combine(START, time(10), zone)

    def at(minutes: int) -> datetime:
        return base + timedelta(minutes=minutes)

    def day_of(minutes: int, days: int = 0, clock: time = time(0)) -> datetime:
        # A real instant where a DST change skips the wall time (Santiago's 09-06 00:00).
        wall = datetime.combine(at(minutes).date() + timedelta(days=days), clock, zone)
        return wall.astimezone(UTC).astimezone(zone)

    reports = []
    for index, report in enumerate(night["reports"]):
        pattern, name = report["pattern"], report["name"]
        reports.append(
            _row(
                "report",
                index,
                at(report["at"]) if report["known"] else day_of(report["at"]),
                channel=report["channel"],
                agent=report["agent"],
                customer_name=name,
                surnames=_surname(name),
                phone=pattern if "*" not in pattern else None,
                phone_pattern=pattern,
                report_type=report["type"],
                time_known=report["known"],
                first_run=report["first_run"],
                first_seen_at=day_of(report["at"], report["arrived_days"], time(23, 59, 59)),
            )
        )
    person = {"customer_name": "张三", "surnames": "张"}
    visits = [
        _row(
            "visit",
            index,
            at(visit["at"]),
            channel=visit["channel"],
            agent="带看人",
            phone=visit["phone"],
            phone_pattern=visit["phone"],
            relative_phone=PHONES[1] if visit["phone"] == PHONES[0] else None,
            **{key: visit.get(key) for key in CONSULTANT_CELLS},
            **person,
        )
        for index, visit in enumerate(night["visits"])
    ]
    followups = [
        _row("crm_followup", index, at(minutes), phone=phone, follower=who, **person)
        for index, (minutes, phone, who) in enumerate(night.get("followups", []))
    ]
    roster = [
        _row("roster", index, day_of(0, days), roster_order=str(order), consultant=name, away=away)
        for index, (days, order, name, away) in enumerate(night.get("roster", []))
    ]
    crm = [
        _row("crm_customer", index, at(minutes), phone=PHONES[1], **person)
        for index, minutes in enumerate(night["crm"])
    ]
    deals = []
    if (deal := night["deal"]) is not None:
        common = {"phone": PHONES[0], "deal_no": "D1", "consultant": CONSULTANTS[0], **person}
        deals.append(_row("deal", 0, at(deal["at"]), stage=deal["stage"], amount=2e6, **common))
        if deal["refund"] is not None:
            deals.append(_row("deal", 1, at(deal["refund"]), stage="退房", **common))
    rulings = []
    if (ruling := night["ruling"]) is not None:
        owner, other = ruling["owner"], ruling["other"]
        shares = None if other is None else json.dumps([[owner, 0.6], [other, 0.4]])
        rulings.append(
            _row("ruling", 0, at(ruling["at"]), phone=PHONES[0], channel=owner, shares=shares)
        )
    as_of = START + timedelta(days=night["as_of_days"])
    return Inputs(
        as_of=as_of,
        as_of_end=datetime.combine(as_of, time(23, 59, 59), zone),
        first_run=1,
        reports=_frame("report", reports, zone_name),
        report_errors=_no_errors(zone_name),
        visits=_frame("visit", visits, zone_name),
        crm=_frame("crm_customer", crm, zone_name).select(*CONTACT_COLUMNS, kind=pl.lit("crm")),
        deals=_frame("deal", deals, zone_name),
        rulings=_frame("ruling", rulings, zone_name),
        deal_changes=_frame("deal_change", [], zone_name),
        followups=_frame("crm_followup", followups, zone_name),
        roster=_frame("roster", roster, zone_name),
    )


def _no_errors(zone: str) -> pl.DataFrame:
    text = ("row_id", "channel", "agent", "customer_name", "report_type", "reason", "source",
            "path", "sheet")  # fmt: skip
    return pl.DataFrame(
        schema={
            **dict.fromkeys(text, pl.String),
            "reported_at": pl.Datetime("us", zone),
            "row_no": pl.Int64,
        }
    )


# --- what every night must say -------------------------------------------------------


def _codes(text: str) -> list[str]:
    return [code for code in text.split(";") if code]


def check_night(judgement: Judgement, rules: Rules) -> None:
    end = judgement.inputs.as_of_end
    extended = {request.phone for request in judgement.requests if request.honoured}
    for report in judgement.reports:
        if rules.opening_date is None and report.phone not in extended:
            # One answer for when a period ends, whichever code computes it.
            kind = rules.report.types.get(report.report_type or "")
            validity = kind.validity if kind and kind.validity else rules.report.validity
            assert report.until == period_end(report.at, validity, rules.zone), report
        assert report.status in set(ReportStatus), report
        assert all(code in REASONS for code in report.codes), report
        if report.status == "pending":
            assert report.until is None or end < report.until, report
        if report.status == "expired_unvisited":
            assert report.until is not None and report.until <= end, report
        if report.status == "invalid":
            assert report.codes, report
    reports = list(report_rows(judgement))
    assert len(reports) == len(judgement.reports) + judgement.error_reports.height
    for row in reports:
        assert row[7] in set(ReportStatus) and all(c in REASONS for c in _codes(row[8])), row
    for row in attribution_rows(judgement):
        assert row[3] in set(OwnerType), row
        assert all(c in REASONS for c in _codes(row[8])), row
    for episode in judgement.episodes:
        if episode.shares:
            assert abs(sum(share for _, share in episode.shares) - 1) < 1e-9, episode.shares
            assert all(share > 0 for _, share in episode.shares), episode.shares
    shares: dict[str, float] = defaultdict(float)
    for line in judgement.deals:
        assert line.status in set(DealStatus), line
        assert all(code in REASONS for code in line.reason_codes), line
        if line.share is not None:
            shares[line.deal_id] += line.share
        if line.status in ("payable", "held"):
            assert line.commission >= 0, line
        elif line.status == "clawback":
            assert line.commission <= 0, line
        else:
            assert line.commission == 0, line
        if line.status == "held":
            assert "H01" in line.reason_codes or "D01" in line.reason_codes, line
    for deal_id, total in shares.items():
        assert abs(total - 1) < 1e-9, (deal_id, total)
    for row in deal_rows(judgement):
        assert row[10] in set(DealStatus) and all(c in REASONS for c in _codes(row[11])), row
    _check_consultants(judgement, rules)
    _check_requests_and_queue(judgement, rules)


def _check_requests_and_queue(judgement: Judgement, rules: Rules) -> None:
    """SPEC 6.8: a request is honoured (with its new end) or R11, never a report; the
    queue holds only queued reports, numbered from 1, at most `queue.max` per customer."""
    assert all(r.report_type != "延期" for r in judgement.reports)
    for request in judgement.requests:
        assert request.honoured != bool(request.codes), request
        assert request.codes in ([], ["R11"]), request
        if request.honoured:
            assert rules.report.extension is not None and request.phone, request
    queued = [r for r in judgement.reports if r.status == ReportStatus.QUEUED]
    assert {r.row_id for r in queued} == set(judgement.queue)
    if queued:
        assert rules.report.queue is not None and rules.conflict.mode == "report"
        by_phone: dict[str, list[int]] = defaultdict(list)
        for report in queued:
            by_phone[report.phone or ""].append(judgement.queue[report.row_id].position)
        for positions in by_phone.values():
            assert sorted(positions) == list(range(1, len(positions) + 1)), positions
            assert len(positions) <= rules.report.queue.max, positions
    if rules.report.queue is None:
        assert not any("Q01" in r.codes for r in judgement.reports)


def _check_consultants(judgement: Judgement, rules: Rules) -> None:
    """SPEC 6.7: on only when the rules say so; records end after they start; every
    deal's shares sum to 1; every turn has a verdict."""
    assert (judgement.consultants is not None) == (rules.consultant is not None)
    assert (judgement.rotation is not None) == (rules.rotation is not None)
    for row in consultant_rows(judgement):
        assert row[2] and all(c in REASONS for c in _codes(row[5])), row
    for record in judgement.consultants.records if judgement.consultants else []:
        assert record.valid_until is None or record.valid_from < record.valid_until, record
    totals: dict[str, float] = defaultdict(float)
    for share in judgement.consultants.shares if judgement.consultants else []:
        assert all(c in REASONS for c in share.codes), share
        if share.share is not None:
            assert share.share > 0, share
            totals[share.deal_id] += share.share
    assert all(abs(total - 1) < 1e-9 for total in totals.values()), totals
    for row in performance_rows(judgement):
        assert all(c in REASONS for c in _codes(row[5])), row
    for row in rotation_rows(judgement):
        assert row[4] in VERDICTS and all(c in REASONS for c in _codes(row[5])), row


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
def _one_report(*minutes: int, known: bool = True) -> dict[str, Any]:
    report = {"known": known, "arrived_days": 0, "first_run": 1, "channel": "链家",
              "agent": "王五", "name": "张先生", "pattern": "138****0001",
              "type": None}  # fmt: skip
    reports = [{**report, "at": at} for at in minutes]
    return {"reports": reports, "visits": [], "crm": [], "deal": None, "ruling": None,
            "as_of_days": 0}  # fmt: skip


@given(rules_texts(), nights())
# Hours are exact across a DST change: report protection said 1500h, visit arithmetic
# 1501h (Python adds wall-clock time to an aware datetime).
@example("timezone: America/New_York\nreport:\n  validity: 1500h\n", _one_report(0))
# A day whose 24:00 a DST change skips ends at 01:00 of the next; polars said 23:00.
@example("timezone: America/Santiago\nreport:\n  validity: 1d\n", _one_report(1440, 2880))
# An opening day whose midnight does not exist crashed the night.
@example("timezone: America/Santiago\nopening_date: '2026-09-06'\n", _one_report(0, known=False))
# A ruling that gives the customer to the queued channel: its report left the queue's
# statuses but stayed in the queue.
@example(
    "report:\n  queue: {}\nconflict:\n  mode: report\n",
    {
        **_one_report(840, known=False),
        "reports": [
            {**_one_report(840, known=False)["reports"][0]},
            {**_one_report(839, known=False)["reports"][0], "channel": "我爱我家"},
        ],
        "ruling": {"at": 840, "owner": "链家", "other": None},
        "followups": [],
        "roster": [],
    },
)
def test_every_accepted_rules_file_runs_a_night(text: str, night: dict[str, Any]) -> None:
    rules = parse_rules(text)
    check_night(judge(night_inputs(night, rules), rules), rules)
