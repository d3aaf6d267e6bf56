"""The monthly attendance export (月度考勤): one workbook a secretary hands to the Party
committee without editing — 考勤表, 请假明细, 学习打卡, 党费 (only for those who may see dues),
流动党员 — or one CSV per sheet (UTF-8 with BOM, so Excel reads the Chinese).

Every sheet is built as rows from a handful of bulk queries, and written row by row (openpyxl's
write-only mode), so a branch of 10,000 members never sits in memory as a workbook.
"""
from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from bot.dues import ledger as dues
from bot.clock import to_beijing
from bot.dues.payments import METHOD_LABELS
from bot.clock import month_bounds
from bot.replies import load, render
from bot.meetings.rules import STATUS_LABELS
from bot.meetings.rules import MEETING_KINDS
from bot.members.rules import COMMITTEE_ROLES, mask_phone
from bot.members.rules import STATUS_LABELS as MEMBER_STATUS
from bot.meetings import store as meeting_store
from bot.storage.engine import db
from bot.exports.links import file_name, folder
from bot.exports.cells import csv_value, xlsx_row, xlsx_value
from bot.storage.models import (Branch, ExportLog, FloatingContact, FloatingPeriod, FloatingReport,
                                Meeting, MeetingAttendance, Member, StudyCheckin)



def words(section: str) -> dict:
    """The words of one sheet, from prompts/exports.toml."""
    return load("exports")[section]


@dataclass
class Sheet:
    name: str
    rows: list[list] = field(default_factory=list)
    widths: list[float] = field(default_factory=list)
    freeze: str | None = None
    header_rows: int = 1  # rows printed on every page (the title, if any, and the header)
    titled: bool = False  # the first row is a title, not a header
    centred_from: int | None = None  # rows from this number on are totals: centred


def _members(branch: Branch) -> list[Member]:
    return list(db.session.execute(select(Member).where(Member.branch_id == branch.id)
                                   .options(selectinload(Member.role_rows),
                                            selectinload(Member.group))
                                   .order_by(Member.group_id, Member.id)).scalars())


def build(branch: Branch, year: int, month: int, now: datetime, with_dues: bool,
          phones: bool = False, locations: bool = False) -> list[Sheet]:
    """The export's sheets for one branch and month."""
    start, end = month_bounds(year, month)
    members = _members(branch)
    found = meeting_store.in_range(start, end, branch.id)
    rows = defaultdict(dict)  # plain rows, not ORM objects: a month can hold 100,000
    for row in db.session.execute(select(
            MeetingAttendance.id, MeetingAttendance.meeting_id, MeetingAttendance.member_id,
            MeetingAttendance.attendance, MeetingAttendance.rsvp, MeetingAttendance.leave_status,
            MeetingAttendance.leave_reason, MeetingAttendance.leave_decided_by,
            MeetingAttendance.leave_decided_at, MeetingAttendance.leave_requested_at).where(
            MeetingAttendance.meeting_id.in_([m.id for m in found]))):
        rows[row.meeting_id][row.member_id] = row
    sheets = [attendance_sheet(branch, year, month, members, found, rows),
              leave_sheet(members, found, rows), study_sheet(members, start, end, found, rows)]
    if with_dues:
        sheets.append(dues_sheet(branch, f"{year:04d}-{month:02d}"))
    sheets.append(floating_sheet(branch, members, start, end, f"{year:04d}-{month:02d}",
                                 phones, locations))
    return sheets


def _status(meeting: Meeting, member: Member, rows, roles: set[str], w: dict) -> str:
    if not _due(meeting, member, roles):
        return w["not_due"]
    row = rows[meeting.id].get(member.id)
    if row is None or row.attendance is None:
        return w["open"] if meeting.status != "closed" else STATUS_LABELS["absent"]
    return STATUS_LABELS[row.attendance]


def _due(meeting: Meeting, member: Member, roles: set[str]) -> bool:
    """meeting_store.is_due, with the member's roles worked out once per member."""
    if meeting.audience == "group":
        return member.group_id == meeting.group_id
    if meeting.audience == "committee":
        return bool(roles & COMMITTEE_ROLES)
    return True


def attendance_sheet(branch, year, month, members, found, rows) -> Sheet:
    """考勤表: a member per row, a meeting per column, totals both ways, a legend."""
    w = words("attendance")
    heads = [f"{to_beijing(m.starts_at):%m-%d} {MEETING_KINDS[m.kind]}"
             + (w["group"].format(group=m.group.name) if m.group else "") for m in found]
    sheet = Sheet(w["sheet"], header_rows=2, freeze="B3", titled=True,
                  widths=[10, 12, 10, 8, *[14] * len(found), 6, 6, 6, 6])
    sheet.rows.append([render("export.title", branch=branch.name, year=year, month=month)])
    sheet.rows.append([*w["columns"], *heads, *w["totals"]])
    not_due = w["not_due"]
    per_meeting = [defaultdict(int) for _ in found]
    for member in members:
        roles = member.roles
        statuses = [_status(m, member, rows, roles, w) for m in found]
        for counts, status in zip(per_meeting, statuses):
            counts[status] += 1
        due = sum(1 for s in statuses if s != not_due)
        present = sum(1 for s in statuses if s in (STATUS_LABELS["present"],
                                                   STATUS_LABELS["remote"]))
        sheet.rows.append([member.name, member.group.name if member.group else "",
                           MEMBER_STATUS.get(member.status, ""),
                           w["floating"] if member.is_floating else "", *statuses, due, present,
                           statuses.count(STATUS_LABELS["excused"]),
                           statuses.count(STATUS_LABELS["absent"])])
    sheet.centred_from = len(sheet.rows) + 1
    for index, label in enumerate(w["total_rows"]):  # 应到, 实到, 请假, 缺席, 出席率
        line = [label, "", "", ""]
        for meeting, counts in zip(found, per_meeting):
            due = sum(v for k, v in counts.items() if k != not_due)
            present = counts[STATUS_LABELS["present"]] + counts[STATUS_LABELS["remote"]]
            held = meeting.status == "closed"  # a meeting still to come has only 应到
            line.append([due, present if held else "",
                         counts[STATUS_LABELS["excused"]] if held else "",
                         counts[STATUS_LABELS["absent"]] if held else "",
                         f"{present / due:.0%}" if due and held else ""][index])
        sheet.rows.append(line)
    sheet.rows.append([])
    sheet.rows.append([render("export.legend")])
    return sheet


def leave_sheet(members, found, rows) -> Sheet:
    """请假明细: every leave asked for the month's meetings, with reason, decision, approver."""
    names = {m.id: m.name for m in members}
    w = words("leave")
    sheet = Sheet(w["sheet"], widths=[10, 22, 24, 8, 10, 18, 18], freeze="A2")
    sheet.rows.append(w["columns"])
    for meeting in found:
        for row in sorted(rows[meeting.id].values(), key=lambda r: r.id):
            if row.rsvp != "leave" or row.leave_status is None:
                continue
            sheet.rows.append([
                names.get(row.member_id, ""),
                f"{to_beijing(meeting.starts_at):%Y-%m-%d %H:%M} {MEETING_KINDS[meeting.kind]}",
                row.leave_reason or "", w["decisions"].get(row.leave_status, ""),
                names.get(row.leave_decided_by, "") if row.leave_decided_by else "",
                f"{to_beijing(row.leave_decided_at):%Y-%m-%d %H:%M}"
                if row.leave_decided_at else "",
                f"{to_beijing(row.leave_requested_at):%Y-%m-%d %H:%M}"
                if row.leave_requested_at else ""])
    return sheet


def study_sheet(members, start, end, found, rows) -> Sheet:
    """学习打卡: per member, check-ins, days and minutes this month, and collective study."""
    first, last = start.date(), end.date()
    totals = {member_id: (times, days, minutes) for member_id, times, days, minutes in
              db.session.execute(select(
                  StudyCheckin.member_id, func.count(StudyCheckin.id),
                  func.count(func.distinct(StudyCheckin.day)),
                  func.coalesce(func.sum(StudyCheckin.minutes), 0)).where(
                  StudyCheckin.member_id.in_([m.id for m in members]),
                  StudyCheckin.day >= first, StudyCheckin.day < last)
                  .group_by(StudyCheckin.member_id))}
    collective = defaultdict(int)
    for meeting in found:
        for member_id, row in rows[meeting.id].items():
            if row.attendance in ("present", "remote"):
                collective[member_id] += 1
    w = words("study")
    sheet = Sheet(w["sheet"], widths=[10, 12, 10, 10, 12, 14], freeze="A2")
    sheet.rows.append(w["columns"])
    for member in members:
        times, days, minutes = totals.get(member.id, (0, 0, 0))
        sheet.rows.append([member.name, member.group.name if member.group else "", times, days,
                           int(minutes), collective[member.id]])
    return sheet


def dues_sheet(branch, month: str) -> Sheet:
    """党费: per member, due, paid, when and how, months in arrears."""
    w = words("dues")
    sheet = Sheet(w["sheet"], widths=[10, 10, 10, 10, 12, 8, 10], freeze="A2")
    sheet.rows.append(w["columns"])
    for row in dues.ledger(branch.id, month):
        sheet.rows.append([row["name"], row["due"] or "", row["paid"] or "",
                           row["arrears_months"], row["paid_on"] or "",
                           METHOD_LABELS.get(row["method"], "") if row["method"] else "",
                           row["voluntary"] if row["voluntary"] != "0.00" else ""])
    return sheet


def floating_sheet(branch, members, start, end, month: str, phones: bool,
                   locations: bool) -> Sheet:
    """流动党员: where (city; coordinates only if asked), report received, last contact."""
    names = {m.id: m for m in members}
    periods = db.session.execute(select(FloatingPeriod).where(
        FloatingPeriod.member_id.in_(list(names)), FloatingPeriod.left_on < end.date(),
        (FloatingPeriod.returned_on.is_(None)) | (FloatingPeriod.returned_on >= start.date()))
        .order_by(FloatingPeriod.left_on)).scalars().all()
    reports = {r.member_id: r for r in db.session.execute(select(FloatingReport).where(
        FloatingReport.month == month, FloatingReport.member_id.in_(list(names)))).scalars()}
    contacts = dict(db.session.execute(select(
        FloatingContact.period_id, func.max(FloatingContact.contacted_on)).where(
        FloatingContact.period_id.in_([p.id for p in periods]))
        .group_by(FloatingContact.period_id)).all())
    w = words("floating")
    head = list(w["columns"]) + (list(w["location_columns"]) if locations else [])
    sheet = Sheet(w["sheet"], widths=[10, 14, 10, 14, 12, 12, 10, 12, 24, 12, 12], freeze="A2")
    sheet.rows.append(head)
    for period in periods:
        member, report = names[period.member_id], reports.get(period.member_id)
        phone = period.contact_phone or member.phone
        line = [member.name, phone if phones else mask_phone(phone), period.reason,
                period.destination, period.left_on.isoformat(),
                period.returned_on.isoformat() if period.returned_on else "",
                w["reported"] if report else w["not_reported"],
                contacts[period.id].isoformat() if period.id in contacts else ""]
        if locations:
            line += [report.place if report else "",
                     str(report.latitude) if report and report.latitude is not None else "",
                     str(report.longitude) if report and report.longitude is not None else ""]
        sheet.rows.append(line)
    return sheet


def save(branch: Branch, year: int, month: int, now: datetime, exported_by: str, via: str,
         path: Path | None = None, fmt: str = "xlsx", with_dues: bool = True,
         phones: bool = False, locations: bool = False) -> ExportLog:
    """Build, write and log one branch's month (the caller commits). Without a path the file
    goes to the exports folder, for download links and the console."""
    period = f"{year:04d}-{month:02d}"
    log = ExportLog(kind="attendance", branch_id=branch.id, period=period, options={},
                    exported_by=exported_by, created_at=now)
    db.session.add(log)
    db.session.flush()
    if path is None:
        path = folder() / (file_name(log.id, branch.name, period, words("attendance")["sheet"])
                           + ".xlsx")
    sheets = build(branch, year, month, now, with_dues, phones, locations)
    if fmt == "csv":
        write_csv(sheets, path)
    else:
        write_xlsx(sheets, path)
    log.path = str(path)
    log.options = {"format": fmt, "via": via, "phones": phones, "locations": locations,
                   "sheets": [sheet.name for sheet in sheets]}
    return log


def write_xlsx(sheets: list[Sheet], path: Path) -> None:
    """The workbook, streamed: frozen headers, widths, bold headers, A4 landscape."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    for sheet in sheets:
        ws = book.create_sheet(sheet.name)
        if sheet.freeze:
            ws.freeze_panes = sheet.freeze
        for index, width in enumerate(sheet.widths, start=1):
            ws.column_dimensions[get_column_letter(index)].width = width
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = 9  # A4
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
        ws.print_title_rows = f"1:{sheet.header_rows}"
        title_font, bold = Font(bold=True, size=14), Font(bold=True)
        centre = Alignment(horizontal="center", vertical="center", wrap_text=True)
        for number, row in enumerate(sheet.rows, start=1):
            if number == 1 and sheet.titled:
                ws.row_dimensions[number].height = 24
                ws.append([xlsx_value(ws, row[0] if row else None, font=title_font)])
            elif number <= sheet.header_rows:
                ws.row_dimensions[number].height = 36
                ws.append([xlsx_value(ws, value, bold, centre) for value in row])
            elif sheet.centred_from and number >= sheet.centred_from and row and \
                    row[0] != "" and len(row) > 1:
                ws.append([xlsx_value(ws, value, bold if i == 0 else None, centre)
                           for i, value in enumerate(row)])
            else:
                ws.append(xlsx_row(ws, row))
    book.save(path)


def write_csv(sheets: list[Sheet], folder: Path) -> list[Path]:
    """One CSV per sheet in folder, UTF-8 with BOM."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for sheet in sheets:
        path = folder / f"{sheet.name}.csv"
        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            csv.writer(fh).writerows([csv_value(v) for v in row] for row in sheet.rows)
        written.append(path)
    return written
