"""The one WeChat 报备 message format the product recommends (SPEC 4.2).

`reconcile template --kind wechat` writes it as a text file, and the report template's
说明 sheet shows it. Every label is one the message reader knows
(reconcile/ingest/wechat.py); tests read this very text back as a report.
"""

from __future__ import annotations

from pathlib import Path

from reconcile.config.rules import Rules

DEFAULT_FILE_NAME = "微信报备格式.txt"
EXAMPLE_NUMBER = "13812345678"
_MOBILE_LENGTH = 11


def example_phone(rules: Rules) -> str:
    """A masked number showing at least 前三后四, more when `report.min_visible` asks."""
    visible = rules.report.min_visible
    prefix, suffix = max(visible.prefix, 3), max(visible.suffix, 4)
    hidden = _MOBILE_LENGTH - prefix - suffix
    if hidden < 1:
        return EXAMPLE_NUMBER
    return EXAMPLE_NUMBER[:prefix] + "*" * hidden + EXAMPLE_NUMBER[_MOBILE_LENGTH - suffix :]


def message_fields(rules: Rules, company: str = "某某地产") -> list[tuple[str, str]]:
    """(label, example value) of the recommended message, one a line."""
    fields = [
        ("报备项目", rules.project),
        ("客户姓名", "张先生"),
        ("客户电话", example_phone(rules)),
        ("报备时间", "2026-12-01 10:15"),
        ("预计到访", "2026-12-01 15:00"),
        ("经纪人", "李四"),
        ("公司", company),
    ]
    if rules.report.types:  # the project's own type names, which the rules judge by
        fields.insert(4, ("报备类型", next(iter(rules.report.types))))
    return fields


def recommended_message(rules: Rules, company: str = "某某地产") -> str:
    return "\n".join(f"{label}：{value}" for label, value in message_fields(rules, company))


def notes(rules: Rules) -> list[tuple[str, str]]:
    """The 说明 sheet's lines on reporting by WeChat."""
    shown = "；".join(f"{label}：{value}" for label, value in message_fields(rules))
    found = [
        (
            "格式",
            "在微信群报备时，每条消息报备一位客户，一行一项，标签后用冒号：" + shown,
        ),
        (
            "要点",
            "报备时间写到分钟（不写时以微信发送时间为准）；报备项目照写本项目名称，"
            f"其他项目的报备不计入；号码至少露出前三后四，如 {example_phone(rules)}",
        ),
        (
            "提交",
            "案场把群聊记录（复制或导出为 .txt）放入 inputs/channels/<渠道>/，与表格一样逐条判定；"
            "reconcile template --kind wechat 可写出这一格式的文本文件",
        ),
    ]
    types = "、".join(rules.report.types)
    if types:
        found.append(
            (
                "类型",
                f"报备类型写 {types} 之一；也可在消息开头写【{next(iter(rules.report.types))}】",
            )
        )
    if rules.report.extension is not None:
        found.append(
            (
                "延期",
                "保护期快到时，持有客户的渠道发一条开头为【延期申请】的消息，客户姓名、电话照写："
                "这是延期申请，不是新的报备",
            )
        )
    return found


def write_wechat_template(rules: Rules, out: Path) -> Path:
    """The recommended format as a UTF-8 text file an agency can copy from."""
    text = (
        f"{rules.project} 微信报备格式（每条消息报备一位客户，一行一项，照此复制后修改）\n"
        "\n"
        f"{recommended_message(rules)}\n"
    )
    out.write_text(text, encoding="utf-8")
    return out
