"""`reconcile explain PHONE`: the timeline and every decision, each with its source row."""

from __future__ import annotations

from reconcile.cli.main import main
from reconcile.testing import SheetSpec, write_xlsx

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


def test_explain_an_unknown_or_masked_number(workspace, capsys):
    write_collision(workspace)
    assert main(["run", "--workspace", str(workspace), "--as-of", "2026-11-20"]) == 0
    assert main(["explain", "13900000000", "--workspace", str(workspace)]) == 1
    assert "没有与 13900000000 相关的记录" in capsys.readouterr().out
    assert main(["explain", "138****1234", "--workspace", str(workspace)]) == 2
    assert "完整手机号" in capsys.readouterr().err


def test_flags_read_as_words():
    from reconcile.judge.explain import flag_text
    from reconcile.judge.vocabulary import Flag

    assert flag_text(Flag.ORDER_UNKNOWN, None) == "同一天先后不明，按报备方认定（需核实）"
    assert flag_text(Flag.PROVISIONAL, "type_priority") == "按报备类型优先暂定（需核实证据）"
    assert flag_text(Flag.RENEWED, 2) == "续期次数 2"
    assert flag_text(Flag.SPLIT, (("链家", 0.5), ("我爱我家", 0.5))) == "分成 链家:0.5;我爱我家:0.5"
