"""The cycle collector around a judged night (reconcile.judge): paused while the judge
and the contract make millions of objects, the night frozen while it is published."""

from __future__ import annotations

import gc

from reconcile.judge import cycle_collector_paused, night_frozen


def test_a_paused_collector_inside_a_frozen_night_leaves_it_frozen():
    night = [[i] for i in range(1000)]
    with night_frozen():
        frozen = gc.get_freeze_count()
        assert frozen >= len(night)
        with cycle_collector_paused():
            assert not gc.isenabled()
            made = [[i] for i in range(1000)]
        assert gc.isenabled()
        # thawing here would have let the night go back to the collector
        assert gc.get_freeze_count() == frozen
        with night_frozen():  # nested: still the one freeze
            assert gc.get_freeze_count() == frozen
        assert gc.get_freeze_count() == frozen
    assert gc.get_freeze_count() == 0
    assert made and night


def test_outside_a_frozen_night_what_was_made_is_not_left_frozen():
    with cycle_collector_paused():
        made = [[i] for i in range(1000)]
    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert made


def test_a_collector_the_caller_disabled_stays_disabled():
    gc.disable()
    try:
        with cycle_collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
