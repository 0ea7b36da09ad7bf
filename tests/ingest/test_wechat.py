"""WeChat 报备 messages (SPEC 4.2): every documented format reads, the row semantics hold,
and hostile text is bounded."""

from __future__ import annotations

import codecs
import json
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile.config.rules import Limits, Rules
from reconcile.ingest import wechat
from reconcile.ingest.files import InputFile, read_input
from reconcile.ingest.headers import AliasTable
from reconcile.ingest.readers import FileRejected, read_file
from reconcile.normalise.errors import RowError
from reconcile.normalise.phones import parse_phone
from tests.ingest import wechat_render as render

FIXTURES = Path(__file__).parent / "fixtures" / "wechat"
RULES = Rules(project="山湖一号")


def _reports(text: str, project: str | None = "山湖一号") -> list[wechat.Reading]:
    return [r for r in wechat.readings(text, project) if r.is_report]


# -- every documented format (docs/wechat-formats.md) -----------------------------------

# file -> [(first line, [(name, phone)], report time, expected visit, {field: value})]
EXPECTED = {
    "f01_self_channel_template.txt": [
        (2, [("韩冬", "136xxxx1234")], "2026-12-01 09:40:00", "2026-12-01 17:20:00",
         {"agent": "周明", "agent_phone": "137****5678"}),
    ],
    "f02_lianjia_example.txt": [
        (2, [("赵小姐", "136××××7563")], "2026-12-01 10:02:11", "2026-12-01 09:00:00",
         {"agent": "链家地产营销部三组 王力", "agent_phone": "139****0001"}),
    ],
    "f03_lead_in_line.txt": [
        (2, [("孙先生", "138****4321")], "2026-12-02 14:00:00", None,
         {"agent": "李四", "channel": "正盛分销"}),
    ],
    "f04_sms_front4_back5.txt": [
        (2, [("欧阳娜", "1381**12345")], "2026-12-02 10:30:00", None, {}),
    ],
    "f05_designer_runon.txt": [
        (2, [("郑爽", "132****3550")], "2026-12-03 11:05:00", None, {"agent": "设计师吴刚"}),
    ],
    "f06_one_liners.txt": [
        (2, [("张三", "133****3333")], "2026-12-01 15:15:00", None, {"channel": "正盛"}),
        (3, [("李四", "135****4444")], "2026-12-01 15:20:00", None, {"channel": "正盛"}),
        (4, [("王五", "13712345678")], "2026-12-01 15:40:00", None, {"channel": "正盛"}),
    ],
    "f07_two_fields_a_line.txt": [
        (1, [("冯楠", "13312345678")], "2026-12-04 16:05:00", None,
         {"project": "山湖一号", "agent": "李湘", "channel": "安居客分销"}),
    ],
    "f08_eju_two_customers.txt": [
        (1, [("陈刚", "158****2211"), ("林慧", "159****3322")], "2026-12-05 09:15:00", None,
         {"channel": "易居", "branch": "城东店", "agent": "马超", "agent_phone": "186****0099"}),
    ],
    # No message date: the year-less time goes on as written, its year read like a cell's.
    "f09_bracket_labels.txt": [
        (1, [("杜若", "180****2323")], "12-06 16:44", "12-07 10:00", {"project": "山湖一号"}),
    ],
    "f10_all_on_one_line.txt": [
        (1, [("曹阳", "188****8888")], "2026-12-07 20:10:00", "2026-12-08 16:30:00",
         {"remark": "改善型"}),
    ],
    "f11_wechatmsg_export.txt": [
        (5, [("蒋先生", "177****6060")], "2026-12-09 09:01:12", "2026-12-09 15:00:00",
         {"agent": "钱七", "channel": "房友"}),
    ],
    "f12_pc_copy_numbered.txt": [
        (2, [("沈月", "139****1010")], "2026-12-10 19:45:00", "2026-12-11 10:00:00",
         {"project": "山湖一号", "agent": "许诺"}),
    ],
}  # fmt: skip


def test_every_fixture_is_listed():
    assert sorted(p.name for p in FIXTURES.glob("*.txt")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_documented_format_reads(name):
    read = _reports((FIXTURES / name).read_text(encoding="utf-8"))
    got = [
        (
            r.line,
            [(c.name, c.phone) for c in r.customers],
            r.reported_at,
            r.expected_at,
            {k: r.fields.get(k) for k in EXPECTED[name][i][4]},
        )
        for i, r in enumerate(read)
    ]
    assert got == EXPECTED[name]
    assert all(r.problem is None for r in read)


def test_the_formats_are_documented_with_their_sources():
    doc = (Path(__file__).parents[2] / "docs" / "wechat-formats.md").read_text(encoding="utf-8")
    for name in EXPECTED:
        assert name in doc, f"{name} not in docs/wechat-formats.md"
    assert doc.count("来源") >= 8


# -- small parts --------------------------------------------------------------------------

DAY = date(2026, 12, 1)


@pytest.mark.parametrize(
    ("text", "day", "expected"),
    [
        ("今天15:15", DAY, datetime(2026, 12, 1, 15, 15)),
        ("明天上午10点", DAY, datetime(2026, 12, 2, 10, 0)),
        ("昨天晚上8点半", DAY, datetime(2026, 11, 30, 20, 30)),
        ("12月1日下午3点", DAY, datetime(2026, 12, 1, 15, 0)),
        ("1月2日上午9:00", DAY, datetime(2027, 1, 2, 9, 0)),
        ("2026-12-03 10:15", None, datetime(2026, 12, 3, 10, 15)),
        ("2026/12/3 10:15:32", DAY, datetime(2026, 12, 3, 10, 15, 32)),
        ("15:15", DAY, datetime(2026, 12, 1, 15, 15)),
        ("下午3点", DAY, datetime(2026, 12, 1, 15, 0)),
        ("今天15:15", None, None),
        ("15:15", None, None),
        ("随便写写", DAY, None),
    ],
)
def test_times_against_the_message_date(text, day, expected):
    when, _, why = wechat.resolve_when(text, day)
    assert when == expected
    assert (why is None) == (expected is not None)


@pytest.mark.parametrize(
    ("line", "sender", "sent_at"),
    [
        ("张三  2026-12-01 10:15", "张三", datetime(2026, 12, 1, 10, 15)),
        ("2026-12-01 10:15:03 张三", "张三", datetime(2026, 12, 1, 10, 15, 3)),
        ("张三 12月1日 10:15", "张三", datetime(2026, 12, 1, 10, 15)),
        ("链家-王力(2026/12/01 08:05:00)", "链家-王力", datetime(2026, 12, 1, 8, 5)),
        ("[2026-12-01 10:15] 张三: 收到", "张三", datetime(2026, 12, 1, 10, 15)),
        ("张三 10:15", "张三", datetime(2026, 12, 1, 10, 15)),
        ("张三 (2026-12-01 10:15:03):", "张三", datetime(2026, 12, 1, 10, 15, 3)),
        ("2026/12/1 10:15 - 张三: 收到", "张三", datetime(2026, 12, 1, 10, 15)),
        (
            "2026-12-01 10:15:03 张三(123456789)",
            "张三(123456789)",
            datetime(2026, 12, 1, 10, 15, 3),
        ),
        ("【报备】2026年12月1日 10:30", None, datetime(2026, 12, 1, 10, 30)),
        ("—— 2026年12月1日 下午3:05 ——", None, datetime(2026, 12, 1, 15, 5)),
        ("12月1日 10:15", None, datetime(2026, 12, 1, 10, 15)),
        ("报备时间 2026-12-01 10:15", "", None),
        ("张三133****3333正盛15:15", "", None),
        ("客户电话：138****1234", "", None),
    ],
)
def test_chat_header_lines(line, sender, sent_at):
    header = wechat.parse_header(wechat.clean_line(line), DAY)
    if sent_at is None:
        assert header is None
    else:
        assert header is not None and (header.sender, header.sent_at) == (sender, sent_at)


@pytest.mark.parametrize(
    ("text", "customers"),
    [
        ("刘先生186****9892 李先生187****2924",
         [("刘先生", "186****9892"), ("李先生", "187****2924")]),
        ("张三133****3333正盛15:15", [("张三", "133****3333")]),
        ("客户：张三 电话：138 1234 5678", [("张三", "13812345678")]),
        ("客户姓名:王女士  手机：+86 138-1234-5678", [("王女士", "+86138-1234-5678")]),
        ("📌客户：张**\n📌电话：１３８＊＊＊＊１２３４", [("张**", "138****1234")]),
        ("①客户姓名：欧阳修②联系方式：137***12345", [("欧阳修", "137***12345")]),
        ("【客户姓名】上官婉儿【客户电话】138xxxx1234", [("上官婉儿", "138xxxx1234")]),
        ("客户1：张三 电话1：138****1111\n客户2：李四 电话2：139****2222",
         [("张三", "138****1111"), ("李四", "139****2222")]),
        ("客户：张三/李四 电话：138****1111/139****2222",
         [("张三/李四", "138****1111 / 139****2222")]),
        ("张先生 138●●●●1234、李女士 13912345678",
         [("张先生", "138●●●●1234"), ("李女士", "13912345678")]),
        ("客户：王五 电话：138****1234 报备人：李四 电话：139****0000", [("王五", "138****1234")]),
        ("报备：张先生 138****1234 预计下午3点到访", [("张先生", "138****1234")]),
        ("客户张先生，电话138****4321，经纪人李四，公司链家", [("张先生", "138****4321")]),
        ("客户：张三 138****1111\n客户：李四 139****2222",
         [("张三", "138****1111"), ("李四", "139****2222")]),
        ("👤客户：孙悦 📱电话：135****5555 🏠项目：山湖一号", [("孙悦", "135****5555")]),
        ("【临报】诸葛亮 136****1234 链家 王五", [("诸葛亮", "136****1234")]),
        ("客户：张三、李四 电话：138****1111、139****2222",
         [("张三", "138****1111"), ("李四", "139****2222")]),
        ("姓名=钱七 手机=138 **** 7777", [("钱七", "138****7777")]),
        ("周八 138-xxxx-8888 链家", [("周八", "138-xxxx-8888")]),
        ("客户 张三 电话 138****1234 公司 链家", [("张三", "138****1234")]),
        ("新增报备：王女士，手机尾号5678，138****5678，明天上午看房", [("王女士", "138****5678")]),
        ("报备客户：刘备 关羽\n电话：138****0001 139****0002",
         [("刘备", "138****0001"), ("关羽", "139****0002")]),
        ("客户信息：曹操 13812340000 男 意向三居", [("曹操", "13812340000")]),
        # every mask glyph a cell may use (`phones.MASK_CHARS`), after NFKC
        ("张先生 138••••1234、李女士 139✱✱✱✱5678",
         [("张先生", "138••••1234"), ("李女士", "139✱✱✱✱5678")]),
        ("客户：赵小姐 电话：136○○○○7563", [("赵小姐", "136○○○○7563")]),
        # a word saying which digits follow is no name
        ("报备：山湖一号，陈女士，尾号8888，全号13688888888", [("陈女士", "13688888888")]),
        ("孙先生 全号 13912345678", [("孙先生", "13912345678")]),
        ("刘先生 男 138 5678（前三后四）", [("刘先生", "138****5678")]),
    ],
)  # fmt: skip
def test_customers_in_a_message(text, customers):
    [reading] = _reports("2026-12-01 10:00:00 某人\n" + text)
    assert [(c.name, c.phone) for c in reading.customers] == customers


def test_an_agent_number_after_the_agent_is_not_a_customer():
    [reading] = _reports(
        "2026-12-01 10:00:00 某人\n客户：王五 电话：138****1234 报备人：李四 电话：139****0000"
    )
    assert reading.fields["agent"] == "李四" and reading.fields["agent_phone"] == "139****0000"


# -- row semantics ------------------------------------------------------------------------


def test_own_time_wins_over_the_send_time():
    [reading] = _reports("张三  2026-12-01 10:15\n客户：王五 电话：138****1234 报备时间：今天9点")
    assert reading.reported_at == "2026-12-01 09:00:00"
    assert reading.time_source == "消息中的报备时间"


def test_a_one_liner_time_after_sending_is_the_visit_not_the_report():
    [later] = _reports("张经理  2026-12-01 10:17\n【临报】张三 136****1234 链家 15:30")
    assert later.reported_at == "2026-12-01 10:17:00"
    assert later.expected_at == "2026-12-01 15:30:00"
    [earlier] = _reports("张经理  2026-12-01 15:40\n张三136****1234链家15:30")
    assert earlier.reported_at == "2026-12-01 15:30:00"
    assert earlier.fields["channel"] == "链家"


def test_just_now_is_the_send_time():
    [reading] = _reports("张三  2026-12-01 10:15\n客户：王五 电话：138****1234 报备时间：刚刚")
    assert reading.reported_at == "2026-12-01 10:15:00"


def test_a_message_without_any_time_is_a_row_error():
    [reading] = _reports("客户：王五 电话：138****1234")
    assert reading.problem is not None and "没有报备时间" in reading.problem


def test_another_project_is_a_row_error_and_the_own_project_is_not():
    text = "2026-12-01 10:00:00 某人\n报备项目：云栖府\n客户：王五 电话：138****1234"
    [other] = _reports(text)
    assert other.problem is not None and "云栖府" in other.problem
    [own] = _reports(text.replace("云栖府", "【山湖一号】二期"))
    assert own.problem is None
    [unchecked] = _reports(text, project=None)
    assert unchecked.problem is None


def test_an_unreadable_message_quotes_its_start_without_control_characters():
    text = "2026-12-01 10:00:00 某人\n客户姓名：\x07\u202e\n电话：\n" + "很长的说明" * 40
    [reading] = _reports(text)
    assert reading.problem is not None and "找不到客户" in reading.problem
    quoted = reading.problem.split("「", 1)[1].rstrip("」")
    assert len(quoted) == wechat.QUOTE_CHARS
    assert quoted.startswith("客户姓名: 电话: 很长的说明")
    assert not any(ch < " " or ch == "\u202e" for ch in reading.problem)


def test_labels_glued_to_their_values_and_filler_words():
    [glued] = _reports(
        "2026-12-01 10:00:00 某人\n客户张先生，电话138****4321，经纪人李四，公司链家"
    )
    assert (glued.fields["agent"], glued.fields["channel"]) == ("李四", "链家")
    [filler] = _reports("张经理  2026-12-01 10:15\n报备：张先生 138****1234 预计下午3点到访")
    assert "channel" not in filler.fields, "预计 is no agency"
    assert filler.expected_at == "2026-12-01 15:00:00"


def test_words_after_a_number_that_name_no_agency():
    [visit] = _reports("张经理  2026-12-01 10:17\n王女士，138****5678，明天上午看房")
    assert "channel" not in visit.fields and visit.expected_at == "2026-12-02"
    [wish] = _reports("张经理  2026-12-01 10:19\n曹操 13812340000 男 意向三居")
    assert "channel" not in wish.fields


def test_a_word_of_the_senders_nickname_is_no_agency():
    """临报 ends with the agent's name or the agency (seed 000: 业务员姓名或所属分销商): a
    part of the nickname 链家-钱七 may be either, so the folder says the channel."""
    [mine] = _reports("2026-12-01 10:35:00 链家-钱七\n报备 孙先生 139****1111 钱七 明天上午到")
    assert "channel" not in mine.fields and mine.fields["agent"] == "链家-钱七"
    [other] = _reports("2026-12-01 10:35:00 链家-钱七\n报备 孙先生 139****1111 正盛")
    assert other.fields["channel"] == "正盛"


def test_the_agents_signature_beside_a_customer_is_no_customer():
    [signed] = _reports(
        "2026-11-18 10:15:00 链家-李四\n报备：张先生 138****5678 【链家-李四 13900001111】"
    )
    assert [(c.name, c.phone) for c in signed.customers] == [("张先生", "138****5678")]
    assert signed.fields["agent_phone"] == "13900001111"
    assert "channel" not in signed.fields
    # alone, a name and number are the customer, whoever sent them
    [alone] = _reports("2026-11-18 10:15:00 链家-李四\n李四 13900001111")
    assert [(c.name, c.phone) for c in alone.customers] == [("李四", "13900001111")]


def test_a_systems_confirmation_forwarded_to_the_group():
    """明源云客-style confirmations name the report time in a clause of their own, and their
    words (已报备至…) name no agency."""
    [confirmed] = _reports(
        "2026-11-18 10:18:00 链家-李四\n【报备成功】客户陈女士(139****4321)已报备至山湖一号，"
        "报备人：李四，报备时间：2026-11-18 09:58:12，保护期至2026-12-18"
    )
    assert [(c.name, c.phone) for c in confirmed.customers] == [("陈女士", "139****4321")]
    assert confirmed.problem is None
    assert confirmed.reported_at == "2026-11-18 09:58:12"
    assert "channel" not in confirmed.fields and confirmed.fields["agent"] == "李四"
    [unlabelled] = _reports(
        "2026-11-18 10:19:00 链家-李四\n您好，客户赵先生，手机号136****8888，"
        "已于2026年11月18日10:05成功报备【山湖一号】，请于30天内带看。"
    )
    assert unlabelled.reported_at == "2026-11-18 10:05:00"
    assert unlabelled.time_source == "消息中的报备时间"
    [today] = _reports("2026-11-18 10:19:00 链家-李四\n客户赵先生 136****8888 已于今天9:40报备")
    assert today.reported_at == "2026-11-18 09:40:00"


def test_a_quoted_reply_repeats_no_report():
    text = (
        "张经理  2026-12-01 10:19\n客户：孙悦 电话：135****5555\n\n"
        "案场小刘  2026-12-01 10:20\n「张经理：客户：孙悦 电话：135****5555」\n"
        "- - - - - - - - - - - - - - -\n收到，已报备"
    )
    assert [r.line for r in _reports(text)] == [2]


@pytest.mark.parametrize(
    ("text", "rejected"),
    [
        # a report title and a customer named, but no number: a rejected report, not chatter
        ("链家-王五  2026-12-01 10:20\n报备：张女士，明天上午10点到", True),
        ("链家-王五  2026-12-01 10:20\n临报:刘先生 下午到", True),
        # a title without anyone named, or a name without a title, is chatter
        ("链家-王五  2026-12-01 10:20\n报备：请大家按格式报备", False),
        ("链家-王五  2026-12-01 10:20\n张女士明天上午10点到", False),
    ],
)
def test_a_titled_report_without_a_number_is_rejected_not_dropped(text, rejected):
    read = [r for r in wechat.readings(text) if r.is_report]
    assert bool(read) is rejected
    if rejected:
        [reading] = read
        assert reading.problem is not None and "找不到客户的手机号" in reading.problem


def test_chatter_is_no_report():
    text = "张三  2026-12-01 10:15\n收到\n\n李四  2026-12-01 10:16\n[图片]\n\n好的，谢谢"
    assert _reports(text) == []
    assert len(wechat.readings(text)) == 3


def _workspace_file(tmp_path: Path, text: str, encoding: str = "utf-8") -> InputFile:
    folder = tmp_path / "inputs" / "channels" / "链家"
    folder.mkdir(parents=True)
    path = folder / "群聊.txt"
    path.write_bytes(text.encode(encoding))
    return InputFile(path, "channels/链家/群聊.txt", "channels", "链家")


CHAT = """张经理  2026-12-01 10:15
客户姓名：王先生
客户电话：138****1234
报备项目：山湖一号

李四  2026-12-01 15:16
张三133****3333正盛15:15

王五  2026-12-01 12:00
刘先生186****9892 李先生187****2924

王五  2026-12-01 12:05
客户：赵六 电话：135****6666 项目：云栖府
"""


def test_messages_become_report_rows_like_a_spreadsheet(tmp_path):
    item = _workspace_file(tmp_path, CHAT)
    outcome = read_input(item, RULES, AliasTable.build(RULES.columns))
    assert outcome.rejected is None
    [sheet] = outcome.sheets
    assert sheet.kind == "report"
    records = sheet.normalised.records.sort("row_no", "phone_pattern")
    assert records.select(
        "source", "customer_name", "phone_pattern", "channel", "agent"
    ).rows() == [
        ("channels/链家/群聊.txt#2", "王先生", "138****1234", "链家", "张经理"),
        ("channels/链家/群聊.txt#7", "张三", "133****3333", "正盛", "李四"),
        ("channels/链家/群聊.txt#10", "刘先生", "186****9892", "链家", "王五"),
        ("channels/链家/群聊.txt#10", "李先生", "187****2924", "链家", "王五"),
    ]
    assert records["event_at"].to_list() == [
        "2026-12-01T10:15:00+08:00",
        "2026-12-01T15:15:00+08:00",
        "2026-12-01T12:00:00+08:00",
        "2026-12-01T12:00:00+08:00",
    ]
    errors = sheet.normalised.errors
    assert errors.select("row_no", "codes").rows() == [(13, RowError.MESSAGE_REJECTED.value)]
    assert "云栖府" in errors["reason"][0] and "「客户:赵六" in errors["reason"][0]
    assert "赵六" in json.loads(errors["raw"][0])
    # Each customer of a message is a row: the message naming two is two rows accepted,
    # so the counts add up (5 rows: 4 accepted, 1 rejected; it read 3 accepted of 5).
    assert (sheet.rows_in, sheet.accepted, sheet.rejected) == (5, 4, 1)


@pytest.mark.parametrize(
    "encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16", "utf-16-le", "utf-16-be"]
)
def test_every_encoding_reads_the_same(tmp_path, encoding):
    item = _workspace_file(tmp_path, CHAT, encoding)
    [sheet] = read_file(item.path, Limits(), "山湖一号")
    assert sheet.frame.height == 6
    assert sheet.row_number(1) == 2 and sheet.row_number(5) == 13


def test_delimited_text_stays_a_table(tmp_path):
    path = tmp_path / "报备.txt"
    path.write_text("客户姓名\t客户电话\t报备时间\n张三\t13812345678\t2026-12-01\n", "utf-8")
    [sheet] = read_file(path, Limits())
    assert sheet.frame.shape == (2, 3)


def test_check_describes_each_message(tmp_path):
    from reconcile.cli.text import check_text

    item = _workspace_file(tmp_path, CHAT)
    outcome = read_input(item, RULES, AliasTable.build(RULES.columns))
    text = check_text(outcome, RULES, datetime(2026, 12, 2, tzinfo=RULES.zone))
    joined = "\n".join(text.lines)
    assert "微信消息 4 条：报备 4 条" in joined
    assert (
        "第 7 行：客户 张三 133****3333；报备时间 2026-12-01 15:15:00（消息末尾的发送时刻）"
        in joined
    )
    assert "第 13 行：拒收" in joined and "云栖府" in joined
    assert text.verdict == "rejected"


# -- hostile text -------------------------------------------------------------------------


def _hostile(tmp_path: Path, data: bytes) -> list[str]:
    path = tmp_path / "inputs" / "channels" / "链家" / "x.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    item = InputFile(path, "channels/链家/x.txt", "channels", "链家")
    outcome = read_input(item, RULES, AliasTable.build(RULES.columns))
    if outcome.rejected is not None:
        return [outcome.rejected.code]
    cells = [c for s in outcome.sheets if s.cells is not None for c in s.cells.drop("__row").rows()]
    assert all(len(v) <= 2 * wechat.MAX_LINE_CHARS for row in cells for v in row if v)
    return [s.kind or "" for s in outcome.sheets]


@pytest.mark.parametrize(
    "data",
    [
        ("客户：张三 电话：138****1234" + "啊" * 2_000_000).encode(),  # a huge line
        "😀".encode() * 250_000,  # 1 MB of emoji, no line break
        ("\u202e\u200f客户\x00\x1b：张三\x07 电话：138****1234\n" * 1000).encode(),
        bytes(range(256)) * 400,  # a binary file named .txt
        b"\xff\xfe" + "客户：张三 电话：138****1234\r\n".encode("utf-16-le") * 5000,
        ("2026-12-01 10:00:00 某人\n" + "138****1234 " * 50_000).encode(),
        b"\n" * 500_000,
    ],
    ids=["huge-line", "emoji", "controls", "binary", "utf16", "many-numbers", "blank"],
)
def test_hostile_text_never_crashes(tmp_path, data):
    assert _hostile(tmp_path, data)


def test_work_is_linear_in_the_lines_not_their_length():
    # A line is cut before any pattern sees it: a longer line costs no more parsing.
    long = "客户：张三 电话：138****1234 " + "备注" * 100_000
    assert len(wechat.clean_line(long)) == wechat.MAX_LINE_CHARS
    assert wechat.clean_line("\u202e张\u200b三\x00") == "张三"


def test_many_customers_in_one_message_are_each_read():
    # One pasted block of 20,000 labelled customers: each 电话 finds its 客户 in turn.
    lines = [f"客户：张{i % 10}\n电话：138****{i % 10_000:04d}" for i in range(20_000)]
    [reading] = _reports("2026-12-01 10:00:00 某人\n" + "\n".join(lines))
    assert len(reading.customers) == 20_000
    assert reading.customers[-1] == wechat.Customer("张9", "138****9999")


def test_an_unclosed_quote_hides_only_its_own_lines():
    text = "2026-12-01 10:00:00 某人\n「引用没有结尾\n\n张三138****1234链家09:00"
    assert [r.line for r in _reports(text)] == [4]


def test_a_binary_file_is_refused_as_not_text(tmp_path):
    path = tmp_path / "x.txt"
    path.write_bytes(bytes(range(256)) * 10)
    with pytest.raises(FileRejected) as caught:
        read_file(path, Limits())
    assert caught.value.code in {"not_spreadsheet", "bad_encoding"}


def test_rows_respect_the_row_limit(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("2026-12-01 10:00:00 某人\n" + "张三138****1234\n" * 50, "utf-8")
    with pytest.raises(FileRejected) as caught:
        read_file(path, Limits(max_rows=10))
    assert caught.value.code == "over_limit"


def test_utf16_without_a_bom_is_detected():
    assert wechat.decode_text("客户：张三 2026".encode("utf-16-le")) == "客户：张三 2026"
    assert wechat.decode_text("abc 客户".encode("utf-16-be")) == "abc 客户"
    assert wechat.decode_text(codecs.BOM_UTF8 + "张三".encode()) == "张三"


def test_message_rows_match_the_header_columns():
    [reading] = _reports(CHAT.split("\n\n")[0])
    [row] = list(wechat.rows_of(reading))
    assert set(row) <= set(wechat.HEADERS)
    frame = pl.DataFrame([row])
    assert frame["客户电话"][0] == "138****1234"


# -- any report, in any documented shape, reads back as the same report ------------------


def _pattern(phone: str) -> str:
    parsed = parse_phone(phone)
    assert parsed.phones, phone
    return parsed.phones[0].pattern


@settings(max_examples=300, deadline=None)
@given(report=render.reports(), shape=st.sampled_from(sorted(render.FORMATS)))
def test_any_rendered_report_reads_back(report, shape):
    [reading] = _reports(render.FORMATS[shape](report))
    assert reading.problem is None
    [customer] = reading.customers
    assert customer.name == report.name
    assert customer.phone is not None and _pattern(customer.phone) == _pattern(report.phone)
    assert reading.reported_at is not None
    assert datetime.fromisoformat(reading.reported_at) == report.at
    assert reading.fields.get("channel") == report.company
    if shape not in render.NO_AGENT:
        assert reading.fields.get("agent") == report.agent


@settings(max_examples=40, deadline=None)
@given(report=render.reports(), shape=st.sampled_from(sorted(render.FORMATS)))
def test_a_message_is_the_same_report_as_its_spreadsheet_row(tmp_path_factory, report, shape):
    folder = tmp_path_factory.mktemp("ws") / "inputs" / "channels" / "链家"
    folder.mkdir(parents=True)
    message = folder / "群聊.txt"
    message.write_text(render.FORMATS[shape](report), encoding="utf-8")
    agent = "" if shape in render.NO_AGENT else report.agent
    sheet = folder / "报备.csv"
    sheet.write_text(
        "客户姓名,客户电话,报备时间,经纪人,渠道\n"
        f"{report.name},{report.phone},{report.at:%Y-%m-%d %H:%M},{agent},{report.company}\n",
        encoding="utf-8",
    )
    aliases = AliasTable.build(RULES.columns)
    keys = []
    for path in (message, sheet):
        item = InputFile(path, f"channels/链家/{path.name}", "channels", "链家")
        [outcome] = read_input(item, RULES, aliases).sheets
        assert outcome.normalised is not None and outcome.normalised.errors.height == 0
        keys.append(outcome.normalised.records["row_key"].to_list())
    assert keys[0] == keys[1]


HOSTILE = st.lists(
    st.sampled_from(
        list("客户姓名电话报备时间项目公司经纪人：: \n\t,，【】[]「」0123456789*x×-+/.年月日点半")
        + ["\x00", "\x1b", "\u202e", "\u200b", "\ufeff", "😀", "①", "１", "＊", "\r"]
        + ["2026-12-01 10:15 ", "138****1234", "张三", "明天", "下午", "今天15:15", "—— "]
    ),
    max_size=300,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=HOSTILE)
def test_any_text_reads_without_crashing_and_shows_no_control_characters(text):
    for reading in wechat.readings(text, "山湖一号"):
        for row in wechat.rows_of(reading):
            for value in row.values():
                assert value is None or not any(
                    ch < " " or ch in "\u202e\u200b\ufeff" for ch in value
                ), value


@pytest.mark.parametrize(
    ("text", "types"),
    [
        # a tag on the message, on its own line or before the fields
        ("张经理  2026-12-01 10:15\n【临报】\n客户：王先生\n电话：138****1234", ["临报"]),
        ("张经理  2026-12-01 10:15\n【临报】客户：王先生 电话：138****1234", ["临报"]),
        ("张经理  2026-12-01 10:15\n[预报备] 王先生 138****1234", ["预报备"]),
        # a type word opening the message
        ("张经理  2026-12-01 10:15\n临报：张三133****3333正盛15:15", ["临报"]),
        ("张经理  2026-12-01 10:15\n延期申请 张先生 138****1234", ["延期申请"]),
        # the title in the sender's place of a header
        ("【延期申请】2026年12月2日 10:30\n客户：张先生 电话：138****1234", ["延期申请"]),
        # a labelled 报备类型 wins over a title
        (
            "【临报】2026年12月2日 10:30\n报备类型：预报备\n客户：王女士\n电话：139****5678",
            ["预报备"],
        ),
        # a title above a column of one-liners names them all
        (
            "张经理  2026-12-01 15:16\n临报\n张三133****3333正盛\n李四135****4444正盛",
            ["临报", "临报"],
        ),
        # none: a plain report, and 报备 alone names no type
        ("张经理  2026-12-01 10:15\n客户：王女士 电话：139****5678", [None]),
        ("【报备】2026年12月2日 10:30\n客户：王女士 电话：139****5678", [None]),
        # 报备 alone names no type, and is no unused label either
        ("李四 2026-12-01 10:15\n报备：张先生 138****1234 明天下午到访", [None]),
        # another kind of 类型 is no 报备类型 (物业类型 is the flat's use), and is listed unused
        ("张经理  2026-12-01 10:15\n客户：王女士 电话：139****5678\n物业类型：住宅", [None]),
        # a word inside a remark is no title
        ("张经理  2026-12-01 10:15\n客户：王女士 电话：139****5678 备注：下周申请延期", [None]),
    ],
)
def test_a_message_names_its_report_type(text, types):
    read = [r for r in wechat.readings(text) if r.is_report]
    assert [r.fields.get("report_type") for r in read] == types
    assert all(r.problem is None for r in read)
    assert all(not r.unused or r.unused == ["物业类型"] for r in read)
    assert [row["报备类型"] for r in read for row in wechat.rows_of(r)] == types


@pytest.mark.parametrize(
    ("text", "read"),
    [
        # a 报备群 nickname with the agent's number is the header of the message below it:
        # the number is the agent's, never a second customer
        (
            "链家-李四-13900000001  2026-12-01 10:15\n客户：张先生 电话：138****1234",
            [("张先生", "138****1234", "链家-李四", "13900000001")],
        ),
        (
            "链家李四139****0001 2026-12-01 10:15\n客户：张先生\n电话：138****1234",
            [("张先生", "138****1234", "链家李四", "139****0001")],
        ),
        # a bracket pair inside a nickname is part of it; one around all of it is not
        (
            "【链家】李四 2026-12-01 10:15\n客户：张先生 电话：138****1234",
            [("张先生", "138****1234", "【链家】李四", None)],
        ),
        (
            "[张三] 2026-12-01 10:15\n客户：王女士 电话：139****5678",
            [("王女士", "139****5678", "张三", None)],
        ),
        # a number given as its first three and last four digits, and said so
        (
            "链家-王五 2026-12-01 10:20\n报备：张女士，前三后四 138 5678，明天上午10点到",
            [("张女士", "138****5678", "链家-王五", None)],
        ),
        # ... while label-less one-liners with a time each stay reports
        (
            "张三 13812345678 2026-12-01 10:15\n李四 13912345678 2026-12-01 10:20",
            [("张三", "13812345678", None, None), ("李四", "13912345678", None, None)],
        ),
    ],
)
def test_a_nickname_with_the_agents_number_heads_its_message(text, read):
    reports = [r for r in wechat.readings(text) if r.is_report]
    assert [
        (c.name, c.phone, r.fields.get("agent"), r.fields.get("agent_phone"))
        for r in reports
        for c in r.customers
    ] == read
    assert all(r.problem is None and r.reported_at for r in reports)


YEARLESS_HEADERS = """王五 12/1 10:15
客户：陈先生 电话：138****1111

王五(12月1日 10:16):
客户：刘女士 电话：139****2222
"""


def test_a_send_time_without_its_year_is_read_against_the_files_date(tmp_path):
    """WeChat shows a message of this year as `12月1日 10:16`: the chat line's time, whose
    year is read as a year-less cell's is (the file's date), never the file's time."""
    import os

    read = [r for r in wechat.readings(YEARLESS_HEADERS) if r.is_report]
    assert [(r.line, r.reported_at, r.problem) for r in read] == [
        (2, "12/1 10:15", None),
        (5, "12月1日 10:16", None),
    ]
    item = _workspace_file(tmp_path, YEARLESS_HEADERS)
    saved = datetime(2027, 1, 5, 9, 0).timestamp()  # copied out in the new year
    os.utime(item.path, (saved, saved))
    [sheet] = read_input(item, RULES, AliasTable.build(RULES.columns)).sheets
    assert sheet.normalised.records.sort("row_no")["event_at"].to_list() == [
        "2026-12-01T10:15:00+08:00",
        "2026-12-01T10:16:00+08:00",
    ]


TIMES_ALONE = """链家-李四 10:15
1.张先生 138****5678
2.李女士 139****1234

链家-王五 10:20
客户：赵先生 电话：136****1111

2026-11-19
链家-王五 09:05
客户：孙女士 电话：135****2222
"""


def test_a_chat_of_one_day_is_dated_by_a_day_until_a_day_line_says_another():
    read = wechat.readings(TIMES_ALONE, "山湖一号", date(2026, 11, 18))
    assert [(r.line, r.reported_at) for r in read if r.is_report] == [
        (2, "2026-11-18 10:15:00"),
        (3, "2026-11-18 10:15:00"),
        (6, "2026-11-18 10:20:00"),
        (10, "2026-11-19 09:05:00"),
    ]


@pytest.mark.parametrize(
    ("name", "accepted"),
    [
        ("群聊_2026-11-18.txt", 4),
        ("报备群2026年11月18日.txt", 4),
        # a name stating no one day dates nothing: the file's own time never stands in
        # for a send time, so only the message under the day line is read
        ("群聊_2026-11.txt", 1),
        ("群聊_2026-11-18_2026-11-19.txt", 1),
        ("群聊.txt", 1),
    ],
)
def test_a_chat_copied_with_its_times_alone_is_dated_by_its_file_name(tmp_path, name, accepted):
    """A day's chat copied with its times alone (`链家-李四 10:15`) is of the day its file's
    name states (`stated_day`), in `check`, `run` and a re-read alike."""
    folder = tmp_path / "inputs" / "channels" / "链家"
    folder.mkdir(parents=True)
    (folder / name).write_text(TIMES_ALONE, encoding="utf-8")
    item = InputFile(folder / name, f"channels/链家/{name}", "channels", "链家")
    [sheet] = read_input(item, RULES, AliasTable.build(RULES.columns)).sheets
    assert sheet.accepted == accepted
    checked = wechat.message_lines(folder / name, "山湖一号")
    assert sum("拒收" not in line for line in checked if "行：" in line) == accepted
