"""The meeting record (会议记实表): time, place, kind, topic, host, recorder, 应到/实到/请假/缺席
with names and reasons — taken from the attendance log, so nobody types attendance twice —
and the content and decisions the secretary wrote (`meetings record ID --content …`)."""
from __future__ import annotations

from pathlib import Path

from bot.clock import to_beijing
from bot.replies import load, render
from bot.meetings.rules import MEETING_KINDS, STATUS_LABELS, UNRECORDED, attendance_of
from bot.meetings import store
from bot.storage.engine import db
from bot.storage.models import ExportLog, Meeting


def _statuses(meeting: Meeting) -> list[tuple[str, str | None, str | None]]:
    """(name, status, leave reason) of every member due, in the order of the roster. A member
    without a status is absent once the meeting is closed (unrecorded at one entered
    afterwards, 补录); before that, not known (None)."""
    rows = store.attendance_rows(meeting)
    found = []
    for member in store.due_members(meeting):
        row = rows.get(member.id)
        status = attendance_of(meeting, row.attendance if row is not None else None)
        found.append((member.name, status, row.leave_reason if row is not None else None))
    return found


def _host_key(meeting: Meeting) -> str:
    """The host of a 党课 is its lecturer (授课人)."""
    return "lecturer" if meeting.kind == "party_lecture" else "host"


def fields(meeting: Meeting) -> list[tuple[str, str]]:
    """(label, value) rows of the record, in the order local departments print them."""
    w = load("exports")["record"]
    due = _statuses(meeting)
    by_status: dict[str, list[str]] = {"present": [], "remote": [], "excused": [], "absent": [],
                                       UNRECORDED: []}
    reasons = []
    for name, status, reason in due:
        by_status[status or "absent"].append(name)
        if status == "excused":
            reasons.append(w["reason"].format(name=name, reason=reason or "—"))
    present = by_status["present"] + [w["remote"].format(name=n) for n in by_status["remote"]]

    def people(names: list[str]) -> str:
        return w["people_named"].format(count=len(names), names="、".join(names)) if names \
            else w["people"].format(count=0)

    local = to_beijing(meeting.starts_at)
    kind = MEETING_KINDS[meeting.kind] + (f"（{meeting.group.name}）" if meeting.group else "")
    values = {
        "branch": meeting.branch.name, "kind": kind,
        "time": w["time"].format(year=local.year, month=local.month, day=local.day,
                                 hour=local.hour, minute=local.minute),
        "place": meeting.place or "", "topic": meeting.topic or "",
        _host_key(meeting): meeting.host or "",
        "recorder": meeting.recorder or "", "due": w["people"].format(count=len(due)),
        "present": people(present), "excused": people(reasons),
        "absent": people(by_status["absent"]),
        **({UNRECORDED: people(by_status[UNRECORDED])} if by_status[UNRECORDED] else {}),
        "content": meeting.content or "", "decisions": meeting.decisions or ""}
    return [(w["labels"][key], value) for key, value in values.items()]


def warnings(meeting: Meeting) -> list[str]:
    """What the exporter should hear before handing the record in: a host (授课人) or recorder
    who, by the attendance log, was not at the meeting (on leave or absent)."""
    labels = load("exports")["record"]["labels"]
    status_of = {name: status for name, status, _ in _statuses(meeting)}
    found = []
    for key, name in ((_host_key(meeting), meeting.host), ("recorder", meeting.recorder)):
        status = status_of.get(name or "")
        if status in ("excused", "absent"):
            found.append(render("export.record_not_present", role=labels[key], name=name,
                                status=STATUS_LABELS[status]))
    return found


def title(meeting: Meeting) -> str:
    return load("exports")["record"]["title"].format(branch=meeting.branch.name,
                                                      kind=MEETING_KINDS[meeting.kind])


def sign_off(meeting: Meeting) -> str:
    """The lines the host (授课人) and the recorder sign under the record."""
    w = load("exports")["record"]
    return w["sign_off"].format(host=w["labels"][_host_key(meeting)])


def write(meeting: Meeting, path: Path) -> None:
    """The record as .docx or .xlsx, by the file's suffix."""
    if path.suffix.lower() == ".docx":
        _docx(meeting, path)
    else:
        _xlsx(meeting, path)


def save(meeting: Meeting, path: Path, exported_by: str, via: str, now) -> ExportLog:
    """Write the record and log who did (the caller commits)."""
    write(meeting, path)
    log = ExportLog(kind="record", branch_id=meeting.branch_id, period=str(meeting.id),
                    options={"format": path.suffix.lower()[1:], "via": via},
                    exported_by=exported_by, path=str(path), created_at=now)
    db.session.add(log)
    return log


# Rows of free text get room to write in on paper, even when empty (points, in the .xlsx).
ROOMY = {"content": 260, "decisions": 110}


def _roomy(meeting: Meeting) -> dict[str, str]:
    """label -> key for the rows that get room: 会议内容 and 会议决定."""
    labels = load("exports")["record"]["labels"]
    return {labels[key]: key for key in ROOMY}


def _xlsx(meeting: Meeting, path: Path) -> None:
    """One A4 portrait page: the title, label and value side by side in a bordered table, the
    lines to sign under it."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side

    from bot.exports.cells import as_text
    from bot.exports.paper import FONT, LINE, fill, lines_of, page_setup

    book = Workbook()
    sheet = book.active
    sheet.title = load("exports")["record"]["sheet"]
    widths = fill([14, 72], 92)
    sheet.column_dimensions["A"].width, sheet.column_dimensions["B"].width = widths
    thin = Side(style="thin", color="000000")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    sheet.append([title(meeting)])
    sheet["A1"].font = Font(name=FONT, size=16, bold=True)
    sheet["A1"].alignment = Alignment(horizontal="center", vertical="center")
    sheet.row_dimensions[1].height = 36
    sheet.merge_cells("A1:B1")
    roomy = _roomy(meeting)
    for label, value in fields(meeting):
        sheet.append([label, value])
        number = sheet.max_row
        label_cell, value_cell = sheet[f"A{number}"], sheet[f"B{number}"]
        label_cell.font = Font(name=FONT, size=11, bold=True)
        label_cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        value_cell.font = Font(name=FONT, size=11)
        value_cell.alignment = Alignment(horizontal="left", indent=1, wrap_text=True,
                                         vertical="top" if label in roomy else "center")
        label_cell.border = value_cell.border = box
        height = lines_of(value, widths[1]) * (LINE + 1) + 8
        sheet.row_dimensions[number].height = max(height, ROOMY.get(roomy.get(label), 24))
        as_text(label_cell)
        as_text(value_cell)
    sheet.append([])
    sheet.append([sign_off(meeting)])
    number = sheet.max_row
    sheet.merge_cells(f"A{number}:B{number}")
    sheet[f"A{number}"].font = Font(name=FONT, size=12)
    sheet[f"A{number}"].alignment = Alignment(horizontal="left", vertical="bottom")
    sheet.row_dimensions[number].height = 40
    as_text(sheet[f"A{number}"])
    page_setup(sheet, "portrait", None)
    sheet.page_setup.fitToHeight = 1  # one page: a long record is printed smaller
    book.save(path)


def _docx(meeting: Meeting, path: Path) -> None:
    """A4 portrait, margins of 2–2.5 cm, 宋体: the title, the bordered table, the lines to
    sign."""
    from docx import Document
    from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_ROW_HEIGHT_RULE
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    from bot.exports.cells import printable
    from bot.exports.paper import FONT

    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(25), Mm(20)
    section.left_margin, section.right_margin = Mm(25), Mm(20)
    normal = document.styles["Normal"]
    normal.font.name, normal.font.size = FONT, Pt(12)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)

    heading = document.add_paragraph()
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = heading.add_run(printable(title(meeting)))
    run.bold, run.font.size = True, Pt(18)
    heading.paragraph_format.space_after = Pt(12)

    rows = fields(meeting)
    roomy = _roomy(meeting)
    table = document.add_table(rows=len(rows), cols=2)
    table.style = "Table Grid"
    table.autofit = False
    label_width, value_width = Mm(30), Mm(135)
    for (label, value), row in zip(rows, table.rows):
        label_cell, value_cell = row.cells
        label_cell.width, value_cell.width = label_width, value_width
        label_cell.text, value_cell.text = label, printable(value)
        label_cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
        label_cell.paragraphs[0].runs[0].bold = True
        label_cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
        row.height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST
        row.height = Mm({"content": 80, "decisions": 35}.get(roomy.get(label), 9))
        if label not in roomy:
            value_cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
    for column, width in zip(table.columns, (label_width, value_width)):
        column.width = width

    signatures = document.add_paragraph()
    signatures.paragraph_format.space_before = Pt(30)
    signatures.add_run(printable(sign_off(meeting)))
    document.save(path)
