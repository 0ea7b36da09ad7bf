"""The judge on small workspaces, for what the CSV scenarios do not show."""

from __future__ import annotations

from datetime import date

from reconcile.demo import SheetSpec, write_xlsx
from reconcile.pipeline import judge_night, run
from reconcile.workspace import Workspace

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
