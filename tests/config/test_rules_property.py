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
from datetime import date, datetime, time, timedelta
from typing import Any

import polars as pl
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconcile.config.rules import Rules, parse_rules
from reconcile.judge import Judgement, judge
from reconcile.judge.codes import DEAL_STATUSES, OWNER_TYPES, REASONS, REPORT_STATUSES
from reconcile.judge.inputs import CONTACT_COLUMNS, Inputs, empty_frame
from reconcile.normalise.names import name_series
from reconcile.publish.contract import attribution_rows, deal_rows, report_rows

CHANNELS = ("链家", "我爱我家", "房多多")
TYPES = ("预报备", "临报")
PHONES = ("13811110001", "13922220002")
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
START = date(2026, 3, 1)  # a DST change in Santiago (April) and New York (March) is near

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
    if draw(st.booleans()):
        data["opening_date"] = (START + timedelta(days=draw(st.integers(-3, 5)))).isoformat()
    if draw(st.booleans()):
        data["channels"] = {"链家": ["链家地产", "北京链家"]}
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


# --- a small night ---------------------------------------------------------------------


def _frame(kind: str, rows: list[dict], zone: str) -> pl.DataFrame:
    """A judge frame of `kind` (as `inputs.load` gives it) from dicts; absent columns null."""
    schema = dict(empty_frame(kind).schema)
    moment = pl.Datetime("us", zone)
    for name in ("at", "first_seen_at"):
        schema[name] = moment
    columns = {name: [row.get(name) for row in rows] for name in schema}
    return pl.DataFrame(
        {name: pl.Series(name, values, dtype=schema[name]) for name, values in columns.items()}
    )


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


def _surname(name: str | None) -> str | None:
    if name is None:
        return None
    return name_series(pl.Series([name]))["surnames"][0]


@st.composite
def nights(draw: st.DrawFn, rules: Rules) -> Inputs:
    zone = rules.zone
    base = datetime.combine(START, time(10), zone)

    # Few distinct instants, so that reports tie, visits fall inside or just outside
    # windows, and deals and rulings land on the days of the visits.
    instants = draw(
        st.lists(st.integers(-3 * 1440, 3 * 1440), min_size=1, max_size=4).map(
            lambda offsets: [base + timedelta(minutes=m) for m in offsets]
        )
    )

    def moment(after: datetime | None = None) -> datetime:
        at = draw(st.sampled_from(instants))
        if after is None:
            return at
        return max(at, after + timedelta(minutes=draw(st.integers(0, 90))))

    reports = []
    for index in range(draw(st.integers(1, 6))):
        at = moment() - timedelta(minutes=draw(st.sampled_from([0, 1, 30, 60, 1440])))
        known = draw(st.booleans())
        if not known:  # a date without a clock time reads as 00:00 of its day
            at = datetime.combine(at.date(), time(0), zone)
        phone = draw(st.sampled_from(PHONES))
        pattern = draw(
            st.sampled_from([phone[:3] + "****" + phone[-4:], phone, phone[:3] + "*" * 8])
        )
        name = draw(st.sampled_from(["张先生", "张三", "李女士", None]))
        channel = draw(st.sampled_from(CHANNELS))
        arrived = at + timedelta(days=draw(st.sampled_from([0, 0, 1, 3])))
        row = _row(
            "report",
            index,
            at,
            channel=channel,
            agent=draw(st.sampled_from(["王五", None])),
            customer_name=name,
            surnames=_surname(name),
            phone=pattern if "*" not in pattern else None,
            phone_pattern=pattern,
            report_type=draw(st.sampled_from([None, *TYPES])),
            time_known=known,
            first_run=draw(st.sampled_from([1, 2])),
            first_seen_at=datetime.combine(arrived.date(), time(23, 59, 59), zone),
        )
        reports.append(row)
    visits = [
        _row(
            "visit",
            index,
            moment(reports[0]["at"]),
            channel=draw(st.sampled_from([None, *CHANNELS])),
            agent="带看人",
            customer_name="张三",
            surnames="张",
            phone=(phone := draw(st.sampled_from(PHONES))),
            phone_pattern=phone,
        )
        for index in range(draw(st.integers(0, 3)))
    ]
    crm = [_row("crm_customer", 0, moment(), phone=PHONES[1], customer_name="张三", surnames="张")][
        : draw(st.integers(0, 1))
    ]
    deals = []
    if draw(st.booleans()):
        sold = moment()
        common = {"phone": PHONES[0], "customer_name": "张三", "surnames": "张", "deal_no": "D1"}
        stage = draw(st.sampled_from(["认购", "签约"]))
        deals.append(_row("deal", 0, sold, stage=stage, amount=2_000_000.0, **common))
        if draw(st.booleans()):
            refunded = sold + timedelta(days=draw(st.integers(0, 2)))
            deals.append(_row("deal", 1, refunded, stage="退房", **common))
    rulings = []
    if draw(st.booleans()):
        owner = draw(st.sampled_from(CHANNELS))
        shares = None
        if draw(st.booleans()):
            other = draw(st.sampled_from([c for c in CHANNELS if c != owner]))
            shares = json.dumps([[owner, 0.6], [other, 0.4]], ensure_ascii=False)
        rulings.append(
            _row("ruling", 0, moment(), phone=PHONES[0], channel=owner, agent="王五", shares=shares)
        )
    as_of = START + timedelta(days=draw(st.integers(-1, 4)))
    zone_name = rules.timezone
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


def check_night(judgement: Judgement) -> None:
    end = judgement.inputs.as_of_end
    for report in judgement.reports:
        assert report.status in REPORT_STATUSES, report
        assert all(code in REASONS for code in report.codes), report
        if report.status == "pending":
            assert report.until is None or end < report.until, report
        if report.status == "expired_unvisited":
            assert report.until is not None and report.until <= end, report
        if report.status == "invalid":
            assert report.codes, report
    reports = report_rows(judgement)
    assert len(reports) == len(judgement.reports) + judgement.error_reports.height
    for row in reports:
        assert row[7] in REPORT_STATUSES and all(c in REASONS for c in _codes(row[8])), row
    for row in attribution_rows(judgement):
        assert row[3] in OWNER_TYPES, row
        assert all(c in REASONS for c in _codes(row[8])), row
    for episode in judgement.episodes:
        if episode.shares:
            assert abs(sum(share for _, share in episode.shares) - 1) < 1e-9, episode.shares
            assert all(share > 0 for _, share in episode.shares), episode.shares
    shares: dict[str, float] = defaultdict(float)
    for line in judgement.deals:
        assert line.status in DEAL_STATUSES, line
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
        assert row[10] in DEAL_STATUSES and all(c in REASONS for c in _codes(row[11])), row


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.data())
def test_every_accepted_rules_file_runs_a_night(data: st.DataObject) -> None:
    rules = parse_rules(data.draw(rules_texts(), label="rules.yaml"))
    inputs = data.draw(nights(rules), label="night")
    check_night(judge(inputs, rules))
