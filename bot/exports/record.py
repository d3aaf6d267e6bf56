"""The meeting record (会议记实表): time, place, kind, topic, host, recorder, 应到/实到/请假/缺席
with names and reasons — taken from the attendance log, so nobody types attendance twice —
and the content and decisions the secretary wrote (`meetings record ID --content …`)."""
from __future__ import annotations

from pathlib import Path

from bot.clock import to_beijing
from bot.replies import load
from bot.meetings.rules import MEETING_KINDS
from bot.meetings import store
from bot.storage.engine import db
from bot.storage.models import ExportLog, Meeting


def fields(meeting: Meeting) -> list[tuple[str, str]]:
    """(label, value) rows of the record, in the order local departments print them."""
    w = load("exports")["record"]
    rows = store.attendance_rows(meeting)
    due = store.due_members(meeting)
    by_status: dict[str, list[str]] = {"present": [], "remote": [], "excused": [], "absent": []}
    reasons = []
    for member in due:
        row = rows.get(member.id)
        status = row.attendance if row is not None and row.attendance else "absent"
        by_status[status].append(member.name)
        if status == "excused":
            reasons.append(w["reason"].format(name=member.name, reason=row.leave_reason or "—"))
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
        "place": meeting.place or "", "topic": meeting.topic or "", "host": meeting.host or "",
        "recorder": meeting.recorder or "", "due": w["people"].format(count=len(due)),
        "present": people(present), "excused": people(reasons),
        "absent": people(by_status["absent"]), "content": meeting.content or "",
        "decisions": meeting.decisions or ""}
    return [(w["labels"][key], value) for key, value in values.items()]


def title(meeting: Meeting) -> str:
    return load("exports")["record"]["title"].format(branch=meeting.branch.name,
                                                      kind=MEETING_KINDS[meeting.kind])


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


def _xlsx(meeting: Meeting, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    from bot.exports.cells import as_text

    book = Workbook()
    sheet = book.active
    sheet.title = load("exports")["record"]["sheet"]
    sheet.append([title(meeting)])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.merge_cells("A1:B1")
    for label, value in fields(meeting):
        sheet.append([label, value])
    sheet.column_dimensions["A"].width = 12
    sheet.column_dimensions["B"].width = 80
    for row in sheet.iter_rows(min_row=2):
        row[0].font = Font(bold=True)
        row[1].alignment = Alignment(wrap_text=True, vertical="top")
        for cell in row:
            as_text(cell)
    sheet.page_setup.paperSize = 9  # A4
    book.save(path)


def _docx(meeting: Meeting, path: Path) -> None:
    from docx import Document

    from bot.exports.cells import printable

    document = Document()
    document.add_heading(printable(title(meeting)), level=1)
    rows = fields(meeting)
    table = document.add_table(rows=len(rows), cols=2)
    table.style = "Table Grid"
    for (label, value), row in zip(rows, table.rows):
        row.cells[0].text, row.cells[1].text = label, printable(value)
    document.save(path)
