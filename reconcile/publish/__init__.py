"""Stage 5, publish: what people receive each morning (SPEC §7).

`night.publish` writes the dispute report for the admin, the settlement workbook
for finance and one receipt per agency, and posts the mails that carry them:
`digest` decides what the report says, `report` renders it, `settlement` and
`receipts` write the workbooks, `mail` keeps the outbox and talks SMTP. `contract`
writes the CSV integration contract and `template` the blank input templates.
"""
