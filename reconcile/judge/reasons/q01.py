"""Q01 排队已满: a report on a customer another channel holds, with the queue behind the
holder full (SPEC 6.8, `report.queue`, report mode only).

While a channel holds by its report, another channel's report queues (`queued`) when
fewer than `max` wait; beyond that it is invalid (Q01). When the holder's protection
ends without a deal, the first queued report holds from that end instant for
`validity`, without extension. A deal reaching `deal.commission_stage` while the holder
holds ends the queue: the queued reports are lost (C01).
"""

from __future__ import annotations

from datetime import datetime

from reconcile.config.rules import Rules
from reconcile.judge.periods import period_end
from reconcile.judge.reasons.entry import Notes, Reason, duration_text
from reconcile.judge.vocabulary import Code


def full(rules: Rules, waiting: int) -> bool:
    """Whether a report arriving behind `waiting` queued reports is Q01."""
    queue = rules.report.queue
    return queue is not None and waiting >= queue.max


def takeover_end(rules: Rules, end: datetime) -> datetime | None:
    """The end of the protection of a queued report that takes over at `end`."""
    queue = rules.report.queue
    assert queue is not None, "only a queue takes over"
    return period_end(end, queue.validity, rules.zone)


def _notes(rules: Rules) -> str:
    queue = rules.report.queue
    if queue is None:
        return f"本项目不设排队{REASON.cited}"
    return (
        f"客户在他方保护期内时，新的报备进入排队，每个客户最多排队 {queue.max} 家；"
        f"前一家保护期满未成交的，到期次日起由排在最前的渠道持有 "
        f"{duration_text(queue.validity)}（不能延期）；前一家成交的，排队失效；"
        f"排队已满的报备无效{REASON.cited}"
    )


REASON = Reason(
    Code.Q01,
    "排队已满",
    "In report mode, a report on a customer another channel holds while report.queue.max "
    "reports already queue behind the holder is invalid (SPEC 6.8).",
    decide=(full, takeover_end),
    notes=Notes("排队", _notes),
)
