"""Episode flags become text only in attribution.csv, in one fixed order."""

from __future__ import annotations

import pytest

from reconcile.judge.vocabulary import Flags
from reconcile.publish.contract import flag_texts

CASES = [
    (Flags(), []),
    (Flags(order_unknown=True), ["order_unknown"]),
    (
        Flags(
            provisional=True, brought_by=("房多多",), lost=("链家",), order_unknown=True, renewed=2
        ),
        [
            "provisional=type_priority",
            "brought_by=房多多",
            "lost=链家",
            "order_unknown",
            "renewed=2",
        ],
    ),
    (Flags(tie=("我爱我家", "链家")), ["tie=我爱我家", "tie=链家"]),
    # After a ruling, what it decided comes last: its losers, shares and source.
    (
        Flags(
            brought_by=("房多多",),
            lost=("链家",),
            order_unknown=True,
            renewed=1,
            split=(("我爱我家", 0.7), ("链家", 0.3)),
            ruling="rulings/裁决.xlsx#裁决!2",
        ),
        [
            "brought_by=房多多",
            "order_unknown",
            "renewed=1",
            "lost=链家",
            "split=我爱我家:0.7;链家:0.3",
            "ruling=rulings/裁决.xlsx#裁决!2",
        ],
    ),
    (Flags(split=(("链家", 1.0),), ruling="r.csv#r!2"), ["split=链家:1", "ruling=r.csv#r!2"]),
]


@pytest.mark.parametrize(("flags", "texts"), CASES)
def test_flags_are_written_in_the_order_the_judge_found_them(flags, texts):
    assert flag_texts(flags) == texts
