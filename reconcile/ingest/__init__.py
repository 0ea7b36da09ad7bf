"""Stage 1, ingest: from a dropped file to recognised sheets (SPEC §4).

`arrival` waits until a file is complete, `limits` bounds what a file may cost,
`readers` read xlsx/xls/csv/html cells, `headers` find and map the header row,
`sheet` recognises the kind and sets aside blank, totals and notes rows, `files`
reads a whole file into outcomes, and `reread` re-derives stored cells when the
vocabulary changes.
"""
