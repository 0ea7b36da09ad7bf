from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile.config.rules import Rules, parse_rules
from reconcile.judge import link
from reconcile.judge.admission import bucket_expr
from reconcile.normalise.names import names_agree, parse_name
from reconcile.normalise.phones import Phone

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 1, 10, tzinfo=SH)
NAMES = ["张先生", "张伟", "张强", "張三", "李女士", None, "欧阳娜", "张三/李四"]


def phones(digits: str) -> st.SearchStrategy[str]:
    # Few distinct digits so that collisions and near-misses are common.
    return st.text(alphabet=digits, min_size=8, max_size=8).map(lambda rest: "138" + rest)


@st.composite
def pattern(draw) -> str:
    full = draw(phones("0123"))
    prefix = draw(st.integers(3, 5))
    suffix = draw(st.integers(4, 5))
    return full[:prefix] + "*" * (11 - prefix - suffix) + full[11 - suffix :]


def frames(reports, people, rules: Rules, crm_only=()):
    report_frame = pl.DataFrame(
        {
            "row_id": [f"r{i}" for i in range(len(reports))],
            "phone_pattern": [p for p, _, _ in reports],
            "customer_name": [n for _, n, _ in reports],
            "until": pl.Series(
                [T0 + timedelta(days=d) for _, _, d in reports],
                dtype=pl.Datetime("us", "Asia/Shanghai"),
            ),
        },
        schema_overrides={
            "phone_pattern": pl.String,
            "customer_name": pl.String,
            "row_id": pl.String,
        },
    ).with_columns(
        prefix=pl.col("phone_pattern").str.extract(r"^(\d*)", 1),
        suffix=pl.col("phone_pattern").str.extract(r"(\d*)$", 1),
    )
    report_frame = report_frame.with_columns(bucket=bucket_expr(rules, "prefix", "suffix"))
    people_frame = pl.DataFrame(
        {
            "phone": [p for p, _, _ in people],
            "first_at": pl.Series(
                [T0 + timedelta(days=d) for _, _, d in people],
                dtype=pl.Datetime("us", "Asia/Shanghai"),
            ),
            "names": [[n] if n else [] for _, n, _ in people],
            "crm_only": [phone in crm_only for phone, _, _ in people],
        },
        schema_overrides={"names": pl.List(pl.String), "phone": pl.String},
    )
    return report_frame, people_frame


def _named(name: str | None) -> bool:
    return parse_name(name).has_surname


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.one_of(pattern(), phones("0123")), st.sampled_from(NAMES), st.integers(0, 10)),
        max_size=12,
    ),
    st.lists(
        st.tuples(phones("0123"), st.sampled_from(NAMES), st.integers(-5, 10), st.booleans()),
        max_size=12,
        unique_by=lambda p: p[0],
    ),
)
def test_bucketed_link_equals_comparing_all_pairs(reports, people) -> None:
    rules = parse_rules("")
    crm_only = {phone for phone, _, _, crm in people if crm}
    # As `customers()` gives them: a CRM-only customer keeps only names with a surname.
    known = [
        (phone, name if phone not in crm_only or _named(name) else None, first)
        for phone, name, first, _ in people
    ]
    report_frame, people_frame = frames(reports, known, rules, crm_only)
    found = set(
        link.link(report_frame, people_frame, bucket_expr(rules, "phone", "phone")).iter_rows()
    )
    expected = {
        (f"r{i}", phone, first < days, phone in crm_only)
        for i, (pat, name, days) in enumerate(reports)
        for phone, person, first in known
        if Phone.from_pattern(pat).fits(phone)
        and (person is None or names_agree(parse_name(name), parse_name(person)))
        and (
            phone not in crm_only
            or (first < days and ("*" not in pat or (_named(name) and person is not None)))
        )
    }
    assert found == expected


def test_given_names_that_differ_do_not_link() -> None:
    rules = parse_rules("")
    reports = [("138****1234", "张伟", 5), ("138****1234", "張先生", 5)]
    people = [("13800001234", "张强", 0)]
    report_frame, people_frame = frames(reports, people, rules)
    pairs = link.link(report_frame, people_frame, bucket_expr(rules, "phone", "phone"))
    assert pairs.rows() == [("r1", "13800001234", True, False)]


def test_front_four_back_five_bucket() -> None:
    rules = parse_rules("report: {min_visible: {prefix: 4, suffix: 5}}")
    reports = [("1381**12345", "张先生", 5)]
    people = [("13810012345", None, 0), ("13820012345", None, 0)]
    report_frame, people_frame = frames(reports, people, rules)
    pairs = link.link(report_frame, people_frame, bucket_expr(rules, "phone", "phone"))
    assert pairs.rows() == [("r0", "13810012345", True, False)]


def _frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={"phone": pl.String(), "customer_name": pl.String(), "at": pl.Datetime("us", SH)},
    )


def test_customers_known_only_from_the_crm() -> None:
    visits = _frame([{"phone": "13800001234", "customer_name": "张三", "at": T0}])
    crm = _frame(
        [
            # A visitor the CRM knew a month earlier: first seen then; names from the visit.
            {"phone": "13800001234", "customer_name": "张大伟", "at": T0 - timedelta(days=30)},
            {"phone": "13811111234", "customer_name": "李女士", "at": T0 + timedelta(days=2)},
            {"phone": "13811111234", "customer_name": "李四", "at": T0 + timedelta(days=1)},
            {"phone": "13811111234", "customer_name": "先生", "at": T0},
            {"phone": "13822221234", "customer_name": None, "at": None},
        ]
    )
    none = visits.clear()
    people = link.customers(visits, none, none, crm)
    assert people.rows() == [
        ("13800001234", T0 - timedelta(days=30), ["张三"], False, None),
        ("13811111234", T0, ["李女士", "李四"], True, ["李"]),
        ("13822221234", None, [], True, []),
    ]
    assert link.customers(visits, none, none).rows() == [("13800001234", T0, ["张三"], False, None)]


def test_a_crm_only_customer_fits_in_time_with_an_agreeing_surname_or_a_full_number() -> None:
    rules = parse_rules("")
    reports = [
        ("138****1234", "张先生", 5),  # r0: CRM 张伟 in time
        ("138****1234", "先生", 5),  # r1: no surname: CRM-only customers need one
        ("139****5678", "王先生", 5),  # r2: the CRM-only customer was first seen too late
        ("13722221111", "先生", 5),  # r3: the full number: no surname needed
        ("136****2222", "赵女士", 5),  # r4: CRM customer without a name
        ("135****3333", "李四/张三", 5),  # r5: a couple meets the CRM couple twice: one pair
    ]
    people = [
        ("13800001234", "张伟", -1),
        ("13900005678", "王芳", 6),
        ("13722221111", "李四", 0),
        ("13600002222", None, 0),
        ("13500003333", "张三/李四", 0),
    ]
    crm = {phone for phone, _, _ in people}
    report_frame, people_frame = frames(reports, people, rules, crm)
    pairs = link.link(report_frame, people_frame, bucket_expr(rules, "phone", "phone"))
    assert pairs.rows() == [
        ("r0", "13800001234", True, True),
        ("r3", "13722221111", True, True),
        ("r5", "13500003333", True, True),
    ]


def test_an_undated_crm_only_customer_counts_as_seen_in_time() -> None:
    rules = parse_rules("")
    report_frame, people_frame = frames([("138****1234", "张先生", 5)], [], rules)
    people_frame = pl.DataFrame(
        {"phone": ["13800001234"], "first_at": [None], "names": [["张伟"]], "crm_only": [True]},
        schema={
            "phone": pl.String,
            "first_at": pl.Datetime("us", "Asia/Shanghai"),
            "names": pl.List(pl.String),
            "crm_only": pl.Boolean,
        },
    )
    pairs = link.link(report_frame, people_frame, bucket_expr(rules, "phone", "phone"))
    assert pairs.rows() == [("r0", "13800001234", True, True)]


def test_only_eleven_characters_fit() -> None:
    rules = parse_rules("")
    report_frame, people_frame = frames([("138****1234", "张先生", 5)], [], rules)
    people_frame = pl.DataFrame(
        {
            "phone": ["1380001234", "13800001234"],
            "first_at": [T0, T0],
            "names": [[], []],
        },
        schema_overrides={"names": pl.List(pl.String)},
    ).with_columns(pl.col("first_at").dt.convert_time_zone("Asia/Shanghai"))
    buckets = bucket_expr(rules, "phone", "phone")
    assert link.link(report_frame, people_frame, buckets)["phone"].to_list() == ["13800001234"]
