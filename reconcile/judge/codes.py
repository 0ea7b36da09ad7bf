"""Reason codes (SPEC §6.2) and the status vocabularies of the CSV contract (SPEC §7)."""

from __future__ import annotations

REASONS: dict[str, str] = {
    "R01": "缺少客户姓氏",
    "R02": "号码不合规",
    "R03": "超出报备时段",
    "R04": "超出报备限额",
    "R05": "重复报备",
    "R06": "案场老客户(CRM)",
    "R07": "已到访客户补报",
    "R08": "报备晚于到访",
    "R09": "报备保护期已过",
    "R10": "疑似倒签报备",
    "A01": "号码匹配多个客户",
    "C01": "撞单-他方优先",
    "C02": "带看未报备",
    "D01": "撞单待裁决",
    "N01": "自然到访",
    "E01": "案场老客户",
    "P01": "到访保护期已过",
    "H01": "申诉期内暂缓结佣",
    "X01": "退房追回",
    "S01": "未到结佣节点",
    "J01": "按裁决",
    "X02": "退房无需追回",
}

REPORT_STATUSES = (
    "valid",
    "invalid",
    "pending",
    "expired_unvisited",
    "ambiguous",
    "lost",
    "disputed",
)
OWNER_TYPES = ("channel", "natural", "existing", "disputed")
DEAL_STATUSES = ("payable", "held", "not_payable", "clawback")

REPORT_STATUS_LABELS = {
    "valid": "有效",
    "invalid": "无效",
    "pending": "待到访",
    "expired_unvisited": "过期未到访",
    "ambiguous": "号码待确认",
    "lost": "撞单未获归属",
    "disputed": "撞单待裁决",
}
OWNER_TYPE_LABELS = {
    "channel": "渠道客户",
    "natural": "自然到访",
    "existing": "案场老客户",
    "disputed": "待裁决",
}
DEAL_STATUS_LABELS = {
    "payable": "可结佣",
    "held": "暂缓结佣",
    "not_payable": "不结佣",
    "clawback": "追回佣金",
}


def label(codes: list[str] | tuple[str, ...]) -> str:
    """Codes with their Chinese labels, as people read them: `R08 报备晚于到访`."""
    return "；".join(f"{code} {REASONS[code]}" for code in codes)
