"""The judge on small workspaces, for what the CSV scenarios do not show."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl

from reconcile.config.rules import parse_rules
from reconcile.config.workspace import Workspace
from reconcile.judge.reasons.existing import known_in_crm
from reconcile.judge.timeline import Report
from reconcile.ops.pipeline import judge_night, run
from reconcile.testing import SheetSpec, write_xlsx

REPORT = ["客户姓名", "客户电话", "报备时间", "经纪人"]
VISIT = ["客户姓名", "客户电话", "到访时间", "渠道", "经纪人"]


def _report(root, channel, rows):
    write_xlsx(root / f"inputs/channels/{channel}/报备.xlsx", [SheetSpec("报备", REPORT, rows)])


def test_masked_reports_of_two_channels_before_any_visit_are_a_suspected_collision(workspace):
    _report(workspace, "链家", [["张先生", "138****1234", "2026-11-18 09:00", "王五"]])
    _report(workspace, "我爱我家", [["张女士", "1381**21234", "2026-11-18 11:00", "赵敏"]])
    _report(workspace, "房多多", [["李先生", "138****1234", "2026-11-18 12:00", "孙七"]])
    run(Workspace.open(workspace), date(2026, 11, 20))
    judgement = judge_night(Workspace.open(workspace))
    pairs = {(a.channel, b.channel) for a, b in judgement.suspected}
    # 李 disagrees with 张: not the same customer. Statuses stay pending: nothing is in the CSVs.
    assert pairs == {("链家", "我爱我家")}
    assert {r.status for r in judgement.reports} == {"pending"}


def test_a_phone_that_cannot_be_read_is_an_invalid_r02_report_with_its_cells(workspace):
    _report(
        workspace,
        "链家",
        [
            ["张先生", "138****1234", "2026-11-18 09:00", "王五"],
            ["韩女士", "010-62345678", "2026-11-18 10:15", "王五"],
        ],
    )
    run(Workspace.open(workspace), date(2026, 11, 20))
    errors = judge_night(Workspace.open(workspace)).error_reports.to_dicts()
    assert len(errors) == 1
    row = errors[0]
    assert (row["channel"], row["agent"], row["customer_name"]) == ("链家", "王五", "韩女士")
    assert row["reported_at"].isoformat() == "2026-11-18T10:15:00+08:00"
    assert row["source"] == "channels/链家/报备.xlsx#报备!3"


def test_a_stranger_seen_after_the_report_expired_does_not_make_it_ambiguous(workspace):
    _report(workspace, "链家", [["张先生", "138****1234", "2026-11-01 09:00", "王五"]])
    write_xlsx(
        workspace / "inputs/visits/来访.xlsx",
        [
            SheetSpec(
                "来访",
                VISIT,
                [
                    ["张三", "13800001234", "2026-11-02 15:00", "链家", "王五"],
                    ["张伟", "13899991234", "2026-12-20 15:00", None, None],
                ],
            )
        ],
    )
    run(Workspace.open(workspace), date(2026, 12, 21))
    judgement = judge_night(Workspace.open(workspace))
    (report,) = judgement.reports
    assert (report.status, report.phone) == ("valid", "13800001234")
    assert judgement.fits[report.row_id] == ["13800001234"]


def test_two_crm_contacts_at_the_same_instant(workspace):
    """A CRM customer and a follow-up written at the same minute (ordering must not fail)."""
    _report(workspace, "链家", [["张先生", "138****1234", "2026-11-18 09:00", "王五"]])
    write_xlsx(
        workspace / "inputs/crm/明源.xlsx",
        [
            SheetSpec(
                "客户",
                ["客户姓名", "客户电话", "首次接触时间", "客户来源"],
                [["张三", "13812341234", "2026-11-01 10:00", "自然来访"]],
            ),
            SheetSpec(
                "跟进",
                ["客户电话", "跟进时间", "跟进方式", "跟进内容"],
                [["13812341234", "2026-11-01 10:00", "电话", "首次来电"]],
            ),
        ],
    )
    write_xlsx(
        workspace / "inputs/visits/来访.xlsx",
        [SheetSpec("来访", VISIT, [["张三", "13812341234", "2026-11-18 15:00", "链家", "王五"]])],
    )
    run(Workspace.open(workspace), date(2026, 11, 20))
    judgement = judge_night(Workspace.open(workspace))
    (report,) = judgement.reports
    assert (report.status, report.codes) == ("invalid", ["R06"])
    assert [e.owner_type for e in judgement.episodes] == ["existing"]


CRM = ["客户姓名", "客户电话", "首次接触时间", "客户来源"]


def _crm(root, rows):
    write_xlsx(root / "inputs/crm/明源.xlsx", [SheetSpec("客户", CRM, rows)])


def test_an_ambiguous_report_lists_the_visitor_and_the_crm_only_customer(workspace):
    _report(workspace, "链家", [["张先生", "138****1234", "2026-11-10 10:00", "王五"]])
    _crm(workspace, [["张伟", "13800001234", "2026-10-01 10:00", "自然来电"]])
    write_xlsx(
        workspace / "inputs/visits/来访.xlsx",
        [SheetSpec("来访", VISIT, [["张三", "13812341234", "2026-11-15 15:00", "链家", "王五"]])],
    )
    run(Workspace.open(workspace), date(2026, 11, 20))
    judgement = judge_night(Workspace.open(workspace))
    (report,) = judgement.reports
    assert (report.status, report.codes, report.phone) == ("ambiguous", ["A01"], None)
    # The admin's list of ambiguous reports names both possible customers.
    assert judgement.fits[report.row_id] == ["13800001234", "13812341234"]


def test_a_crm_only_customer_released_before_the_report_leaves_it_waiting(workspace):
    (workspace / "rules.yaml").write_text(
        "existing_customer: {released_after: 14d}\n", encoding="utf-8"
    )
    _report(
        workspace,
        "链家",
        [
            ["张先生", "138****1234", "2026-11-10 10:00", "王五"],
            ["李先生", "139****5678", "2026-11-10 10:00", "王五"],
        ],
    )
    _crm(
        workspace,
        [
            ["张三", "13812341234", "2026-10-01 10:00", "自然来电"],  # released 10-15 00:00
            ["李四", "13955555678", "2026-11-01 10:00", "自然来电"],  # held until 11-15
        ],
    )
    run(Workspace.open(workspace), date(2026, 11, 12))
    judgement = judge_night(Workspace.open(workspace))
    verdicts = {r.phone: (r.status, list(r.codes)) for r in judgement.reports}
    assert verdicts == {
        "13812341234": ("pending", []),
        "13955555678": ("invalid", ["R06"]),
    }
    assert judgement.episodes == []


def test_crm_only_customers_and_the_rules_that_turn_r06_off(workspace):
    (workspace / "rules.yaml").write_text(
        "existing_customer: {crm_contact_before_report: false}\n"
        'report: {hours: {start: "09:00", end: "18:00"}}\n',
        encoding="utf-8",
    )
    _report(
        workspace,
        "链家",
        [
            ["张先生", "138****1234", "2026-11-10 10:00", "王五"],
            ["李先生", "139****5678", "2026-11-10 20:00", "王五"],  # R03: outside hours
        ],
    )
    _crm(
        workspace,
        [
            ["张三", "13812341234", "2026-11-01 10:00", "自然来电"],
            ["李四", "13955555678", "2026-11-01 10:00", "自然来电"],
        ],
    )
    run(Workspace.open(workspace), date(2026, 11, 12))
    judgement = judge_night(Workspace.open(workspace))
    verdicts = {r.phone: (r.status, list(r.codes)) for r in judgement.reports}
    # No R06 when the rule is off; a report already invalid keeps its own code alone.
    assert verdicts == {
        "13812341234": ("pending", []),
        "13955555678": ("invalid", ["R03"]),
    }


def test_r06_at_once_gives_way_to_a01_when_a_visitor_fits_within_the_protection(workspace):
    _report(workspace, "链家", [["张先生", "138****1234", "2026-11-10 10:00", "王五"]])
    _crm(workspace, [["张伟", "13800001234", "2026-11-01 10:00", "自然来电"]])
    run(Workspace.open(workspace), date(2026, 11, 12))
    (report,) = judge_night(Workspace.open(workspace)).reports
    assert (report.status, report.codes, report.phone) == ("invalid", ["R06"], "13800001234")
    write_xlsx(
        workspace / "inputs/visits/来访.xlsx",
        [SheetSpec("来访", VISIT, [["张三", "13812341234", "2026-11-15 15:00", "链家", "王五"]])],
    )
    run(Workspace.open(workspace), date(2026, 11, 20))
    (report,) = judge_night(Workspace.open(workspace)).reports
    assert (report.status, report.codes, report.phone) == ("ambiguous", ["A01"], None)


def test_a_visitor_seen_after_the_protection_does_not_undo_r06_at_once(workspace):
    _report(workspace, "链家", [["张先生", "138****1234", "2026-11-10 10:00", "王五"]])
    _crm(workspace, [["张伟", "13800001234", "2026-11-01 10:00", "自然来电"]])
    write_xlsx(
        workspace / "inputs/visits/来访.xlsx",
        [SheetSpec("来访", VISIT, [["张三", "13812341234", "2026-12-20 15:00", None, None]])],
    )
    run(Workspace.open(workspace), date(2026, 12, 21))
    (report,) = judge_night(Workspace.open(workspace)).reports
    assert (report.status, report.codes, report.phone) == ("invalid", ["R06"], "13800001234")


def _linked(at: datetime) -> Report:
    return Report(
        "r1", "链家", None, "张先生", "138****1234", at, None, None, ("s", "s", 2),
        phone="13800001234",
    )  # fmt: skip


def test_a_date_only_crm_contact_on_the_report_day_is_not_before_it():
    zone = ZoneInfo("Asia/Shanghai")
    rules = parse_rules("")
    reported = datetime(2026, 11, 10, 10, tzinfo=zone)
    crm = pl.DataFrame(
        {
            "phone": ["13800001234"],
            "at": [datetime(2026, 11, 10, tzinfo=zone)],
            "time_known": [False],
        },
        schema_overrides={"at": pl.Datetime("us", "Asia/Shanghai")},
    )
    same_day = _linked(reported)
    known_in_crm([same_day], crm, rules)
    assert same_day.codes == []
    day_before = _linked(reported)
    known_in_crm([day_before], crm.with_columns(pl.col("at") - timedelta(days=1)), rules)
    assert day_before.codes == ["R06"]
    # A frame without `time_known` reads every contact as timed: 00:00 is before 10:00.
    untimed = _linked(reported)
    known_in_crm([untimed], crm.drop("time_known"), rules)
    assert untimed.codes == ["R06"]
