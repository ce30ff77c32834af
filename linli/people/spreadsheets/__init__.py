"""Spreadsheet (.xlsx) import and export of residents and houses.

- `columns`: the two sheet layouts (headers in Chinese and English, both accepted) and their vocabularies.
- `reader`: opens an uploaded workbook defensively and yields its rows, or says clearly why it cannot.
- `residents`, `houses`: validate every row, then write all valid rows in one transaction via the services.
- `templates`: the downloadable templates; `export`: scoped, masked-by-default exports.

Imports run synchronously inside the request and one transaction; `reader.MAX_ROWS` (20,000) caps a file.
See reader.py for measured timings: first loads of many new residents are best split into files of a few
thousand rows; re-imports of an unchanged register are fast because unchanged rows write nothing.
"""
