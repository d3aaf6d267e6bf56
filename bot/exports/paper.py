"""How an exported sheet looks on paper: a title, a bordered table with its header repeated on
every printed page, totals, notes, and lines to sign (制表人, 审核人, 日期) under the table; A4,
the table as wide as the page, a CJK font, numbers as numbers.

Sheets are streamed (openpyxl's write-only mode): each kind of cell gets its style worked out
once, and every cell of that kind shares it; each row is written as one element (Styles.write_row),
so borders on 100,000 cells cost little.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from bot.exports.cells import printable
from bot.replies import load

FONT = "宋体"  # SimSun, the face official papers are printed in (LibreOffice substitutes a CJK serif)
SIZE = 10  # points, body text
LINE = 14  # points per line of body text, for the height of a wrapped row
ROW = 18  # points, the height of a row of one line: room around the text
MONEY, INTEGER, PERCENT = "0.00", "0", "0%"
PRINTABLE = {"landscape": 150, "portrait": 100}  # column-width units that fill an A4 page


@dataclass
class Sheet:
    """One sheet as rows of plain values; `formats` maps a column (0-based) to the number
    format of its numbers, `wrap` names the columns of free text (left-aligned, wrapped)."""

    name: str
    title: str
    header: list[str]
    rows: list[list] = field(default_factory=list)
    totals: list[list] = field(default_factory=list)  # bold rows under the table
    total_formats: dict[int, str] = field(default_factory=dict)  # a total row's own format
    notes: list[str] = field(default_factory=list)  # a legend, under the totals
    widths: list[float] = field(default_factory=list)
    formats: dict[int, str] = field(default_factory=dict)
    wrap: tuple[int, ...] = ()
    freeze: str | None = "B3"


def words() -> dict:
    """The words every paper shares (prompts/exports.toml [paper])."""
    return load("exports")["paper"]


def text_width(text: str) -> int:
    """Width of text in column units: a Chinese character takes two."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def lines_of(text: str, width: float) -> int:
    """How many printed lines text takes in a column of this width."""
    room = max(width - 1.5, 1)
    return sum(max(1, math.ceil(text_width(part) / room)) for part in str(text).split("\n"))


def fill(widths: list[float], total: float) -> list[float]:
    """widths stretched to fill the page; wider tables are left to shrink (fitToWidth)."""
    have = sum(widths)
    return [round(w * total / have, 1) for w in widths] if 0 < have < total else list(widths)


class Styles:
    """The handful of cell styles a sheet uses, each worked out once (a StyleArray) and then
    shared by every cell of its kind."""

    def __init__(self, ws, formats: dict[int, str], wrap: tuple[int, ...], columns: int):
        from xml.sax.saxutils import escape

        from lxml.etree import fromstring
        from openpyxl.compat import safe_string
        from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
        from openpyxl.utils import get_column_letter

        self._make = fromstring, escape, safe_string, get_column_letter

        thin = Side(style="thin", color="000000")
        box = Border(left=thin, right=thin, top=thin, bottom=thin)
        centre = Alignment(horizontal="center", vertical="center", wrap_text=True)
        left = Alignment(horizontal="left", vertical="center", wrap_text=True, indent=1)
        body, bold = Font(name=FONT, size=SIZE), Font(name=FONT, size=SIZE, bold=True)
        self.ws = ws
        self.title = self._style(font=Font(name=FONT, size=16, bold=True), alignment=centre)
        self.header = self._style(font=bold, alignment=centre, border=box,
                                  fill=PatternFill("solid", fgColor="E7E6E6"))
        self.note = self._style(font=body, alignment=Alignment(horizontal="left",
                                                                vertical="top", wrap_text=True))
        self.sign = self._style(font=Font(name=FONT, size=12),
                                alignment=Alignment(horizontal="left", vertical="bottom"))
        self.body = [self._style(font=body, alignment=left if column in wrap else centre,
                                 border=box, number_format=formats.get(column, "General"))
                     for column in range(columns)]
        self._total = dict(font=bold, alignment=centre, border=box)
        self._totals: dict[str, object] = {}
        self.formats = formats
        self._ids: dict[int, str] = {}

    def total(self, column: int, fmt: str | None = None):
        """The style of a total cell: bold, in the row's format or else the column's."""
        fmt = fmt or self.formats.get(column, "General")
        if fmt not in self._totals:
            self._totals[fmt] = self._style(number_format=fmt, **self._total)
        return self._totals[fmt]

    def _style(self, **attributes):
        from openpyxl.cell import WriteOnlyCell

        cell = WriteOnlyCell(self.ws)
        for name, value in attributes.items():
            setattr(cell, name, value)
        return cell._style

    def write_row(self, xf, appended, row_idx):
        """Stands in for the sheet writer's own: one row, appended as (values, styles), put
        together as text and parsed into one element (openpyxl makes a cell object, checks its
        value and opens an element per cell: most of the export's time for 100,000 cells).
        A text is always a text (an inline string, as openpyxl writes them), never a formula."""
        fromstring, escape, safe_string, letter = self._make
        dims = self.ws.row_dimensions.get(row_idx)
        parts = [f'<row r="{row_idx}"' + "".join(f' {k}="{v}"' for k, v in (dims or ())) + ">"]
        values, styles = appended
        for column, (value, style) in enumerate(zip(values, styles), start=1):
            head = f'<c r="{letter(column)}{row_idx}" s="{self._style_id(style)}"'
            if value is None or value == "":
                parts.append(head + "/>")
            elif isinstance(value, str):
                text = escape(printable(value)[:MAX_TEXT])
                space = ' xml:space="preserve"' if text != text.strip() else ""
                parts.append(f'{head} t="inlineStr"><is><t{space}>{text}</t></is></c>')
            else:  # int, Decimal or float: the project's own numbers
                parts.append(f'{head} t="n"><v>{safe_string(value)}</v></c>')
        parts.append("</row>")
        xf.write(fromstring("".join(parts)))

    def _style_id(self, style) -> str:
        found = self._ids.get(id(style))
        if found is None:
            found = self._ids[id(style)] = str(self.ws.parent._cell_styles.add(style))
        return found


MAX_TEXT = 32767  # characters a cell can hold


def page_setup(ws, orientation: str, title_rows: str | None) -> None:
    """A4 in the given orientation, as wide as the page, margins of about 1.5 cm, the title and
    header on every page, page numbers in the footer, the table centred."""
    from openpyxl.worksheet.page import PageMargins

    ws.page_setup.paperSize = 9  # A4
    ws.page_setup.orientation = orientation
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.page_margins = PageMargins(left=0.5, right=0.5, top=0.6, bottom=0.7, header=0.3,
                                  footer=0.3)
    ws.print_options.horizontalCentered = True
    if title_rows:
        ws.print_title_rows = title_rows
    footer = ws.HeaderFooter.oddFooter.center
    footer.text, footer.font, footer.size = words()["footer"], FONT, 9


def write_sheet(book, sheet: Sheet, orientation: str = "landscape") -> None:
    """One sheet on a write-only workbook: title, header, rows, totals, notes, sign-off."""
    from openpyxl.utils import get_column_letter

    ws = book.create_sheet(sheet.name)
    columns = max(len(sheet.header), 1)
    widths = fill(sheet.widths, PRINTABLE[orientation])
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    if sheet.freeze:
        ws.freeze_panes = sheet.freeze
    ws.sheet_format.defaultRowHeight, ws.sheet_format.customHeight = ROW, True
    page_setup(ws, orientation, "1:2")
    styles = Styles(ws, sheet.formats, sheet.wrap, columns)
    ws._get_writer()  # the sheet's head is written now: widths, panes and row height set above
    ws._writer.write_row = styles.write_row  # rows are appended as (values, styles)
    ws._values_to_row = lambda appended, row_idx: appended
    last = get_column_letter(columns)
    number = 1

    def whole_width(value, style, height: float | None) -> None:
        nonlocal number
        if height:
            ws.row_dimensions[number].height = height
        ws.merged_cells.add(f"A{number}:{last}{number}")
        ws.append(([value], [style]))
        number += 1

    whole_width(sheet.title, styles.title, 30)
    header_lines = max(lines_of(h, w) for h, w in zip(sheet.header, widths))
    ws.row_dimensions[2].height = max(2, header_lines) * LINE + 4
    ws.append((sheet.header, [styles.header] * len(sheet.header)))
    number = 3
    body = styles.body
    for row in sheet.rows:
        if sheet.wrap:
            tall = max((lines_of(row[i], widths[i]) for i in sheet.wrap if row[i]), default=1)
            if tall > 1:
                ws.row_dimensions[number].height = tall * LINE + 6
        ws.append((row, body))
        number += 1
    for index, row in enumerate(sheet.totals):
        fmt = sheet.total_formats.get(index)
        ws.append((row, [styles.total(i, fmt) for i in range(len(row))]))
        number += 1
    room = sum(widths[:columns])
    for note in sheet.notes:
        number += 1
        ws.append(((), ()))
        whole_width(note, styles.note, lines_of(note, room) * LINE + 4)
    number += 1
    ws.append(((), ()))
    whole_width(words()["sign_off"], styles.sign, 36)


def write_book(sheets: list[Sheet], path: Path, orientation: str = "landscape") -> None:
    """The workbook, streamed: every sheet ready to print as it is."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    for sheet in sheets:
        write_sheet(book, sheet, orientation)
    book.save(path)
