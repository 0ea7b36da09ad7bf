"""Header rows, column aliases and sheet kinds.

A sheet's header row is found among its first rows, its headers are mapped to
canonical fields through the alias table below (extended by `rules.yaml`
`columns:`), and its kind is recognised from the fields it carries; the folder
and the sheet or file name are only hints.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from reconcile.normalise.names import to_simplified

# Canonical field -> built-in header aliases (compared after `normalise_header`).
ALIASES: dict[str, tuple[str, ...]] = {
    "customer_name": (
        "客户姓名",
        "姓名",
        "客户",
        "客户名称",
        "客户名",
        "购房人",
        "购房人姓名",
        "客户称呼",
        "来访人",
        "来访客户",
        "来访人姓名",
        "业主姓名",
    ),
    "phone": (
        "客户电话",
        "联系方式",
        "手机号",
        "客户联系方式",
        "电话",
        "手机",
        "联系电话",
        "手机号码",
        "客户手机",
        "客户手机号",
        "客户手机号码",
        "电话号码",
        "客户号码",
        "客户电话号码",
        "来访人电话",
        "购房人电话",
        "号码",
    ),
    "channel": (
        "渠道",
        "分销商",
        "公司",
        "渠道名称",
        "渠道公司",
        "中介",
        "中介公司",
        "分销公司",
        "所属渠道",
        "带看渠道",
        "分销渠道",
        "渠道商",
        "合作渠道",
        "报备渠道",
        "所属公司",
    ),
    "agent": (
        "经纪人",
        "报备人",
        "渠道专员",
        "经纪人姓名",
        "带看人",
        "带看经纪人",
        "渠道经纪人",
        "报备经纪人",
        "置业经纪人",
        "带看人员",
    ),
    "agent_phone": (
        "经纪人电话",
        "经纪人手机",
        "报备人电话",
        "带看人电话",
        "经纪人联系方式",
        "渠道专员电话",
    ),
    "reported_at": ("报备时间", "报备日期时间", "报备登记时间", "提报时间"),
    "reported_date": ("报备日期",),
    "time": ("时间", "具体时间", "时刻"),
    "expected_visit_at": (
        "预计到访时间",
        "预约到访时间",
        "预计到访",
        "预计到访日期",
        "预计带看时间",
    ),
    "report_type": ("报备类型", "类型", "报备方式"),
    "visited_at": (
        "到访时间",
        "来访时间",
        "到访日期时间",
        "带看时间",
        "实际到访时间",
        "来访登记时间",
    ),
    "visited_date": ("到访日期", "来访日期", "带看日期"),
    "relative_phone": (
        "配偶电话",
        "家属电话",
        "配偶手机",
        "关联电话",
        "亲属电话",
        "配偶联系方式",
        "家属联系方式",
        "共同购买人电话",
    ),
    "relative_name": ("配偶姓名", "家属姓名", "配偶", "家属", "亲属姓名", "共同购买人"),
    "relationship": ("关系", "与客户关系", "亲属关系"),
    "consultant": ("置业顾问", "接待顾问", "销售顾问", "接待人", "接待置业顾问"),
    "remark": ("备注", "说明", "备注说明"),
    "first_contact_at": (
        "首次接触时间",
        "创建时间",
        "首访时间",
        "录入时间",
        "建档时间",
        "首次来访时间",
        "首次接触日期",
        "创建日期",
        "登记日期",
    ),
    "source_channel": ("客户来源", "来源", "认知途径", "来源渠道", "媒体来源"),
    "followed_at": ("跟进时间", "跟进日期", "回访时间", "回访日期"),
    "follow_type": ("跟进方式", "回访方式"),
    "follow_note": ("跟进内容", "跟进记录", "回访内容", "跟进情况"),
    "deal_no": ("成交编号", "认购编号", "合同编号", "订单号", "认购书编号", "交易编号"),
    "room": ("房号", "房间号", "房源", "房屋", "房源编号", "房间"),
    "stage": ("成交阶段", "阶段", "状态", "成交状态", "交易状态", "交易阶段"),
    "deal_date": ("成交日期", "交易日期", "成交时间"),
    "subscribed_at": ("认购日期", "认购时间"),
    "signed_at": ("签约日期", "签约时间", "网签日期"),
    "refunded_at": ("退房日期", "退房时间", "退订日期"),
    "amount": (
        "成交金额",
        "合同金额",
        "成交总价",
        "总价",
        "金额",
        "认购金额",
        "成交价",
        "房款总额",
    ),
    "ruling_owner": ("归属渠道", "裁决渠道", "判定渠道", "裁决归属"),
    "ruling_shares": ("分成", "分成比例", "佣金分成"),
    "ruled_at": ("裁决日期", "裁决时间"),
}

FIELDS: tuple[str, ...] = tuple(ALIASES)

# How a clerk calls each field: the first built-in alias, with a note where it is ambiguous.
FIELD_LABELS: dict[str, str] = {field: aliases[0] for field, aliases in ALIASES.items()} | {
    "time": "时间（与日期列合并）",
    "reported_date": "报备日期（与时间列合并）",
    "visited_date": "到访日期（与时间列合并）",
}

KINDS = ("report", "visit", "crm_customer", "crm_followup", "deal", "ruling")
KIND_LABELS = {
    "report": "报备登记表",
    "visit": "来访登记表",
    "crm_customer": "CRM客户",
    "crm_followup": "CRM跟进记录",
    "deal": "成交记录",
    "ruling": "裁决表",
}

# A kind is possible when one field of every group is present; its score is how
# many of its characteristic fields the sheet carries.
_REQUIRED: dict[str, tuple[tuple[str, ...], ...]] = {
    "report": (("phone",), ("reported_at", "reported_date")),
    "visit": (("phone",), ("visited_at", "visited_date")),
    "crm_customer": (("phone",), ("first_contact_at", "source_channel")),
    "crm_followup": (("phone",), ("followed_at",)),
    "deal": (("deal_no", "room"), ("stage", "amount", "deal_date", "subscribed_at", "signed_at")),
    "ruling": (("phone",), ("ruling_owner", "ruling_shares")),
}
_CHARACTERISTIC: dict[str, frozenset[str]] = {
    "report": frozenset(
        {
            "reported_at",
            "reported_date",
            "expected_visit_at",
            "report_type",
            "agent",
            "agent_phone",
            "channel",
        }
    ),
    "visit": frozenset(
        {
            "visited_at",
            "visited_date",
            "consultant",
            "relative_phone",
            "relative_name",
            "relationship",
        }
    ),
    "crm_customer": frozenset({"first_contact_at", "source_channel", "consultant"}),
    "crm_followup": frozenset({"followed_at", "follow_type", "follow_note"}),
    "deal": frozenset(
        {
            "deal_no",
            "room",
            "stage",
            "amount",
            "deal_date",
            "subscribed_at",
            "signed_at",
            "refunded_at",
        }
    ),
    "ruling": frozenset({"ruling_owner", "ruling_shares", "ruled_at"}),
}
_NAME_HINTS: tuple[tuple[str, str], ...] = (
    ("裁决", "ruling"),
    ("跟进", "crm_followup"),
    ("回访", "crm_followup"),
    ("成交", "deal"),
    ("认购", "deal"),
    ("签约", "deal"),
    ("交易", "deal"),
    ("来访", "visit"),
    ("到访", "visit"),
    ("带看", "visit"),
    ("报备", "report"),
    ("客户", "crm_customer"),
)
_FOLDER_HINTS: dict[str, tuple[str, ...]] = {
    "channels": ("report", "visit"),
    "visits": ("visit",),
    "crm": ("crm_customer", "crm_followup", "deal"),
    "rulings": ("ruling",),
}

HEADER_SCAN_ROWS = 30
_HEADER_NOISE = re.compile(r"[\s*※★:：]|[(（](必填|选填|必须|可选|格式[^)）]*)[)）]")


def normalise_header(text: str | None) -> str:
    if text is None:
        return ""
    folded = unicodedata.normalize("NFKC", str(text))
    return to_simplified(_HEADER_NOISE.sub("", folded)).lower()


@dataclass(frozen=True)
class AliasTable:
    lookup: dict[str, str]

    @classmethod
    def build(cls, extra: dict[str, list[str]] | None = None) -> AliasTable:
        lookup: dict[str, str] = {}
        for field, aliases in ALIASES.items():
            for alias in (field, *aliases):
                lookup.setdefault(normalise_header(alias), field)
        # Project aliases win over built-in ones: the project knows its own sheets.
        for field, aliases in (extra or {}).items():
            for alias in aliases:
                lookup[normalise_header(alias)] = field
        return cls(lookup)

    def field_for(self, header: str | None) -> str | None:
        return self.lookup.get(normalise_header(header))


@dataclass(frozen=True)
class HeaderMatch:
    row_index: int  # 0-based index into the sheet frame
    headers: list[str | None]  # header text per column
    mapping: dict[str, str]  # canonical field -> frame column
    duplicates: dict[str, str]  # frame column -> field it repeats (kept only as raw text)


def find_header(rows: list[list[str | None]], aliases: AliasTable) -> HeaderMatch | None:
    """The first row among the top rows that names the most known fields (at least two)."""
    best: tuple[int, int] | None = None
    for index, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        fields = {aliases.field_for(cell) for cell in row if cell is not None}
        fields.discard(None)
        score = len(fields)
        if score >= 2 and (best is None or score > best[1]):
            best = (index, score)
    if best is None:
        return None
    index = best[0]
    headers = rows[index]
    mapping: dict[str, str] = {}
    duplicates: dict[str, str] = {}
    for position, text in enumerate(headers):
        field = aliases.field_for(text)
        if field is None:
            continue
        column = f"c{position}"
        if field in mapping:
            duplicates[column] = field
        else:
            mapping[field] = column
    return HeaderMatch(index, headers, mapping, duplicates)


def recognise_kind(fields: set[str], folder: str | None, names: tuple[str, ...]) -> str | None:
    """The sheet kind its fields admit; sheet name, file name and folder break ties, in that order.

    `names` is (sheet name, file name). Returns None when no kind fits or two fit equally.
    """
    possible = [
        kind
        for kind, groups in _REQUIRED.items()
        if all(any(field in fields for field in group) for group in groups)
    ]
    if not possible:
        return None
    folder_kinds = _FOLDER_HINTS.get(folder or "", ())
    name_hints = [_name_hint(name) for name in names]

    def score(kind: str) -> tuple[int, ...]:
        return (
            *(int(kind == hint) for hint in name_hints),
            len(fields & _CHARACTERISTIC[kind]),
            int(kind in folder_kinds),
        )

    ranked = sorted(possible, key=score, reverse=True)
    if len(ranked) > 1 and score(ranked[0]) == score(ranked[1]):
        return None
    return ranked[0]


def _name_hint(name: str) -> str | None:
    return next((kind for key, kind in _NAME_HINTS if key in name), None)
