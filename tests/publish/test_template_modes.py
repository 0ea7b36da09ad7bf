"""The template's 说明 sheet explains the project's protection mode and, when the rules
set them, deposits, extension requests and the queue, in plain Chinese (SPEC 6.8)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconcile.config.rules import parse_rules
from reconcile.judge.reasons import REASONS
from reconcile.judge.vocabulary import Code
from reconcile.publish.template import DEFAULT_TEMPLATE_NAME, write_template
from tests.publish.test_template import notes

B2B = """\
conflict: {mode: report}
report:
  validity: 3mo
  validity_after_deposit: 90d
  extension: {window: 20d, extend: 1mo, times: 1}
  queue: {max: 1, validity: 1mo, extend_when_queued: 15d}
"""


def _notes(rules: str, tmp_path: Path) -> dict[str, str]:
    return notes(write_template(parse_rules(rules), tmp_path / DEFAULT_TEMPLATE_NAME))


@pytest.mark.parametrize(
    ("mode", "says"),
    [
        ("report_visit", "报备-到访-成交：报备后须带客户到访"),
        ("report", "报备-成交：第一家有效报备的渠道在报备有效期内"),
        ("visit", "到访-成交：无须报备，第一家带客户到访的渠道获得客户"),
    ],
)
def test_the_notes_say_who_holds_a_customer_in_each_mode(mode, says, tmp_path) -> None:
    text = _notes(f"conflict: {{mode: {mode}}}\n", tmp_path)
    assert text["判客方式"].startswith(says)
    # Lines of rules the project does not use are left out.
    assert not {"交定金后", "延期申请", "排队"} & set(text)
    unused = {"report_visit": set(), "report": {Code.R08, Code.P01, Code.D01}, "visit": {Code.R08}}[
        mode
    ]
    for code in (Code.R08, Code.P01, Code.D01):
        notes = REASONS[code].notes
        assert notes is not None
        assert (notes.topic in text) == (code not in unused), (mode, code)


def test_seed_004s_rules_read_in_plain_words(tmp_path) -> None:
    text = _notes(B2B, tmp_path)
    assert "3 个月" in text["判客方式"] and "每个客户最多排队 1 家" in text["判客方式"]
    assert "延长为 90 天" in text["交定金后"]
    extension = text["延期申请"]
    assert "最后 20 天内" in extension and "延长 1 个月" in extension
    assert "最多 1 次" in extension and "只延长 15 天" in extension
    assert extension.endswith("（R11 延期申请无效）")
    assert "排队已满的报备无效（Q01 排队已满）" in text["排队"]
    assert text["申诉期"].startswith("报备后 24 小时内")  # the report starts the episode
