"""`reconcile explain`: the timeline and every decision, each with its source row; what a
masked number and a name find."""

from __future__ import annotations

from datetime import date

import pytest

from reconcile.cli.main import main
from reconcile.judge import Judgement
from reconcile.judge.explain import explain, explain_found, search
from reconcile.judge.vocabulary import ReportStatus
from reconcile.normalise.phones import parse_phone
from reconcile.testing import SheetSpec, write_xlsx
from reconcile.testing.nights import MemoryWorkspace

REPORT = ["客户姓名", "客户电话", "报备时间", "经纪人"]
VISIT = ["客户姓名", "客户电话", "到访时间", "渠道", "经纪人"]
DEAL = ["成交编号", "客户姓名", "客户电话", "成交阶段", "签约日期", "成交金额"]


def write_collision(root):
    inputs = root / "inputs"
    write_xlsx(
        inputs / "channels/链家/报备.xlsx",
        [SheetSpec("报备", REPORT, [["张先生", "138****1234", "2026-11-18 09:00", "王五"]])],
    )
    write_xlsx(
        inputs / "channels/我爱我家/报备.xlsx",
        [SheetSpec("报备", REPORT, [["张三", "138****1234", "2026-11-18 10:00", "赵敏"]])],
    )
    write_xlsx(
        inputs / "visits/来访.xlsx",
        [
            SheetSpec(
                "来访", VISIT, [["张三", "13812341234", "2026-11-18 15:00", "我爱我家", "赵敏"]]
            )
        ],
    )
    write_xlsx(
        inputs / "crm/成交.xlsx",
        [
            SheetSpec(
                "成交", DEAL, [["A-1", "张三", "13812341234", "签约", "2026-11-19", "2000000"]]
            )
        ],
    )


def test_explain_prints_the_timeline_and_decisions_with_sources(workspace, capsys):
    write_collision(workspace)
    assert main(["run", "--workspace", str(workspace), "--as-of", "2026-11-20"]) == 0
    capsys.readouterr()
    assert main(["explain", "138 1234 1234", "--workspace", str(workspace)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "客户 13812341234 · 判定日 2026-11-20" in lines[0]
    timeline = lines[lines.index("时间线：") + 1 : lines.index("判定：")]
    assert [line.split("  ")[2] for line in timeline] == ["报备", "报备", "到访", "成交 A-1"]
    assert "[channels/链家/报备.xlsx#报备!2]" in timeline[0]
    assert "[visits/来访.xlsx#来访!2]" in timeline[2]
    assert "渠道客户 我爱我家（赵敏）" in out
    assert "撞单未获归属 — C01 撞单-他方优先  [channels/链家/报备.xlsx#报备!2]" in out
    assert "成交 A-1 签约：可结佣 我爱我家 赵敏 佣金 ¥20,000.00" in out


def test_explain_replays_an_earlier_night(workspace, capsys):
    write_collision(workspace)
    for night in ("2026-11-18", "2026-11-20"):
        assert main(["run", "--workspace", str(workspace), "--as-of", night]) == 0
    capsys.readouterr()
    assert (
        main(["explain", "13812341234", "--workspace", str(workspace), "--as-of", "2026-11-18"])
        == 0
    )
    out = capsys.readouterr().out
    assert "成交" not in out  # signed on 11-19
    assert "判定日 2026-11-18" in out


def test_explain_an_unknown_number_or_not_one_number(workspace, capsys):
    write_collision(workspace)
    assert main(["run", "--workspace", str(workspace), "--as-of", "2026-11-20"]) == 0
    assert main(["explain", "13900000000", "--workspace", str(workspace)]) == 1
    assert "没有与 13900000000 相关的记录" in capsys.readouterr().out
    assert main(["explain", "138****1234/139****5678", "--workspace", str(workspace)]) == 2
    assert "打码号码加姓名" in capsys.readouterr().err


def test_flags_read_as_words():
    from reconcile.judge.explain import flag_text
    from reconcile.judge.vocabulary import Flag

    assert flag_text(Flag.ORDER_UNKNOWN, None) == "同一天先后不明，按报备方认定（需核实）"
    assert flag_text(Flag.PROVISIONAL, "type_priority") == "按报备类型优先暂定（需核实证据）"
    assert flag_text(Flag.RENEWED, 2) == "续期次数 2"
    assert flag_text(Flag.SPLIT, (("链家", 0.5), ("我爱我家", 0.5))) == "分成 链家:0.5;我爱我家:0.5"


# Judged in memory: one masked report that fits two visitors, and an agency's full
# number reported weeks ago that never visited.
def _night(as_of: date = date(2026, 11, 20)) -> Judgement:
    ws = MemoryWorkspace("project: 山湖一号\n")
    ws.put(
        "channels/链家/报备.xlsx",
        {
            "报备": [
                REPORT,
                ["张先生", "138****1234", "2026-11-18 09:00", "王五"],
                ["李四", "13912345678", "2026-10-01 09:00", "王五"],
                ["赵六", "13712345678", "2026-11-19 09:00", "王五"],
            ]
        },
    )
    ws.put(
        "visits/来访.xlsx",
        {
            "来访": [
                VISIT,
                ["张三", "13812341234", "2026-11-18 15:00", None, None],
                ["张伟", "13899991234", "2026-11-19 15:00", None, None],
            ]
        },
    )
    return ws.run(as_of).judgement


def _masked(text: str):
    return parse_phone(text).phones[0]


@pytest.fixture(scope="module")
def night() -> Judgement:
    return _night()


def test_a_masked_number_and_a_name_find_the_reports_and_customers_that_agree(night):
    found = search(night, _masked("138xxxx1234"), "张伟")
    assert [c.phone for c in found.customers] == ["13899991234"]
    assert [r.customer_name for r in found.reports] == ["张先生"]  # 张先生 may be 张伟
    assert found.customers[0].source == "visits/来访.xlsx#来访!3"
    # 张三 is not 张伟: the same surname with another given name disagrees.
    assert [c.phone for c in search(night, _masked("138****1234"), "张三").customers] == [
        "13812341234"
    ]
    other = search(night, _masked("138****1234"), "李四")
    assert other.empty and other.other_names == ["张先生"]
    assert other.other_customers == ["张三", "张伟"]


def test_every_shape_of_a_mask_finds_the_same(night):
    shapes = ("138****1234", "138xxxx1234", "138＊＊＊＊1234", "138●●●●1234", "138**1234")
    for shape in shapes:
        found = search(night, _masked(shape), None)
        assert [c.phone for c in found.customers] == ["13812341234", "13899991234"], shape
    # 前三后五 shows one digit more, which one of the two numbers lacks.
    assert [c.phone for c in search(night, _masked("138***91234"), None).customers] == [
        "13899991234"
    ]


def test_a_pattern_that_fits_several_customers_says_so_and_explains_each(night):
    lines = explain_found(night, search(night, _masked("138****1234"), "张先生"), "山湖一号")
    text = "\n".join(lines)
    assert lines[0] == "山湖一号 · 号码 138****1234 · 姓名 张先生 · 判定日 2026-11-20"
    assert "号码与姓名相符的客户有 2 位，需核实是哪一位：" in lines
    assert "  13812341234  张三  首次出现 2026-11-18 15:00  [visits/来访.xlsx#来访!2]" in lines
    assert "山湖一号 · 客户 13812341234 · 判定日 2026-11-20" in lines
    assert "山湖一号 · 客户 13899991234 · 判定日 2026-11-20" in lines
    assert text.count("号码待确认 — A01 号码匹配多个客户") == 2
    assert text.count("    符合的客户：13812341234、13899991234") == 2
    assert "相符的报备：" not in text  # the report is told in both stories


def test_a_report_no_customer_fits_yet_is_listed_with_its_status():
    night = _night()
    # The admin holds the agency's masked copy of a number nobody has visited with.
    found = search(night, _masked("137****5678"), "赵先生")
    assert found.customers == [] and [r.status for r in found.reports] == [ReportStatus.PENDING]
    lines = explain_found(night, found, "山湖一号")
    assert lines[1] == "相符的报备 1 条，相符的客户 0 位。"
    assert lines[-2:] == [
        "相符的报备：",
        "  报备 链家 王五 赵六 13712345678 2026-11-19 09:00："
        "待到访  [channels/链家/报备.xlsx#报备!4]",
    ]


def test_a_full_number_only_an_agency_reported_is_explained():
    lines = explain(_night(), "13712345678", "山湖一号")
    assert lines[0] == "山湖一号 · 客户 13712345678 · 判定日 2026-11-20"
    assert "  2026-11-19 09:00  报备  链家 王五  赵六 13712345678" in lines[2]
    assert "  归属：尚无（该号码还没有到访或裁决记录）" in lines
    assert lines[-1].endswith("：待到访  [channels/链家/报备.xlsx#报备!4]")
    expired = explain(_night(), "13912345678", "山湖一号")
    assert expired[-1] == (
        "  报备 链家 王五 2026-10-01 09:00：过期未到访  [channels/链家/报备.xlsx#报备!3]"
    )


def test_reports_outside_the_explained_stories_follow_them(night):
    lines = explain_found(night, search(night, _masked("1**********"), None), "山湖一号")
    assert lines[1] == "相符的报备 3 条，相符的客户 2 位。"
    rest = lines[lines.index("其余相符的报备：") + 1 :]
    assert [line.split("：")[0] for line in rest] == [
        "  报备 链家 王五 李四 13912345678 2026-10-01 09:00",
        "  报备 链家 王五 赵六 13712345678 2026-11-19 09:00",
    ]


def test_too_many_customers_are_listed_not_explained(monkeypatch):
    ws = MemoryWorkspace("project: 山湖一号\n")
    visitors = [["张三", f"138{n:04d}1234", "2026-11-18 15:00", None, None] for n in range(6)]
    ws.put("visits/来访.xlsx", {"来访": [VISIT, *visitors]})
    ws.put(
        "channels/链家/报备.xlsx",
        {"报备": [REPORT, ["张三", "13800051234", "2026-11-18 09:00", "王五"]]},
    )
    night = ws.run(date(2026, 11, 20)).judgement
    lines = explain_found(night, search(night, _masked("138****1234"), "张先生"), "山湖一号")
    assert "号码与姓名相符的客户有 6 位，需核实是哪一位：" in lines
    assert "相符的客户过多，不逐一展开；请补充姓名，或用完整手机号查询。" in lines
    assert not any("时间线：" in line for line in lines)
    # The report is linked, only not explained here: it names its customer.
    assert lines[-3:] == [
        "相符的报备：",
        "  报备 链家 王五 张三 13800051234 2026-11-18 09:00："
        "有效  [channels/链家/报备.xlsx#报备!2]",
        "    对应客户：13800051234",
    ]
    assert search(night, _masked("138****1234"), "李先生").empty
    monkeypatch.setattr("reconcile.judge.explain.MAX_LISTED", 4)
    lines = explain_found(night, search(night, _masked("138****1234"), None), "山湖一号")
    listed = lines[lines.index("号码与姓名相符的客户有 6 位，需核实是哪一位：") + 1 :]
    assert [line[:13] for line in listed[:4]] == [f"  138{n:04d}1234" for n in range(4)]
    assert listed[4] == "  ……另有 2 位客户未列出；请补充姓名或号码的更多位数。"


def test_masked_reports_that_may_be_a_number_no_one_visited_with_are_shown():
    ws = MemoryWorkspace("project: 山湖一号\n")
    ws.put(
        "channels/链家/报备.xlsx",
        {"报备": [REPORT, ["李四", "13912345678", "2026-11-18 09:00", "王五"]]},
    )
    ws.put(
        "channels/中原/报备.xlsx",
        {
            "报备": [
                REPORT,
                ["李先生", "139****5678", "2026-11-19 09:00", "钱七"],
                ["王女士", "139****5678", "2026-11-19 10:00", "钱七"],
                ["李先生", "137****5678", "2026-11-19 11:00", "钱七"],
            ]
        },
    )
    night = ws.run(date(2026, 11, 20)).judgement
    lines = explain(night, "13912345678", "山湖一号")
    maybe = lines[lines.index("  号码与姓名相符的打码报备（可能是同一客户，到访后再判定）：") + 1 :]
    assert maybe == [
        "  报备 中原 钱七 李先生 139****5678 2026-11-19 09:00："
        "待到访  [channels/中原/报备.xlsx#报备!2]"
    ]


def test_extension_requests_are_in_the_timeline_with_their_decision():
    ws = MemoryWorkspace(
        "project: 山湖一号\nreport:\n  extension: {window: 10d, extend: 1mo, times: 1}\n"
    )
    ws.put(
        "channels/链家/报备.xlsx",
        {
            "报备": [
                ["客户姓名", "客户电话", "报备时间", "经纪人", "报备类型"],
                ["赵先生", "137****2222", "2026-11-02 09:00", "王五", None],
                ["赵先生", "137****2222", "2026-11-25 09:00", "王五", "延期申请"],
            ]
        },
    )
    ws.put(
        "channels/德佑/报备群.txt",
        "李经理  2026-11-26 10:00\n【延期申请】客户：赵先生 电话：137****2222\n",
    )
    ws.put(
        "visits/来访.xlsx",
        {
            "来访": [
                ["客户姓名", "客户电话", "到访时间", "渠道", "经纪人"],
                ["赵先生", "13712342222", "2026-12-10 10:00", "链家", "王五"],
            ]
        },
    )
    lines = explain(ws.run(date(2026, 12, 20)).judgement, "13712342222", "山湖一号")
    timeline = "\n".join(lines[: lines.index("判定：")])
    assert "2026-11-25 09:00  延期申请  链家 王五  赵先生 137****2222" in timeline
    assert "2026-11-26 10:00  延期申请  德佑 李经理  赵先生 137****2222" in timeline
    assert (
        "  延期申请 链家 王五 2026-11-25 09:00：已延期，保护至 2027-01-02 00:00"
        "  [channels/链家/报备.xlsx#报备!3]"
    ) in lines
    [rival] = [line for line in lines if line.startswith("  延期申请 德佑")]
    assert rival.startswith("  延期申请 德佑 李经理 2026-11-26 10:00：无效 — R11")
    assert rival.endswith("[channels/德佑/报备群.txt#2]")


def _brought_by_lianjia(rules: str) -> MemoryWorkspace:
    """张三, reported and brought by 链家's 王五, in a workspace of `rules`."""
    ws = MemoryWorkspace(rules)
    ws.put(
        "channels/链家/报备.xlsx",
        {"报备": [REPORT, ["张三", "138****1234", "2026-11-10 09:00", "王五"]]},
    )
    ws.put(
        "visits/来访.xlsx",
        {"来访": [VISIT, ["张三", "13812341234", "2026-11-12 15:00", "链家", "王五"]]},
    )
    return ws


def test_explain_shows_a_record_closed_by_room_change_and_the_one_deal_it_became():
    ws = _brought_by_lianjia("project: 山湖一号\ndeal: {commission_stage: 认购}\n")
    header = ["房间信息", "认购编号", "客户名称", "联系电话", "认购日期", "成交总价", "状态"]
    buyer = ["张三", "13812341234"]
    ws.put(
        "crm/认购单.xlsx",
        {
            "认购单": [
                [*header, "关闭原因"],
                ["5#-2-802", "RG-1", *buyer, "2026-11-13", "3000000", "关闭", "换房"],
                ["5#-2-902", "RG-2", *buyer, "2026-11-16", "3200000", "激活", None],
            ]
        },
    )
    night = ws.run(date(2026, 11, 20)).judgement
    lines = explain(night, "13812341234", "山湖一号")
    timeline = [line.split("  ", 2)[2] for line in lines if "[crm/" in line and "成交" in line]
    assert timeline[0].startswith("成交 RG-1 房号 5#-2-802  认购（已关闭：换房） ¥3,000,000.00")
    assert timeline[1].startswith("成交 RG-2 房号 5#-2-902  认购 ¥3,200,000.00")
    decided = lines[lines.index("判定：") :]
    deal = decided.index("  成交 RG-1 认购：可结佣 链家 王五 佣金 ¥32,000.00")
    assert decided[deal + 1] == "    关闭（换房） → 5-2-902 2026-11-16  [crm/认购单.xlsx#认购单!2]"
    assert sum(line.startswith("  成交 ") for line in decided) == 1


def test_explain_shows_every_change_of_a_deal_with_its_source():
    ws = _brought_by_lianjia("project: 山湖一号\n")
    ws.put(
        "crm/成交.xlsx",
        {"成交": [DEAL, ["A-1", "张三", "13812341234", "签约", "2026-11-13", "2000000"]]},
    )
    ws.put(
        "crm/交易变更明细.xlsx",
        {
            "交易变更": [
                ["成交编号", "客户名称", "申请类型", "执行日期"],
                ["A-1", "张三", "折扣变更", "2026-11-15"],
                ["A-1", "张三", "更名", "2026-11-16"],
            ]
        },
    )
    night = ws.run(date(2026, 11, 20)).judgement
    lines = explain(night, "13812341234", "山湖一号")
    deal = lines.index("  成交 A-1 签约：可结佣 链家 王五 佣金 ¥20,000.00")
    assert lines[deal + 1 : deal + 3] == [
        "    折扣变更 2026-11-15  [crm/交易变更明细.xlsx#交易变更!2]",
        "    更名 2026-11-16  [crm/交易变更明细.xlsx#交易变更!3]",
    ]


def test_explain_shows_the_file_that_corrected_a_visit():
    """A register re-saved with the 接待顾问 put right: the visit reads as corrected, and
    its source names both its first file and the file that corrected it, from that night."""
    header = [*VISIT, "接待顾问"]
    visit = ["张三", "13812341234", "2026-11-12 15:00", "链家", "王五"]
    ws = MemoryWorkspace("project: 山湖一号\n")
    ws.put("visits/来访.xlsx", {"来访": [header, [*visit, "王芳"]]})
    first = explain(ws.run(date(2026, 11, 20)).judgement, "13812341234", "山湖一号")
    ws.put("visits/来访.xlsx", {"来访": [header, [*visit, "刘强"]]})
    later = explain(ws.run(date(2026, 11, 21)).judgement, "13812341234", "山湖一号")
    [before] = [line for line in first if "到访" in line and "[visits/" in line]
    [after] = [line for line in later if "到访" in line and "[visits/" in line]
    assert "接待：王芳" in before and before.endswith("[visits/来访.xlsx#来访!2]")
    assert "接待：刘强" in after
    assert after.endswith("[visits/来访.xlsx#来访!2；按 2026-11-21 读到的 visits/来访.xlsx 更正]")
