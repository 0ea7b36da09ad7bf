"""`reconcile explain` with what the admin holds: an agency's masked number and a name,
a full number only an agency reported, or a report_id; end to end through a workspace."""

from __future__ import annotations

import csv

import pytest

from reconcile.cli.main import main
from reconcile.testing import SheetSpec, write_xlsx

REPORT = ["客户姓名", "客户电话", "报备时间", "经纪人"]
VISIT = ["客户姓名", "客户电话", "到访时间", "渠道", "经纪人"]
NIGHT = "2026-11-20"


@pytest.fixture
def judged(workspace, capsys):
    """A masked report that fits two visitors; a full number that never visited."""
    write_xlsx(
        workspace / "inputs/channels/链家/报备.xlsx",
        [
            SheetSpec(
                "报备",
                REPORT,
                [
                    ["张先生", "138****1234", "2026-11-18 09:00", "王五"],
                    ["李四", "13912345678", "2026-11-19 09:00", "王五"],
                ],
            )
        ],
    )
    write_xlsx(
        workspace / "inputs/visits/来访.xlsx",
        [
            SheetSpec(
                "来访",
                VISIT,
                [
                    ["张三", "13812341234", "2026-11-18 15:00", None, None],
                    ["张伟", "13899991234", "2026-11-19 15:00", None, None],
                ],
            )
        ],
    )
    assert main(["run", "--workspace", str(workspace), "--as-of", NIGHT]) == 0
    capsys.readouterr()
    return workspace


def _explain(workspace, *args: str) -> int:
    return main(["explain", *args, "--workspace", str(workspace)])


def _report_id(workspace, pattern: str) -> str:
    path = workspace / "outputs" / NIGHT / "reports.csv"
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return next(r["report_id"] for r in rows if r["phone_pattern"] == pattern)


def test_a_masked_number_and_a_name_explain_every_customer_that_fits(judged, capsys):
    assert _explain(judged, "138xxxx1234", "张先生") == 0
    out = capsys.readouterr().out
    assert "号码 138****1234 · 姓名 张先生 · 判定日 2026-11-20" in out
    assert "号码与姓名相符的客户有 2 位，需核实是哪一位：" in out
    assert "客户 13812341234 · 判定日" in out and "客户 13899991234 · 判定日" in out
    assert "符合的客户：13812341234、13899991234" in out


def test_a_name_narrows_the_customers(judged, capsys):
    assert _explain(judged, "138****1234", "张三") == 0
    out = capsys.readouterr().out
    assert "相符的报备 1 条，相符的客户 1 位。" in out
    assert "13899991234  张伟" not in out and "需核实是哪一位" not in out


def test_nothing_matches_says_what_was_searched(judged, capsys):
    assert _explain(judged, "138****1234", "李四") == 1
    out = capsys.readouterr().out
    assert "台账中没有号码符合 138****1234、姓名与“李四”相符的报备或客户" in out
    assert "判定日 2026-11-20；已查报备、到访、CRM、成交与裁决" in out
    assert "号码相符但姓名不同：报备 张先生；客户 张三、张伟（不带姓名重新查询可看到它们）" in out
    assert _explain(judged, "136****0000") == 1
    assert "没有号码符合 136****0000的报备或客户" in capsys.readouterr().out


def test_a_full_number_only_an_agency_reported(judged, capsys):
    assert _explain(judged, "139 1234 5678") == 0
    out = capsys.readouterr().out
    assert "归属：尚无（该号码还没有到访或裁决记录）" in out
    assert "报备 链家 王五 2026-11-19 09:00：待到访  [channels/链家/报备.xlsx#报备!3]" in out
    # A name beside a full number is not needed: said, and the number is explained.
    assert _explain(judged, "13912345678", "李四") == 0
    captured = capsys.readouterr()
    assert "姓名 李四 不参与查找" in captured.err and "待到访" in captured.out


def test_a_report_id_of_a_full_number_explains_the_number(judged, capsys):
    assert _explain(judged, _report_id(judged, "13912345678"), "李四") == 0
    captured = capsys.readouterr()
    assert "客户 13912345678 · 判定日 2026-11-20" in captured.out
    assert "姓名 李四 不参与查找" in captured.err


def test_a_report_id_of_an_ambiguous_report_names_its_candidates(judged, capsys):
    report_id = _report_id(judged, "138****1234")
    assert _explain(judged, report_id.upper()) == 0
    out = capsys.readouterr().out
    assert f"报备 {report_id}：尚未对应到具体客户" in out
    assert "张先生 138****1234 2026-11-18 09:00：号码待确认 — A01 号码匹配多个客户" in out
    assert "符合的客户：13812341234、13899991234" in out


def test_help_names_every_form(capsys):
    with pytest.raises(SystemExit):
        main(["explain", "--help"])
    out = capsys.readouterr().out
    assert "138****1234 张三" in out and "report_id" in out and "号码 [姓名]" in out
