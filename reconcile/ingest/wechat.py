"""WeChat 报备 messages (SPEC 4.2): a `.txt` of pasted messages or a chat export, read
into the raw sheet a report spreadsheet gives, so that everything after reading is the
spreadsheet path.

The reader is general, not one pattern per format (docs/wechat-formats.md lists the
formats it was built from):

- the text is split into messages at chat header lines (`张三  2026-12-01 10:15`,
  `2026-12-01 10:15:03 张三`, `张三 12月1日 10:15`, `[2026-12-01 10:15] 张三: …`) and at
  blank lines; a block of label-less lines holding several numbers is one message per
  line (a column of 临报 one-liners);
- each line is cleaned (control, bidi and zero-width characters dropped, NFKC folded,
  bullets and numbering taken off, `【标签】` read as `标签：`) and cut at
  `MAX_LINE_CHARS`, so a hostile line costs at most that much;
- labels come from the report kind's header aliases (`reconcile.config.kinds`) plus the
  words messages use (`MESSAGE_LABELS`), followed by `：` `:` or a space; several fields
  may share a line, and a value ends where the next label starts;
- text outside labels is scanned for numbers: the words before a number are its
  customer's name, the words after the last one the company and the send time
  (`张三133****3333正盛15:15`), so `刘先生186****9892 李先生187****2924` is two reports.

Every message that carries a customer becomes one row per customer; a message that looks
like a report but cannot be taken (no customer, no time, another project) becomes one
row whose `消息问题` cell says why, quoting the message's start: the normaliser turns it
into a row error (`RowError.MESSAGE_REJECTED`). Chatter (`收到`, `[图片]`) is no report.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path

import polars as pl

from reconcile.config.kinds import FIELDS
from reconcile.config.rules import TYPE_KIN
from reconcile.ingest.limits import Bounds
from reconcile.ingest.readers import FileRejected, RawSheet
from reconcile.normalise import dates
from reconcile.normalise.names import name_parts, same_project
from reconcile.normalise.phones import FOLDED_MASKS, front_and_back
from reconcile.normalise.places import MESSAGES
from reconcile.normalise.table import ROW

MAX_LINE_CHARS = 1_000  # a line is read up to here: no real message line is longer
QUOTE_CHARS = 80  # how much of a rejected message its row error quotes
_SNIFF_BYTES = 64 * 1024
_ANY_DAY = date(2001, 6, 15)  # a reference for telling whether a date was written with its year

# The columns a message becomes: labels the report kind already reads. `消息问题` first:
# a rejected message's row then never starts with a note word (备注/说明) and is kept.
PROBLEM = "消息问题"
_WHERE = "微信消息文件"
HEADERS: tuple[str, ...] = (
    PROBLEM,
    "客户姓名",
    "客户性别",
    "客户电话",
    "报备时间",
    "报备类型",
    "预计到访时间",
    "经纪人",
    "经纪人电话",
    "渠道",
    "门店",
    "项目",
    "备注",
)
_COLUMN = {
    "customer_name": "客户姓名",
    "gender": "客户性别",
    "phone": "客户电话",
    "reported_at": "报备时间",
    "report_type": "报备类型",
    "expected_visit_at": "预计到访时间",
    "agent": "经纪人",
    "agent_phone": "经纪人电话",
    "channel": "渠道",
    "branch": "门店",
    "project": "项目",
    "remark": "备注",
}

# Words messages use beside the spreadsheet headers of `kinds.FIELDS` (SPEC 4.2: a
# message's 置业顾问 is the agent who reports; 带看时间/到访时间 is when the visit is planned).
MESSAGE_LABELS: dict[str, str] = {
    "客户名字": "customer_name", "客户名": "customer_name", "称呼": "customer_name",
    "报备客户": "customer_name", "客户姓氏": "customer_name", "姓氏": "customer_name",
    "客户号码": "phone", "客户手机号码": "phone", "电话号码": "phone", "手机号码": "phone",
    "报备时间": "reported_at", "报备日期": "reported_date", "提报时间": "reported_at",
    "发送时间": "reported_at",
    "到访时间": "expected_visit_at", "带看时间": "expected_visit_at",
    "看房时间": "expected_visit_at", "客户预计到访时间": "expected_visit_at",
    "预计到案时间": "expected_visit_at", "预计来访时间": "expected_visit_at",
    "到访": "expected_visit_at", "预计来访": "expected_visit_at",
    "置业顾问": "agent", "渠道专员姓名": "agent", "项目报备人": "agent",
    "经纪人姓名": "agent", "对接人": "agent", "报备人员": "agent",
    "置业顾问电话": "agent_phone", "渠道专员联系方式": "agent_phone",
    "报备经纪人手机号": "agent_phone", "报备人联系方式": "agent_phone",
    "经纪人手机号码": "agent_phone", "渠道专员手机": "agent_phone",
    "报备人公司": "channel", "分销公司": "channel", "分销商": "channel",
    "报备楼盘": "project", "意向楼盘": "project", "项目名称": "project",
}  # fmt: skip
_READ_FIELDS = (
    "customer_name", "gender", "phone", "reported_at", "reported_date", "date", "time",
    "expected_visit_at", "agent", "agent_phone", "channel", "branch", "project", "remark",
    "report_type",
)  # fmt: skip
# Spreadsheet headers too loose for free text (`号码` in 经纪人号码, `类型`): left out.
_TOO_LOOSE = frozenset({"号码", "OCstAllTel", "说明", "中介", "收款单位", "收款方", "类型"})
# Generic number labels: after an agent on the same line they are the agent's number.
_GENERIC_PHONE_LABELS = frozenset({"电话", "手机", "手机号", "联系电话", "联系方式", "手机号码"})


def _labels() -> dict[str, str]:
    table = {
        alias: name
        for name in _READ_FIELDS
        for alias in FIELDS[name].aliases
        if alias not in _TOO_LOOSE and re.fullmatch(r"[\u4e00-\u9fff]{1,10}", alias)
    }
    table.update(MESSAGE_LABELS)
    return table


LABELS = _labels()
_LABEL_WORDS_RE = re.compile(
    "(?:" + "|".join(re.escape(label) for label in sorted(LABELS, key=len, reverse=True)) + ")+"
)
# The alternation is tried only where a label can start: text without those characters
# costs one class test a position, not one test a label.
_LABEL_ALTERNATION = "(?=[{}])(?:{})".format(
    "".join(sorted({re.escape(label[0]) for label in LABELS})),
    "|".join(re.escape(label) for label in sorted(LABELS, key=len, reverse=True)),
)
# A label, an optional customer number (客户2), then `:` — or whitespace when the label
# starts the line or follows a separator (报备人 李四).
_LABEL_RE = re.compile(
    rf"(?P<a>{_LABEL_ALTERNATION})(?P<an>[0-9]?)\s*[:=]\s*"
    rf"|(?<![^\s,;、|])(?P<b>{_LABEL_ALTERNATION})(?P<bn>[0-9]?)\s+(?=\S)"
)
_BRACKET_LABEL_RE = re.compile(rf"[【\[]\s*({_LABEL_ALTERNATION})([0-9]?)\s*[】\]]\s*:?")
_OTHER_LABEL_RE = re.compile(r"(?<![^\s,;、|])([\u4e00-\u9fff]{2,8})\s*:")

_MASK = re.escape("".join(sorted(FOLDED_MASKS)))  # after NFKC, as every line is
_PHONE_RE = re.compile(
    rf"(?<![0-9])(?:(?:\+86|0086|86)[- ]?)?1[3-9](?:[0-9{_MASK}]|-(?=[0-9{_MASK}])){{5,14}}"
    rf"(?![0-9])"
    # 138 1234 5678, 138 **** 1234, 138-xxxx-1234: groups parted by a space
    rf"|(?<![0-9])1[3-9][0-9][ -][0-9{_MASK}]{{2,5}}[ -][0-9]{{3,5}}(?![0-9])"
)
_SEPARATORS = " \t,;、|/:.。!！~-—"
_HONORIFIC = r"(?:先生|女士|小姐|老板|总|老师|阿姨|叔叔|姐|哥)"
_NAME_RE = re.compile(rf"[\u4e00-\u9fff·]{{1,4}}{_HONORIFIC}?\**|[\u4e00-\u9fff]\*{{1,3}}")
_NAME_AT_END_RE = re.compile(rf"(?:{_NAME_RE.pattern})$")
# Words around a one-liner that are not the agency it names.
_FILLER = frozenset(
    {"预计", "左右", "到访", "来访", "报备", "临报", "预报", "客户", "谢谢", "请", "麻烦",
     "确认", "新客", "今天", "明天", "后天", "上午", "下午", "晚上", "中午", "带看", "看房",
     "过来", "一组", "两组", "一位", "两位", "准时", "马上", "现在", "已到", "到了", "男", "女"}
)  # fmt: skip
# A list of customers in one 客户 field (a couple's `张三/李四` stays one name).
_NAME_LIST_RE = re.compile(r"[、,;\s]+")
_NOT_COMPANY_PREFIXES = (
    "意向", "预算", "需求", "首付", "改善", "刚需", "面积", "户型", "约", "已", "请", "于",
)  # fmt: skip
# A system's confirmation forwarded to the group (已报备至山湖一号，保护期至…): a clause, no
# agency.
_NOT_COMPANY_PARTS = ("报备", "保护", "成功", "项目", "楼盘", "有效", "带看")
_TIME_WORDS = ("今天", "明天", "后天", "上午", "下午", "晚上", "中午", "看房", "到访", "来访")
_GENDER_WORDS = frozenset({"男", "女", "男士", "女士"})
_NUMBER_WORDS = frozenset({"全号", "全号码", "完整号码", "尾号", "手机尾号", "号码", "隐号"})
_NAME_NOISE = ("报备", "临报", "预报", "新客", "客户", "带看", "到访", "姓名", "新增")
_PERIOD = r"(?:凌晨|早上|早晨|上午|中午|下午|傍晚|晚上)"
_CLOCK = (
    r"(?:凌晨|早上|早晨|上午|中午|下午|傍晚|晚上)?\s*"
    r"[0-9]{1,2}(?::[0-9]{2}(?::[0-9]{2})?|点半?(?:[0-9]{1,2}分?)?)"
)
_DAY = (
    r"(?:今天|今日|明天|明日|后天|昨天|昨日|前天"
    r"|[0-9]{4}[-/.年][0-9]{1,2}[-/.月][0-9]{1,2}日?|[0-9]{1,2}月[0-9]{1,2}[日号]?)"
)
_VISIT_RE = re.compile(
    rf"(?P<when>(?:{_DAY}\s*)?{_CLOCK}|{_DAY}\s*{_PERIOD}?)\s*(?:左右)?\s*"
    r"(?:到访|来访|看房|到案|带看|过来|到)"
)
# A developer system's confirmation says when the report was made, unlabelled (您好，客户
# 赵先生…已于2026年11月18日10:05成功报备【山湖一号】): the message's own report time.
_REPORTED_RE = re.compile(
    rf"已?于\s*(?P<when>{_DAY}\s*(?:{_CLOCK})?)\s*(?:成功|完成)?(?:提交)?报备"
)
_TRAILING_PERIOD_RE = re.compile(rf"\s*{_PERIOD}$")
_TRAILING_TIME_RE = re.compile(rf"(?P<when>(?:{_DAY}\s*)?{_CLOCK})\s*$")
_RELATIVE_DAYS = {
    "前天": -2, "昨天": -1, "昨日": -1, "今天": 0, "今日": 0, "明天": 1, "明日": 1, "后天": 2,
}  # fmt: skip
_RELATIVE_RE = re.compile("|".join(_RELATIVE_DAYS))
_NOW = frozenset({"刚刚", "现在", "即时", "此刻", "当前"})

# Chat header lines: who sent the message and when.
_YMD = r"[0-9]{4}[-/.年][0-9]{1,2}[-/.月][0-9]{1,2}日?"
_MD = r"(?:[0-9]{1,2}月[0-9]{1,2}日|[0-9]{1,2}/[0-9]{1,2})"
_HMS = r"(?:上午|下午|晚上|中午|凌晨|早上)?\s*[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?"
_SENDER = r"[^\s:：0-9][^:：]{0,29}?"
_HEADER_RES = (
    # The timestamp line the WeChat window shows above a message, copied with it.
    re.compile(rf"[-—=\s]*(?P<day>{_YMD}|{_MD})\s*(?P<clock>{_HMS})[-—=\s]*"),
    re.compile(
        rf"\[?(?P<day>{_YMD})\s+(?P<clock>{_HMS})\]?\s+(?P<sender>{_SENDER})"
        r"(?::\s*(?P<rest>.*))?"
    ),
    re.compile(
        rf"(?P<sender>{_SENDER})\s*[(（]?(?P<day>{_YMD}|{_MD})\s*(?P<clock>{_HMS})[)）]?\s*:?"
    ),
    # A time alone is dated by the day line above it; its sender then has no digit at all.
    re.compile(rf"(?P<sender>[^\s:：0-9][^:：0-9]{{0,29}}?)\s+(?P<clock>{_HMS})\s*:?"),
)
_CLOCK_HINT = re.compile(r"[0-9]:[0-9]{2}")  # every header has one: most lines are skipped
_HEADER_CHARS = 80
# Title words some agencies put where a sender would be (【报备】2026年12月2日 10:30).
_TITLES = frozenset({"报备", "临报", "预报", "预报备", "报备信息", "客户报备", "新报备"})
# A message's 报备类型 written as its title (【临报】, `临报：张三133****3333`, a 【延期申请】
# header), kept as written: the normaliser matches it to the rules' names and SPEC 6.8's
# 延期 (`config.rules.type_named`), as it does a 报备类型 cell.
TYPE_WORDS = frozenset({"临报", *TYPE_KIN, *(word for kin in TYPE_KIN.values() for word in kin)})
_TYPE_ALTERNATION = "|".join(sorted(TYPE_WORDS, key=len, reverse=True))
_TYPE_TAG_RE = re.compile(rf"[【\[]\s*({_TYPE_ALTERNATION})\s*[】\]]")
_TYPE_LEAD_RE = re.compile(rf"({_TYPE_ALTERNATION})(?=\s*[:：]|\s|$)")
_DAY_LINE_RE = re.compile(
    rf"[-—=\s]*(?P<day>{_YMD}|{_MD})(?:\s*(?:星期|周)[一二三四五六日天])?[-—=\s]*"
)
_RULE_RE = re.compile(r"(?:[-—_=·•*]\s*){3,}")
_CHATTER_RE = re.compile(r"\[(?:图片|语音|视频|表情|表情包|文件|链接|动画表情|位置|名片)\]")

_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]"
)
# ①②③ number fields; NFKC would make them digits glued to the value before.
_CIRCLED = str.maketrans(dict.fromkeys("①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳", " "))
_LEADING_NOISE = re.compile(r"^(?:\s|[0-9]{1,2}[.、)]\s*|[(（][0-9]{1,2}[)）]|[^\w【\[(（*])+")


@dataclass(frozen=True)
class Customer:
    name: str | None
    phone: str | None
    gender: str | None = None


@dataclass
class Message:
    """One message: its first line's number, its cleaned lines, and its chat header."""

    line: int
    lines: list[str]
    sender: str | None = None
    sent_at: datetime | None = None
    sent_day: date | None = None
    title: str | None = None  # a 报备类型 its chat header named (【临报】2026-12-02 10:30)
    # A send time written without its year (王五 12月1日 10:16) and no day line to give it:
    # kept as written, for the normaliser to read against the file's date, as a cell is.
    sent_text: str | None = None


@dataclass
class Reading:
    """How one message was read: what `check` shows and what becomes its rows."""

    line: int
    customers: list[Customer]
    fields: dict[str, str] = field(default_factory=dict)  # field -> value as written
    unused: list[str] = field(default_factory=list)  # labels nothing reads
    reported_at: str | None = None  # `YYYY-MM-DD HH:MM:SS` (or a day alone)
    time_source: str = ""
    expected_at: str | None = None
    problem: str | None = None
    quote: str = ""

    @property
    def is_report(self) -> bool:
        return bool(self.customers) or self.problem is not None


# -- text --------------------------------------------------------------------------------


def decode_text(data: bytes) -> str:
    """UTF-8 (± BOM), UTF-16 (Windows exports, with or without BOM) or GB18030."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _checked(data.decode("utf-16", errors="replace"))
    else:
        utf16 = _bomless_utf16(data[:_SNIFF_BYTES])
        if utf16 is not None:
            return _checked(data.decode(utf16, errors="replace"))
    for encoding in ("utf-8", "gb18030"):
        try:
            return _checked(data.decode(encoding))
        except UnicodeDecodeError:
            continue
    raise FileRejected(
        "文本文件编码无法识别（不是 UTF-8、UTF-16 或 GBK），可能不是文本文件；"
        "请从微信重新复制消息，保存为 UTF-8 文本后提交",
        "bad_encoding",
    )


def _bomless_utf16(head: bytes) -> str | None:
    """UTF-16 without a BOM: ASCII and most CJK leave every other byte zero."""
    pairs = len(head) // 2
    if pairs < 2:
        return None
    even = head[0 : 2 * pairs : 2].count(0)
    odd = head[1 : 2 * pairs : 2].count(0)
    if odd > pairs * 0.3 and even < pairs * 0.05:
        return "utf-16-le"
    if even > pairs * 0.3 and odd < pairs * 0.05:
        return "utf-16-be"
    return None


def _checked(text: str) -> str:
    """Text, not a binary file that happened to decode."""
    sample = text[:_SNIFF_BYTES]
    controls = sum(1 for ch in sample if ch < " " and ch not in "\t\r\n") + sample.count("\ufffd")
    if "\x00" in sample or controls > max(8, len(sample) // 100):
        raise FileRejected("文件含有二进制内容，不是微信消息或文本表格", "not_spreadsheet")
    return text


def clean_line(text: str) -> str:
    """A line as the parser reads it: bounded, invisible characters dropped, NFKC folded."""
    text = _CONTROL.sub("", text[: 4 * MAX_LINE_CHARS]).translate(_CIRCLED).replace("\t", " ")
    return front_and_back(unicodedata.normalize("NFKC", text)[:MAX_LINE_CHARS].strip())


def quote(lines: Iterable[str]) -> str:
    """The start of a message for a row error: one line, no control characters."""
    joined = " ".join(line for line in lines if line)
    return _CONTROL.sub("", joined)[:QUOTE_CHARS]


# -- messages ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatHeader:
    sender: str | None
    sent_at: datetime | None
    day: date | None
    rest: str  # content on the header line itself (`[10:15] 张三: 内容`)
    title: str | None = None  # the 报备类型 a title word in the sender's place names
    sent_text: str | None = None  # a send time written without its year (Message.sent_text)


@lru_cache(maxsize=4096)  # senders, days and clocks repeat through a chat
def _is_label(text: str) -> bool:
    head = text.strip().rstrip(":")
    return head in LABELS or bool(_LABEL_RE.match(_prepared(text) + " x"))


def parse_header(line: str, day: date | None, numbered_sender: bool = False) -> ChatHeader | None:
    """A chat export's sender/timestamp line, dated by `day` when it gives only a time.
    A sender holding a phone number is taken only with `numbered_sender` (see
    `split_messages`): `张三 13812345678 2026-12-01 10:15` may as well be a report."""
    if len(line) > _HEADER_CHARS or not _CLOCK_HINT.search(line):
        return None
    for pattern in _HEADER_RES:
        match = pattern.fullmatch(line)
        if match is None:
            continue
        groups = match.groupdict()
        sender = (groups.get("sender") or "").strip()
        if sender and (_is_label(sender) or (_PHONE_RE.search(sender) and not numbered_sender)):
            return None
        sender = _unwrapped(sender.strip("-— "))
        written = groups.get("day")
        on = _day_of(written, day) if written else day
        clock = _clock_of(match["clock"])
        sent_at = datetime.combine(on, clock) if on is not None and clock is not None else None
        yearless = sent_at is None and written and clock is not None and _yearless(written)
        shown = None if not sender or sender in _TITLES or sender in TYPE_WORDS else sender
        rest = (groups.get("rest") or "").strip()
        title = sender if sender in TYPE_WORDS else None
        sent_text = f"{written} {match['clock'].strip()}" if yearless else None
        return ChatHeader(shown, sent_at, on, rest, title, sent_text)
    return None


@lru_cache(maxsize=4096)
def _day_of(text: str, ref: date | None) -> date | None:
    parsed = dates.parse_datetime(text, ref=ref or _ANY_DAY)
    if parsed.value is None:
        return None
    if ref is None and parsed.year_inferred:
        return None
    return parsed.value.date()


@lru_cache(maxsize=4096)
def _clock_of(text: str) -> time | None:
    return dates.parse_time(text)


def _unwrapped(sender: str) -> str:
    """A sender without the one bracket pair around all of it (【报备】, [张三]); a pair
    inside (【链家】李四) is part of the nickname and stays whole."""
    if len(sender) > 2 and sender[0] in "【[" and sender[-1] in "】]":
        inner = sender[1:-1]
        if not any(mark in inner for mark in "【】[]"):
            return inner.strip()
    return sender


def split_messages(lines: list[str], day: date | None = None) -> list[Message]:
    """Messages from cleaned lines (`lines[i]` is line i + 1): chat headers and blank lines
    part them; a label-less block with several numbers is one message per numbered line.
    `day` dates the headers that give only a time until a day line does: the day the file's
    name states (群聊_2026-11-18.txt, the chat of one day copied with its times alone)."""
    messages: list[Message] = []
    header: ChatHeader | None = None
    block: list[tuple[int, str]] = []

    def flush() -> None:
        if block:
            messages.extend(_block_messages(block, header, day))
            block.clear()

    quoting = False
    for index, line in enumerate(lines, start=1):
        # A quoted reply (「张三：…」 then a dashed rule) repeats an earlier message; it
        # ends at its 」, a rule or a blank line, whichever comes first.
        if quoting or line.startswith("「"):
            quoting = bool(line) and not line.endswith("」") and not _RULE_RE.fullmatch(line)
            if line:
                continue
        if _RULE_RE.fullmatch(line):
            continue
        if not line:
            flush()
            continue
        day_line = _DAY_LINE_RE.fullmatch(line)
        if day_line is not None:
            flush()
            day = _day_of(day_line["day"], day) or day
            continue
        found = parse_header(line, day)
        if (
            found is None
            and index < len(lines)
            and _CLOCK_HINT.search(line)
            and _PHONE_RE.search(line)
            and _names_customer([lines[index]])
        ):
            # 报备群 nicknames carry the agent's number (链家-李四-139…): such a line is a
            # header still when the line below names the customer by a label.
            found = parse_header(line, day, numbered_sender=True)
        if found is not None:
            flush()
            header = found
            day = found.day or day
            if found.rest:
                block.append((index, found.rest))
            continue
        block.append((index, line))
    flush()
    return _merged(messages)


def _block_messages(
    block: list[tuple[int, str]], header: ChatHeader | None, day: date | None
) -> list[Message]:
    def message(part: list[tuple[int, str]]) -> Message:
        return Message(
            part[0][0],
            [text for _, text in part],
            header.sender if header else None,
            header.sent_at if header else None,
            header.day if header and header.day else day,
            header.title if header else None,
            header.sent_text if header else None,
        )

    numbered = [i for i, (_, text) in enumerate(block) if _PHONE_RE.search(text)]
    labelled = any(_LABEL_RE.search(text) for _, text in block)
    if labelled or len(numbered) < 2:
        return [message(block)]
    # A column of one-liners: each numbered line a message, other lines join the one above;
    # a title above the first (临报, 【延期申请】) names the type of them all.
    starts = [0, *numbered[1:]]
    ends = [*numbered[1:], len(block)]
    split = [message(block[s:e]) for s, e in zip(starts, ends, strict=True)]
    title = type_of_lines([text for _, text in block[: numbered[0]]])
    for one in split:
        one.title = title or one.title
    return split


def type_of_lines(lines: list[str]) -> str | None:
    """The 报备类型 a message's lines name as a title: a 【临报】 tag on any line, or a type
    word opening the first line (`临报：张三133****3333`, `延期申请 张先生 …`)."""
    for line in lines:
        tag = _TYPE_TAG_RE.search(line) if "【" in line or "[" in line else None
        if tag is not None:
            return tag[1]
    lead = _TYPE_LEAD_RE.match(_LEADING_NOISE.sub("", lines[0])) if lines else None
    return lead[1] if lead is not None else None


def _merged(messages: list[Message]) -> list[Message]:
    """A block of labelled fields without any number (报备项目/报备公司 above the
    customers) belongs with the next message of the same sender, else the previous one."""
    out: list[Message] = []
    pending: Message | None = None
    for message in messages:
        has_number = any(_PHONE_RE.search(text) for text in message.lines)
        labelled = any(_LABEL_RE.search(text) for text in message.lines)
        if not has_number and labelled and not _names_customer(message.lines):
            if pending is not None and pending.sender == message.sender:
                pending.lines += message.lines
            else:
                if pending is not None:
                    out.append(pending)
                pending = message
            continue
        if pending is not None and pending.sender == message.sender:
            message = Message(
                pending.line,
                pending.lines + message.lines,
                message.sender,
                message.sent_at or pending.sent_at,
                message.sent_day or pending.sent_day,
                message.title or pending.title,
                message.sent_text or pending.sent_text,
            )
            pending = None
        elif pending is not None:
            out.append(pending)
            pending = None
        out.append(message)
    if pending is not None:
        if out and out[-1].sender == pending.sender:
            out[-1].lines += pending.lines
        else:
            out.append(pending)
    return out


def _names_customer(lines: list[str]) -> bool:
    return any(
        LABELS.get(match["a"] or match["b"]) in ("customer_name", "phone")
        for text in lines
        for match in _LABEL_RE.finditer(text)
    )


# -- one message -------------------------------------------------------------------------


_SLOTS = {"customer_name": "name", "phone": "phone", "gender": "gender"}


@dataclass
class _Draft:
    name: str | None = None
    phone: str | None = None
    gender: str | None = None


def _prepared(line: str) -> str:
    line = _LEADING_NOISE.sub("", line)
    return _BRACKET_LABEL_RE.sub(lambda m: f"{m[1]}{m[2]}: ", line)


def _labelled(line: str) -> tuple[list[tuple[str, str, str]], list[str]]:
    """(field, index, value) of each label on the line, and the text outside labels."""
    found: list[tuple[str, str, str]] = []
    free: list[str] = []
    matches = list(_LABEL_RE.finditer(line))
    if not matches:
        return [], [line]
    if matches[0].start() > 0:
        free.append(line[: matches[0].start()])
    after_agent = False
    for here, following in zip(matches, [*matches[1:], None], strict=True):
        label = here["a"] or here["b"]
        number = here["an"] or here["bn"] or ""
        value = line[here.end() : following.start() if following else len(line)]
        value = _trim(value)
        name = LABELS[label]
        if name == "phone" and after_agent and label in _GENERIC_PHONE_LABELS:
            name = "agent_phone"
        after_agent = name == "agent"
        found.append((name, number, value))
    return found, free


def _trim(value: str) -> str:
    """A value without separators or emoji at its ends (👤客户：张三 📱电话：…)."""
    value = value.strip(_SEPARATORS)
    while value and unicodedata.category(value[-1]) in ("So", "Sk", "Cn", "Co"):
        value = value[:-1].strip(_SEPARATORS)
    return value


def _phones_in(text: str) -> list[re.Match[str]]:
    return list(_PHONE_RE.finditer(text))


def _label_word(word: str) -> bool:
    """A word that is only labels (电话, 客户电话, 联系方式手机)."""
    return bool(word) and _LABEL_WORDS_RE.fullmatch(word) is not None


def _name_before(text: str) -> str | None:
    text = text.strip(_SEPARATORS + "()（）")
    words = [w for w in re.split(r"[\s,;、|/:()（）【】\[\]]+", text) if w]
    while words and _label_word(words[-1]):  # 张先生 电话138****1234
        words.pop()
    if len(words) > 1 and words[-1] in _GENDER_WORDS:  # 张三 男 1381**12345
        words.pop()
    # 王女士，手机尾号5678，138****5678: a word with digits is no name, nor a word saying
    # which digits follow (陈女士，尾号8888，全号136…); the one before may be.
    while len(words) > 1 and (
        any(ch.isdigit() for ch in words[-1])
        or words[-1] in _NUMBER_WORDS
        or _label_word(words[-1])
    ):
        words.pop()
    if not words:
        return None
    word = words[-1]
    changed = True
    while changed and len(word) > 1:
        changed = False
        for noise in _NAME_NOISE:
            if word.startswith(noise) and len(word) > len(noise):
                word, changed = word[len(noise) :], True
    match = _NAME_RE.fullmatch(word)
    if match is None:
        tail = _NAME_AT_END_RE.search(word)
        return tail.group(0) if tail else None
    return word


def _free_customers(texts: list[str]) -> tuple[list[Customer], list[str]]:
    """Customers written without labels, and the words after each one's number."""
    customers: list[Customer] = []
    tails: list[str] = []
    for text in texts:
        found = _phones_in(text)
        start = 0
        for index, match in enumerate(found):
            before = text[start : match.start()]
            name = _name_before(before)
            if index > 0 and name is not None:
                # The words between two numbers: the earlier customer's, then this name.
                tails.append(before[: before.rfind(name)] if name in before else before)
            elif index > 0:
                tails.append(before)
            customers.append(Customer(name, match.group(0).replace(" ", "")))
            start = match.end()
        if found:
            tails.append(text[start:])
    return customers, tails


def read_message(message: Message, project: str | None = None) -> Reading:
    """What one message says: customers, the report time and the message's fields."""
    reading = Reading(message.line, [], quote=quote(message.lines))
    drafts: dict[str, _Draft] = {}
    # Per slot, the drafts that may still lack it, oldest first: an unnumbered 客户/电话
    # fills the first customer missing it, found without rescanning every customer.
    lacking: dict[str, deque[_Draft]] = {slot: deque() for slot in _SLOTS.values()}
    fields: dict[str, str] = {}
    free: list[str] = []

    def draft(number: str, field_name: str) -> _Draft:
        slot = _SLOTS[field_name]
        waiting = lacking[slot]
        while waiting and getattr(waiting[0], slot) is not None:
            waiting.popleft()
        key = number or (None if waiting else f"#{len(drafts)}")
        if key is None:
            return waiting[0]
        if key not in drafts:
            drafts[key] = _Draft()
            for queue in lacking.values():
                queue.append(drafts[key])
        return drafts[key]

    for raw in message.lines:
        if _CHATTER_RE.fullmatch(raw):
            continue
        line = _prepared(raw)
        found, outside = _labelled(line)
        for name, number, value in found:
            if name == "customer_name" and _PHONE_RE.search(value):
                free.append(value)  # 客户：张三 138****1234
            elif name in ("customer_name", "phone", "gender"):
                if value:
                    setattr(draft(number, name), _SLOTS[name], value)
            elif value:
                fields.setdefault(name, value)
        for text in outside:
            for other in _OTHER_LABEL_RE.finditer(text):
                if (
                    other[1] not in LABELS
                    and other[1] not in TYPE_WORDS
                    and other[1] not in _TITLES
                    and not _PHONE_RE.match(text, other.end())
                ):
                    reading.unused.append(other[1])
        free += outside

    customers = [c for d in drafts.values() if d.name or d.phone for c in _customers(d)]
    loose, tails = _free_customers(free)
    nickname = _nickname_parts(message.sender)
    loose = _signature_taken(loose, customers, nickname | {fields.get("agent", "")}, fields)
    customers += loose
    reading.customers = [c for c in customers if c.phone or c.name]
    _tail_fields(tails, fields, bool(loose), nickname)
    reading.fields = fields
    if "reported_at" not in fields and any("于" in line for line in message.lines):
        said = _REPORTED_RE.search(" ".join(_prepared(line) for line in message.lines))
        if said is not None:
            fields["reported_at"] = said["when"].strip()
    if message.sender and "agent" not in fields:
        fields["agent"] = message.sender
    agent = fields.get("agent")
    own = _PHONE_RE.search(agent) if agent else None
    if agent and own is not None:  # 报备人：王力 139****0001, a nickname 链家-李四-139…
        fields.setdefault("agent_phone", own.group(0))
        fields["agent"] = (agent[: own.start()] + agent[own.end() :]).strip(_SEPARATORS)
    if "report_type" not in fields:
        titled = type_of_lines(message.lines) or message.title
        if titled is not None:
            fields["report_type"] = titled
    _times(reading, message, fields)
    _check(reading, message, fields, project)
    return reading


def _signature_taken(
    loose: list[Customer],
    labelled: list[Customer],
    agent: frozenset[str],
    fields: dict[str, str],
) -> list[Customer]:
    """Label-less customers less the agent's own signature (`报备：张先生 138****5678
    【链家-李四 13900001111】` sent by 链家-李四): a number after the agent's name, beside
    another customer, is the agent's 经纪人电话, not a customer of its own."""
    if len(loose) + len(labelled) < 2:
        return loose
    kept = []
    for customer in loose:
        if customer.name and customer.name in agent and customer.phone:
            fields.setdefault("agent_phone", customer.phone)
        else:
            kept.append(customer)
    return kept if kept or labelled else loose


def _customers(draft: _Draft) -> list[Customer]:
    """The customer(s) of one 客户/电话 pair: `张三、李四` with two numbers is two."""
    phone = draft.phone
    numbers = [m.group(0).replace(" ", "") for m in _PHONE_RE.finditer(phone or "")]
    names = [n.strip() for n in _NAME_LIST_RE.split(draft.name or "") if n.strip()]
    if len(names) > 1 and len(names) == len(numbers):
        return [Customer(n, p, draft.gender) for n, p in zip(names, numbers, strict=True)]
    if numbers:
        phone = " / ".join(numbers)
    return [Customer(draft.name, phone, draft.gender)]


def _nickname_parts(sender: str | None) -> frozenset[str]:
    """The parts of a nickname that joins an agency and a person (链家-钱七): each may be
    either, so a message's word equal to one names no company by itself."""
    parts = frozenset(name_parts(sender or ""))
    return parts if len(parts) > 1 else frozenset()


def _tail_fields(
    tails: list[str], fields: dict[str, str], one_liner: bool, nickname: frozenset[str]
) -> None:
    """The words after a label-less customer: a visit time, the send time, the company,
    and labels written without a separator (业务员李四). The seeds' 临报 ends with the
    agent's name *or* the agency (业务员姓名或所属分销商): a word that is a part of the
    sender's nickname (钱七 from 链家-钱七) is not taken for the company; the folder says
    the channel, and the nickname the agent."""
    rest: list[str] = []
    for tail in tails:
        text = tail.strip(_SEPARATORS)
        if not text:
            continue
        visit = _VISIT_RE.search(text)
        if visit is not None:
            fields.setdefault("expected_visit_at", visit["when"])
            text = (text[: visit.start()] + " " + text[visit.end() :]).strip(_SEPARATORS)
        when = _TRAILING_TIME_RE.search(text)
        if when is not None and one_liner:
            fields.setdefault("sent_time", when["when"].strip())
            text = text[: when.start()].strip(_SEPARATORS)
        for word in re.split(r"[\s,;、|]+", text):
            word = word.strip(_SEPARATORS + "【】[]()（）")
            if not word:
                continue
            prefix = re.match(_LABEL_ALTERNATION, word)
            if prefix is not None and len(word) > len(prefix.group(0)):
                fields.setdefault(LABELS[prefix.group(0)], word[len(prefix.group(0)) :].strip(":"))
            elif (
                one_liner
                and "channel" not in fields
                and _company_word(word)
                and word not in nickname
            ):
                fields["channel"] = word
            else:
                rest.append(word)
    if rest and one_liner:
        fields.setdefault("remark", " ".join(rest)[:200])


def _company_word(word: str) -> bool:
    """A word after a one-liner's number that can be the agency (正盛), not filler."""
    return (
        len(word) >= 2
        and not any(ch.isdigit() for ch in word)
        and word not in _FILLER
        and not word.startswith(_NOT_COMPANY_PREFIXES)
        and not any(part in word for part in _TIME_WORDS)
        and not any(part in word for part in _NOT_COMPANY_PARTS)
        and not _CHATTER_RE.fullmatch(word)
    )


def resolve_when(text: str, day: date | None) -> tuple[datetime | None, bool, str | None]:
    """(when, has a time of day, why not) for `今天15:15`, `明天上午10点`, `12月1日下午3点`,
    `2026-12-01 10:15` or `15:15`, against the message's own date `day`."""
    text = text.strip()
    relative = _RELATIVE_RE.search(text)
    if relative is not None:
        if day is None:
            return None, False, f"“{text[:20]}”是相对日期，但消息没有发送日期，无法确定是哪一天"
        on = day + timedelta(days=_RELATIVE_DAYS[relative.group(0)])
        text = (text[: relative.start()] + on.isoformat() + " " + text[relative.end() :]).strip()
    parsed = dates.parse_datetime(text, ref=day)
    if parsed.value is None and _TRAILING_PERIOD_RE.search(text):  # 明天上午: the day alone
        parsed = dates.parse_datetime(_TRAILING_PERIOD_RE.sub("", text), ref=day)
        if parsed.value is not None and parsed.error_code is None:
            return parsed.value, False, None
    if parsed.value is not None and parsed.error_code is None:
        return parsed.value, parsed.has_time, None
    clock = dates.parse_time(text)
    if clock is not None:
        if day is None:
            return None, True, f"“{text[:20]}”只有时刻，消息没有发送日期"
        return datetime.combine(day, clock), True, None
    return None, False, f"无法识别的时间“{text[:20]}”"


def _yearless(text: str) -> bool:
    probe = dates.parse_datetime(text.strip(), ref=_ANY_DAY)
    return probe.value is not None and probe.year_inferred and not _RELATIVE_RE.search(text)


def _stamp(when: datetime, has_time: bool) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S") if has_time else when.strftime("%Y-%m-%d")


_CLAUSE_END = re.compile(r"[,;，；。]")


def _times(reading: Reading, message: Message, fields: dict[str, str]) -> None:
    """SPEC 4.2: the message's own 报备时间, else its send time; never the file's."""
    day = message.sent_day
    own = fields.get("reported_at")
    if own is None and "reported_date" in fields:
        own = f"{fields['reported_date']} {fields.get('time', '')}".strip()
    if own is None and "date" in fields:
        own = f"{fields['date']} {fields.get('time', '')}".strip()
    source = "消息中的报备时间"
    if own is None and "sent_time" in fields:
        own, source = fields["sent_time"], "消息末尾的发送时刻"
        when, _, _ = resolve_when(own, day)
        if when is not None and message.sent_at is not None and when > message.sent_at:
            # A time after the message was sent is when the customer comes, not the report.
            fields.setdefault("expected_visit_at", own)
            own = None
    if own is None and "time" in fields:
        own = fields["time"]
    if own in _NOW and message.sent_at is not None:  # 报备时间：刚刚
        own = None
    if own is not None:
        when, has_time, why = resolve_when(own, day)
        if when is None and _CLAUSE_END.search(own):
            # 报备时间：2026-11-18 09:58:12，保护期至…: the time is the clause's first part
            first = _CLAUSE_END.split(own, 1)[0]
            read = resolve_when(first, day)
            if read[0] is not None:
                own, (when, has_time, why) = first, read
        if when is None and day is None and _yearless(own):
            # 07-13 16:44 with no message date: the year is read as a spreadsheet's is.
            reading.reported_at, reading.time_source = own, source
        elif when is None:
            reading.problem = f"报备时间{why}"
        else:
            reading.reported_at, reading.time_source = _stamp(when, has_time), source
            day = day or when.date()
    elif message.sent_at is not None:
        reading.reported_at = _stamp(message.sent_at, True)
        reading.time_source = "聊天记录的发送时间"
    elif message.sent_text is not None:  # 12月1日 10:16: the year is read as a cell's is
        reading.reported_at = message.sent_text
        reading.time_source = "聊天记录的发送时间（年份按文件日期）"
    visit = fields.get("expected_visit_at")
    if visit is not None:
        when, has_time, _ = resolve_when(visit, day)
        reading.expected_at = _stamp(when, has_time) if when is not None else visit


# A message opening with a report title and naming someone (报备：张女士，明天上午10点到)
# is a report, however little else it gives: without a number it is a rejected one.
_TITLE_LEAD_RE = re.compile(
    "(?:{})\\s*[:：]".format("|".join(sorted(_TITLES | TYPE_WORDS, key=len, reverse=True)))
)
_HONORED_RE = re.compile(rf"[\u4e00-\u9fff]{_HONORIFIC}")


def _titled_report(lines: list[str]) -> bool:
    first = _LEADING_NOISE.sub("", lines[0]) if lines else ""
    return bool(_TITLE_LEAD_RE.match(first)) and bool(_HONORED_RE.search(" ".join(lines)))


def _check(reading: Reading, message: Message, fields: dict[str, str], project: str | None) -> None:
    named = fields.get("project")
    if not reading.customers:
        numbered = any(_PHONE_RE.search(text) for text in message.lines)
        titled = _titled_report(message.lines)
        if not (numbered or titled or _names_customer(message.lines)):
            return  # chatter
        if reading.problem is None:
            no_number = titled and not numbered
            reading.problem = "找不到客户的手机号" if no_number else "找不到客户姓名和电话"
    elif reading.problem is not None:
        pass
    elif named and project and not same_project(named, project):
        reading.problem = f"报备项目是“{named[:30]}”，不是本项目“{project}”"
    elif reading.reported_at is None:
        reading.problem = "消息中没有报备时间，也不是带发送时间的聊天记录（不以文件的保存时间代替）"
    if reading.problem is not None:
        reading.problem = f"微信消息未读取：{reading.problem}。消息开头：「{reading.quote}」"


# -- the file ----------------------------------------------------------------------------


def read_lines(text: str) -> list[str]:
    return [clean_line(line) for line in text.splitlines()]


# The cells the ledger keeps of a message file (`RawSheet.kept`): a marker, then every
# line as written, to the length the reader looks at. Re-reading a stored file
# (`reconcile reread`, a new product version) runs the message reader on them again.
TEXT_HEADER = "微信消息原文"


def text_cells(written: list[str]) -> pl.DataFrame:
    """A message file's lines as the ledger keeps them: `__row` 0 the marker, then line 1…"""
    cells = [TEXT_HEADER, *(line[: 4 * MAX_LINE_CHARS] for line in written)]
    return pl.DataFrame(
        {ROW: range(len(cells)), "c0": cells}, schema={ROW: pl.Int64, "c0": pl.String}
    )


def kept_lines(name: str, cells: pl.DataFrame) -> list[str] | None:
    """The lines of a stored message sheet (`text_cells`), or None for any other sheet:
    a table, or messages stored as the reader's rows by an older version."""
    if name != MESSAGES or cells.columns != [ROW, "c0"] or cells.height == 0:
        return None
    if cells["c0"][0] != TEXT_HEADER:
        return None
    return [line or "" for line in cells["c0"].slice(1).to_list()]


def readings(text: str, project: str | None = None, day: date | None = None) -> list[Reading]:
    """Every message of the text as read, reports and chatter alike (`day`: see
    `split_messages`)."""
    return [read_message(m, project) for m in split_messages(read_lines(text), day)]


def rows_of(reading: Reading) -> Iterator[dict[str, str | None]]:
    """The raw rows one message becomes: one per customer, or one carrying its problem."""
    fields = reading.fields
    shared: dict[str, str | None] = {
        "报备时间": reading.reported_at,
        "预计到访时间": reading.expected_at,
        **{
            _COLUMN[name]: fields.get(name)
            for name in (
                "report_type",
                "agent",
                "agent_phone",
                "channel",
                "branch",
                "project",
                "remark",
            )  # fmt: skip
        },
    }
    if reading.problem is not None:
        yield {
            **shared,
            PROBLEM: reading.problem,
            "客户姓名": "、".join(c.name for c in reading.customers if c.name)[:100] or None,
            "客户电话": " / ".join(c.phone for c in reading.customers if c.phone)[:200] or None,
        }
        return
    for customer in reading.customers:
        yield {
            **shared,
            "客户姓名": customer.name,
            "客户性别": customer.gender,
            "客户电话": customer.phone,
        }


def message_sheet(
    name: str, read: list[Reading], bounds: Bounds, size: int, kept: pl.DataFrame | None = None
) -> RawSheet:
    """The raw sheet of a message file: the header row, then each message's rows at its
    first line."""
    rows: list[dict[str, str | None]] = []
    numbers = [0]
    for reading in read:
        for row in rows_of(reading):
            rows.append(row)
            numbers.append(reading.line)
    bounds.check(_WHERE, len(rows) + 1, (len(rows) + 1) * len(HEADERS), size)
    columns = {
        f"c{i}": [header, *(_cell(row.get(header)) for row in rows)]
        for i, header in enumerate(HEADERS)
    }
    frame = pl.DataFrame(columns, schema={f"c{i}": pl.String for i in range(len(HEADERS))})
    return RawSheet(name, True, frame, [], numbers, kept)


def _cell(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def looks_like_table(text: str) -> bool:
    """Delimited text with a header row (a system's .txt export), not messages."""
    lines = [line for line in text[:_SNIFF_BYTES].splitlines()[:30] if line.strip()]
    for line in lines[:10]:
        for delimiter in ("\t", ",", "|", ";"):
            cells = [cell.strip().strip('"') for cell in line.split(delimiter)]
            known = sum(1 for cell in cells if cell in LABELS or cell in _TABLE_HEADERS)
            if len(cells) >= 2 and known >= 2:
                return True
    return False


_TABLE_HEADERS = frozenset(alias for f in FIELDS.values() for alias in f.aliases)


def read_message_file(path: Path, bounds: Bounds, project: str | None) -> RawSheet | None:
    """The messages of a `.txt`, or None when it is delimited text (a table)."""
    data = path.read_bytes()
    return message_text_sheet(decode_text(data), bounds, project, len(data), path.name)


def message_text_sheet(
    text: str, bounds: Bounds, project: str | None, size: int, file_name: str
) -> RawSheet | None:
    """The messages of a decoded text of `size` bytes, or None when it is a table."""
    if looks_like_table(text):
        return None
    return messages_of_lines(text.splitlines(), bounds, project, size, file_name)


def messages_of_lines(
    written: list[str], bounds: Bounds, project: str | None, size: int, file_name: str
) -> RawSheet:
    """The messages of a file's lines as written (read now, or kept by the ledger);
    `file_name` may state the day of headers that give only a time."""
    lines = [clean_line(line) for line in written]
    # Bounded before any message is parsed: a row per non-blank line at most, bar the odd
    # line naming two customers (message_sheet checks the rows it made).
    count = sum(1 for line in lines if line)
    bounds.check(_WHERE, count, count * len(HEADERS), size)
    read = [read_message(m, project) for m in split_messages(lines, dates.stated_day(file_name))]
    return message_sheet(MESSAGES, read, bounds, size, text_cells(written))


def message_lines(path: Path, project: str | None) -> list[str]:
    """`reconcile check`: how each message of a file was read (SPEC 4.2)."""
    read = readings(decode_text(path.read_bytes()), project, dates.stated_day(path.name))
    reports = [r for r in read if r.is_report]
    lines = [
        f"  微信消息 {len(read)} 条：报备 {len(reports)} 条，"
        f"其余 {len(read) - len(reports)} 条不是报备（闲聊、图片等），不读取"
    ]
    for reading in reports:
        who = "；".join(
            f"{(c.name or '（无姓名）')[:20]} {(c.phone or '（无电话）')[:30]}"
            for c in reading.customers[:_SHOWN_CUSTOMERS]
        )
        if reading.problem is not None:
            lines.append(f"    第 {reading.line} 行：拒收（原因见下）；客户 {who or '无'}")
            continue
        found = "、".join(
            f"{_FIELD_WORDS.get(k, k)}={v[:20]}"
            for k, v in reading.fields.items()
            if k in _FIELD_WORDS
        )
        lines.append(
            f"    第 {reading.line} 行：客户 {who}；报备时间 {reading.reported_at}"
            f"（{reading.time_source}）" + (f"；{found}" if found else "")
        )
        if reading.unused:
            lines.append(f"      未使用的内容：{'、'.join(dict.fromkeys(reading.unused))}")
    return lines


_SHOWN_CUSTOMERS = 10  # a message naming more is listed by its first ten
_FIELD_WORDS = {
    "report_type": "报备类型",
    "agent": "经纪人",
    "agent_phone": "经纪人电话",
    "channel": "公司",
    "branch": "门店",
    "project": "项目",
    "expected_visit_at": "预计到访",
}
