"""R11 延期申请无效: an extension request outside its window, beyond `times`, or not by the
holder (SPEC 6.8, `report.extension`).

A request (a report row of type 延期/延续, or a row of a 延期申请 sheet) is not a report. The
holder's request made within the last `window` of its report protection extends it by
`extend` from the old end (`extend_when_queued` while someone is queued behind it), at
most `times` times. It extends report protection, never visit protection; a report that
took over from the queue cannot be extended. Any other request is R11.
"""

from __future__ import annotations

from datetime import datetime

from reconcile.config.rules import Rules
from reconcile.judge.periods import period_end, window_start
from reconcile.judge.reasons.entry import Notes, Reason, duration_text
from reconcile.judge.vocabulary import Code


def honoured(rules: Rules, until: datetime | None, at: datetime, used: int) -> bool:
    """Whether the holder's request at `at` extends a protection ending at `until`
    (None: forever, nothing to extend) after `used` earlier extensions."""
    extension = rules.report.extension
    if extension is None or until is None or used >= extension.times:
        return False
    return window_start(until, extension.window, rules.zone) <= at < until


def extension_end(rules: Rules, until: datetime, queued: bool) -> datetime | None:
    """The new end: `extend` from the old end, `extend_when_queued` while someone queues."""
    extension = rules.report.extension
    assert extension is not None, "honoured() said the rules extend"
    queue = rules.report.queue
    extend = extension.extend
    if queued and queue is not None and queue.extend_when_queued is not None:
        extend = queue.extend_when_queued
    return period_end(until, extend, rules.zone)


def _notes(rules: Rules) -> str:
    extension = rules.report.extension
    if extension is None:
        return f"本项目不受理延期申请，提交的延期申请均无效{REASON.cited}"
    text = (
        f"报备保护期最后 {duration_text(extension.window)}内，由持有客户的渠道提交延期申请"
        f"（报备类型填“延期”或“延续”，或填在“延期申请”表），"
        f"保护期从原到期日起延长 {duration_text(extension.extend)}，最多 {extension.times} 次"
    )
    queue = rules.report.queue
    if queue is not None and queue.extend_when_queued is not None:
        text += f"；有渠道排队时只延长 {duration_text(queue.extend_when_queued)}"
    return f"{text}；不在期限内、超过次数或非持有渠道的申请无效{REASON.cited}"


REASON = Reason(
    Code.R11,
    "延期申请无效",
    "An extension request outside the last report.extension.window of the holder's report "
    "protection, beyond report.extension.times, or not by the holder is invalid (SPEC 6.8).",
    decide=(honoured, extension_end),
    notes=Notes("延期申请", _notes),
)
