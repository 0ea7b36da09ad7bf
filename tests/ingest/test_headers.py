import pytest

from reconcile.ingest.headers import (
    FIELDS,
    AliasTable,
    composed_headers,
    find_header,
    normalise_header,
    recognise_kind,
)


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("客户姓名", "customer_name"),
        ("姓名", "customer_name"),
        ("客户", "customer_name"),
        ("客户电话", "phone"),
        ("联系方式", "phone"),
        ("手机号", "phone"),
        ("客户联系方式", "phone"),
        ("电话", "phone"),
        ("客戶電話", "phone"),
        ("客户电话（必填）", "phone"),
        ("* 客户电话", "phone"),
        (" 手机号码 \n", "phone"),
        ("报备时间", "reported_at"),
        ("报备日期", "reported_date"),
        ("预计到访时间", "expected_visit_at"),
        ("经纪人", "agent"),
        ("报备人", "agent"),
        ("渠道专员", "agent"),
        ("渠道", "channel"),
        ("分销商", "channel"),
        ("公司", "channel"),
        ("到访时间", "visited_at"),
        ("来访日期", "visited_date"),
        ("配偶电话", "relative_phone"),
        ("认购编号", "subscription_no"),
        ("合同编号", "contract_no"),
        ("成交编号", "deal_no"),
        ("楼栋", "building"),
        ("房间", "room_name"),
        ("日期", "date"),
        ("首次到访日期", "first_visit_at"),
        ("最近跟进日期", "last_followed_at"),
        ("来访渠道", "channel"),
        ("业务状态", "stage"),
        ("所属机构", "channel"),
        ("门店", "branch"),
        ("报备发起日期", "reported_date"),
        ("申请类型", "change_type"),
        ("房号", "room"),
        ("成交总价", "amount"),
        ("签约日期", "signed_at"),
        ("裁决日期", "ruled_at"),
        ("分成", "ruling_shares"),
        ("归属渠道", "ruling_owner"),
        ("跟进时间", "followed_at"),
        ("创建时间", "first_contact_at"),
        ("序号", None),
        ("", None),
        (None, None),
        # a trailing note that names no field is read past
        ("客户电话（全号）", "phone"),
        ("手机号(后四位)", "phone"),
        ("报备时间(yyyy-mm-dd hh:mm)", "reported_at"),
        ("报备时间【必填】", "reported_at"),
        ("到访时间[实际]", "visited_at"),
        # ... but a note naming a field is a combined header; 万元 scales a field of yuan
        # (`in_wan`) and is no unit of any other field
        ("姓名(手机)", None),
        ("成交金额(万元)", "amount"),
        ("成交总价（万）", "amount"),
        ("客户电话(万)", None),
        ("(全号)", None),
        # a call to the office makes a customer known (seed 000: 来电来访); a register's
        # 登记时间 is its own time; a 带看确认单's 到访确认时间 the visit
        ("首次来电日期", "first_contact_at"),
        ("来电时间", "first_contact_at"),
        ("登记时间", "date"),
        ("到访确认时间", "visited_at"),
        # 全民营销/分销 apps' 推荐 is a report
        ("推荐时间", "reported_at"),
        ("推荐日期", "reported_date"),
        ("推荐经纪人", "agent"),
        # [qualifier] subject attribute, read where no alias is (kinds.HEADER_PAIRINGS)
        ("经纪人手机号码", "agent_phone"),
        ("报备人联系方式", "agent_phone"),
        ("报备人号码", "agent_phone"),
        ("带看人员电话", "agent_phone"),
        ("报备客户姓名", "customer_name"),
        ("报备客户电话", "phone"),
        ("客户手机尾号", "phone_tail"),
        ("所属置业顾问名称", "consultant"),
        ("置业顾问姓名", "consultant"),
        ("销售顾问姓名", "consultant"),
        ("所属经纪公司", "channel"),
        ("报备人公司", "channel"),
        ("中介门店", "branch"),
        ("渠道简称", "channel"),
        ("购房者", "customer_name"),
        ("买方姓名", "customer_name"),
        ("经纪人手机号码(必填)", "agent_phone"),
        # ... but a former consultant, a referring owner, an agency's or a consultant's own
        # phone, and a 请款单's 联系人 name no field
        ("原置业顾问姓名", None),
        ("老业主电话", "referrer"),
        ("推荐业主电话", None),
        ("机构电话", None),
        ("置业顾问电话", None),
        ("联系人", None),
        # aliases of the same round
        ("隐号手机", "phone"),
        ("确认到访日期", "visited_date"),
        ("所属经纪门店", "branch"),
        ("认购价格", "amount"),
        ("房间总价", None),  # before discounts are fixed, not the deal's price
        ("本次请款", "claim_amount"),
        # an amount in words beside its figures is not the amount; other 大写 notes stay
        ("付款金额（大写）", None),
        ("金额(小写)", "amount"),
        ("合同金额(人民币大写)", None),
    ],
)
def test_builtin_aliases(header, field):
    assert AliasTable.build().field_for(header) == field


@pytest.mark.parametrize(
    ("header", "fields"),
    [
        ("姓名(手机)", {"c0": ("customer_name", "phone")}),
        ("客户姓名/电话", {"c0": ("customer_name", "phone")}),
        # a bare attribute after a person speaks of that person
        ("经纪人/电话", {"c0": ("agent", "agent_phone")}),
        ("报备人（联系方式）", {"c0": ("agent", "agent_phone")}),
        (
            "渠道来源-机构-渠道人员-渠道人员手机",
            {"c0": ("source_channel", "channel", "agent", "agent_phone")},
        ),
        # a consultant's number is no field: the column is not split (reported unused)
        ("置业顾问（电话）", {}),
    ],
)
def test_a_combined_header_reads_each_part_as_whose_it_is(header, fields):
    match = find_header([[header, "报备时间", "客户电话"]], AliasTable.build())
    assert match is not None and match.combined == fields


def test_composed_headers_are_written_as_normalised_and_never_shadow_an_alias():
    """The composition lists are compared without `normalise_header`, so they must be
    written as it leaves them; an alias of another field always wins."""
    aliases = AliasTable.build()
    for header, field in composed_headers().items():
        assert normalise_header(header) == header
        assert aliases.field_for(header) == aliases.lookup.get(header, field)


def test_a_project_alias_wins_over_a_composed_header():
    aliases = AliasTable.build({"agent": ["报备客户姓名"]})
    assert aliases.field_for("报备客户姓名") == "agent"


def test_rules_columns_extend_the_aliases():
    aliases = AliasTable.build({"phone": ["客户手机"], "reported_at": ["登记时间"]})
    assert aliases.field_for("客户手机") == "phone"
    assert aliases.field_for("登记时间") == "reported_at"
    assert aliases.field_for("手机号") == "phone", "built-in aliases stay"


def test_every_field_has_at_least_one_alias():
    aliases = AliasTable.build()
    assert all(any(f == field for f in aliases.lookup.values()) for field in FIELDS)


def test_header_found_below_title_and_blank_rows():
    rows = [
        ["山湖一号报备客户 2026年11月", None, None],
        [None, None, None],
        ["序号", "客户姓名", "客户电话", "报备时间"],
        ["1", "张三", "138****1234", "2026-11-18"],
    ]
    match = find_header(rows, AliasTable.build())
    assert match.row_index == 2
    assert match.mapping == {"customer_name": "c1", "phone": "c2", "reported_at": "c3"}


def test_a_repeated_field_keeps_the_first_column():
    match = find_header([["客户电话", "联系电话", "报备时间"]], AliasTable.build())
    assert match.mapping["phone"] == "c0" and match.duplicates == {"c1": "phone"}


def test_no_header_among_the_first_rows():
    assert find_header([["月份", "组数"], ["11月", "3"]], AliasTable.build()) is None


@pytest.mark.parametrize(
    ("fields", "folder", "names", "kind"),
    [
        ({"phone", "reported_at", "agent"}, "channels", ("Sheet1", "链家"), "report"),
        ({"phone", "reported_date", "time"}, None, ("Sheet1", "x"), "report"),
        ({"phone", "visited_at", "consultant"}, "visits", ("Sheet1", "x"), "visit"),
        ({"phone", "visited_at", "agent"}, "channels", ("带看确认单", "x"), "visit"),
        # A report ledger stays a report sheet whatever 带看 columns it carries (SPEC 4.1).
        (
            {"phone", "reported_at", "visited_at", "agent"},
            "channels",
            ("带看确认单", "x"),
            "report",
        ),
        ({"phone", "first_visit_at", "last_visit_at"}, "channels", ("Sheet1", "x"), "visit"),
        (
            {"phone", "first_visit_at", "last_visit_at", "consultant"},
            "visits",
            ("来访", "x"),
            "visit",
        ),
        (
            {"phone", "first_contact_at", "first_visit_at", "last_followed_at", "consultant"},
            "crm",
            ("Sheet1", "x"),
            "crm_customer",
        ),
        (
            {"phone", "reported_date", "channel", "visited_date"},
            "visits",
            ("Sheet1", "x"),
            "report",
        ),
        ({"room_name", "change_type", "executed_at"}, "crm", ("Sheet1", "x"), "deal_change"),
        ({"building", "room", "phone", "date", "amount"}, "crm", ("Sheet1", "x"), "deal"),
        (
            {"phone", "reported_at", "visited_at", "agent", "channel"},
            "channels",
            ("报备", "x"),
            "report",
        ),
        ({"phone", "first_contact_at", "source_channel"}, "crm", ("客户", "x"), "crm_customer"),
        ({"phone", "followed_at", "follow_note"}, "crm", ("跟进记录", "x"), "crm_followup"),
        ({"phone", "first_contact_at", "followed_at"}, "crm", ("跟进", "x"), "crm_followup"),
        ({"deal_no", "phone", "stage", "amount"}, "crm", ("成交", "x"), "deal"),
        ({"room", "phone", "signed_at"}, None, ("Sheet1", "x"), "deal"),
        ({"phone", "ruling_owner", "ruled_at"}, "rulings", ("Sheet1", "x"), "ruling"),
        # Agencies' claims (SPEC 6.6): by their columns, by name, and in their folder even
        # when they list each deal's 报备 and 到访 dates.
        ({"deal_no", "customer_name", "claim_amount"}, None, ("Sheet1", "x"), "statement"),
        ({"room_name", "phone", "amount", "claim_amount"}, None, ("请款明细", "x"), "statement"),
        (
            {"phone", "reported_at", "visited_at", "agent", "claim_amount"},
            "statements",
            ("Sheet1", "x"),
            "statement",
        ),
        (
            {"phone", "reported_at", "agent", "channel", "claim_amount"},
            "channels",
            ("报备", "x"),
            "report",
        ),
        # A payment ledger pays; it never claims.
        ({"channel", "payment_amount", "paid_at", "deal_no"}, None, ("Sheet1", "x"), "payment"),
        ({"customer_name", "agent"}, "channels", ("报备", "x"), None),
        ({"phone", "customer_name"}, "channels", ("报备", "x"), None),
        # A plain 日期 is the time of the kind the sheet's name or its own folder names.
        ({"phone", "date", "time", "source_channel"}, "visits", ("来访登记", "x"), "visit"),
        ({"phone", "date", "source_channel"}, "visits", ("Sheet1", "11月"), "visit"),
        ({"phone", "date", "source_channel"}, None, ("Sheet1", "到访登记表"), "visit"),
        ({"phone", "date", "agent"}, "channels", ("Sheet1", "x"), "report"),
        (
            {"channel", "amount", "date", "deal_no", "voucher_no"},
            "payments",
            ("Sheet1", "x"),
            "payment",
        ),
        # … never in crm/, which holds four kinds, nor against a name saying otherwise
        ({"phone", "date", "source_channel"}, "crm", ("Sheet1", "x"), "crm_customer"),
        ({"phone", "date", "source_channel"}, "visits", ("客户名单", "x"), "crm_customer"),
        ({"phone", "date"}, "crm", ("Sheet1", "x"), None),
        ({"phone", "date"}, "channels", ("客户回访记录", "x"), None),  # nor reports by 日期
        ({"phone", "date"}, "crm", ("客户回访记录", "x"), "crm_followup"),
    ],
)
def test_sheet_kind_is_recognised_from_headers(fields, folder, names, kind):
    assert recognise_kind(fields, folder, names) == kind


def test_header_normalisation_folds_width_and_script():
    assert normalise_header("（必填）客戶電話：") == normalise_header("客户电话")
