"""Reports rendered as WeChat messages in each documented shape (docs/wechat-formats.md),
for the property test and the benchmark: whatever is rendered must read back the same."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from hypothesis import strategies as st


@dataclass(frozen=True)
class Report:
    name: str
    phone: str  # as written: full, or masked in any shape SPEC 4 lists
    at: datetime  # the report time, to the minute
    agent: str
    company: str


SURNAMES = (
    "张",
    "王",
    "李",
    "赵",
    "刘",
    "陈",
    "杨",
    "黄",
    "周",
    "吴",
    "欧阳",
    "上官",
    "司马",
    "诸葛",
)
GIVEN = "明华伟芳娜静强磊军洋勇艳杰涛超秀英霞平刚慧敏丽鹏"
HONORIFICS = ("先生", "女士", "小姐", "总")
COMPANIES = ("链家", "正盛", "房友", "易居", "中原地产", "安居客")
MASKS = ("*", "x", "X", "×", "●", "＊")


@st.composite
def names(draw: st.DrawFn) -> str:
    surname = draw(st.sampled_from(SURNAMES))
    if draw(st.booleans()):
        return surname + draw(st.sampled_from(HONORIFICS))
    return surname + "".join(draw(st.lists(st.sampled_from(GIVEN), min_size=1, max_size=2)))


@st.composite
def phones(draw: st.DrawFn) -> str:
    digits = (
        "1"
        + draw(st.sampled_from("3456789"))
        + "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=9, max_size=9)))
    )
    shape = draw(st.sampled_from(("full", "3-4", "3-4-short", "4-5", "3-5")))
    mask = draw(st.sampled_from(MASKS))
    if shape == "full":
        return digits
    if shape == "3-4":
        return digits[:3] + mask * 4 + digits[7:]
    if shape == "3-4-short":
        return digits[:3] + mask * 2 + digits[7:]
    if shape == "4-5":
        return digits[:4] + mask * 2 + digits[6:]
    return digits[:3] + mask * 3 + digits[6:]


@st.composite
def reports(draw: st.DrawFn) -> Report:
    minutes = draw(st.integers(min_value=0, max_value=2 * 365 * 24 * 60))
    at = datetime(2026, 1, 1) + timedelta(minutes=minutes)
    agent = draw(st.sampled_from(SURNAMES)) + draw(st.sampled_from(GIVEN))
    return Report(draw(names()), draw(phones()), at, agent, draw(st.sampled_from(COMPANIES)))


def _clock(at: datetime) -> str:
    return f"{at.hour:02d}:{at.minute:02d}"


def _words(at: datetime) -> str:
    """下午3点05分 and the like."""
    hour = at.hour
    period = "凌晨" if hour < 6 else "上午" if hour < 12 else "下午" if hour < 18 else "晚上"
    shown = hour if hour <= 12 else hour - 12
    minute = "" if at.minute == 0 else "半" if at.minute == 30 else f"{at.minute}分"
    return f"{period}{shown}点{minute}"


def _stamp(at: datetime) -> str:
    return f"{at:%Y-%m-%d} {_clock(at)}"


# Each: (render, fields the shape carries besides name, phone and time)
Renderer = Callable[[Report], str]


def self_channel(r: Report) -> str:  # F1: the send time is the report time
    return (
        f"{r.agent}  {_stamp(r.at)}\n客户姓名：{r.name}\n客户联系方式：{r.phone}\n"
        f"物业类型：住宅\n渠道专员姓名：{r.agent}\n公司：{r.company}"
    )


def lianjia(r: Report) -> str:  # F2
    return (
        f"{r.at:%Y-%m-%d %H:%M}:00 {r.agent}\n山湖一号报备客户：\n{r.name}：{r.phone}\n"
        f"报备人：{r.agent}\n公司：{r.company}"
    )


def one_liner(r: Report) -> str:  # F6
    return f"{r.at:%Y-%m-%d}\n{r.name}{r.phone}{r.company}{_clock(r.at)}"


def two_fields(r: Report) -> str:  # F7
    return (
        f"客户姓名：{r.name} 客户性别：男\n客户电话：{r.phone}\n"
        f"项目名称：山湖一号 报备时间：{_stamp(r.at)}\n"
        f"项目报备人：{r.agent}\n报备人公司：{r.company}"
    )


def brackets(r: Report) -> str:  # F9, dated in words against the chat line's day
    return (
        f"{r.agent} {r.at:%Y-%m-%d} 00:01\n【报备楼盘】山湖一号\n"
        f"【客户】{r.name} 【电话】{r.phone}\n"
        f"【报备时间】{r.at.month}月{r.at.day}日{_words(r.at)}\n【经纪人】{r.agent}\n【公司】{r.company}"
    )


def one_line(r: Report) -> str:  # F10
    return (
        f"客户：{r.name} 手机号码：{r.phone} 报备时间：{_stamp(r.at)} 经纪人：{r.agent} "
        f"公司：{r.company}"
    )


def export_relative(r: Report) -> str:  # F11, with 今天/昨天 against the export's date
    sent = r.at + timedelta(days=1)
    return (
        f"{sent:%Y-%m-%d} 08:00:00 {r.agent}\n🔹客户：{r.name}\n🔹电话：{r.phone}\n"
        f"🔹报备时间：昨天{_clock(r.at)}\n🔹公司：{r.company}"
    )


def numbered(r: Report) -> str:  # F12
    return (
        f"{r.agent}  {r.at:%Y-%m-%d %H:%M}\n1. 报备项目：山湖一号\n2. 客户姓名：{r.name}\n"
        f"3. 联系方式：{r.phone}\n4. 公司：{r.company}"
    )


def run_on(r: Report) -> str:  # F5
    return (
        f"{r.agent} {r.at:%Y-%m-%d %H:%M}\n"
        f"客户姓名:{r.name}联系方式:{r.phone}小区地址:阳光城一期公司:{r.company}"
    )


FORMATS: dict[str, Renderer] = {
    "f01": self_channel,
    "f02": lianjia,
    "f05": run_on,
    "f06": one_liner,
    "f07": two_fields,
    "f09": brackets,
    "f10": one_line,
    "f11": export_relative,
    "f12": numbered,
}
# The shapes that name no agent (F6's one-liner): its sender is not written either.
NO_AGENT = frozenset({"f06"})
