"""Mail addresses in `notify`, checked when rules load: each agency's receipt
recipients (SPEC §7), and the admin's and finance's."""

from __future__ import annotations

import json

import pytest

from reconcile.config.rules import RulesError, parse_rules

VARIANTS = "channels: {链家: [链家地产, 北京链家]}\n"


def test_addresses_are_kept_per_channel():
    rules = parse_rules(
        "notify:\n  channels:\n    链家: [a@x.cn, 张三 <b@x.cn>]\n    我爱我家: []\n"
    )
    assert rules.receipt_recipients == {"链家": ("a@x.cn", "张三 <b@x.cn>"), "我爱我家": ()}


def test_a_variant_is_read_as_its_channel():
    rules = parse_rules(VARIANTS + "notify:\n  channels:\n    ' 北京链家 ': [a@x.cn]\n")
    assert rules.receipt_recipients == {"链家": ("a@x.cn",)}


def test_the_channels_the_rules_know_come_from_every_key_that_names_one():
    rules = parse_rules(
        VARIANTS
        + "commission:\n  channels: {我爱我家: {rate: 0.01}}\n"
        + "notify:\n  channels:\n    ' 北京链家 ': [a@x.cn]\n    中原地产: []\n"
    )
    assert rules.known_channels == {"链家", "我爱我家", "中原地产"}
    assert parse_rules("").known_channels == frozenset()


@pytest.mark.parametrize(
    "address",
    [
        "a@x",  # no domain dot
        "a",
        "@x.cn",
        "a@",
        "a@x..cn",
        "a@x.cn, evil@y.cn",  # a second recipient hidden in one item
        "a@x.cn;evil@y.cn",
        "a@x.cn b@x.cn",
        "a@x.cn\nBcc: evil@y.cn",  # a header smuggled through a line break
    ],
)
def test_a_bad_address_names_its_key_and_line(address):
    # A JSON string is a YAML double-quoted scalar, escapes included.
    text = f"project: 山湖一号\nnotify:\n  channels:\n    链家: [ok@x.cn, {json.dumps(address)}]\n"
    with pytest.raises(RulesError) as error:
        parse_rules(text)
    message = str(error.value)
    assert message.startswith("rules.yaml 第 4 行 notify.channels.链家.1: "), message
    assert "不是一个邮箱地址" in message


def test_two_keys_of_one_channel_are_an_error_naming_both():
    text = VARIANTS + "notify:\n  channels:\n    链家: [a@x.cn]\n    链家地产: [b@x.cn]\n"
    with pytest.raises(RulesError) as error:
        parse_rules(text)
    message = str(error.value)
    assert "第 5 行 notify.channels.链家地产" in message
    assert "“链家”和“链家地产”都是渠道“链家”" in message


def test_the_same_name_twice_with_spaces_is_one_channel():
    text = "notify:\n  channels:\n    链家: [a@x.cn]\n    ' 链家': [b@x.cn]\n"
    with pytest.raises(RulesError, match="都是渠道“链家”"):
        parse_rules(text)


def test_a_blank_channel_name_is_an_error():
    with pytest.raises(RulesError, match="notify.channels: 有空白的渠道名称"):
        parse_rules("notify:\n  channels:\n    ' ': [a@x.cn]\n")


@pytest.mark.parametrize("key", ["admin", "finance"])
def test_the_admin_and_finance_addresses_are_checked_the_same_way(key):
    assert getattr(parse_rules(f"notify:\n  {key}: [张三 <a@x.cn>]\n").notify, key) == [
        "张三 <a@x.cn>"
    ]
    with pytest.raises(RulesError) as error:
        parse_rules(f'project: 山湖一号\nnotify:\n  {key}: [ok@x.cn, "a@x.cn, evil@y.cn"]\n')
    message = str(error.value)
    assert message.startswith(f"rules.yaml 第 3 行 notify.{key}.1: "), message
    assert "不是一个邮箱地址" in message
