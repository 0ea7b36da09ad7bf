"""The recommended WeChat message format (SPEC 4.2): messages in it always read as the report
they show, whatever the project and its `report.min_visible`."""

from __future__ import annotations

from datetime import datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from reconcile.cli.main import main
from reconcile.config.rules import Rules
from reconcile.ingest import wechat
from reconcile.publish.template import NOTES_SHEET, write_template
from reconcile.publish.wechat_form import (
    example_phone,
    message_fields,
    recommended_message,
)
from reconcile.publish.wechat_form import notes as wechat_notes

PROJECTS = st.text(
    alphabet=st.sampled_from("山湖一号云栖府天悦湾壹号院二期A区·Park"), min_size=2, max_size=12
).filter(lambda name: name.strip() == name and name.strip("·"))


@settings(max_examples=200, deadline=None)
@given(
    project=PROJECTS,
    prefix=st.integers(min_value=0, max_value=11),
    suffix=st.integers(min_value=0, max_value=11),
    company=st.sampled_from(["链家", "正盛地产", "房友", "中原"]),
    types=st.sampled_from([{}, {"临报": {}}, {"预报备": {}, "临报": {}}]),
)
def test_the_recommended_message_always_reads_as_its_report(
    project, prefix, suffix, company, types
):
    report = {"min_visible": {"prefix": prefix, "suffix": suffix}, "types": types}
    rules = Rules.model_validate({"project": project, "report": report})
    [reading] = wechat.readings(recommended_message(rules, company), project)
    # The project's first type, when it has any, is the message's 报备类型.
    assert reading.fields.get("report_type") == next(iter(types), None)
    assert reading.problem is None
    [customer] = reading.customers
    shown = dict(message_fields(rules, company))
    assert (customer.name, customer.phone) == (shown["客户姓名"], shown["客户电话"])
    assert reading.reported_at == f"{shown['报备时间']}:00"
    assert reading.fields["channel"] == company and reading.fields["project"] == project
    visible = example_phone(rules)
    assert len(visible) == 11 and visible[: max(prefix, 3)].isdigit()


def test_template_writes_the_text_file_and_it_reads(tmp_path, capsys, monkeypatch):
    (tmp_path / "rules.yaml").write_text("project: 测试花园\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["template", "--kind", "wechat"]) == 0
    assert "已写出 微信报备格式.txt（测试花园" in capsys.readouterr().out
    text = (tmp_path / "微信报备格式.txt").read_text(encoding="utf-8")
    reports = [r for r in wechat.readings(text, "测试花园") if r.is_report]
    assert len(reports) == 1 and reports[0].problem is None
    assert main(["template", "--kind", "wechat", "--out", str(tmp_path / "x.xlsx")]) == 2
    assert "只能写成 .txt" in capsys.readouterr().err


def test_the_notes_sheet_recommends_the_same_message(tmp_path):
    rules = Rules(project="测试花园")
    out = write_template(rules, tmp_path / "t.xlsx")
    notes = load_workbook(out)[NOTES_SHEET]
    cells = [str(c) for row in notes.iter_rows(values_only=True) for c in row if c]
    assert "微信群报备（不填表时）" in cells
    shown = "；".join(f"{label}：{value}" for label, value in message_fields(rules))
    assert any(shown in cell for cell in cells)
    assert datetime.fromisoformat(dict(message_fields(rules))["报备时间"])


def test_the_notes_tell_the_types_and_how_to_ask_for_an_extension(tmp_path):
    rules = Rules.model_validate(
        {"project": "测试花园", "report": {"types": {"临报": {}}, "extension": {}}}
    )
    notes = dict(wechat_notes(rules))
    assert "报备类型写 临报 之一" in notes["类型"] and "【临报】" in notes["类型"]
    assert "【延期申请】" in notes["延期"]
    [request] = wechat.readings(
        "张经理  2026-12-01 10:15\n【延期申请】客户：张先生 电话：138****1234"
    )
    assert request.fields["report_type"] == "延期申请"
    assert "类型" not in dict(wechat_notes(Rules(project="测试花园")))
