"""Deal and ruling cells: stages, flats, amounts and commission shares."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from reconcile.config.kinds import PLACEHOLDERS
from reconcile.normalise.errors import RowError

# Deal stage levels, lowest first; each is written as its first word (SPEC 6.5).
STAGES = ("小订", "认购", "签约", "退房")
# How CRM exports spell them, most telling first: 退订 is a refund, and so are 挞定 (the
# buyer walks away from the deposit, in Hong Kong and Guangdong usage) and 弃购; 定金 is
# a deposit, 大定 a subscription, and a bare 订/定 (已订, 预定) the subscription it used to
# mean. What follows a contract (按揭, 放款, 交房, 入伙, 结清) says it was signed.
_STAGE_WORDS: tuple[tuple[str, str], ...] = (
    ("退", "退房"),
    ("撤", "退房"),
    ("作废", "退房"),
    ("取消", "退房"),
    ("挞定", "退房"),
    ("弃购", "退房"),
    ("签", "签约"),
    ("合同", "签约"),
    ("备案", "签约"),
    ("成销", "签约"),
    ("按揭", "签约"),
    ("放款", "签约"),
    ("交房", "签约"),
    ("入伙", "签约"),
    ("结清", "签约"),
    ("认购", "认购"),
    ("大定", "认购"),
    ("小订", "小订"),
    ("小定", "小订"),
    ("认筹", "小订"),
    ("定金", "小订"),
    ("诚意金", "小订"),
    ("排号", "小订"),
    ("订", "认购"),
    ("定", "认购"),
)
# A stage not reached yet (待签约, 未签约, 认购待签, 尚未网签): waiting to sign is a
# subscription, and waiting to subscribe names no stage of its own. Read before the
# words above, which would take the 签 in 待签约 for a signed contract.
_NOT_YET = "(?:待|未|拟|尚未|还未|将要|准备)"
_NOT_YET_SIGNED = re.compile(f"{_NOT_YET}(?:网签|草签|签约|签订|签)")
_NOT_YET_SUBSCRIBED = re.compile(f"{_NOT_YET}(?:认购|大定|下定|定)")
# A stage still awaiting approval, or refused it (签约审核中, 退房待审批, 认购被驳回), is not
# reached either: the approval is what makes a contract, or a refund, count.
_UNAPPROVED = re.compile(
    "(?:审核|审批|申请)中|(?:待|未)(?:审核|审批|批准|确认|生效)|驳回|不通过|未通过|申请$"
)
_AMOUNT = re.compile(r"^(-?\d+(?:\.\d+)?)(万元?|亿元?|元)?整?$")
_UNIT = {"万": 10_000, "万元": 10_000, "亿": 100_000_000, "亿元": 100_000_000}
# A cell saying there is no amount yet (a 小订 row's 成交总价 in a 销售明细): no amount, as
# a blank cell is, not a row error that would lose the deal.
_NO_AMOUNT = PLACEHOLDERS | {"无", "暂无", "待定", "未定", "未知", "空"}


@dataclass(frozen=True, slots=True)
class Parsed:
    value: object | None
    error_code: str | None = None
    error: str | None = None


def parse_stage(value: str | None) -> Parsed:
    """小订 / 认购 / 签约 / 退房 from the many ways CRM exports spell them.

    已签约, 网签, 草签 and 成销 are 签约; 大定 is 认购; 认筹 and 定金 are 小订; 退订, 退定 and
    作废 are 退房. 待签约 and 未签约 are 认购; 待认购 alone is no stage (a row error).
    """
    written = unicodedata.normalize("NFKC", value or "").strip()
    if not written:
        return Parsed(None, RowError.STAGE_MISSING, "缺少成交阶段（小订/认购/签约/退房）")
    text = _NOT_YET_SUBSCRIBED.sub("", _NOT_YET_SIGNED.sub("认购", written))
    if _UNAPPROVED.search(text):
        return _unapproved(written, text)
    stage = _stage_word(text)
    if stage is not None:
        return Parsed(stage)
    return Parsed(
        None, RowError.STAGE_INVALID, f"无法识别的成交阶段（{written}），应为小订、认购、签约或退房"
    )


def _stage_word(text: str) -> str | None:
    """The stage the most telling of `_STAGE_WORDS` in `text` names, if any."""
    return next((stage for word, stage in _STAGE_WORDS if word in text), None)


def _unapproved(written: str, text: str) -> Parsed:
    """A stage awaiting approval: a contract not approved yet is still a subscription;
    any other stage awaiting approval names none reached (a row error saying so)."""
    if _stage_word(_UNAPPROVED.sub("", text)) == "签约":
        return Parsed("认购")
    reason = f"成交阶段“{written}”尚未审批生效，本行不计；审批通过后的导出会计入"
    return Parsed(None, RowError.STAGE_INVALID, reason)


# 明源 ERP keeps a 认购 (s_Order) or 签约 (s_Contract) record 激活 while it stands and
# 关闭 once it ends, with why: 转签约 (the subscription became a contract), 退房, 换房 …
RECORD_STATES = frozenset({"激活", "关闭"})


def record_stage(state: str, close_reason: str | None, own_stage: str | None) -> Parsed:
    """The stage of a 激活/关闭 record of a 认购 or 签约 table (`own_stage`, from its dates
    or the table's name): standing, closed by moving on, or closed by a 换房 (the deal moved
    to another flat: the judge follows it there), it is that stage; closed by a refund it
    is 退房. A record closed for no stated reason, or whose table names no stage, is a row
    error."""
    reason = unicodedata.normalize("NFKC", close_reason or "").strip()
    closed_as = _stage_word(reason)  # 退房/作废 a refund; 转签约/转认购 moving on
    if state == "关闭" and closed_as == "退房":
        return Parsed("退房")
    if own_stage is None:
        why = "本表既没有认购或签约日期，表名也没有写明是认购还是签约"
        return Parsed(None, RowError.STAGE_INVALID, f"成交状态“{state}”无法确定阶段：{why}")
    if state == "激活" or closed_as in ("认购", "签约") or moved_out(reason):
        return Parsed(own_stage)
    shown = f"（{reason[:30]}）" if reason else "，未写关闭原因"
    return Parsed(None, RowError.STAGE_INVALID, f"{own_stage}已关闭{shown}，无法确定成交阶段")


def moved_out(close_reason: str | None) -> bool:
    """Whether a record was closed because its deal moved to another flat (换房)."""
    return "换房" in unicodedata.normalize("NFKC", close_reason or "")


def stage_level(stage: str | None) -> int:
    """A stage's place in STAGES (-1 for none)."""
    return STAGES.index(stage) if stage in STAGES else -1


# Flats ------------------------------------------------------------------------------------

# Words that close a part of a room name: 5栋 / 5幢 / 5座 / 5号楼 / 5# (building),
# 2单元 (unit), 0802室 (room); 一期 / 二区 name a phase or area, not the flat.
_BUILDING_WORDS = ("号楼", "栋", "幢", "座", "楼", "#")
_UNIT_WORDS = ("单元",)
_ROOM_WORDS = ("室",)  # 号 and 房 may close a building too (5号2单元): placed by position
_PHASE_WORDS = ("期", "区")
_PART = re.compile(r"(.*?)(号楼|单元|栋|幢|座|楼|#|室|号|房|期|区)")
_SEPARATORS = re.compile(r"[-—–_/\\\s·,，、]+")
_CODE = re.compile(r"[A-Z0-9]+")
_CN_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")}
_GUID = re.compile(r"[0-9A-F]{8}(-?[0-9A-F]{4}){3}-?[0-9A-F]{12}")


@dataclass(frozen=True, slots=True)
class Room:
    """A room name read into its parts: building (楼栋) and unit (单元) may be missing."""

    building: str | None
    unit: str | None
    room: str

    @property
    def key(self) -> str | None:
        """`楼栋-单元-房号` (`5-2-802`); None for a bare 房号, which is no flat on its own."""
        if self.building is None:
            return None
        return "-".join(p for p in (self.building, self.unit, self.room) if p is not None)


def _cn_number(text: str) -> str:
    """一 … 九十九 as digits (五号楼 = 5号楼); other text as it is."""
    if not text or text.isascii() or any(c not in _CN_DIGITS and c != "十" for c in text):
        return text
    if "十" not in text:
        return "".join(str(_CN_DIGITS[c]) for c in text)
    tens, _, ones = text.partition("十")
    if len(tens) > 1 or len(ones) > 1:
        return text
    return str((_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0))


def _code(text: str | None) -> str | None:
    """One part of a flat (`05` → `5`, `a` → `A`, `五` → `5`); None when it is no code."""
    if text is None:
        return None
    text = _cn_number(unicodedata.normalize("NFKC", text).strip().upper())
    if not _CODE.fullmatch(text):
        return None
    return text.lstrip("0") or "0" if text.isdigit() else text


def _tokens(text: str) -> list[tuple[str, str]]:
    """(value, word) pieces of a name: `5号楼2单元0802室` → (5, 号楼), (2, 单元), (0802, 室)."""
    pieces: list[tuple[str, str]] = []
    for segment in _SEPARATORS.split(text):
        rest = segment
        while rest:
            match = _PART.match(rest)
            if match is None or not match.group(1):
                # A word without a value before it (`#` alone) or no word at all.
                if match is not None and not match.group(1):
                    rest = rest[match.end() :]
                    continue
                pieces.append((rest, ""))
                break
            pieces.append((match.group(1), match.group(2)))
            rest = rest[match.end() :]
    return pieces


@lru_cache(maxsize=1 << 16)
def parse_room(text: str | None) -> Room | None:
    """A room name in any of the ways exports write it, or None when it names no room.

    `5#-2单元-0802`, `5栋2单元802`, `5-2-802`, `5号楼2单元0802室` → 5 / 2 / 802;
    `A座1001` → A / – / 1001; `1001` → a bare 房号 (no building). Parts that are
    not codes (the project's name, 一期) are left out; parts without a word are
    placed by position (building, unit, room from the right).
    """
    if text is None:
        return None
    text = unicodedata.normalize("NFKC", str(text)).strip().upper()
    parts: list[tuple[str, str]] = []  # (b | u | r | "" for a part placed by position, code)
    for value, word in _tokens(text):
        if word in _PHASE_WORDS:
            continue
        code = _code(value)
        if code is None and not word:
            found = re.search(r"[A-Z0-9]+$", value)  # `山湖5`: the project's name, then 5
            code = _code(found.group()) if found else None
        if code is None:
            continue
        place = "b" if word in _BUILDING_WORDS else "u" if word in _UNIT_WORDS else ""
        parts.append(("r" if word == "室" else place, code))
    rooms = [i for i, (place, _) in enumerate(parts) if place == "r"]
    loose = [i for i, (place, _) in enumerate(parts) if not place]
    if not rooms and not loose:
        return None
    room_at = rooms[-1] if rooms else loose[-1]
    room = parts.pop(room_at)[1]
    if not any(c.isdigit() for c in room):
        return None
    building = next((code for place, code in reversed(parts) if place == "b"), None)
    unit = next((code for place, code in reversed(parts) if place == "u"), None)
    b_at = max((i for i, (place, _) in enumerate(parts) if place == "b"), default=-1)
    u_at = max((i for i, (place, _) in enumerate(parts) if place == "u"), default=len(parts))
    if building is None:
        before_unit = [code for i, (place, code) in enumerate(parts) if not place and i < u_at]
        if unit is None and len(before_unit) >= 2:
            building, unit = before_unit[-2], before_unit[-1]
        elif before_unit:
            building = before_unit[-1]
    elif unit is None:
        after = [code for i, (place, code) in enumerate(parts) if not place and i > b_at]
        unit = after[-1] if after else None
    return Room(building, unit, room)


def flat_key(
    room_id: str | None = None,
    room_name: str | None = None,
    building: str | None = None,
    unit: str | None = None,
    room: str | None = None,
    phone: str | None = None,
) -> str | None:
    """The most specific identity of the flat a deal row names (SPEC 6.5), or None.

    房源唯一码 / 房间编号 / GUID as given; else `楼栋-单元-房号` (`5-2-802`) from the
    room's name or from separate 楼栋 / 单元 / 房号 columns; else `房号@phone`: a bare
    房号 repeats across buildings, so only with the buyer's number is it a flat.
    """
    keys = flat_keys(room_id, room_name, building, unit, room, phone)
    return keys[0] if keys else None


@lru_cache(maxsize=1 << 16)
def flat_keys(
    room_id: str | None = None,
    room_name: str | None = None,
    building: str | None = None,
    unit: str | None = None,
    room: str | None = None,
    phone: str | None = None,
) -> tuple[str, ...]:
    """Every identity a row gives its flat, most specific first (`flat_key` is the first).

    A 房间编号 that is really the room's full name (`山湖一号-一期-5#-2单元-0802`, as 明源's
    销售明细表 writes it) is read as a name, so it meets the same flat written in columns.
    """
    keys: list[str] = []
    ident = unicodedata.normalize("NFKC", room_id or "").strip().upper()
    named = _room_id_as_name(ident)
    if ident and named is None:
        keys.append(ident)
    name = named or _name_key(room_name) or _columns_key(building, unit, room)
    if name is not None and name not in keys:
        keys.append(name)
    if not keys:
        bare = parse_room(room) or parse_room(room_name)
        if bare is not None and phone:
            keys.append(f"{bare.room}@{phone}")
    return tuple(keys)


def _room_id_as_name(ident: str) -> str | None:
    if not ident or _GUID.fullmatch(ident):
        return None
    words = any(w in ident for w in (*_BUILDING_WORDS, *_UNIT_WORDS, "室"))
    if not words and not re.fullmatch(r"[A-Z]?\d+(-\d+){1,2}", ident):
        return None
    return _name_key(ident)


def _name_key(text: str | None) -> str | None:
    parsed = parse_room(text)
    return parsed.key if parsed is not None else None


def _columns_key(building: str | None, unit: str | None, room: str | None) -> str | None:
    """楼栋, 单元 and 房号 from their own columns (a 房号 may itself be a full name)."""
    parsed = parse_room(room)
    if parsed is None:
        return None
    built = _part(building, _BUILDING_WORDS)
    if built is None:
        return parsed.key
    own_unit = _part(unit, _UNIT_WORDS)
    if parsed.building is not None and parsed.building != built:
        # `2-0802` under 楼栋 5: the 房号 column wrote unit and room.
        own_unit = own_unit or parsed.building
    return Room(built, own_unit or parsed.unit, parsed.room).key


def _part(text: str | None, words: tuple[str, ...]) -> str | None:
    """A 楼栋 or 单元 cell as a code: `5#`, `5栋`, `5#楼`, `第5栋`, `05`, `二单元` → 5 / 2."""
    if text is None:
        return None
    value = unicodedata.normalize("NFKC", str(text)).strip().upper().removeprefix("第")
    ends = sorted(words, key=len, reverse=True)
    while word := next((w for w in ends if value.endswith(w) and len(value) > len(w)), None):
        value = value[: -len(word)]
    return _code(value)


@lru_cache(maxsize=1 << 16)
def is_room_key(key: str) -> bool:
    """Whether a flat key is a `楼栋-单元-房号` (not a 房源唯一码, not `房号@number`)."""
    parsed = parse_room(key) if "@" not in key else None
    return parsed is not None and parsed.key == key


def room_label(key: str) -> str:
    """A flat key as people may see it: `房号@number` shows the number masked."""
    room, at, phone = key.partition("@")
    if not at or len(phone) != 11:
        return key
    return f"{room}@{phone[:3]}****{phone[-4:]}"


def parse_amount(value: str | None) -> Parsed:
    """Yuan as a float: `1,234,567.00`, `¥1234567`, `123.5万`, `RMB 1,000`, `3000000元整`;
    none for a blank cell or one saying there is none yet (`-`, `待定`)."""
    text = unicodedata.normalize("NFKC", value or "")
    text = re.sub(r"[\s,，¥￥]|RMB|CNY|人民币", "", text, flags=re.IGNORECASE)
    if not text or text in _NO_AMOUNT:
        return Parsed(None)
    match = _AMOUNT.match(text)
    if not match:
        return Parsed(None, RowError.AMOUNT_INVALID, f"无法识别的金额（{value}）")
    amount = float(match.group(1)) * _UNIT.get(match.group(2), 1)
    if amount < 0:
        return Parsed(None, RowError.AMOUNT_INVALID, f"金额不能为负数（{value}）")
    return Parsed(round(amount, 2))


# A negative sign wherever ledgers put it: `-8000`, `¥-8,000.00`, `-¥8000`, the
# accountant's `(8,000.00)`, and the trailing minus of ERP exports (`8,000.00-`).
_SIGNED = re.compile(
    r"^(?P<lead>[-−]?)\s*(?P<cur>(?:[¥￥]|RMB|CNY|人民币)?)\s*(?P<sign>[-−]?)(?P<rest>.*?)(?P<tail>[-−]?)$",
    re.IGNORECASE | re.DOTALL,  # a cell's inner line break is text to refuse, not a miss
)


def parse_signed_amount(value: str | None, label: str = "付款金额") -> Parsed:
    """A payment's or claim's yuan, which may be negative (money returned, SPEC 6.6):
    `-8,000.00`, `－8000`, `¥-8,000.00`, `8,000.00-` or the accountant's `(8,000.00)`.
    Blank is an error: the row is its amount; `label` names the column in it."""
    text = unicodedata.normalize("NFKC", value or "").strip()
    if not text:
        return Parsed(None, RowError.AMOUNT_MISSING, f"{label}为空")
    bracketed = text.startswith("(") and text.endswith(")")
    match = _SIGNED.fullmatch(text[1:-1].strip() if bracketed else text)
    assert match is not None  # every part of the pattern may be empty
    signs = sum(bool(match[part]) for part in ("lead", "sign", "tail"))
    if signs + bracketed > 1:
        return Parsed(None, RowError.AMOUNT_INVALID, f"无法识别的金额（{value}）")
    parsed = parse_amount(match["cur"] + match["rest"])
    negative = bool(signs or bracketed)
    if not isinstance(parsed.value, float):
        return Parsed(None, RowError.AMOUNT_INVALID, f"无法识别的金额（{value}）")
    return Parsed(-parsed.value if negative else parsed.value)


# Words of a payment's 状态 saying no money went out (or it came back): 已退票, 付款失败,
# 待付款, 审批中 … A status not listed (付款成功, 已支付, 已完成) is money paid.
_NOT_PAID = (
    "退票", "失败", "作废", "撤销", "取消", "驳回", "退回", "待付", "未付", "待支付", "未支付",
    "处理中", "审批中", "待审批", "审核中", "待审核", "冲销", "冲红", "挂起", "暂停",
    # money on its way, or not yet out: not paid tonight
    "付款中", "支付中", "打款中", "转账中", "结算中", "未结算", "待结算", "未到账", "待到账",
    "未打款", "待打款", "未完成",
)  # fmt: skip


def parse_payment_status(value: str | None) -> Parsed:
    """A payment row's 状态: an error when it says the money did not go out."""
    text = unicodedata.normalize("NFKC", value or "").strip()
    if any(word in text for word in _NOT_PAID):
        return Parsed(None, RowError.PAYMENT_NOT_MADE, f"付款状态为“{text}”，不计入已付")
    return Parsed(text or None)


def parse_shares(value: str | None) -> Parsed:
    """`链家:0.5;我爱我家:0.5` (or `链家50%，我爱我家50%`) → ((channel, share), …).

    The shares must add up to 1.
    """
    text = unicodedata.normalize("NFKC", value or "").strip()
    if not text:
        return Parsed(None)
    shares: list[tuple[str, float]] = []
    for part in re.split(r"[;,、/]|；|，", text):
        part = part.strip()
        if not part:
            continue
        match = re.fullmatch(r"(.+?)\s*[:=]?\s*(\d+(?:\.\d+)?)\s*(%)?", part)
        if not match:
            reason = f"分成格式不对（{text}），应写成 链家:0.5;我爱我家:0.5"
            return Parsed(None, RowError.SHARES_INVALID, reason)
        share = float(match.group(2)) / (100 if match.group(3) or float(match.group(2)) > 1 else 1)
        shares.append((match.group(1).strip(), share))
    total = sum(share for _, share in shares)
    if not shares or abs(total - 1) > 0.005 or any(share <= 0 for _, share in shares):
        return Parsed(None, RowError.SHARES_INVALID, f"分成比例合计应为 100%（{text}）")
    return Parsed(tuple(shares))
