"""Whether the appeal window is open is decided once (`judge.deals.appeal_open`): held
commission and the dispute report give the same answer, `forever` included."""

from datetime import datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from reconcile.config.rules import parse_rules
from reconcile.judge.reasons.h01 import appeal_end, appeal_open
from reconcile.judge.timeline import Episode
from reconcile.publish.digest import _View

ZONE = ZoneInfo("Asia/Shanghai")
VISIT = datetime(2026, 11, 10, 15, 0, tzinfo=ZONE)


def _episode(first_visit_at: datetime | None) -> Episode:
    return Episode("13800001234", "channel", first_visit_at, "张三", channels=["链家"])


def _view(rules, at: datetime) -> _View:
    judgement = SimpleNamespace(
        inputs=SimpleNamespace(as_of_end=at), deals=[], episodes=[], reports=[]
    )
    return _View(judgement, rules)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("window", "after", "is_open", "deadline"),
    [
        ("24h", timedelta(hours=23, minutes=59), True, "2026-11-11 15:00"),
        ("24h", timedelta(hours=24), False, "2026-11-11 15:00（已截止）"),
        ("1d", timedelta(hours=8, minutes=59), True, "2026-11-10 24:00"),
        ("1d", timedelta(hours=9), False, "2026-11-10 24:00（已截止）"),
        ("forever", timedelta(days=3650), True, "不截止"),
    ],
)
def test_judge_and_dispute_report_agree(window, after, is_open, deadline):
    rules = parse_rules(f"conflict:\n  appeal_window: {window}\n")
    episode = _episode(VISIT)
    at = VISIT + after
    assert appeal_open(episode, rules, at) is is_open
    view = _view(rules, at)
    assert view._appeal_open(episode) is is_open
    assert view._deadline_text(episode) == deadline


@pytest.mark.parametrize("window", ["24h", "forever"])
def test_no_visit_no_appeal(window):
    rules = parse_rules(f"conflict:\n  appeal_window: {window}\n")
    episode = _episode(None)
    assert appeal_end(episode, rules) is None
    assert not appeal_open(episode, rules, VISIT)
    assert _view(rules, VISIT)._deadline_text(episode) == "—"
