"""`rules.yaml`: the project's policy, parsed once into validated, typed objects.

Every key of SPEC §6 has its default here, so a project file states only what
differs. Errors name the offending key and its line in the file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import time
from email.utils import getaddresses
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from reconcile.config.ledger_url import ledger_server

_DURATION = re.compile(r"^\s*(\d+)\s*(m|h|d|mo)\s*$")
# Longer than this is a typo or `forever`; it also keeps every end inside the calendar.
_MAX_DAYS = 100 * 366
_DAYS_PER_UNIT = {"m": 1 / 1440, "h": 1 / 24, "d": 1, "mo": 31}


@dataclass(frozen=True, slots=True)
class Duration:
    """A policy duration: exact clock time (`m`, `h`) or calendar days/months (`d`, `mo`).

    `same_day` is one calendar day, `next_day` two, `forever` never ends (SPEC §6.3).
    """

    amount: int
    unit: Literal["m", "h", "d", "mo", "forever"]
    text: str

    @property
    def forever(self) -> bool:
        return self.unit == "forever"

    @property
    def minutes(self) -> int | None:
        """Exact length for clock durations; None for calendar and `forever` durations."""
        if self.unit == "m":
            return self.amount
        if self.unit == "h":
            return self.amount * 60
        return None

    def __str__(self) -> str:
        return self.text


def _shown(value: Any) -> str:
    """A bad value as the file wrote it: `true`, `null`, {a: 1}, not Python's repr."""
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bytes):
        return "（二进制内容）"
    try:
        shown = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10**6)
    except yaml.YAMLError:
        return repr(value)
    return shown.removesuffix("\n").removesuffix("\n...")


def parse_duration(value: Any) -> Duration:
    if isinstance(value, Duration):
        return value
    text = str(value).strip()
    if text == "forever":
        return Duration(0, "forever", text)
    if text == "same_day":
        return Duration(1, "d", text)
    if text == "next_day":
        return Duration(2, "d", text)
    match = _DURATION.match(text)
    if not match or isinstance(value, bool):
        raise ValueError(
            f"时长格式不对：{_shown(value)}，"
            "应写成 30m、1h、48h、7d、2mo、same_day、next_day 或 forever"
        )
    amount, unit = int(match.group(1)), match.group(2)
    if amount == 0 and unit in ("d", "mo"):
        # Calendar periods count the start day as day 1: a period of 0 days ends before it starts.
        raise ValueError(f"时长 {text} 不成立：按天、按月计的时长以当天为第 1 天，至少为 1d 或 1mo")
    if amount * _DAYS_PER_UNIT[unit] > _MAX_DAYS:
        raise ValueError(f"时长 {text} 超过 100 年；永不结束请写 forever")
    return Duration(amount, unit, text)  # type: ignore[arg-type]


def _positive(duration: Duration) -> Duration:
    if not duration.forever and duration.amount == 0:
        raise ValueError(f"时长 {duration} 须大于 0；永不结束请写 forever")
    return duration


def _ends(duration: Duration) -> Duration:
    if duration.forever:
        raise ValueError("此处的时长不能是 forever，应写成 30m、1h、7d 这样的有限时长")
    return duration


def _parse_clock(value: Any) -> time:
    if isinstance(value, time):
        return value
    # A number is never a clock time: `8` would otherwise read as 00:08 (the loader
    # keeps an unquoted 18:00 as text, not YAML 1.1's sexagesimal 1080).
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", value) if isinstance(value, str) else None
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ValueError(f'时刻格式不对：{_shown(value)}，应写成 "08:00" 这样的 24 小时制')
    return time(int(match.group(1)), int(match.group(2)))


DurationValue = Annotated[Duration, BeforeValidator(parse_duration)]
# A period that protects or holds something: it has a length (`forever` allowed).
PeriodValue = Annotated[Duration, BeforeValidator(parse_duration), AfterValidator(_positive)]
# A span compared against (lead time, simultaneity): 0m allowed, never `forever`.
SpanValue = Annotated[Duration, BeforeValidator(parse_duration), AfterValidator(_ends)]
ClockValue = Annotated[time, BeforeValidator(_parse_clock)]


class _Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, arbitrary_types_allowed=True, allow_inf_nan=False
    )


class _ClockRange(_Strict):
    """A daily range of clock times, both ends included; an end before the start runs
    over midnight (22:00–02:00)."""

    start: ClockValue
    end: ClockValue

    @model_validator(mode="after")
    def _not_one_instant(self) -> _ClockRange:
        if self.start == self.end:
            raise ValueError("start 与 end 相同，时段只有一瞬间；不限时段请不写此项（或写 null）")
        return self


class Hours(_ClockRange):
    pass


class Window(_ClockRange):
    day: Literal["before", "same"] = "same"


class Quota(_Strict):
    per: Literal["agent", "channel"]
    limit: int = Field(ge=1)


class MinVisible(_Strict):
    prefix: int = Field(default=3, ge=0, le=11)
    suffix: int = Field(default=4, ge=0, le=11)


class ReportType(_Strict):
    window: Window | None = None
    hours: Hours | None = None
    lead_time: SpanValue | None = None
    validity: PeriodValue | None = None
    quota: Quota | None = None

    @model_validator(mode="after")
    def _one_time_range(self) -> ReportType:
        if self.window is not None and self.hours is not None:
            raise ValueError(
                "window 与 hours 只能写一个（window 是报备类型的时段，可加 day: before）"
            )
        return self


# A report row of these types (报备类型, or a sheet or file named 延期申请 …) is an extension
# request, not a report (SPEC 6.8).
EXTENSION_TYPES = ("延期", "延续")
# Other words people write for a type (a 报备类型 cell, a message's 【延期申请】 title):
# matched to the name the rules or SPEC 6.8 use (`type_named`).
TYPE_KIN: dict[str, tuple[str, ...]] = {
    "延期": ("延期申请", "申请延期", "报备延期", "延期报备", "保护期延期", "延期保护"),
    "延续": ("延续申请", "申请延续"),
    "预报备": ("预报",),
    "预报": ("预报备",),
}


def type_named(written: str, types: Iterable[str]) -> str:
    """The type a written 报备类型 names: itself when the rules (`types`) or SPEC 6.8 know it,
    else the known name it is kin to (预报 for a project whose type is 预报备), else itself
    (an untyped report)."""
    known = (*EXTENSION_TYPES, *types)
    if written in known:
        return written
    return next((name for name in known if written in TYPE_KIN.get(name, ())), written)


class Extension(_Strict):
    window: PeriodValue = parse_duration("20d")
    extend: PeriodValue = parse_duration("1mo")
    times: int = Field(default=1, ge=1)


class Queue(_Strict):
    max: int = Field(default=1, ge=1)
    validity: PeriodValue = parse_duration("1mo")
    extend_when_queued: PeriodValue | None = None  # null: the holder's usual `extend`


class ReportRules(_Strict):
    require_surname: bool = True
    min_visible: MinVisible = MinVisible()
    hours: Hours | None = None
    lead_time: SpanValue = parse_duration("30m")
    validity: PeriodValue = parse_duration("30d")
    validity_before_opening: PeriodValue = parse_duration("30d")
    quota: Quota | None = None
    self_duplicate: Literal["keep_first", "invalidate_all"] = "keep_first"
    max_delay: DurationValue | None = None
    types: dict[str, ReportType] = {}
    type_priority: list[str] = []
    validity_after_deposit: PeriodValue | None = None
    extension: Extension | None = None
    queue: Queue | None = None

    @field_validator("types")
    @classmethod
    def _named_types(cls, value: dict[str, ReportType]) -> dict[str, ReportType]:
        # A report's type is matched by name; a blank name never matches any report.
        if any(not name.strip() for name in value):
            raise ValueError("types 中的报备类型名称不能为空")
        taken = [name for name in value if name in EXTENSION_TYPES]
        if taken:
            raise ValueError(f"{'、'.join(taken)} 是延期申请，不是报备类型（见 report.extension）")
        return value

    @model_validator(mode="after")
    def _priority_names_known_types(self) -> ReportRules:
        unknown = [name for name in self.type_priority if name not in self.types]
        if unknown:
            raise ValueError(f"type_priority 中的报备类型未在 types 中定义：{'、'.join(unknown)}")
        return self


class ExistingCustomerRules(_Strict):
    crm_contact_before_report: bool = True
    prior_visit: bool = True
    released_after: PeriodValue | None = None


class Renewal(_Strict):
    window: PeriodValue = parse_duration("7d")
    extend: PeriodValue = parse_duration("30d")


class VisitRules(_Strict):
    protection: PeriodValue = parse_duration("30d")
    renewal: Renewal | None = Renewal()
    simultaneous_within: SpanValue = parse_duration("30m")


class ConflictRules(_Strict):
    mode: Literal["report_visit", "report", "visit"] = "report_visit"
    order: list[Literal["first_visit", "first_report"]] = ["first_visit", "first_report"]
    natural_visit: Literal["first_reporter", "natural"] = "first_reporter"
    brought_by_other: Literal["reporter", "natural"] = "reporter"
    min_gap: DurationValue | None = None
    appeal_window: DurationValue = parse_duration("24h")
    upheld_split: list[float] = [0.5, 0.5]

    @field_validator("order")
    @classmethod
    def _each_rule_once(cls, value: list[str]) -> list[str]:
        if not value or len(set(value)) != len(value):
            raise ValueError(
                "order 须列出 first_visit、first_report 中的一项或两项，各一次，"
                "例如 [first_visit, first_report]"
            )
        return value

    @field_validator("upheld_split")
    @classmethod
    def _two_shares_summing_to_one(cls, value: list[float]) -> list[float]:
        # [automatic owner, appellant] (SPEC §6): a third share would have nobody to go to.
        if len(value) != 2 or any(share <= 0 for share in value) or abs(sum(value) - 1) > 1e-9:
            raise ValueError("须为两个正数 [原归属渠道, 申诉渠道]，合计为 1，例如 [0.5, 0.5]")
        return value


class DealRules(_Strict):
    commission_stage: Literal["认购", "签约"] = "签约"
    clawback_on_refund: bool = True


class CommissionTerm(_Strict):
    rate: float | None = Field(default=None, ge=0, le=1)
    fixed: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _exactly_one(self) -> CommissionTerm:
        if (self.rate is None) == (self.fixed is None):
            raise ValueError("佣金须且只能写 rate（比例）或 fixed（固定金额）之一")
        return self


class CommissionRules(_Strict):
    default: CommissionTerm = CommissionTerm(rate=0.01)
    channels: dict[str, CommissionTerm] = {}


def _two_shares(value: list[float]) -> list[float]:
    if len(value) != 2 or any(share < 0 for share in value) or abs(sum(value) - 1) > 1e-9:
        raise ValueError("须为两个不小于 0 的数，合计为 1，例如 [0.8, 0.2]")
    return value


Split = Annotated[list[float], AfterValidator(_two_shares)]


class ConsultantRules(_Strict):
    """In-house consultants (置业顾问, SPEC 6.7): who owns a customer and how a deal splits."""

    record_validity: PeriodValue = parse_duration("2mo")
    release_without_follow_up: PeriodValue = parse_duration("10d")
    designated_other: Split = [0.8, 0.2]  # [the asked-for consultant, the owner]
    assisted: Split = [0.8, 0.2]  # [the owner, the assistant]
    assisted_same_day_only: bool = False
    assisted_same_day_split: Split = [0.5, 0.5]  # [the owner, the assistant]
    referral: Literal["referrer_owner", "receptionist"] = "referrer_owner"


class RotationRules(_Strict):
    """The reception rotation (轮排, SPEC 6.7)."""

    skip_turn_for_own_customer: bool = True
    missed_turn: Literal["forfeit", "make_up"] = "forfeit"


class Smtp(_Strict):
    host: str
    port: int = Field(default=465, ge=1, le=65535)
    ssl: bool = False
    starttls: bool = False
    user: str | None = None
    password_env: str | None = None
    sender: str | None = None

    @model_validator(mode="after")
    def _one_tls_mode(self) -> Smtp:
        if self.ssl and self.starttls:
            raise ValueError("ssl（端口 465 直接加密）与 starttls（端口 587 升级加密）只能选一个")
        return self


_ADDRESS_PART = r"[^@\s<>()\[\],;:\"\\.]+"  # no space, quote, bracket, separator or dot
_MAIL_ADDRESS = re.compile(
    rf"{_ADDRESS_PART}(\.{_ADDRESS_PART})*@{_ADDRESS_PART}(\.{_ADDRESS_PART})+"
)


def _mail_address(value: str) -> str:
    """One address, bare or with a name (张三 <a@x.cn>): never a list that would add
    recipients to the To: line, nor text that breaks the header."""
    found = getaddresses([value])
    if not value.isprintable() or len(found) != 1 or not _MAIL_ADDRESS.fullmatch(found[0][1]):
        raise ValueError(f"{_shown(value)} 不是一个邮箱地址：应为“账号@域名”的形式，每项一个地址")
    return value.strip()


MailAddress = Annotated[str, AfterValidator(_mail_address)]


class NotifyRules(_Strict):
    admin: list[MailAddress] = []
    finance: list[MailAddress] = []
    sales_manager: list[MailAddress] = []  # performance.xlsx (SPEC 6.7)
    # channel -> its agency's addresses: each gets its own receipt (SPEC §7)
    channels: dict[str, list[MailAddress]] = {}
    smtp: Smtp | None = None

    @field_validator("channels")
    @classmethod
    def _named_channels(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        if any(not name.strip() for name in value):
            raise ValueError("有空白的渠道名称")
        return value


def _parse_seconds(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    match = re.fullmatch(r"\s*(\d+)\s*(s|m)\s*", str(value))
    if not match:
        raise ValueError(f"等待时长格式不对：{_shown(value)}，应写成 10s、30s 或 1m")
    return float(int(match.group(1)) * (60 if match.group(2) == "m" else 1))


SecondsValue = Annotated[float, BeforeValidator(_parse_seconds)]


class ScheduleRules(_Strict):
    at: ClockValue = time(2, 0)
    # How long a freshly changed file must stay unchanged before it is read.
    settle: SecondsValue = 10.0


class Limits(_Strict):
    """Bounds on reading one input file (reconcile/ingest/limits.py); a file beyond any
    of them is quarantined with a reason naming the limit."""

    max_file_mb: int = Field(default=200, ge=1)
    max_inflated_mb: int = Field(default=1024, ge=1)
    max_ratio: int = Field(default=200, ge=2)
    max_rows: int = Field(default=2_000_000, ge=1)
    max_cells: int = Field(default=50_000_000, ge=1)
    memory_gb: float = Field(default=2, gt=0)

    @field_validator("*", mode="before")
    @classmethod
    def _plain_number(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"应为数字，例如 200，而不是 {_shown(value)}")
        return value


class Rules(_Strict):
    project: str = "示例项目"
    timezone: str = "Asia/Shanghai"
    opening_date: Annotated[Any, Field(default=None)] = None
    report: ReportRules = ReportRules()
    existing_customer: ExistingCustomerRules = ExistingCustomerRules()
    visit: VisitRules = VisitRules()
    conflict: ConflictRules = ConflictRules()
    deal: DealRules = DealRules()
    commission: CommissionRules = CommissionRules()
    notify: NotifyRules = NotifyRules()
    consultant: ConsultantRules | None = None  # {} turns the consultant judge on (SPEC 6.7)
    rotation: RotationRules | None = None  # {} turns the rotation audit on (SPEC 6.7)
    schedule: ScheduleRules = ScheduleRules()
    columns: dict[str, list[str]] = {}
    # channel -> the other names its agencies' files use for it (链家: [链家地产, 北京链家])
    channels: dict[str, list[str]] = {}
    state_dir: str = ".reconcile"
    # postgresql://user@host:port/db: the ledger on a server (config/ledger_url.py)
    ledger: str | None = None
    archive: bool = False
    quarantine: bool = True
    limits: Limits = Limits()

    @model_validator(mode="before")
    @classmethod
    def _top_level_max_file_mb(cls, data: Any) -> Any:
        """`max_file_mb:` at the top level, as rules files wrote it before `limits:`."""
        if not isinstance(data, dict) or "max_file_mb" not in data:
            return data
        data = dict(data)
        value = data.pop("max_file_mb")
        limits = data.get("limits") or {}
        if isinstance(limits, dict):
            if "max_file_mb" in limits and limits["max_file_mb"] != value:
                raise ValueError(
                    "max_file_mb 与 limits.max_file_mb 不一致；只写 limits.max_file_mb 即可"
                )
            data["limits"] = {**limits, "max_file_mb": value}
        return data

    @property
    def max_file_mb(self) -> int:
        """The file-size cap, `limits.max_file_mb` (formerly a top-level key)."""
        return self.limits.max_file_mb

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        # The judge counts days in both Python and polars: the zone must be known to each
        # (`localtime`, `posixrules` and `Factory` are files of the system's database only).
        try:
            ZoneInfo(value)
            pl.Series([None], dtype=pl.Datetime("us")).dt.replace_time_zone(value)
        except (ZoneInfoNotFoundError, ValueError, pl.exceptions.ComputeError) as exc:
            raise ValueError(f"未知时区：{_shown(value)}，例如 Asia/Shanghai") from exc
        return value

    @field_validator("opening_date", mode="before")
    @classmethod
    def _opening_is_date(cls, value: Any) -> Any:
        from datetime import date, datetime

        if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError as exc:
            raise ValueError(f"首开日期格式不对：{_shown(value)}，应写成 2026-12-01") from exc

    @field_validator("ledger")
    @classmethod
    def _ledger_names_a_server_schema(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and "project" in info.data:  # else the project's own error
            ledger_server(value, info.data["project"])
        return value

    @field_validator("columns")
    @classmethod
    def _columns_name_known_fields(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        from reconcile.config.kinds import FIELDS

        unknown = [name for name in value if name not in FIELDS]
        if unknown:
            raise ValueError(
                f"columns 中的字段名未知：{'、'.join(unknown)}；可用字段：{'、'.join(FIELDS)}"
            )
        _one_owner_per_name("columns", "字段", value)
        return value

    @field_validator("channels")
    @classmethod
    def _one_channel_per_variant(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        _one_owner_per_name("channels", "渠道", value)
        for channel, variants in value.items():
            # Names are replaced once: a variant that is another channel's own name would
            # make that channel's rows this one's.
            taken = [v.strip() for v in variants if v.strip() != channel and v.strip() in value]
            if taken:
                raise ValueError(
                    f"channels 中“{channel}”的别名“{taken[0]}”本身是另一个渠道，"
                    "一个名称只能对应一个渠道"
                )
        return value

    @property
    def channel_names(self) -> tuple[tuple[str, str], ...]:
        """(variant, channel) pairs: every name variant read as its channel."""
        return tuple(
            (variant.strip(), channel)
            for channel, variants in self.channels.items()
            for variant in variants
            if variant.strip() != channel
        )

    @property
    def known_channels(self) -> frozenset[str]:
        """Every channel the rules name (`channels:`, `commission.channels`,
        `notify.channels`), as its channel: what a visit register's 渠道来源 may name."""
        variants = dict(self.channel_names)
        named = [*self.channels, *self.commission.channels, *self.notify.channels]
        return frozenset(variants.get(name.strip(), name.strip()) for name in named)

    @property
    def receipt_recipients(self) -> dict[str, tuple[str, ...]]:
        """`notify.channels` by channel: a name variant (`channels:`) is read as its channel,
        as the inputs' channel cells are."""
        variants = dict(self.channel_names)
        return {
            variants.get(name.strip(), name.strip()): tuple(addresses)
            for name, addresses in self.notify.channels.items()
        }

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _one_owner_per_name(key: str, what: str, names: dict[str, list[str]]) -> None:
    """Every listed name is non-blank and belongs to one entry only."""
    owner: dict[str, str] = {}
    for entry, listed in names.items():
        for name in listed:
            if not name.strip():
                raise ValueError(f"{key} 中“{entry}”的名称列表里有空白名称")
            if owner.get(name.strip(), entry) != entry:
                raise ValueError(
                    f"{key} 中“{name}”同时属于“{owner[name.strip()]}”和“{entry}”，"
                    f"一个名称只能对应一个{what}"
                )
            owner[name.strip()] = entry


_Model = TypeVar("_Model", bound=BaseModel)


class _Loader(yaml.SafeLoader):
    """YAML without implicit timestamps and sexagesimal numbers: dates and clock times
    (an unquoted 18:00) stay text and are validated by the model, with a clear message."""


_PLAIN_NUMBERS = {
    "tag:yaml.org,2002:int": re.compile(
        r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"
    ),
    "tag:yaml.org,2002:float": re.compile(
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
}
_Loader.yaml_implicit_resolvers = {
    first: [
        (tag, _PLAIN_NUMBERS.get(tag, regexp))
        for tag, regexp in resolvers
        if tag != "tag:yaml.org,2002:timestamp"
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class RulesError(Exception):
    """A rules file that cannot be used; the message names the key and the line."""

    syntax: bool = False  # the file is not well-formed YAML (or not a mapping)
    line: int | None = None  # where a syntax error was found


def _syntax_error(message: str, line: int | None) -> RulesError:
    error = RulesError(message)
    error.syntax, error.line = True, line
    return error


def _key_lines(
    node: yaml.Node, path: tuple = (), above: frozenset = frozenset()
) -> dict[tuple, int]:
    lines: dict[tuple, int] = {path: node.start_mark.line + 1}
    if id(node) in above:  # an alias of its own ancestor (a: &x [*x]): the graph has a cycle
        return lines
    above = above | {id(node)}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            lines[(*path, key)] = key_node.start_mark.line + 1
            for sub_path, line in _key_lines(value_node, (*path, key), above).items():
                lines.setdefault(sub_path, line)
            lines[(*path, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines.update(_key_lines(item, (*path, index), above))
    return lines


def _repeated_keys(node: yaml.Node, source: str) -> list[tuple[int, str]]:
    """(line, message) for each key written twice in one mapping: YAML keeps the last
    and drops the first without a word, so a clerk's edit lower down would silently
    undo (or be undone by) the one above."""
    found: list[tuple[int, str]] = []
    seen_nodes: set[int] = set()
    pending = [node]
    while pending:
        current = pending.pop()
        if id(current) in seen_nodes:  # an alias: walked once
            continue
        seen_nodes.add(id(current))
        if isinstance(current, yaml.MappingNode):
            first: dict[str, int] = {}
            for key_node, value_node in current.value:
                pending.append(value_node)
                if not isinstance(key_node, yaml.ScalarNode) or key_node.value == "<<":
                    continue
                line = key_node.start_mark.line + 1
                key = key_node.value
                if key in first:
                    found.append(
                        (
                            line,
                            f"{source} 第 {line} 行 {key}: 键“{key}”重复"
                            f"（第 {first[key]} 行已写过），只会采用其中一处；请删去一处或合并",
                        )
                    )
                else:
                    first[key] = line
        elif isinstance(current, yaml.SequenceNode):
            pending.extend(current.value)
    return sorted(found)


# A key followed by a full-width colon (project：山湖一号): YAML reads the whole line as
# text and reports a later line, or a wrong type, so the line is named by a scan.
_FULL_WIDTH_KEY = re.compile(r"^[ \t]*([^\s#'\"\-\[\]{},:：&*!|>%@`][^#'\"\[\]{},:：]*?)[ \t]*：")
_TYPE_NAMES = {"list": "列表", "str": "文字", "int": "数字", "float": "数字", "bool": "true/false"}


def _full_width_colons(text: str, source: str) -> list[tuple[int, str]]:
    """(line, message) for each line whose key ends with `：` instead of `:`."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        match = _FULL_WIDTH_KEY.match(line)
        if match:
            key = match.group(1)
            found.append(
                (
                    number,
                    f"{source} 第 {number} 行第 {match.end()} 列 {key}: "
                    f"“{key}”后是全角冒号“：”，请改为英文冒号“:”并在其后留一个空格，"
                    f"例如 {key}: …",
                )
            )
    return found


def _yaml_problem(exc: yaml.YAMLError, text: str) -> tuple[int | None, str]:
    """A PyYAML error as (line, Chinese message naming line and column)."""
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        return (
            line,
            f"第 {line} 行第 {column} 列: "
            f"有不能出现在文件中的控制字符（#x{exc.character:04x}），请删除",
        )
    problem = str(getattr(exc, "problem", "") or "")
    context_mark = getattr(exc, "context_mark", None)
    problem_mark = getattr(exc, "problem_mark", None)
    # Where the problem is noticed, unless that is the file's end or the line after:
    # an unclosed quote or bracket, or a key without its colon, starts where it opened.
    opened = "stream" in problem or "could not find expected ':'" in problem
    mark = (context_mark if opened else None) or problem_mark or context_mark
    where = f"第 {mark.line + 1} 行第 {mark.column + 1} 列" if mark else ""
    return (mark.line + 1 if mark else None), f"{where}: YAML 格式错误：{_yaml_words(problem)}"


_YAML_PROBLEMS = (
    (
        "mapping values are not allowed here",
        "此处不能出现“键: 值”：缩进可能不对，或上一行的值含有冒号而未加引号",
    ),
    ("found character '\\t'", "不能用 Tab 缩进，请改用空格"),
    ("found a tab character", "不能用 Tab 缩进，请改用空格"),
    ("that cannot start any token", "此字符不能出现在值的开头，请给值加上引号"),
    ("could not find expected ':'", "缺少冒号“:”（键与值之间应为英文冒号加一个空格）"),
    ("found unexpected end of stream", "引号没有闭合"),
    ("found unknown escape character", "双引号里有无法识别的转义（\\），可改用单引号"),
    ("expected ',' or ']'", "方括号“[”没有闭合，或其中的项之间缺少英文逗号"),
    ("expected ',' or '}'", "花括号“{”没有闭合，或其中的项之间缺少英文逗号"),
    ("expected <block end>", "缩进没有对齐，或一行里多写了内容"),
    ("expected the node content", "此处缺少值"),
    ("but found another document", "文件里只能有一份配置，请删去“---”分隔线"),
    ("found undefined alias", "别名“*”没有对应的锚点“&”"),
    ("found duplicate anchor", "锚点“&”重名"),
    ("found unhashable key", "键名不能是列表或键值对"),
    ("could not determine a constructor", "不认识的标签“!”，请删去"),
    ("expected alphabetic or numeric character", "锚点“&”或别名“*”的名称只能用字母和数字"),
)


def _yaml_words(problem: str) -> str:
    return next((words for said, words in _YAML_PROBLEMS if said in problem), "无法解析")


def _unreadable_scalar(node: yaml.Node | None) -> tuple[int, str] | None:
    """The first value an explicit tag makes unreadable (`!!int abc`, 5000 digits)."""
    if node is None:
        return None
    stack, seen = [node], set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, yaml.ScalarNode):
            try:
                _Loader("").construct_object(current)
            except (ValueError, KeyError, TypeError, OverflowError, yaml.YAMLError):
                mark = current.start_mark
                return mark.line + 1, (
                    f"第 {mark.line + 1} 行第 {mark.column + 1} 列: 无法读取的值"
                    f"（{current.value[:20]}{'…' if len(current.value) > 20 else ''}），请检查写法"
                )
        elif isinstance(current, yaml.MappingNode):
            stack.extend(part for pair in reversed(current.value) for part in reversed(pair))
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(reversed(current.value))
    return None


def _line_for(loc: tuple, lines: dict[tuple, int]) -> int | None:
    path = tuple(
        part for part in loc if not (isinstance(part, str) and part.startswith("function-"))
    )
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return None


def parse_rules(text: str, source: str = "rules.yaml") -> Rules:
    return parse_yaml_model(text, source, Rules, _across_keys)


def parse_yaml_model(
    text: str,
    source: str,
    model: type[_Model],
    across: Callable[[_Model], list[tuple[tuple, str]]] = lambda _: [],
) -> _Model:
    """A YAML settings file (rules.yaml, a group's group.yaml) as `model`, or RulesError
    with every problem in Chinese, naming the file, the key and its line. `across`
    finds problems of one key that only another key shows."""
    try:
        return _parse_yaml_model(text, source, model, across)
    except RulesError as error:
        colons = _full_width_colons(text, source)
        if not colons:
            raise
        # A syntax error at or after a full-width colon is that colon's doing.
        line = getattr(error, "line", None)
        caused = [message for number, message in colons if line is None or number <= line]
        if getattr(error, "syntax", False) and caused:
            raise RulesError("\n".join(caused)) from error
        raise RulesError("\n".join([*(m for _, m in colons), str(error)])) from error


def _parse_yaml_model(
    text: str,
    source: str,
    model: type[_Model],
    across: Callable[[_Model], list[tuple[tuple, str]]],
) -> _Model:
    node = None
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        line, message = _yaml_problem(exc, text)
        raise _syntax_error(f"{source} {message}", line) from exc
    except (ValueError, KeyError, TypeError, OverflowError) as exc:
        # An explicit tag (!!int abc) or a number beyond Python's digit limit.
        line, message = _unreadable_scalar(node) or (None, ": 无法读取的值，请检查写法")
        raise _syntax_error(f"{source} {message}", line) from exc
    repeated = _repeated_keys(node, source) if node is not None else []
    if repeated:
        raise _syntax_error("\n".join(message for _, message in repeated), repeated[0][0])
    if data is None:
        data = {}
    if not isinstance(data, dict):
        shown = _TYPE_NAMES.get(type(data).__name__, "其他内容")
        raise _syntax_error(f"{source} 第 1 行: 顶层应为键值对（project: …），实际是{shown}", None)
    lines = _key_lines(node) if node is not None else {}
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        found = [(tuple(error["loc"]), _message(error)) for error in exc.errors()]
    else:
        found = across(parsed)
    if not found:
        return parsed
    raise RulesError("\n".join(_located(source, loc, text, lines) for loc, text in found))


def _across_keys(rules: Rules) -> list[tuple[tuple, str]]:
    """Problems of one key that only another key shows, each located at the first key."""
    problems: list[tuple[tuple, str]] = []
    # Deals carry the channel's own name: a rate set for one of its variants never applies.
    variants = dict(rules.channel_names)
    for name in rules.commission.channels:
        channel = variants.get(name.strip())
        if channel is not None:
            problems.append(
                (
                    ("commission", "channels", name),
                    f"“{name}”是渠道“{channel}”的别名（见 channels），请写“{channel}”",
                )
            )
    # Two entries for one channel: which addresses its receipt goes to would be a guess.
    first: dict[str, str] = {}
    for name in rules.notify.channels:
        channel = variants.get(name.strip(), name.strip())
        if channel in first:
            problems.append(
                (
                    ("notify", "channels", name),
                    f"“{first[channel]}”和“{name}”都是渠道“{channel}”（见 channels），请合并为一项",
                )
            )
        first.setdefault(channel, name)
    # The queue waits behind a report's protection: other modes have no report holder.
    if rules.report.queue is not None and rules.conflict.mode != "report":
        problems.append(
            (
                ("report", "queue"),
                "排队只适用于报备保护模式，请同时写 conflict.mode: report（或删去 queue）",
            )
        )
    return problems


def _located(source: str, loc: tuple, message: str, lines: dict[tuple, int]) -> str:
    key = ".".join(str(part) for part in loc if not str(part).startswith("function-"))
    line = _line_for(loc, lines)
    where = f"第 {line} 行 " if line else ""
    return f"{source} {where}{key or '(顶层)'}: {message}"


# What pydantic's own checks mean, in the words of the rest of the file.
_MESSAGES = {
    "extra_forbidden": "未知的配置项",
    "missing": "缺少此项",
    "finite_number": "应为有限的数字",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "string_type": "应为文字",
    "list_type": "应为列表，例如 [a, b]",
    "dict_type": "应为键值对，例如 {a: 1}",
    "model_type": "应为键值对，例如 {a: 1}",
    "model_attributes_type": "应为键值对，例如 {a: 1}",
    "invalid_key": "键名应为文字",
    "int_parsing_size": "数字位数过多",
    "string_unicode": "应为文字（内容无法读取为文字）",
}
# Any other check pydantic may add: still said in Chinese, never its English message.
_OTHER = "取值不符合要求"
_CJK = re.compile(r"[\u4e00-\u9fff]")
_BOUNDS = {
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "应不小于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "应不大于 {le}",
    "literal_error": "应为以下之一：{expected}",
}


def _message(error: Any) -> str:
    kind = error["type"]
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    if kind in _BOUNDS:
        return _BOUNDS[kind].format(**error.get("ctx", {})).replace("' or '", "'、'")
    message = str(error["msg"]).removeprefix("Value error, ")
    # The validators above raise Chinese messages; anything else is pydantic's English.
    return message if kind == "value_error" and _CJK.search(message) else _OTHER


def load_rules(path: Path) -> Rules:
    if not path.exists():
        return Rules()
    return parse_rules(path.read_text(encoding="utf-8"), source=path.name)
