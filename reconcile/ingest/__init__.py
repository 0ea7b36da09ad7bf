"""Stage 1, ingest: from a dropped file to recognised sheets (SPEC §4).

`arrival` waits until a file is complete, `limits` bounds what a file may cost,
`readers` read xlsx/xls/csv/html cells, `headers` find and map the header row,
`sheet` recognises the kind and sets aside blank, totals and notes rows, `files`
reads a whole file into outcomes, `loader` writes the night's files into the ledger
(one while the next is read), and `reread` re-derives stored cells when the
vocabulary changes.
"""
