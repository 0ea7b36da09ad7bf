"""Every message rules.yaml validation can give is in Chinese, whatever pydantic reports."""

from __future__ import annotations

import re
import typing
from collections.abc import Iterator

import pytest
import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import core_schema

from reconcile.config.rules import Rules, RulesError, _message, parse_rules

# One bad value for each error type a rules file can reach, with the key it is reported at.
REACHABLE = {
    "bool_parsing": ("archive: 是\n", "archive"),
    "bool_type": ("archive: 1.5\n", "archive"),
    "dict_type": ("columns: abc\n", "columns"),
    "extra_forbidden": ("reprot: {}\n", "reprot"),
    "finite_number": ("commission:\n  default: {fixed: .nan}\n", "commission.default.fixed"),
    "float_parsing": ("commission:\n  default: {fixed: abc}\n", "commission.default.fixed"),
    "float_type": ("commission:\n  default: {fixed: [1]}\n", "commission.default.fixed"),
    "greater_than": ("limits:\n  memory_gb: -1\n", "limits.memory_gb"),
    "greater_than_equal": ("commission:\n  default: {fixed: -1}\n", "commission.default.fixed"),
    "less_than_equal": ("commission:\n  default: {rate: 1.5}\n", "commission.default.rate"),
    "int_from_float": ("limits:\n  max_rows: 1.5\n", "limits.max_rows"),
    "int_parsing": ("notify:\n  smtp: {host: h, port: abc}\n", "notify.smtp.port"),
    "int_parsing_size": (
        f"notify:\n  smtp: {{host: h, port: '{'9' * 4400}'}}\n",
        "notify.smtp.port",
    ),
    "int_type": ("report:\n  quota: {per: agent, limit: null}\n", "report.quota.limit"),
    "invalid_key": ("report:\n  min_visible: {1: 2}\n", "report.min_visible.1"),
    "list_type": ("conflict:\n  order: first_visit\n", "conflict.order"),
    "literal_error": ("conflict:\n  brought_by_other: abc\n", "conflict.brought_by_other"),
    "missing": ("report:\n  quota: {limit: 3}\n", "report.quota.per"),
    "model_type": ("report:\n  min_visible: abc\n", "report.min_visible"),
    "string_type": ("project: 12\n", "project"),
    "string_unicode": ("project: !!binary gA==\n", "project"),
    "value_error": ("conflict:\n  order: []\n", "conflict.order"),
}


def _fields(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, field in model.model_fields.items():
        path = (*prefix, name)
        yield path
        for kind in (field.annotation, *typing.get_args(field.annotation)):
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                yield from _fields(kind, path)
            for inner in typing.get_args(kind):  # dict[str, Model]: under a named entry
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    yield from _fields(inner, (*path, "名称"))


def _literals(model: type[BaseModel]) -> Iterator[str]:
    for field in model.model_fields.values():
        stack = [field.annotation]
        while stack:
            kind = stack.pop()
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                yield from _literals(kind)
            args = typing.get_args(kind)
            if typing.get_origin(kind) is typing.Literal:
                yield from (str(arg) for arg in args)
            else:
                stack.extend(args)


KEYS = {part for path in _fields(Rules) for part in path} | set(_literals(Rules))
# Words a Chinese message may still hold: YAML's own words and the values it shows.
VALUES = {
    "true",
    "false",
    "null",
    "forever",
    "same_day",
    "next_day",
    "mo",
    "YAML",
    "Asia",
    "Shanghai",
    # `ledger:` names its server, its schema and the variable holding its password
    "postgresql",
    "PostgreSQL",
    "SQLite",
    "schema",
    "pg_",
    "RECONCILE_LEDGER_PASSWORD",
}


def english(message: str, text: str) -> list[str]:
    """ASCII words in the messages that are neither key names, values nor the input's."""
    allowed = KEYS | VALUES | set(re.findall(r"[A-Za-z_]+", text))
    said = [line.split(": ", 1)[1] for line in message.splitlines()]
    return [w for line in said for w in re.findall(r"[A-Za-z_]{2,}", line) if w not in allowed]


def _errors(text: str) -> list[dict]:
    with pytest.raises(ValidationError) as error:
        Rules.model_validate(yaml.safe_load(text))
    return error.value.errors()  # type: ignore[return-value]


@pytest.mark.parametrize("kind", sorted(REACHABLE))
def test_each_reachable_error_type_is_said_in_chinese(kind):
    text, key = REACHABLE[kind]
    assert kind in {error["type"] for error in _errors(text)}
    with pytest.raises(RulesError) as error:
        parse_rules(text)
    message = str(error.value)
    assert f" {key}: " in message
    assert not english(message, text), message
    assert re.search(r"[\u4e00-\u9fff]", message.split(f"{key}: ", 1)[1])


def test_every_pydantic_error_type_has_a_chinese_message():
    bounds = {"gt": 0, "ge": 0, "lt": 1, "le": 1, "expected": "'a' or 'b'"}
    for kind in typing.get_args(core_schema.ErrorType):
        said = _message({"type": kind, "msg": "Input should be valid", "ctx": bounds})
        assert re.search(r"[\u4e00-\u9fff]", said), kind
        assert not set(re.findall(r"[A-Za-z_]{2,}", said)) - VALUES, (kind, said)
    # A validator's own message is kept; an English one from elsewhere is not shown.
    assert _message({"type": "value_error", "msg": "Value error, 时长格式不对"}) == "时长格式不对"
    assert "Value" not in _message({"type": "value_error", "msg": "Value error, bad value"})


BAD_VALUES = [
    "abc", "1.5", "-1", "0", "70000", "true", "null", "[a, 1]", "{a: 1}", "[[1]]", "[{a: 1}]",
    ".nan", ".inf", "1e400", "'" + "9" * 5000 + "'", "!!binary gA==", "!!timestamp 2026-01-01",
    "{1: [a]}", "{a: [1]}", "{a: null}", "[null]", "''", "!!set {a, b}", "[0.2, 0.3]",
    "99999999999999999999999999", "{rate: 2}", "{per: x, limit: 0}", "{}", "[]", "{start: '8:00'}",
]  # fmt: skip


def test_bad_values_anywhere_give_chinese_messages_of_known_types():
    """Every key × a battery of bad values: no English, and no error type missing above."""
    seen: set[str] = set()
    for path in set(_fields(Rules)):
        for value in BAD_VALUES:
            text = value
            for part in reversed(path):
                text = f"{{{part}: {text}}}"
            try:
                Rules.model_validate(yaml.safe_load(text))
            except ValidationError as error:
                seen |= {e["type"] for e in error.errors()}  # type: ignore[misc]
            try:
                parse_rules(text)
            except RulesError as error:
                assert not english(str(error), text), (text, str(error))
    assert seen <= set(REACHABLE), seen - set(REACHABLE)


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        ("project：山湖一号\nreport:\n  validity: 3d\n", "第 1 行第 8 列 project:", "全角冒号"),
        ("# 项目\nproject: x\nreport：\n  validity: 3d\n", "第 3 行第 7 列 report:", "全角冒号"),
        ("project: x\nreport:\n  validity： 3d\n", "第 3 行第 11 列 validity:", "全角冒号"),
        ("report:\n  hours：{start: '08:00', end: '20:00'}\n", "第 2 行第 8 列 hours:", "全角冒号"),
        ("project：山湖一号\n", "第 1 行第 8 列 project:", "全角冒号"),
        ("project: x\nreport: [unclosed\n", "第 2 行第 9 列:", "方括号"),
        ("project: x\nreport: {a: 1\n", "第 2 行第 9 列:", "花括号"),
        ("project: 'abc\nreport: {}\n", "第 1 行第 10 列:", "引号没有闭合"),
        ("project: x\n\treport: 1\n", "第 2 行第 1 列:", "Tab"),
        ("project: x\n  report: 1\n", "第 2 行第 9 列:", "缩进"),
        ("report:\n  validity: 3d\n lead_time: 1h\n", "第 3 行第 2 列:", "缩进"),
        ("project: x\n@foo: 1\n", "第 2 行第 1 列:", "引号"),
        ("project: *nope\n", "第 1 行第 10 列:", "锚点"),
        ('project: "a\\q"\n', "第 1 行第 13 列:", "转义"),
        ("project: x\n---\nreport: {}\n", "第 2 行第 1 列:", "---"),
        ("project: x\nreport: \x07\n", "第 2 行第 9 列:", "控制字符"),
        ("project: !!int abc\n", "第 1 行第 10 列:", "无法读取"),
        ("project: !!bool abc\n", "第 1 行第 10 列:", "无法读取"),
        ("project: " + "9" * 5000 + "\n", "第 1 行第 10 列:", "无法读取"),
        ("? [a]\n: 1\n", "第 1 行", "键名"),
        ("- a\n- b\n", "第 1 行:", "列表"),
    ],
)
def test_yaml_syntax_errors_name_line_and_column_in_chinese(text, where, words):
    with pytest.raises(RulesError) as error:
        parse_rules(text)
    message = str(error.value)
    assert message.startswith(f"rules.yaml {where}"), message
    assert words in message
    assert not english(message.replace("Tab", ""), text), message


def test_a_key_written_twice_is_an_error_naming_both_lines():
    text = "project: x\nreport:\n  validity: 3d\n  lead_time: 1h\n  validity: 5d\nproject: y\n"
    with pytest.raises(RulesError) as error:
        parse_rules(text)
    lines = str(error.value).splitlines()
    advice = "只会采用其中一处；请删去一处或合并"
    assert lines == [
        f"rules.yaml 第 5 行 validity: 键“validity”重复（第 3 行已写过），{advice}",
        f"rules.yaml 第 6 行 project: 键“project”重复（第 1 行已写过），{advice}",
    ]
    # the same key in two places of the file is no repetition
    assert parse_rules("report:\n  validity: 3d\nvisit:\n  protection: 3d\n").report


def test_a_full_width_colon_inside_a_value_is_no_error():
    assert parse_rules("project: 山湖：一号\n# 说明：注释\n").project == "山湖：一号"


def test_an_alias_of_its_own_ancestor_is_reported_not_a_crash():
    with pytest.raises(RulesError, match="第 1 行 report.type_priority: 应为列表"):
        parse_rules("report: &r {type_priority: *r}\n")
