"""Deal and ruling cells: stages, amounts and commission shares."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

STAGES = ("认购", "签约", "退房")
_STAGE_WORDS: tuple[tuple[str, str], ...] = (
    ("退", "退房"),
    ("撤", "退房"),
    ("作废", "退房"),
    ("取消", "退房"),
    ("签", "签约"),
    ("合同", "签约"),
    ("备案", "签约"),
    ("认购", "认购"),
    ("订", "认购"),
    ("定", "认购"),
)
_AMOUNT = re.compile(r"^(-?\d+(?:\.\d+)?)(万|万元|元)?$")


@dataclass(frozen=True, slots=True)
class Parsed:
    value: object | None
    error_code: str | None = None
    error: str | None = None


def parse_stage(value: str | None) -> Parsed:
    """认购 / 签约 / 退房 from the many ways CRM exports spell them (已签约, 网签, 退订 …)."""
    text = unicodedata.normalize("NFKC", value or "").strip()
    if not text:
        return Parsed(None, "stage_missing", "缺少成交阶段（认购/签约/退房）")
    for word, stage in _STAGE_WORDS:
        if word in text:
            return Parsed(stage)
    return Parsed(None, "stage_invalid", f"无法识别的成交阶段（{text}），应为认购、签约或退房")


def parse_amount(value: str | None) -> Parsed:
    """Yuan as a float: `1,234,567.00`, `¥1234567`, `123.5万`, `RMB 1,000`."""
    text = unicodedata.normalize("NFKC", value or "")
    text = re.sub(r"[\s,，¥￥]|RMB|CNY|人民币", "", text, flags=re.IGNORECASE)
    if not text:
        return Parsed(None)
    match = _AMOUNT.match(text)
    if not match:
        return Parsed(None, "amount_invalid", f"无法识别的金额（{value}）")
    amount = float(match.group(1))
    if match.group(2) in ("万", "万元"):
        amount *= 10_000
    if amount < 0:
        return Parsed(None, "amount_invalid", f"金额不能为负数（{value}）")
    return Parsed(round(amount, 2))


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
            return Parsed(
                None, "shares_invalid", f"分成格式不对（{text}），应写成 链家:0.5;我爱我家:0.5"
            )
        share = float(match.group(2)) / (100 if match.group(3) or float(match.group(2)) > 1 else 1)
        shares.append((match.group(1).strip(), share))
    total = sum(share for _, share in shares)
    if not shares or abs(total - 1) > 0.005 or any(share <= 0 for _, share in shares):
        return Parsed(None, "shares_invalid", f"分成比例合计应为 100%（{text}）")
    return Parsed(tuple(shares))
