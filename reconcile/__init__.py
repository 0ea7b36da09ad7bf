"""reconcile: 渠道客户报备对账."""

__version__ = "0.1.0"
