"""The commands as a user runs them: output in Chinese, exit codes per SPEC §8."""

from __future__ import annotations

import pytest

from reconcile.cli import main
from reconcile.demo import SheetSpec, write_csv, write_xlsx

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
    assert "有 2 行需要修改" in out


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


def test_demo_generates_and_runs(tmp_path, capsys):
    assert main(["demo", str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    assert "已生成演示工作目录" in out
    assert "隔离 1 个" in out and "科学计数法" in out
    assert main(["demo", str(tmp_path / "demo")]) == 0
    again = capsys.readouterr().out
    assert "已生成" not in again and "新文件 0 个" in again
