"""Sheet kinds and their fields: the one place each is declared (SPEC 4.1).

A **field** is a canonical column (`phone`, `reported_at` …) with the header texts
real exports use for it (docs/real-exports.md lists where each came from). A
**kind** (报备登记表, 来访登记表 …) says which fields make a sheet of that kind,
which column it cannot do without, which fields it reads, and the typed `data`
each row stores in the ledger. Header mapping, kind detection, normalisation and
the judge's loading all read these declarations, so a field added here is
mapped, stored and decoded everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import polars as pl


class DataType(Enum):
    """How a data field is normalised and how the judge decodes it."""

    TEXT = "text"  # the cell as read (stripped)
    DATETIME = "datetime"  # ISO 8601 with offset; a year-less value takes the row's year
    AMOUNT = "amount"  # yuan, float
    PHONE = "phone"  # the first full number or pattern of the cell
    FLAG = "flag"  # a boolean the normaliser derives (time_known)

    @property
    def polars(self) -> pl.DataType:
        return {DataType.AMOUNT: pl.Float64(), DataType.FLAG: pl.Boolean()}.get(self, pl.String())


@dataclass(frozen=True)
class Field:
    name: str
    label: str  # what a clerk calls it (the Chinese shown by `check`)
    aliases: tuple[str, ...]  # header texts, compared after `normalise_header`


def _f(name: str, label: str, *aliases: str) -> Field:
    return Field(name, label, aliases)


# Every canonical field. The first alias is what the product writes in its own templates.
FIELD_LIST: tuple[Field, ...] = (
    _f(
        "customer_name", "客户姓名",
        "客户姓名", "姓名", "客户", "客户名称", "客户名", "购房人", "购房人姓名", "客户称呼",
        "来访人", "来访客户", "来访人姓名", "业主姓名", "买受人", "买受人姓名", "认购人",
        "签约客户", "客户全称", "主购房人", "权益人", "客户姓名(全称)", "目标客户",
    ),
    _f("gender", "客户性别", "客户性别", "性别", "称谓"),
    _f(
        "customer_info", "客户信息（组合单元格）",
        "客户信息", "客户资料", "客户详情", "报备客户信息",
    ),
    _f(
        "phone", "客户电话",
        "客户电话", "联系方式", "手机号", "客户联系方式", "电话", "手机", "联系电话", "手机号码",
        "客户手机", "客户手机号", "客户手机号码", "电话号码", "客户号码", "客户电话号码",
        "来访人电话", "购房人电话", "号码", "客户联系电话", "联系手机", "移动电话",
        "买受人电话", "买受人联系电话", "主联系电话", "报备电话", "报备手机号", "客户手机号(隐号)",
        "隐号手机", "隐号电话", "隐号号码", "客户备用手机号", "客户备用手机号3", "备选电话",
        "所有电话号码", "所有客户电话号码", "OCstAllTel",
    ),
    # A number given in two columns, its first three digits and its last four (报备 forms
    # that ask for 前三后四): read together as the masked number (`sheet._split_phone`).
    _f(
        "phone_head", "手机前三位",
        "手机前三位", "号码前三位", "电话前三位", "手机号前三位", "手机号码前三位",
        "客户手机前三位", "客户电话前三位", "前三位号码",
    ),
    _f(
        "phone_tail", "手机后四位",
        "手机后四位", "号码后四位", "电话后四位", "手机号后四位", "手机号码后四位",
        "客户手机后四位", "客户电话后四位", "后四位号码", "手机尾号", "尾号",
        # 前三后五 (seed 000)
        "手机后五位", "号码后五位", "电话后五位", "手机号后五位", "客户手机后五位",
    ),
    _f(
        "channel", "渠道",
        "渠道", "分销商", "公司", "渠道名称", "渠道公司", "中介", "中介公司", "分销公司",
        "所属渠道", "带看渠道", "分销渠道", "渠道商", "合作渠道", "报备渠道", "所属公司",
        "所属机构", "报备经纪公司名称", "经纪公司", "经纪公司名称", "报备公司", "报备机构",
        "机构名称", "合作机构", "来访渠道", "分销商名称", "渠道商名称", "中介机构", "经纪机构",
        "报备经纪公司", "渠道单位", "机构", "经纪人公司", "公司名称", "收款单位", "收款方",
        "收款单位名称", "收款人单位", "中介名称", "收款方名称",
    ),
    _f(
        "branch", "门店",
        "门店", "所属门店", "门店名称", "经纪人门店", "报备门店", "分店", "报备门店名称",
        "经纪门店", "所属经纪门店",
    ),
    _f(
        "agent", "经纪人",
        "经纪人", "报备人", "渠道专员", "经纪人姓名", "带看人", "带看经纪人", "渠道经纪人",
        "报备经纪人", "置业经纪人", "带看人员", "渠道人员", "报备人姓名", "经纪人名称",
        "业务员", "报备经纪人姓名", "渠道对接人", "业务员姓名", "推荐经纪人",
    ),
    _f(
        "agent_phone", "经纪人电话",
        "经纪人电话", "经纪人手机", "报备人电话", "带看人电话", "经纪人联系方式", "渠道专员电话",
        "渠道人员手机", "经纪人手机号", "报备人手机", "报备人手机号", "报备经纪人电话",
        "经纪人联系电话", "带看人手机", "业务员电话", "报备人号码", "渠道人员电话",
    ),
    _f(
        "reported_at", "报备时间",
        "报备时间", "报备日期时间", "报备登记时间", "提报时间", "报备发起时间", "报备提交时间",
        "报备创建时间", "预报时间", "临报时间", "预报备时间", "报备成功时间",
        # 全民营销 and 分销 apps call a report a 推荐 (推荐客户)
        "推荐时间",
        # A 延期申请 sheet (SPEC 6.8): read as report rows, each one a request
        "延期申请时间", "延续申请时间", "申请延期时间",
    ),
    _f(
        "reported_date", "报备日期（与时间列合并）",
        "报备日期", "报备发起日期", "预报日期", "临报日期", "预报备日期", "报备提交日期",
        "推荐日期",
        "延期申请日期", "延续申请日期", "申请延期日期",
    ),
    # 日期 and 时间 alone mean the sheet's own date and time: each kind says which.
    _f("date", "日期（本表的主日期）", "日期", "登记日期", "登记时间"),
    # A register's 接待时段 (10:20-11:00) is when the reception began. 到访时段 and 时段 are
    # not listed: a 报备 asks for the visit's planned 时段, which is no time of the report.
    _f(
        "time", "时间（与日期列合并）",
        "时间", "具体时间", "时刻", "接待时段", "接待时间段", "来访时段", "来访时间段",
    ),
    _f(
        "expected_visit_at", "预计到访时间",
        "预计到访时间", "预约到访时间", "预计到访", "预计到访日期", "预计带看时间", "预约时间",
        "计划到访时间", "预约带看时间",
    ),
    _f("report_type", "报备类型", "报备类型", "类型", "报备方式"),
    _f(
        "visited_at", "到访时间",
        "到访时间", "来访时间", "到访日期时间", "带看时间", "实际到访时间", "来访登记时间",
        "接待时间", "到访登记时间", "确认到访时间", "到访确认时间",
    ),
    _f(
        "visited_date", "到访日期（与时间列合并）",
        "到访日期", "来访日期", "带看日期", "接待日期", "确认到访日期", "到访确认日期",
    ),
    _f(
        "first_visit_at", "首次到访时间",
        "首次到访时间", "首次到访日期", "首访时间", "首访日期", "首次来访时间", "首次来访日期",
        "第一次到访时间", "首次带看时间", "首次带看日期", "首次到访",
    ),
    _f(
        "last_visit_at", "最近到访时间",
        "最近到访时间", "最近到访日期", "最后到访时间", "最后到访日期", "末次到访时间",
        "最近来访时间", "最近来访日期", "最后来访时间", "最近带看时间", "最近到访",
    ),
    _f("visit_count", "到访次数", "到访次数", "来访次数", "带看次数"),
    _f(
        "relative_phone", "配偶电话",
        "配偶电话", "家属电话", "配偶手机", "关联电话", "亲属电话", "配偶联系方式",
        "家属联系方式", "共同购买人电话",
    ),
    _f(
        "relative_name", "配偶姓名",
        "配偶姓名", "家属姓名", "配偶", "家属", "亲属姓名", "共同购买人",
    ),
    _f("relationship", "关系", "关系", "与客户关系", "亲属关系"),
    _f(
        "consultant", "置业顾问",
        "置业顾问", "接待顾问", "销售顾问", "接待人", "接待置业顾问", "所属顾问", "归属顾问",
        "顾问", "接待销售", "置业顾问名称", "跟进销售",
    ),
    # In-house consultants (SPEC 6.7): who the customer asked for, who received on the
    # owner's behalf, who referred them (老带新), and the register's own first-visit mark.
    _f(
        "designated", "指定顾问",
        "指定顾问", "客户指定", "指定置业顾问", "指定接待顾问", "指定接待", "指定接待的置业顾问",
        "指定销售",
    ),
    _f(
        "assistant", "协助/代接顾问",
        "协助", "代接", "协助顾问", "协助置业顾问", "代接顾问", "协助接待", "协作人", "代接人",
    ),
    _f(
        "referrer", "推荐人电话",
        "推荐人电话", "介绍人", "介绍人电话", "推荐人", "推荐人手机", "推荐人手机号", "老业主电话",
        "介绍人手机",
    ),
    _f(
        "first_visit_flag", "是否首访",
        "是否首访", "是否首次到访", "是否首次来访", "首访/复访", "来访类型", "到访类型",
    ),
    # The reception rotation (轮排表, SPEC 6.7): the day's order and who is away.
    _f("roster_order", "顺序", "顺序", "轮排顺序", "接待顺序", "轮次"),
    _f(
        "away", "是否休息",
        "是否休息", "休息", "是否休班", "休班", "请假", "出勤", "出勤情况", "考勤", "在岗情况",
    ),
    _f(
        "project", "项目",
        "项目", "项目名称", "报备项目", "楼盘", "楼盘名称", "意向项目", "所属项目", "楼盘名",
        "意向楼盘",
    ),
    _f("remark", "备注", "备注", "说明", "备注说明", "具体原因说明"),
    # Written only by the WeChat message reader (reconcile/ingest/wechat.py): why a
    # message could not be taken as a report; the row becomes a row error saying so.
    _f("message_problem", "消息问题", "消息问题"),
    _f(
        "first_contact_at", "首次接触时间",
        "首次接触时间", "创建时间", "录入时间", "建档时间", "首次接触日期", "创建日期",
        "客户创建时间", "建档日期", "录入日期",
        # a 来电 (a call to the sales office) makes a customer known, as a visit does
        # (seed 000: 非项目来电来访客户)
        "来电时间", "来电日期", "首次来电", "首次来电时间", "首次来电日期",
    ),
    _f(
        "last_followed_at", "最近跟进时间",
        "最近跟进时间", "最近跟进日期", "最后跟进时间", "最后跟进日期", "末次跟进时间",
        "最新跟进时间", "最近跟进",
    ),
    _f(
        "source_channel", "客户来源",
        "客户来源", "来源", "认知途径", "来源渠道", "媒体来源", "获知途径", "渠道来源", "媒体大类",
    ),
    _f("followed_at", "跟进时间", "跟进时间", "跟进日期", "回访时间", "回访日期"),
    _f("follow_type", "跟进方式", "跟进方式", "回访方式"),
    _f("follow_note", "跟进内容", "跟进内容", "跟进记录", "回访内容", "跟进情况", "接待日志"),
    _f("follower", "跟进人", "跟进人", "跟进人员", "回访人"),
    _f(
        "deal_no", "成交编号",
        "成交编号", "交易编号", "订单号", "订单编号", "成交单号", "成交报告编号",
    ),
    _f(
        "subscription_no", "认购编号",
        "认购编号", "认购单号", "认购书编号", "认购书号", "认购协议编号", "认购协议号",
    ),
    _f(
        "contract_no", "合同编号",
        "合同编号", "合同号", "签约编号", "草签合同编号", "网签合同编号", "网签合同号",
        "网签编号", "合同备案号", "备案合同号", "CAgreementNo", "预售合同编号",
    ),
    _f(
        "room_id", "房间编号（唯一码）",
        "房源唯一码", "房间编号", "房间GUID", "房间ID", "房源编码", "房间编码", "房源ID",
        "房屋编码", "房间代码", "房间唯一标识",
    ),
    _f(
        "room_name", "房间（楼栋-单元-房号）",
        "房间", "房源", "房屋", "房间名称", "房间全称", "房号全称", "房源名称", "房屋名称",
        "认购房间", "签约房间", "房间信息", "房号信息", "楼栋房号", "房间全名", "认购单位",
        "楼室号", "成交房号",
    ),
    _f("building", "楼栋", "楼栋", "楼栋名称", "楼号", "栋号", "楼栋号", "楼宇", "栋", "幢号"),
    _f("unit", "单元", "单元", "单元号", "单元名称"),
    _f("room", "房号", "房号", "房间号", "室号", "房号(室)"),
    _f(
        "stage", "成交阶段",
        "成交阶段", "阶段", "状态", "成交状态", "交易状态", "交易阶段", "业务状态", "销售状态",
        "房间状态", "认购状态", "签约状态",
    ),
    # 明源's 认购/签约 records are 激活 or 关闭, and a closed one says why (转签约, 退房, 换房)
    _f("close_reason", "关闭原因", "关闭原因", "关闭类型", "关闭说明"),
    _f("closed_at", "关闭日期", "关闭日期", "关闭时间"),
    _f("deal_date", "成交日期", "成交日期", "交易日期", "成交时间", "业务日期"),
    _f(
        "deposit_at", "小订日期",
        "小订日期", "认筹日期", "定金日期", "小订时间", "认筹时间", "交定日期", "诚意金日期",
    ),
    _f("subscribed_at", "认购日期", "认购日期", "认购时间", "大定日期"),
    _f(
        "signed_at", "签约日期",
        "签约日期", "签约时间", "网签日期", "草签日期", "合同签订日期", "网签时间",
    ),
    _f("refunded_at", "退房日期", "退房日期", "退房时间", "退订日期", "退定日期"),
    _f(
        "amount", "成交金额",
        "成交金额", "合同金额", "成交总价", "总价", "金额", "认购金额", "成交价", "房款总额",
        "合同总价", "签约金额", "认购总价", "签约总价", "成交价格", "认购价格", "签约价格",
    ),
    _f("change_type", "变更类型", "申请类型", "变更类型", "交易变更类型", "变更事项", "业务类型"),
    _f("executed_at", "执行日期", "执行日期", "执行时间", "变更日期", "生效日期"),
    _f(
        "approved_at", "审批日期",
        "审批日期", "审批时间", "审核日期", "审批通过日期", "批准日期",
    ),
    _f("applied_at", "申请日期", "申请日期", "申请时间"),
    _f(
        "new_room_name", "新房间",
        "新房间", "新房号", "换房后房间", "新房间名称", "新房源", "变更后房间",
    ),
    _f("new_amount", "新成交总价", "新成交总价", "新总价", "换房后总价", "变更后总价"),
    _f(
        "refund_amount", "退款金额",
        "实际退房退款金额", "退款金额", "实际退款金额", "退房退款金额",
    ),
    _f("new_customer_name", "新客户名称", "新客户名称", "变更后客户", "新权益人"),
    _f("ruling_owner", "归属渠道", "归属渠道", "裁决渠道", "判定渠道", "裁决归属"),
    _f("ruling_shares", "分成", "分成", "分成比例", "佣金分成"),
    _f("ruled_at", "裁决日期", "裁决日期", "裁决时间"),
    # Finance's payment ledger (付款记录, SPEC 6.6). 支付日期 and a bare 流水号 are left out:
    # agencies' report exports carry them for other things (docs/real-exports.md).
    _f(
        "payment_amount", "付款金额",
        "付款金额", "支付金额", "实付金额", "打款金额", "实付佣金", "付款额", "本次付款金额",
        "本次付款", "已付金额", "结佣金额", "实际支付金额", "本次实际付款金额",
    ),
    _f(
        "paid_at", "付款日期",
        "付款日期", "打款日期", "付款时间", "打款时间", "结佣日期", "实际付款日期",
    ),
    # Agencies' claims (请款单/对账单, SPEC 6.6): what the agency asks to be paid for a deal.
    # 结佣金额 stays a payment's: finance's ledgers use it for what was paid.
    _f(
        "claim_amount", "请款金额",
        "请款金额", "本期请款金额", "本次请款金额", "申请请款金额", "请佣金额", "申请结佣金额",
        "申请佣金", "申请佣金金额", "本期应结金额", "本次结算金额", "实际开票金额", "未收佣金",
        "未结佣金", "待结佣金", "未收代理费", "待收佣金", "本期结算金额", "剩余佣金",
        "剩余应结佣金", "本次请款", "本期请款", "本次申请金额", "本期申请金额",
    ),
    # A 对账单 may give the whole commission and what the agency has received instead:
    # it then claims the difference (a line partly paid is not claimed twice).
    _f(
        "claim_total", "应收佣金",
        "应收佣金", "应收佣金金额", "应结佣金", "应结佣金额", "应结佣金金额", "应收代理费",
        "应结代理费", "佣金", "佣金金额", "代理费", "代理费金额", "渠道佣金", "分销佣金",
        "中介佣金", "结算佣金", "应结金额", "服务费金额", "佣金总额", "应收服务费",
    ),
    _f(
        "claim_received", "已收佣金",
        "已收佣金", "已结佣金", "已收代理费", "已收服务费", "累计已收佣金", "已结佣金额",
        "累计收佣",
    ),
    # The agency's rate, beside its claimed amount: known, so `check` says no kind uses it.
    _f(
        "commission_rate", "佣金比例",
        "佣金比例", "佣金点位", "点位", "佣金费率", "代理费率", "结佣比例", "佣金点数", "返佣比例",
        "结算比例", "服务费比例",
    ),
    _f(
        "claimed_at", "请款日期",
        "请款日期", "请款时间", "申请请款日期", "请款申请日期", "对账日期", "结算日期",
    ),
    # A payment's own state. On a payment sheet a bare 状态 (the deal stage's alias) is
    # read as this too: finance's exports list 付款成功 beside 已退票 and 待付款.
    _f(
        "payment_status", "付款状态",
        "付款状态", "支付状态", "打款状态", "付款结果", "支付结果", "付款单状态",
    ),
    _f(
        "voucher_no", "凭证号",
        "凭证号", "凭证编号", "付款单号", "付款流水号", "银行流水号", "付款编号", "记账凭证号",
        "支付唯一编码",
    ),
)  # fmt: skip

FIELDS: dict[str, Field] = {f.name: f for f in FIELD_LIST}

# Headers that name a person or an agency and what of them (经纪人 + 手机号码, 报备客户 +
# 电话, 所属 + 置业顾问 + 姓名): exports qualify their columns freely, and a group label
# over sub-headers does too (易居's 经纪人信息 over 手机号码). A header that is no alias is
# read as [qualifier] subject attribute when all three come from these lists; an alias
# always wins. Every pairing is listed: a subject and an attribute that name no field
# together (an agency's phone, a consultant's phone) stay unmapped and are reported
# unused. 原 and 新 (a 交易变更's former and new consultant), 老 and 推荐 (老业主, 推荐业主:
# a referring owner) are no qualifiers; 联系人 is no subject (a 请款单's 联系人 is the
# agency's), nor 签约人 (明源 calls the consultant who signed so).
HEADER_QUALIFIERS: tuple[str, ...] = (
    "", "所属", "归属", "报备", "带看", "接待", "对接", "负责", "来访", "到访",
)  # fmt: skip
HEADER_SUBJECTS: dict[str, tuple[str, ...]] = {
    "customer": (
        "客户", "报备客户", "来访客户", "到访客户", "购房客户", "意向客户", "购房人", "购房者",
        "买受人", "买方", "业主", "认购人", "签约客户",
    ),
    "agent": (
        "经纪人", "报备人", "带看人", "带看人员", "渠道经纪人", "渠道专员", "渠道人员",
        "渠道对接人", "业务员", "置业经纪人", "分销经纪人", "中介经纪人",
    ),
    "consultant": (
        "置业顾问", "销售顾问", "接待顾问", "顾问", "销售人员", "销售员", "接待人员",
        "成交顾问", "签约顾问", "跟进顾问",
    ),
    "channel": (
        "渠道", "分销商", "分销渠道", "合作渠道", "渠道商", "渠道公司", "中介", "中介公司",
        "中介机构", "分销公司", "经纪公司", "经纪机构", "合作机构", "公司", "机构",
    ),
}  # fmt: skip
HEADER_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "name": ("", "姓名", "名称", "名字", "名", "全称", "简称", "称呼"),
    "phone": (
        "电话", "手机", "手机号", "手机号码", "电话号码", "号码", "联系方式", "联系电话",
        "联系手机", "移动电话", "隐号", "隐号电话", "隐号手机", "隐号号码",
    ),
    "phone_tail": ("尾号", "手机尾号", "电话尾号", "号码尾号", "后四位", "手机后四位"),
    "gender": ("性别",),
    "company": ("公司", "公司名称", "机构", "机构名称", "所属公司", "所属机构"),
    "branch": ("门店", "门店名称", "所属门店", "店名"),
}  # fmt: skip
HEADER_PAIRINGS: dict[tuple[str, str], str] = {
    ("customer", "name"): "customer_name",
    ("customer", "phone"): "phone",
    ("customer", "phone_tail"): "phone_tail",
    ("customer", "gender"): "gender",
    ("agent", "name"): "agent",
    ("agent", "phone"): "agent_phone",
    ("agent", "company"): "channel",
    ("agent", "branch"): "branch",
    ("consultant", "name"): "consultant",
    ("channel", "name"): "channel",
    ("channel", "company"): "channel",
    ("channel", "branch"): "branch",
}


@dataclass(frozen=True)
class DataField:
    name: str
    type: DataType


def _data(**fields: DataType) -> tuple[DataField, ...]:
    return tuple(DataField(name, kind) for name, kind in fields.items())


T, D, A, P, B = DataType.TEXT, DataType.DATETIME, DataType.AMOUNT, DataType.PHONE, DataType.FLAG
_FLAT = dict(room_id=T, room_name=T, building=T, unit=T, room=T)
_NUMBERS = dict(deal_no=T, subscription_no=T, contract_no=T)
# What identifies a flat and its deal (SPEC 6.5), on deal and deal-change sheets alike.
_DEAL_IDS = frozenset(_FLAT) | frozenset(_NUMBERS)


@dataclass(frozen=True)
class Kind:
    """One sheet kind.

    `signature`: groups of fields; a sheet can be of this kind when it has one
    field of every group. `required`: the column the kind cannot do without,
    as one group (any field of it) with the wording of what is missing. `time`:
    the fields that give the row's own time, in order (a `date` + `time` pair is
    joined); `date` (日期) counts as the first. `also`: fields whose value is a
    second event of the row (最近到访 is another visit). `characteristic`: fields
    that make the kind more likely. `data`: the typed fields each row stores.
    """

    name: str
    label: str
    signature: tuple[tuple[str, ...], ...]
    required: tuple[tuple[str, ...], str] | None
    time: tuple[str, ...]
    time_required: bool
    characteristic: frozenset[str]
    reads: frozenset[str]  # every field the kind uses; other mapped headers are unused
    data: tuple[DataField, ...]
    key: tuple[str, ...]  # what identifies a row (SPEC 7 report_id for reports)
    masked_phone_ok: bool = False
    phone_required: bool = True
    also: tuple[tuple[str, str], ...] = ()  # (field, kind of the extra record)
    folders: tuple[str, ...] = ()
    name_hints: tuple[str, ...] = ()
    # (field, phone field, name field): a column of a field this kind does not read stands
    # for one it does, when the sheet has none of its own: the phone field when its header
    # names a number (电话/手机), else the name field. A 全民营销 推荐 list's 推荐人 and
    # 推荐人电话 are the report's agent and agent_phone.
    stands_for: tuple[tuple[str, str, str], ...] = ()

    @property
    def data_types(self) -> dict[str, pl.DataType]:
        return {f.name: f.type.polars for f in self.data}


_WHO = frozenset({"customer_name", "gender", "customer_info", "phone", "remark", "project"})

KIND_LIST: tuple[Kind, ...] = (
    Kind(
        name="report",
        label="报备登记表",
        signature=(("phone", "customer_info"), ("reported_at", "reported_date")),
        required=(("reported_at", "reported_date"), "报备时间"),
        time=("reported_at", "reported_date", "date"),
        time_required=True,
        characteristic=frozenset(
            {
                "reported_at",
                "reported_date",
                "expected_visit_at",
                "report_type",
                "agent",
                "agent_phone",
                "channel",
                "branch",
            }
        ),  # fmt: skip
        reads=_WHO
        | {
            "channel",
            "branch",
            "agent",
            "agent_phone",
            "reported_at",
            "reported_date",
            "date",
            "time",
            "expected_visit_at",
            "report_type",
            "message_problem",
        },  # fmt: skip
        data=_data(expected_visit_at=D, agent_phone=T, branch=T, project=T, time_known=B, remark=T),
        key=("channel", "agent", "phone_pattern", "surname_key", "event_at"),
        masked_phone_ok=True,
        folders=("channels",),
        # 渠道客户 and the like: a developer system's list of the customers agencies
        # brought (明源云客, 泰禾 新客查), a report ledger however CRM-like its columns
        name_hints=("报备", "预报", "临报", "渠道客户", "分销客户", "推荐客户"),
        stands_for=(("referrer", "agent_phone", "agent"),),
    ),
    Kind(
        name="visit",
        label="来访登记表",
        signature=(
            ("phone", "customer_info"),
            ("visited_at", "visited_date", "first_visit_at", "last_visit_at"),
        ),
        required=(("visited_at", "visited_date", "first_visit_at"), "到访时间"),
        time=("visited_at", "visited_date", "first_visit_at", "date"),
        time_required=True,
        characteristic=frozenset(
            {
                "visited_at",
                "visited_date",
                "first_visit_at",
                "last_visit_at",
                "visit_count",
                "consultant",
                "relative_phone",
                "relative_name",
                "relationship",
            }
        ),  # fmt: skip
        reads=_WHO
        | {
            "channel",
            "agent",
            "visited_at",
            "visited_date",
            "first_visit_at",
            "last_visit_at",
            "date",
            "time",
            "visit_count",
            "consultant",
            "relative_phone",
            "relative_name",
            "relationship",
            "branch",
            "designated",
            "assistant",
            "referrer",
            "first_visit_flag",
            "source_channel",
        },  # fmt: skip
        data=_data(
            relative_phone=P,
            relative_name=T,
            relationship=T,
            consultant=T,
            designated=T,
            assistant=T,
            referrer=P,
            first_visit_flag=T,
            visit_count=T,
            project=T,
            time_known=B,
            remark=T,
            source_channel=T,
        ),  # fmt: skip
        key=("phone", "event_at", "channel", "agent"),
        also=(("last_visit_at", "visit"),),
        folders=("visits", "channels"),
        name_hints=("来访", "到访", "带看"),
    ),
    Kind(
        name="crm_customer",
        label="CRM客户",
        signature=(("phone",), ("first_contact_at", "source_channel", "last_followed_at")),
        # An undated customer list cannot say who knew the customer first (R06).
        required=(
            ("first_contact_at", "first_visit_at", "last_followed_at", "last_visit_at"),
            "创建时间（或首次到访、最近跟进日期）",
        ),
        time=("first_contact_at", "first_visit_at", "date"),
        time_required=False,
        characteristic=frozenset(
            {
                "first_contact_at",
                "source_channel",
                "consultant",
                "last_followed_at",
                "first_visit_at",
            }
        ),  # fmt: skip
        reads=_WHO
        | {
            "first_contact_at",
            "first_visit_at",
            "last_followed_at",
            "source_channel",
            "consultant",
            "date",
            "last_visit_at",
            "follower",
        },  # fmt: skip
        data=_data(source_channel=T, consultant=T, time_known=B),
        key=("phone", "event_at", "customer_name"),
        # Every date a CRM row gives is a contact of the developer's (SPEC 6.3 R06).
        also=(
            ("first_visit_at", "crm_followup"),
            ("last_followed_at", "crm_followup"),
            ("last_visit_at", "crm_followup"),
        ),
        folders=("crm",),
        name_hints=("客户",),
    ),
    Kind(
        name="crm_followup",
        label="CRM跟进记录",
        signature=(("phone",), ("followed_at",)),
        required=(("followed_at",), "跟进时间"),
        time=("followed_at", "date"),
        time_required=True,
        characteristic=frozenset({"followed_at", "follow_type", "follow_note", "follower"}),
        reads=_WHO | {"followed_at", "follow_type", "follow_note", "follower", "consultant"},
        data=_data(follow_type=T, follow_note=T, follower=T, consultant=T, time_known=B),
        key=("phone", "event_at", "data"),
        folders=("crm",),
        name_hints=("跟进", "回访"),
    ),
    Kind(
        name="deal",
        label="成交记录",
        signature=(
            ("deal_no", "subscription_no", "contract_no", "room_id", "room_name", "room"),
            ("stage", "amount", "deal_date", "deposit_at", "subscribed_at", "signed_at"),
        ),
        required=(
            ("deal_date", "deposit_at", "subscribed_at", "signed_at", "refunded_at"),
            "成交日期（或认购、签约日期）",
        ),
        time=("deal_date", "date"),
        time_required=False,
        characteristic=_DEAL_IDS
        | {
            "stage",
            "amount",
            "deal_date",
            "deposit_at",
            "subscribed_at",
            "signed_at",
            "refunded_at",
        },  # fmt: skip
        reads=_WHO
        | _DEAL_IDS
        | {
            "stage",
            "amount",
            "deal_date",
            "date",
            "deposit_at",
            "subscribed_at",
            "signed_at",
            "refunded_at",
            "relative_phone",
            "consultant",
            "close_reason",
            "closed_at",
        },  # fmt: skip
        data=_data(
            **_NUMBERS,
            **_FLAT,
            stage=T,
            close_reason=T,
            closed_at=D,
            amount=A,
            deposit_at=D,
            subscribed_at=D,
            signed_at=D,
            refunded_at=D,
            relative_phone=P,
            consultant=T,
            project=T,
            time_known=B,
        ),  # fmt: skip
        key=("phone", "data"),
        folders=("crm",),
        name_hints=("成交", "认购", "签约", "销售明细"),
    ),
    Kind(
        name="deal_change",
        label="交易变更明细",
        signature=(
            ("change_type",),
            ("deal_no", "subscription_no", "contract_no", "room_id", "room_name", "room"),
        ),
        required=(("executed_at", "approved_at", "applied_at"), "执行日期"),
        time=("executed_at", "approved_at", "applied_at", "date"),
        time_required=True,
        characteristic=frozenset(
            {
                "change_type",
                "executed_at",
                "approved_at",
                "applied_at",
                "new_room_name",
                "new_amount",
                "refund_amount",
                "new_customer_name",
            }
        ),  # fmt: skip
        reads=_WHO
        | _DEAL_IDS
        | {
            "change_type",
            "executed_at",
            "approved_at",
            "applied_at",
            "date",
            "new_room_name",
            "new_amount",
            "refund_amount",
            "new_customer_name",
            "amount",
        },  # fmt: skip
        data=_data(
            change_type=T,
            **_NUMBERS,
            **_FLAT,
            new_room_name=T,
            new_amount=A,
            refund_amount=A,
            amount=A,
            new_customer_name=T,
            remark=T,
            time_known=B,
        ),  # fmt: skip
        key=("data", "event_at"),
        phone_required=False,
        folders=("crm",),
        name_hints=("变更", "退房"),
    ),
    Kind(
        name="ruling",
        label="裁决表",
        signature=(("phone",), ("ruling_owner", "ruling_shares")),
        required=None,
        time=("ruled_at", "date"),
        time_required=False,
        characteristic=frozenset({"ruling_owner", "ruling_shares", "ruled_at"}),
        reads=_WHO | {"ruling_owner", "ruling_shares", "ruled_at", "date", "agent"},
        # natural: 归属渠道 says 自然到访 (no channel), set only on such rows' sheets
        data=_data(shares=T, remark=T, time_known=B, natural=B),
        key=("phone", "channel", "event_at", "data"),
        folders=("rulings",),
        name_hints=("裁决",),
    ),
    Kind(
        name="payment",
        label="付款记录",
        # 金额 alone is a deal's price elsewhere: a payment sheet says when it paid.
        signature=(("channel",), ("payment_amount", "amount"), ("paid_at",)),
        required=(("paid_at",), "付款日期"),
        time=("paid_at", "date"),
        time_required=True,
        characteristic=frozenset({"payment_amount", "paid_at", "voucher_no"}),
        reads=_DEAL_IDS
        | {
            "channel",
            "payment_amount",
            "amount",
            "paid_at",
            "date",
            "voucher_no",
            "remark",
            "payment_status",
            "stage",
        },  # fmt: skip
        data=_data(**_NUMBERS, **_FLAT, amount=A, voucher_no=T, remark=T, time_known=B),
        # Identical rows are one payment, wherever they were saved (SPEC 6.6).
        key=("channel", "event_at", "data"),
        phone_required=False,
        folders=("payments",),
        name_hints=("付款", "打款", "结佣记录"),
    ),
    Kind(
        name="statement",
        label="请款单/对账单",
        signature=(
            ("claim_amount", "claim_total"),
            (
                "deal_no",
                "subscription_no",
                "contract_no",
                "room_id",
                "room_name",
                "room",
                "phone",
                "customer_name",
            ),
        ),  # fmt: skip
        required=(("claim_amount", "claim_total"), "请款金额"),
        time=("claimed_at",),
        time_required=False,  # an undated claim counts from the night its file arrived
        characteristic=frozenset({"claim_amount", "claim_total", "claim_received", "claimed_at"}),
        reads=_WHO
        | _DEAL_IDS
        | {"channel", "claim_amount", "claim_total", "claim_received", "claimed_at", "amount"},
        data=_data(**_NUMBERS, **_FLAT, amount=A, claim_amount=A, remark=T, time_known=B),
        # Identical lines re-sent in next month's statement are one claim (SPEC 6.6).
        key=("channel", "phone_pattern", "customer_name", "event_at", "data"),
        masked_phone_ok=True,
        phone_required=False,
        folders=("statements",),
        name_hints=("请款", "对账单", "结佣申请", "佣金结算", "结算书", "结算明细", "服务费结算"),
    ),
    Kind(
        name="roster",
        label="轮排表",
        # One row per consultant and day, as `reconcile template --kind roster` writes it.
        signature=(("roster_order",), ("consultant",), ("date",)),
        required=(("date",), "日期"),
        time=("date",),
        time_required=True,
        characteristic=frozenset({"roster_order", "away"}),
        reads=frozenset({"date", "roster_order", "consultant", "away", "remark"}),
        data=_data(roster_order=T, consultant=T, away=T, remark=T, time_known=B),
        key=("event_at", "data"),
        phone_required=False,
        folders=("roster",),
        name_hints=("轮排", "排班", "轮值"),
    ),
)

KINDS: dict[str, Kind] = {k.name: k for k in KIND_LIST}
KIND_LABELS: dict[str, str] = {k.name: k.label for k in KIND_LIST}
FIELD_LABELS: dict[str, str] = {f.name: f.label for f in FIELD_LIST}
# Fields of yuan: a header may give them in 万元 (成交总价（万元）), which scales the cells.
MONEY_FIELDS = frozenset(
    {"amount", "new_amount", "refund_amount", "payment_amount", "claim_amount", "claim_total",
     "claim_received"}
)  # fmt: skip

# Fields a second column may give when the first is blank in a row (草签合同编号 and
# 网签合同编号 are both the contract number); any other repeated field keeps its first
# column only (RuoYi's 渠道专员 beside 经纪人 must never stand in for the agent).
FILL_FROM_DUPLICATES = frozenset(
    {"deal_no", "subscription_no", "contract_no", "room_id", "room_name", "deal_date",
     "deposit_at", "subscribed_at", "signed_at", "refunded_at", "executed_at", "approved_at",
     "reported_at", "visited_at", "first_contact_at", "followed_at"}
)  # fmt: skip

# Cells that say "no channel" (SPEC 4.1): a natural visit, the sales office itself.
NO_CHANNEL = frozenset(
    {"自然到访", "自访", "自然来访", "直访", "案场", "无", "无渠道", "自然", "自然客户", "非渠道"}
)
# Placeholders: outside a channel's folder they mean no channel; inside it, the folder's.
PLACEHOLDERS = frozenset({"-", "—", "--", "——", "/", "\\", "－", "／"})
