"""Spreadsheet (.xlsx) import and export of residents and houses.

- `columns`: the two sheet layouts (headers in Chinese and English, both accepted) and their vocabularies.
- `reader`: opens an uploaded workbook defensively and yields its rows, or says clearly why it cannot.
- `residents`, `houses`: validate every row, then write all valid rows in one transaction via the services.
- `templates`: the downloadable templates; `export`: scoped, masked-by-default exports.

Imports run synchronously inside the request; `reader.MAX_ROWS` (20,000) keeps one run within about a
minute on PostgreSQL. Larger registers are split into several files (or loaded with the data generator).
"""
