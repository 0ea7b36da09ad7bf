"""A row's `source` (SPEC 4.2, 6.2): `path#sheet!row` for a sheet, `path#line` for a
WeChat message, made one way in Python and in polars."""

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconcile.normalise.places import (
    MESSAGES,
    place_expr,
    place_prefix,
    place_text,
    sheet_label,
)


@pytest.mark.parametrize(
    ("order", "source"),
    [
        (("channels/链家/报备.xlsx", "报备", 5), "channels/链家/报备.xlsx#报备!5"),
        (("channels/链家/报备.csv", "报备", 2), "channels/链家/报备.csv#报备!2"),
        (("channels/链家/群聊.txt", MESSAGES, 7), "channels/链家/群聊.txt#7"),
        # A sheet named like a number or with the separators in it is still a sheet.
        (("crm/导出.xlsx", "7", 3), "crm/导出.xlsx#7!3"),
        (("crm/导出.xlsx", "a#b!c", 3), "crm/导出.xlsx#a#b!c!3"),
    ],
)
def test_source_of_a_row(order, source):
    assert place_text(order) == source
    path, sheet, row = order
    assert place_prefix(path, sheet) + str(row) == source


def test_a_message_file_is_shown_without_a_sheet_name():
    assert sheet_label(MESSAGES) == "微信消息"
    assert sheet_label("报备") == "报备"


@given(
    st.lists(
        st.tuples(
            st.text(min_size=1, max_size=12),
            st.one_of(st.just(MESSAGES), st.text(max_size=8)),
            st.integers(min_value=1, max_value=1_048_576),
        ),
        max_size=20,
    )
)
def test_polars_makes_the_same_text(orders):
    frame = pl.DataFrame(
        orders,
        schema={"path": pl.String, "sheet": pl.String, "row_no": pl.Int64},
        orient="row",
    )
    assert frame.select(place_expr()).to_series().to_list() == list(map(place_text, orders))
