from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile import link
from reconcile.judge.admission import bucket_expr
from reconcile.normalise.names import names_agree, parse_name
from reconcile.normalise.phones import Phone
from reconcile.rules import Rules, parse_rules

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


def frames(reports, people, rules: Rules):
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
        },
        schema_overrides={"names": pl.List(pl.String), "phone": pl.String},
    )
    return report_frame, people_frame


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(pattern(), st.sampled_from(NAMES), st.integers(0, 10)), max_size=12),
    st.lists(
        st.tuples(phones("0123"), st.sampled_from(NAMES), st.integers(-5, 10)),
        max_size=12,
        unique_by=lambda p: p[0],
    ),
)
def test_bucketed_link_equals_comparing_all_pairs(reports, people) -> None:
    rules = parse_rules("")
    report_frame, people_frame = frames(reports, people, rules)
    found = set(
        link.link(report_frame, people_frame, bucket_expr(rules, "phone", "phone")).iter_rows()
    )
    expected = {
        (f"r{i}", phone, first < days)
        for i, (pat, name, days) in enumerate(reports)
        for phone, person, first in people
        if Phone.from_pattern(pat).fits(phone)
        and (person is None or names_agree(parse_name(name), parse_name(person)))
    }
    assert found == expected


def test_given_names_that_differ_do_not_link() -> None:
    rules = parse_rules("")
    reports = [("138****1234", "张伟", 5), ("138****1234", "張先生", 5)]
    people = [("13800001234", "张强", 0)]
    report_frame, people_frame = frames(reports, people, rules)
    pairs = link.link(report_frame, people_frame, bucket_expr(rules, "phone", "phone"))
    assert pairs.rows() == [("r1", "13800001234", True)]


def test_front_four_back_five_bucket() -> None:
    rules = parse_rules("report: {min_visible: {prefix: 4, suffix: 5}}")
    reports = [("1381**12345", "张先生", 5)]
    people = [("13810012345", None, 0), ("13820012345", None, 0)]
    report_frame, people_frame = frames(reports, people, rules)
    pairs = link.link(report_frame, people_frame, bucket_expr(rules, "phone", "phone"))
    assert pairs.rows() == [("r0", "13810012345", True)]
