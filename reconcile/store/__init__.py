"""Persistence: the SQLite ledger (every SQL statement of the product lives in
`reconcile.store.ledger`) and atomic file writes."""
