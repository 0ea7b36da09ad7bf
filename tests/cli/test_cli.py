"""The commands as a user runs them: output in Chinese, exit codes per SPEC §8."""

from __future__ import annotations

import pytest

from reconcile.cli.main import main
from reconcile.testing import SheetSpec, write_csv, write_xlsx

HEADER = ["客户姓名", "客户电话", "报备时间", "经纪人"]


def test_check_a_clean_file(tmp_path, capsys):
    path = write_xlsx(
        tmp_path / "报备.xlsx",
        [SheetSpec("报备", HEADER, [["张三", "138****1234", "2026-11-18 10:00", "王五"]])],
    )
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "报备登记表" in out and "客户电话 → 客户电话" in out and "可以提交" in out


def test_check_lists_each_rejected_row_and_exits_1(tmp_path, capsys):
    path = write_csv(
        tmp_path / "报备.csv",
        SheetSpec(
            "报备",
            HEADER,
            [
                ["张三", "138****1234", "2026-11-18 10:00", "王五"],
                ["李四", "1.38123E+10", "2026-11-18 10:00", "王五"],
                ["王五", "138****1234", "昨天", "王五"],
            ],
        ),
        "gbk",
    )
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "第 3 行：号码被Excel科学计数法截断" in out
    assert "第 4 行：报备时间：无法识别的日期（昨天）" in out
    assert "有 2 行无法读取" in out


def test_check_an_agency_claim(tmp_path, capsys):
    """A 请款单 is recognised with its amounts and rate; outside its agency's statements
    folder the folder is what will name the channel, and a blank amount is rejected."""
    header = [
        "序号",
        "成交编号",
        "房号",
        "客户姓名",
        "联系电话",
        "成交总价",
        "佣金比例",
        "请款金额",
    ]
    rows = [
        [1, "A-0101", "1-1501", "张三", "138****1234", 3000000, "1%", 30000],
        [2, "A-0102", "1-1502", "李四", "139****5678", 3000000, "1%", None],
    ]
    path = write_xlsx(tmp_path / "链家请款单.xlsx", [SheetSpec("请款明细", header, rows)])
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "请款单/对账单" in out and "请款金额 → 请款金额" in out
    assert "佣金比例（本表类型不使用" in out
    assert "第 3 行：请款金额为空" in out
    assert "inputs/statements/<渠道>/" in out and "缺少渠道" not in out


def test_check_an_unreadable_file_exits_2(tmp_path, capsys):
    path = tmp_path / "报备.xlsx"
    path.write_bytes(b"not a workbook at all")
    assert main(["check", str(path)]) == 2
    assert "无法读取" in capsys.readouterr().out
    assert main(["check", str(tmp_path / "missing.xlsx")]) == 2


def test_check_names_an_unrecognised_sheet_with_its_headers(tmp_path, capsys):
    path = write_xlsx(tmp_path / "x.xlsx", [SheetSpec("统计", ["月份", "组数"], [["11月", 3]])])
    assert main(["check", str(path)]) == 2
    out = capsys.readouterr().out
    assert "没有可识别的工作表" in out and "月份" in out


def test_run_prints_a_summary(workspace, capsys):
    write_xlsx(
        workspace / "inputs/channels/链家/a.xlsx",
        [
            SheetSpec(
                "报备",
                HEADER,
                [
                    ["张三", "138****1234", "2026-11-18 10:00", "王五"],
                    ["李四", "010-1234567", "2026-11-18", "王五"],
                ],
            )
        ],
    )
    assert main(["run", "--workspace", str(workspace), "--as-of", "2026-11-20", "--no-email"]) == 0
    out = capsys.readouterr().out
    assert "数据行 2：接收 1，拒收 1" in out
    assert "channels/链家/a.xlsx#报备!3  固定电话" in out


def test_run_with_a_bad_rules_file_exits_2(workspace, capsys):
    (workspace / "rules.yaml").write_text("report:\n  lead_tme: 1h\n", encoding="utf-8")
    assert main(["run", "--workspace", str(workspace)]) == 2
    assert "第 2 行 report.lead_tme: 未知的配置项" in capsys.readouterr().err


def test_run_usage_errors_exit_2(tmp_path, capsys):
    assert main(["run", "--workspace", str(tmp_path / "nowhere")]) == 2
    with pytest.raises(SystemExit) as exited:
        main(["run", "--as-of", "20261120"])
    assert exited.value.code == 2


@pytest.mark.parametrize("command", ["run", "status", "reread", "serve"])
def test_a_folder_without_rules_yaml_is_refused_and_init_is_named(tmp_path, capsys, command):
    (tmp_path / "inputs/channels").mkdir(parents=True)
    assert main([command, "--workspace", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "没有 rules.yaml" in err and f"reconcile init {tmp_path}" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inputs"]  # no ledger, no outputs


def test_demo_generates_and_runs(tmp_path, capsys):
    assert main(["demo", str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    assert "已生成演示工作目录" in out
    assert "隔离 1 个" in out and "科学计数法" in out
    assert main(["demo", str(tmp_path / "demo")]) == 0
    again = capsys.readouterr().out
    assert "已生成" not in again and "新文件 0 个" in again


def test_run_as_of_yesterday_settles_the_day_before_in_the_project_timezone(workspace, capsys):
    import time_machine

    (workspace / "rules.yaml").write_text("timezone: Asia/Shanghai\n", encoding="utf-8")
    # 2026-11-21 01:30 in Shanghai is still the 20th in UTC: the project's day counts.
    with time_machine.travel("2026-11-20T17:30:00+00:00", tick=False):
        assert main(["run", "--workspace", str(workspace), "--as-of", "yesterday"]) == 0
        assert "判定日 2026-11-20" in capsys.readouterr().out
        assert main(["run", "--workspace", str(workspace), "--as-of", "today"]) == 0
        assert "判定日 2026-11-21" in capsys.readouterr().out


def test_a_run_without_a_terminal_logs_every_step_as_a_structured_line(workspace, capsys):
    write_xlsx(
        workspace / "inputs/channels/链家/a.xlsx",
        [SheetSpec("报备", HEADER, [["张三", "138****1234", "2026-11-18 10:00", "王五"]])],
    )
    assert main(["run", "--workspace", str(workspace), "--as-of", "2026-11-20"]) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if " reconcile." in line]
    assert any("INFO reconcile.run step.start name=读取文件 total=1" in line for line in lines)
    assert any("step.item name=读取文件 n=1/1 item=channels/链家/a.xlsx" in line for line in lines)
    assert any(
        "INFO reconcile.ops.pipeline run.ok run=1 as_of=2026-11-20 mode=ingest" in line
        for line in lines
    )
    assert all(line[:25].endswith("+08:00") for line in lines), "ISO time with offset first"
    log = (workspace / ".reconcile/logs/run.log").read_text(encoding="utf-8")
    assert "run.ok run=1" in log, "the same lines go to the rotating log file"


def test_template_writes_a_workbook_that_check_accepts(tmp_path, capsys, monkeypatch):
    (tmp_path / "rules.yaml").write_text("project: 测试花园\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["template"]) == 0
    assert "已写出 报备登记表.xlsx（测试花园" in capsys.readouterr().out
    assert main(["check", "报备登记表.xlsx"]) == 0
    out = capsys.readouterr().out
    assert "工作表“说明”：填写说明，不作为数据读取" in out and "结论：文件可以提交" in out
    (tmp_path / "folder").mkdir()
    assert main(["template", "--out", str(tmp_path / "folder")]) == 0
    assert (tmp_path / "folder/报备登记表.xlsx").is_file(), "a folder gets the default name"
    assert main(["template", "--out", str(tmp_path / "链家.xlsx")]) == 0
    assert (tmp_path / "链家.xlsx").read_bytes() == (tmp_path / "报备登记表.xlsx").read_bytes()
    assert main(["template", "--out", str(tmp_path / "t.csv")]) == 2
    assert "只能写成 .xlsx" in capsys.readouterr().err


def test_check_judges_extension_requests_as_requests(tmp_path, capsys):
    # SPEC 6.8: a request is no report. No surname rule applies to it; a number without
    # enough visible digits fits no customer, so the night calls the request R11.
    header = [*HEADER, "报备类型"]
    path = write_xlsx(
        tmp_path / "延期申请.xlsx",
        [
            SheetSpec(
                "延期申请",
                header,
                [
                    ["先生", "138****1234", "2026-11-18 10:00", "王五", "延期申请"],
                    ["张先生", "13******34", "2026-11-18 10:00", "王五", "延期"],
                    ["先生", "139****5678", "2026-11-18 10:00", "王五", None],
                ],
            )
        ],
    )
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "第 2 行" not in out  # a request without a surname is still a request
    assert "第 3 行（13*******34）：延期申请：R02 号码不合规" in out
    assert "会判为 R11 延期申请无效" in out
    assert "有 1 行按本项目规则会被判无效或暂不判定" in out
