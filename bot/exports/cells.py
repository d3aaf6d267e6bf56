"""What a person typed goes into a spreadsheet as text, never as a formula (formula injection).

In an .xlsx a text starting with "=" becomes a string cell (no visible apostrophe on the
printed papers); characters a workbook cannot hold are dropped. In a .csv a text starting
with =, +, -, @, a tab or a carriage return gets a leading apostrophe, as OWASP recommends.
The project's own numbers stay numbers.
"""
from __future__ import annotations

import re

_ILLEGAL = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")
_CSV_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def xlsx_value(ws, value, font=None, alignment=None):
    """value ready for a write-only sheet's append(): text as a string cell, styled if asked."""
    if isinstance(value, str):
        value = _ILLEGAL.sub("", value)
    if font is None and alignment is None and not (isinstance(value, str) and
                                                   value.startswith("=")):
        return value
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(ws, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    if font is not None:
        cell.font = font
    if alignment is not None:
        cell.alignment = alignment
    return cell


def xlsx_row(ws, values) -> list:
    """A row for a write-only sheet, every text kept as text."""
    return [xlsx_value(ws, value) for value in values]


def as_text(cell) -> None:
    """A cell of an ordinary (not write-only) sheet: a text stays a text."""
    if isinstance(cell.value, str):
        cell.value = _ILLEGAL.sub("", cell.value)
        cell.data_type = "s"


def printable(text: str | None) -> str:
    """text without the control characters no document format can hold (.docx included)."""
    return _ILLEGAL.sub("", text or "")


def csv_value(value):
    """value for a CSV file: a text that a spreadsheet would run as a formula is neutralised."""
    if isinstance(value, str) and value.startswith(_CSV_TRIGGERS):
        return "'" + value
    return value
