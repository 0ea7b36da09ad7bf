"""Row-error codes: why a row did not become a record (`row_errors.codes`, `;`-joined).

The values are stored in the ledger and compared across nights, so a member's value
never changes; its Chinese reason is written beside it by the function that found it.
"""

from __future__ import annotations

from enum import StrEnum


class RowError(StrEnum):
    PHONE_MISSING = "phone_missing"
    PHONE_SCIENTIFIC = "phone_scientific"  # 1.38E+10: the digits are lost
    PHONE_LANDLINE = "phone_landline"
    PHONE_NOT_MOBILE = "phone_not_mobile"
    PHONE_BAD_MASK = "phone_bad_mask"
    PHONE_MASKED = "phone_masked"  # a masked number where a full one is required (not a report)
    DATE_MISSING = "date_missing"
    DATE_INVALID = "date_invalid"
    DATE_TIME_ONLY = "date_time_only"  # a time without a day the sheet's title could give
    CHANNEL_MISSING = "channel_missing"
    STAGE_MISSING = "stage_missing"
    STAGE_INVALID = "stage_invalid"
    AMOUNT_INVALID = "amount_invalid"
    AMOUNT_MISSING = "amount_missing"  # a payment row without its amount
    PAYMENT_NOT_MADE = "payment_not_made"  # 已退票, 待付款, 付款失败 …: no money went out
    SHARES_INVALID = "shares_invalid"
    DEAL_ID_MISSING = "deal_id_missing"
    RULING_OWNER_MISSING = "ruling_owner_missing"
    # A WeChat message that looks like a report but cannot be taken (SPEC 4.2): no
    # customer, no time, another project; its `消息问题` cell says which.
    MESSAGE_REJECTED = "message_rejected"


# A phone cell that cannot identify a customer: on a report row this makes the report
# an invalid R02 report rather than an unreadable row.
PHONE_ERRORS = frozenset(code for code in RowError if code.value.startswith("phone_"))
