"""Dates without a clock time (SPEC §6.4): the timeline, admission and the 需核实 section.

A date-only value reads as 00:00 of its day. Against a row of the same day its order
is unknown and resolves for the report; on different days the day decides.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from reconcile.config.rules import Rules, parse_rules
from reconcile.config.workspace import Workspace
from reconcile.judge.admission import admit
from reconcile.judge.inputs import empty_frame
from reconcile.judge.timeline import (
    Contact,
    Report,
    Timeline,
    Visit,
    event_key,
    group_visits,
)
from reconcile.judge.vocabulary import Flags
from reconcile.ops.pipeline import judge_night, run
from reconcile.publish.report import render_text
from tests.scenarios.test_scenarios import make_workspace, write_input

ZONE = ZoneInfo("Asia/Shanghai")
PHONE = "13812341234"


def at(text: str) -> datetime:
    """`2026-11-20` (a date-only value: 00:00) or `2026-11-20 10:00`, project time."""
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


def known(text: str) -> bool:
    return " " in text


def report(when: str, channel: str = "链家", row: int = 2) -> Report:
    return Report(
        row_id=f"{channel}-{row}",
        channel=channel,
        agent=None,
        customer_name="张先生",
        phone_pattern="138****1234",
        at=at(when),
        report_type=None,
        until=None,
        order=(f"channels/{channel}/报备.xlsx", "报备", row),
        phone=PHONE,
        time_known=known(when),
    )


def visit(when: str, channel: str | None = None, row: int = 2) -> Visit:
    return Visit(
        f"v{row}", PHONE, at(when), channel, None, "张三",
        ("visits/来访.xlsx", "来访", row), known(when),
    )  # fmt: skip


def contact(when: str, kind: str = "crm", row: int = 2) -> Contact:
    return Contact(
        f"c{row}", PHONE, at(when), kind, ("crm/客户.xlsx", "客户", row), known(when),
    )  # fmt: skip


def judge(rules: Rules, reports=(), visits=(), contacts=()):
    timeline = Timeline(PHONE, rules)
    episodes = timeline.run(list(reports), list(visits), list(contacts))
    timeline.finish(at("2026-12-31 23:59"))
    return episodes


DEFAULT = Rules()
UNKNOWN = Flags(order_unknown=True)


# --- the order of one day -------------------------------------------------------------


def test_a_day_runs_date_only_reports_then_timed_events_then_date_only_contacts_and_visits():
    keys = {
        "timed contact": event_key(at("2026-11-20 09:00"), True, "contact", ZONE),
        "date-only report": event_key(at("2026-11-20"), False, "report", ZONE),
        "timed report": event_key(at("2026-11-20 10:00"), True, "report", ZONE),
        "date-only contact": event_key(at("2026-11-20"), False, "contact", ZONE),
        "date-only visit": event_key(at("2026-11-20"), False, "visit", ZONE),
        "timed visit": event_key(at("2026-11-20 15:00"), True, "visit", ZONE),
        "next day": event_key(at("2026-11-21 00:00"), True, "contact", ZONE),
        "day before": event_key(at("2026-11-19"), False, "visit", ZONE),
    }
    assert sorted(keys, key=keys.__getitem__) == [
        "day before", "date-only report", "timed contact", "timed report", "timed visit",
        "date-only contact", "date-only visit", "next day",
    ]  # fmt: skip


def test_date_only_visits_of_a_day_are_one_visit_and_never_join_a_timed_one():
    groups = group_visits(
        [
            visit("2026-11-20 00:10", "链家", 2),
            visit("2026-11-20", "我爱我家", 3),
            visit("2026-11-20", "房多多", 4),
            visit("2026-11-20 00:20", "安居客", 5),
        ],
        DEFAULT,
    )
    assert [[v.channel for v in group] for group in groups] == [
        ["我爱我家", "房多多"],
        ["链家", "安居客"],  # 00:10 and 00:20: within simultaneous_within
    ]


# --- R06: CRM contacts -------------------------------------------------------------------


def test_the_reported_bug_a_date_only_crm_contact_on_the_report_day_is_not_r06():
    claim = report("2026-11-20 10:00")
    crm = contact("2026-11-20")
    (episode,) = judge(DEFAULT, [claim], [visit("2026-11-20 15:00", "链家")], [crm])
    assert (claim.status, claim.codes) == ("valid", [])
    assert (episode.owner_type, episode.channels) == ("channel", ["链家"])
    assert episode.flags == UNKNOWN
    (pair,) = episode.order_unknown
    assert (pair.report, pair.kind, pair.source) == (claim, "crm", crm.source)


@pytest.mark.parametrize(
    ("contact_at", "report_at"),
    [
        ("2026-11-20", "2026-11-20"),  # both date-only
        ("2026-11-20 09:00", "2026-11-20"),  # the report is date-only: its order is unknown
        ("2026-11-20 18:00", "2026-11-20"),
    ],
)
def test_any_crm_contact_of_a_date_only_report_day_is_not_before_it(contact_at, report_at):
    claim = report(report_at)
    (episode,) = judge(
        DEFAULT, [claim], [visit("2026-11-21 15:00", "链家")], [contact(contact_at, "followup")]
    )
    assert (claim.status, episode.owner_type, episode.flags) == (
        "valid",
        "channel",
        UNKNOWN,
    )
    assert episode.order_unknown[0].kind == "followup"


def test_on_different_days_the_day_decides_r06():
    claim = report("2026-11-20 00:30")
    (episode,) = judge(
        DEFAULT, [claim], [visit("2026-11-20 15:00", "链家")], [contact("2026-11-19")]
    )
    assert (claim.status, claim.codes) == ("invalid", ["R06"])
    assert (episode.owner_type, episode.flags) == ("existing", Flags(brought_by=("链家",)))


def test_timed_rows_keep_their_order_and_raise_no_flag():
    before, after = report("2026-11-20 10:00", row=2), report("2026-11-21 10:00", row=3)
    judge(DEFAULT, [before], [], [contact("2026-11-20 09:00")])
    assert before.codes == ["R06"]
    (episode,) = judge(
        DEFAULT, [after], [visit("2026-11-22 15:00", "链家")], [contact("2026-11-21 11:00")]
    )
    assert (after.status, episode.flags, episode.order_unknown) == ("valid", Flags(), [])


def test_a_same_day_contact_that_would_have_been_released_by_then_is_not_flagged():
    rules = parse_rules("existing_customer: {released_after: 1h}")
    claim = report("2026-11-20 10:00")
    (episode,) = judge(rules, [claim], [visit("2026-11-20 15:00", "链家")], [contact("2026-11-20")])
    assert claim.status == "valid" and episode.flags == Flags()


def test_a_crm_check_that_is_off_flags_nothing():
    rules = parse_rules("existing_customer: {crm_contact_before_report: false}")
    claim = report("2026-11-20 10:00")
    (episode,) = judge(rules, [claim], [visit("2026-11-20 15:00", "链家")], [contact("2026-11-20")])
    assert claim.status == "valid" and episode.flags == Flags()


# --- R07 and R08: the visit -------------------------------------------------------------


def test_a_date_only_walk_in_on_the_report_day_is_not_before_the_report():
    claim = report("2026-11-20 16:00")
    (episode,) = judge(DEFAULT, [claim], [visit("2026-11-20")])
    assert (claim.status, episode.owner_type, episode.channels) == ("valid", "channel", ["链家"])
    assert episode.first_visit_at == at("2026-11-20")  # shown as 00:00 of its day
    assert episode.flags == UNKNOWN
    assert [(p.kind, p.time_known) for p in episode.order_unknown] == [("visit", False)]


def test_a_date_only_walk_in_the_day_before_is_r07():
    claim = report("2026-11-20 00:01")
    (episode,) = judge(DEFAULT, [claim], [visit("2026-11-19")])
    assert claim.codes == ["R07"]
    assert (episode.owner_type, episode.flags) == ("natural", Flags())


def test_a_date_only_visit_of_another_channel_on_the_report_day_is_a_contest_not_r07():
    ours, theirs = report("2026-11-20 11:00", "链家"), report("2026-11-18 10:00", "我爱我家")
    (episode,) = judge(DEFAULT, [ours, theirs], [visit("2026-11-20", "我爱我家")])
    assert (ours.status, ours.codes, theirs.status) == ("lost", ["C01"], "valid")
    assert episode.flags == Flags(lost=("链家",), order_unknown=True)
    assert [p.report for p in episode.order_unknown] == [ours]  # 我爱我家 reported days before


def test_a_date_only_report_on_the_visit_day_is_in_time_whatever_the_lead_time():
    rules = parse_rules("report: {lead_time: 1h}")
    claim = report("2026-11-20")
    (episode,) = judge(rules, [claim], [visit("2026-11-20 00:30", "链家")])  # 00:00 reads 30 min
    assert (claim.status, episode.flags) == ("valid", UNKNOWN)


def test_a_timed_report_late_on_a_date_only_visit_day_is_in_time():
    rules = parse_rules("report: {lead_time: 30m}")
    claim = report("2026-11-20 23:50")
    (episode,) = judge(rules, [claim], [visit("2026-11-20", "链家")])
    assert (claim.status, episode.flags) == ("valid", UNKNOWN)


def test_before_a_date_only_visit_day_the_day_decides_the_lead_time():
    rules = parse_rules("report: {lead_time: 30m}")
    claim = report("2026-11-19 23:50")  # 00:00 of the visit day would be only 10 min later
    (episode,) = judge(rules, [claim], [visit("2026-11-20", "链家")])
    assert (claim.status, episode.flags) == ("valid", Flags())


def test_a_timed_report_too_close_to_a_timed_visit_stays_r08():
    rules = parse_rules("report: {lead_time: 30m}")
    claim = report("2026-11-20 14:45")
    (episode,) = judge(rules, [claim], [visit("2026-11-20 15:00", "链家")])
    assert claim.codes == ["R08"] and episode.owner_type == "natural"


def test_a_same_day_pre_report_type_is_still_r03_on_the_visit_day():
    rules = parse_rules(
        'report: {types: {预报备: {window: {start: "18:00", end: "21:00", day: before}}}}'
    )
    claim = report("2026-11-20")
    claim.report_type = "预报备"
    judge(rules, [claim], [visit("2026-11-20 15:00", "链家")])
    assert claim.codes == ["R03"]  # the day is known: it is not the day before


def test_r09_compares_the_visit_with_the_protection_end_not_with_the_report():
    claim = report("2026-11-18 10:00")
    claim.until = at("2026-11-20 00:00")
    judge(DEFAULT, [claim], [visit("2026-11-20", "链家")])
    assert claim.codes == ["R09"]


# --- D01: two reports of one day ---------------------------------------------------------


def test_a_date_only_and_a_timed_report_of_one_day_tie_when_the_report_order_decides():
    first, second = report("2026-11-20", "链家"), report("2026-11-20 10:00", "我爱我家")
    (episode,) = judge(DEFAULT, [first, second], [visit("2026-11-21 15:00")])
    assert (first.status, second.status) == ("disputed", "disputed")
    assert (episode.owner_type, episode.codes) == ("disputed", ["D01"])
    assert episode.flags == Flags(tie=("我爱我家", "链家"), order_unknown=True)
    (pair,) = episode.order_unknown
    assert (pair.report, pair.kind, pair.channel, pair.source) == (
        first, "report", "我爱我家", second.source,
    )  # fmt: skip


def test_a_timed_report_certainly_first_among_same_day_ones_still_ties_with_the_date_only():
    first = report("2026-11-20", "链家")
    early, late = report("2026-11-20 09:00", "我爱我家"), report("2026-11-20 12:00", "房多多")
    (episode,) = judge(DEFAULT, [first, early, late], [visit("2026-11-21 15:00")])
    assert (first.status, early.status, late.status) == ("disputed", "disputed", "lost")
    assert set(episode.channels) == {"链家", "我爱我家"}


def test_on_different_days_the_day_decides_the_first_report_even_within_min_gap():
    rules = parse_rules("conflict: {min_gap: 1h}")
    first, second = report("2026-11-19 23:30", "我爱我家"), report("2026-11-20", "链家")
    (episode,) = judge(rules, [first, second], [visit("2026-11-21 15:00")])
    assert (first.status, second.status, episode.flags) == ("valid", "lost", Flags(lost=("链家",)))


def test_min_gap_between_timed_reports_is_unchanged():
    rules = parse_rules("conflict: {min_gap: 1h}")
    a, b, c = (
        report("2026-11-20 09:00", "链家"),
        report("2026-11-20 09:40", "我爱我家"),
        report("2026-11-20 10:20", "房多多"),
    )
    (episode,) = judge(rules, [a, b, c], [visit("2026-11-21 15:00")])
    assert (a.status, b.status, c.status) == ("disputed", "disputed", "lost")
    assert not episode.flags.order_unknown


def test_the_bringer_decides_before_the_report_order_so_no_tie():
    ours, theirs = report("2026-11-20", "链家"), report("2026-11-20 10:00", "我爱我家")
    (episode,) = judge(DEFAULT, [ours, theirs], [visit("2026-11-21 15:00", "我爱我家")])
    assert (theirs.status, ours.status, episode.flags) == ("valid", "lost", Flags(lost=("链家",)))


def test_one_channel_reporting_twice_on_a_day_is_no_tie():
    dated, timed = report("2026-11-20", "链家", 2), report("2026-11-20 10:00", "链家", 3)
    (episode,) = judge(DEFAULT, [dated, timed], [visit("2026-11-21 15:00")])
    assert episode.owner_type == "channel" and episode.report is dated
    assert not episode.flags.order_unknown


# --- time never runs back ----------------------------------------------------------------


def test_a_date_only_contact_after_a_timed_walk_in_keeps_the_developer_episode():
    rules = parse_rules("existing_customer: {released_after: 14d}")
    episodes = judge(
        rules,
        [],
        [visit("2026-11-20 15:00"), visit("2026-11-25 15:00", row=3)],
        [contact("2026-11-20")],
    )
    assert [(e.owner_type, len(e.visits)) for e in episodes] == [("natural", 2)]


# --- admission: R10 and quota --------------------------------------------------------------


def _report_frame(rows: list[tuple[str, int, str | None]]) -> pl.DataFrame:
    """Report rows (报备时间, row number, first seen) of one channel, for `admit`."""
    moment = pl.Datetime("us", str(ZONE))
    columns = {
        "row_id": [f"r{row}" for _, row, _ in rows],
        "channel": ["链家"] * len(rows),
        "agent": ["王五"] * len(rows),
        "customer_name": ["张先生"] * len(rows),
        "surnames": ["张"] * len(rows),
        "phone_pattern": [f"138****{row:04d}" for _, row, _ in rows],
        "source": [f"channels/链家/报备.xlsx#报备!{row}" for _, row, _ in rows],
        "path": ["channels/链家/报备.xlsx"] * len(rows),
        "sheet": ["报备"] * len(rows),
        "row_no": [row for _, row, _ in rows],
        "first_run": [2 if seen else 1 for _, _, seen in rows],
        "at": pl.Series([at(when) for when, _, _ in rows], dtype=moment),
        "first_seen_at": pl.Series(
            [at(seen or "2026-11-18 23:59:59") for _, _, seen in rows], dtype=moment
        ),
        "time_known": [known(when) for when, _, _ in rows],
    }
    frame = pl.DataFrame(columns)
    schema = empty_frame("report").schema
    return frame.with_columns(
        pl.lit(None, dtype=dtype).alias(name)
        for name, dtype in schema.items()
        if name not in frame.columns
    )


def _codes(frame: pl.DataFrame) -> dict[int, list[str]]:
    return dict(zip(frame["row_no"].to_list(), frame["codes"].to_list(), strict=True))


def test_r10_counts_a_date_only_report_as_made_at_the_end_of_its_day():
    rules = parse_rules("report: {max_delay: 24h}", "rules.yaml")
    seen = "2026-11-20 23:59:59"
    frame = _report_frame(
        [("2026-11-19", 2, seen), ("2026-11-19 10:00", 3, seen), ("2026-11-18", 4, seen)]
    )
    codes = _codes(admit(frame, rules, 1))
    assert codes == {2: [], 3: ["R10"], 4: ["R10"]}


def test_quota_counts_date_only_rows_after_the_day_s_timed_rows_in_file_order():
    rules = parse_rules("report: {quota: {per: channel, limit: 4}}")
    frame = _report_frame(
        [
            ("2026-11-18", 2, None),
            ("2026-11-18 15:00", 3, None),
            ("2026-11-18", 4, None),
            ("2026-11-18 16:00", 5, None),
            ("2026-11-18 09:00", 6, None),
            ("2026-11-19", 7, None),  # another day: counted afresh
        ]
    )
    codes = _codes(admit(frame, rules, 1))
    assert codes == {2: [], 3: [], 4: ["R04"], 5: [], 6: [], 7: []}


def test_hours_are_not_checked_for_a_date_only_report():
    rules = parse_rules('report: {hours: {start: "08:00", end: "18:00"}}')
    codes = _codes(
        admit(_report_frame([("2026-11-18", 2, None), ("2026-11-18 22:30", 3, None)]), rules, 1)
    )
    assert codes == {2: [], 3: ["R03"]}


# --- a workspace: the CSV contract and the dispute report -------------------------------------

REPORT_HEADER = ["客户姓名", "客户电话", "报备时间", "经纪人"]
HOSTILE = "<b>王五</b>"


def _night(root) -> None:
    write_input(root / "inputs", "channels/链家/报备.xlsx", {"报备": [
        REPORT_HEADER,
        ["张先生", "138****1234", "2026-11-20 10:00", HOSTILE],
        ["李先生", "139****5678", "2026-11-20 10:00", "王五"],
    ]})  # fmt: skip
    write_input(root / "inputs", "crm/跟进.xlsx", {"跟进": [
        ["客户电话", "跟进时间", "跟进方式", "跟进内容"],
        ["13812341234", "2026-11-20", "电话", "<i>来电</i>"],  # a date cell: no clock time
    ]})  # fmt: skip
    write_input(root / "inputs", "visits/来访.xlsx", {"来访": [
        ["客户姓名", "客户电话", "到访时间", "渠道", "经纪人"],
        ["张三", "13812341234", "2026-11-20 15:00", "链家", HOSTILE],
        ["李四", "13900005678", "2026-11-20 15:00", "链家", "王五"],
    ]})  # fmt: skip


def test_the_dispute_report_lists_an_order_unknown_episode_under_to_verify(tmp_path):
    root = make_workspace(tmp_path, "project: 测试项目\n")
    _night(root)
    summary = run(Workspace.open(root), date(2026, 11, 20))
    judgement = summary.judgement
    (claim,) = [r for r in judgement.reports if r.phone == "13812341234"]
    assert (claim.status, list(claim.codes)) == ("valid", [])  # a follow-up dated only that day
    flagged = [e for e in judgement.episodes if e.flags.order_unknown]
    assert [e.phone for e in flagged] == ["13812341234"]

    digest = summary.published.digest
    keys = [section.key for section in digest.sections]
    assert keys.index("ambiguous") < keys.index("order_unknown") < keys.index("invalid")
    section = digest.sections[keys.index("order_unknown")]
    assert section.title.startswith("需核实")
    (card,) = [card for group in section.groups for card in group.cards]
    assert card.title == "138****1234 张三" and card.badge == "需核实"
    assert card.sources == ("channels/链家/报备.xlsx#报备!2", "crm/跟进.xlsx#跟进!2")
    assert (
        "先后不明",
        f"链家 / {HOSTILE}（报备 2026-11-20 10:00） 与 CRM 跟进 2026-11-20（未写时刻）",
    ) in card.fields

    html = summary.published.report.read_text(encoding="utf-8")
    assert "需核实" in html and HOSTILE not in html and "&lt;b&gt;王五&lt;/b&gt;" in html
    assert "channels/链家/报备.xlsx#报备!2；crm/跟进.xlsx#跟进!2" in html
    text = render_text(digest)
    assert "== 需核实：同一天先后不明（1） ==" in text
    assert not re.search(r"(?<!\d)1\d{10}(?!\d)", html + text), "a full phone number is shown"

    rows = (root / "outputs/2026-11-20/attribution.csv").read_text(encoding="utf-8")
    assert "13812341234,张三,2026-11-20T15:00:00+08:00,channel,链家" in rows
    assert rows.splitlines()[1].endswith(",order_unknown")


def test_no_to_verify_section_on_a_night_without_one(tmp_path):
    root = make_workspace(tmp_path, "project: 测试项目\n")
    write_input(root / "inputs", "channels/链家/报备.xlsx", {"报备": [
        REPORT_HEADER, ["张先生", "138****1234", "2026-11-20 10:00", "王五"],
    ]})  # fmt: skip
    summary = run(Workspace.open(root), date(2026, 11, 20))
    assert "order_unknown" not in [section.key for section in summary.published.digest.sections]
    assert judge_night(Workspace.open(root)).episodes == []
