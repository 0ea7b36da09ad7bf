"""Stage 2, normalise: pure functions from cell text to typed values (phones, names,
dates, flats and deal numbers), and `records`, which turns a recognised sheet into
ledger records and row errors."""
