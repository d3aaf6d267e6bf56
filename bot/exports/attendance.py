"""The monthly attendance export (月度考勤): one workbook a secretary hands to the Party
committee without editing — 考勤表, 请假明细, 学习打卡, 党费 (only for those who may see dues),
流动党员 — or one CSV per sheet (UTF-8 with BOM, so Excel reads the Chinese).

Every sheet is built as rows from a handful of bulk queries, and written row by row (openpyxl's
write-only mode), so a branch of 10,000 members never sits in memory as a workbook.
"""
from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from bot.dues import ledger as dues
from bot.clock import to_beijing
from bot.dues.payments import METHOD_LABELS
from bot.clock import last_day, month_bounds
from bot.members.store import on_roll
from bot.replies import load
from bot.meetings.rules import NOT_DUE, OPEN, SHOWN_LABELS, STATUS_LABELS, UNRECORDED, cell
from bot.meetings.rules import MEETING_KINDS
from bot.members.rules import mask_phone
from bot.members.rules import STATUS_LABELS as MEMBER_STATUS
from bot.floating import reports as floating
from bot.meetings import store as meeting_store
from bot.storage.engine import db
from bot.exports.links import file_name, free_path
from bot.exports.cells import csv_value
from bot.exports.paper import INTEGER, MONEY, PERCENT, Sheet, write_book
from bot.storage.models import (Branch, ExportLog, FloatingContact, FloatingPeriod, FloatingReport,
                                Meeting, Member, StudyCheckin)



def words(section: str) -> dict:
    """The words of one sheet, from prompts/exports.toml."""
    return load("exports")[section]


def _title(section: str, branch: Branch, year: int, month: int) -> str:
    return words(section)["title"].format(branch=branch.name, year=year, month=month)


def _members(branch: Branch, year: int, month: int) -> list[Member]:
    """The branch's members on any day of the month (those who left before it aside)."""
    first = date(year, month, 1)
    return list(db.session.execute(select(Member).where(Member.branch_id == branch.id,
                                                        on_roll(first, last_day(first)))
                                   .options(selectinload(Member.role_rows),
                                            selectinload(Member.group))
                                   .order_by(Member.group_id, Member.id)).scalars())


def build(branch: Branch, year: int, month: int, now: datetime, with_dues: bool,
          phones: bool = False, locations: bool = False) -> list[Sheet]:
    """The export's sheets for one branch and month."""
    start, end = month_bounds(year, month)
    members = _members(branch, year, month)
    found = meeting_store.in_range(start, end, branch.id)
    rows = meeting_store.month_rows([m.id for m in found])
    titles = {section: _title(section, branch, year, month)
              for section in ("attendance", "leave", "study", "dues", "floating")}
    sheets = [attendance_sheet(titles["attendance"], members, found, rows),
              leave_sheet(titles["leave"], members, found, rows),
              study_sheet(titles["study"], members, start, end, found, rows)]
    if with_dues:
        sheets.append(dues_sheet(titles["dues"], branch, f"{year:04d}-{month:02d}"))
    sheets.append(floating_sheet(titles["floating"], members, start, end,
                                 f"{year:04d}-{month:02d}", phones, locations))
    return sheets


def _status(meeting: Meeting, member: Member, rows, roles: set[str], w: dict,
            counted: bool) -> str:
    """The cell as printed: a status; — where not due (or not yet a member); 未记录 at a
    meeting from before the branch started here, or unmarked at one entered afterwards."""
    row = rows[meeting.id].get(member.id)
    code = cell(meeting, meeting_store.audience_includes(meeting, member, roles), counted,
                row.attendance if row is not None else None)
    return {NOT_DUE: w["not_due"], OPEN: w["open"]}.get(code) or SHOWN_LABELS[code]


def attendance_sheet(title, members, found, rows) -> Sheet:
    """考勤表: a member per row, a meeting per column, totals both ways, a legend."""
    w = words("attendance")
    heads = [f"{to_beijing(m.starts_at):%m-%d}\n{MEETING_KINDS[m.kind]}"  # date, kind: a line each
             + (w["group"].format(group=m.group.name) if m.group else "") for m in found]
    counts_at = 4 + len(found)  # the columns 应到, 实到, 请假, 缺席 of each member
    sheet = Sheet(w["sheet"], title, [*w["columns"], *heads, *w["totals"]],
                  widths=[9, 11, 9, 7, *[11] * len(found), 6, 6, 6, 6],
                  formats={i: INTEGER for i in range(counts_at, counts_at + 4)},
                  notes=[w["legend"]])
    not_due, unrecorded = w["not_due"], SHOWN_LABELS[UNRECORDED]  # neither is 应到
    counted = [meeting_store.counted(m) for m in found]
    per_meeting = [defaultdict(int) for _ in found]
    sums = [0, 0, 0, 0]
    for member in members:
        roles = member.roles
        statuses = [_status(m, member, rows, roles, w, c) for m, c in zip(found, counted)]
        for counts, status in zip(per_meeting, statuses):
            counts[status] += 1
        due = sum(1 for s in statuses if s not in (not_due, unrecorded))
        present = sum(1 for s in statuses if s in (STATUS_LABELS["present"],
                                                   STATUS_LABELS["remote"]))
        mine = [due, present, statuses.count(STATUS_LABELS["excused"]),
                statuses.count(STATUS_LABELS["absent"])]
        sums = [a + b for a, b in zip(sums, mine)]
        sheet.rows.append([member.name, member.group.name if member.group else "",
                           MEMBER_STATUS.get(member.status, ""),
                           w["floating"] if member.is_floating else "", *statuses, *mine])
    for index, label in enumerate(w["total_rows"]):  # 应到, 实到, 请假, 缺席, 出席率
        line = [label, "", "", ""]
        for meeting, counts in zip(found, per_meeting):
            due = sum(v for k, v in counts.items() if k not in (not_due, unrecorded))
            present = counts[STATUS_LABELS["present"]] + counts[STATUS_LABELS["remote"]]
            held = meeting.status == "closed"  # a meeting still to come has only 应到
            line.append([due, present if held else None,
                         counts[STATUS_LABELS["excused"]] if held else None,
                         counts[STATUS_LABELS["absent"]] if held else None,
                         present / due if due and held else None][index])
        # each count row also totals its own column of the members' counts (person-times)
        line += [sums[index] if column == index else None for column in range(4)]
        sheet.totals.append(line)
    sheet.total_formats = {len(w["total_rows"]) - 1: PERCENT}  # 出席率
    return sheet
def leave_sheet(title, members, found, rows) -> Sheet:
    """请假明细: every leave asked for the month's meetings, with reason, decision, approver."""
    names = {m.id: m.name for m in members}
    w = words("leave")
    sheet = Sheet(w["sheet"], title, w["columns"], widths=[9, 22, 26, 8, 9, 16, 16],
                  wrap=(1, 2), freeze="A3")
    for meeting in found:
        for row in sorted(rows[meeting.id].values(), key=lambda r: r.id):
            if row.rsvp != "leave" or row.leave_status is None:
                continue
            sheet.rows.append([
                names.get(row.member_id, ""),
                f"{to_beijing(meeting.starts_at):%Y-%m-%d %H:%M} {MEETING_KINDS[meeting.kind]}",
                (row.leave_reason or "") + (w["on_behalf"].format(
                    name=names.get(int(row.entered_by.split(":")[1]), ""))
                    if row.entered_by else ""),
                w["decisions"].get(row.leave_status, ""),
                names.get(row.leave_decided_by, "") if row.leave_decided_by else "",
                f"{to_beijing(row.leave_decided_at):%Y-%m-%d %H:%M}"
                if row.leave_decided_at else "",
                f"{to_beijing(row.leave_requested_at):%Y-%m-%d %H:%M}"
                if row.leave_requested_at else ""])
    return sheet


def _study_words(members, first, last) -> tuple[dict, dict]:
    """Per member: what was studied (each material once, in the order first studied) and the
    reflections (心得), each with its day."""
    ids = [m.id for m in members]
    materials = defaultdict(list)
    for member_id, material, _ in db.session.execute(select(
            StudyCheckin.member_id, StudyCheckin.material, func.min(StudyCheckin.day)).where(
            StudyCheckin.member_id.in_(ids), StudyCheckin.day >= first, StudyCheckin.day < last,
            StudyCheckin.material.is_not(None)).group_by(
            StudyCheckin.member_id, StudyCheckin.material).order_by(
            StudyCheckin.member_id, func.min(StudyCheckin.day))):
        materials[member_id].append(material)
    line = words("study")["reflection"]
    reflections = defaultdict(list)
    for member_id, day, reflection in db.session.execute(select(
            StudyCheckin.member_id, StudyCheckin.day, StudyCheckin.reflection).where(
            StudyCheckin.member_id.in_(ids), StudyCheckin.day >= first, StudyCheckin.day < last,
            StudyCheckin.reflection.is_not(None), StudyCheckin.reflection != "").order_by(
            StudyCheckin.member_id, StudyCheckin.day, StudyCheckin.seq)):
        reflections[member_id].append(line.format(month=day.month, day=day.day,
                                                  text=reflection))
    return materials, reflections


def study_sheet(title, members, start, end, found, rows) -> Sheet:
    """学习情况: per member, check-ins, days and minutes this month, what was studied, the
    reflections, and collective study (meetings attended); a total row."""
    first, last = start.date(), end.date()
    totals = {member_id: (times, days, minutes) for member_id, times, days, minutes in
              db.session.execute(select(
                  StudyCheckin.member_id, func.count(StudyCheckin.id),
                  func.count(func.distinct(StudyCheckin.day)),
                  func.coalesce(func.sum(StudyCheckin.minutes), 0)).where(
                  StudyCheckin.member_id.in_([m.id for m in members]),
                  StudyCheckin.day >= first, StudyCheckin.day < last)
                  .group_by(StudyCheckin.member_id))}
    materials, reflections = _study_words(members, first, last)
    collective = defaultdict(int)
    for meeting in found:
        for member_id, row in rows[meeting.id].items():
            if row.attendance in ("present", "remote"):
                collective[member_id] += 1
    w = words("study")
    sheet = Sheet(w["sheet"], title, w["columns"], widths=[9, 10, 7, 7, 8, 8, 28, 50],
                  formats={i: INTEGER for i in (2, 3, 4, 5)}, wrap=(6, 7))
    sums = [0, 0, 0, 0]
    for member in members:
        times, days, minutes = totals.get(member.id, (0, 0, 0))
        counts = [times, days, int(minutes), collective[member.id]]
        sums = [a + b for a, b in zip(sums, counts)]
        sheet.rows.append([member.name, member.group.name if member.group else "", *counts,
                           w["separator"].join(materials.get(member.id, ())),
                           "\n".join(reflections.get(member.id, ()))])
    sheet.totals.append([w["total"], "", *sums, "", ""])
    return sheet


def dues_sheet(title, branch, month: str) -> Sheet:
    """党费: per member, due, paid, when and how, months in arrears; amounts are numbers (0.00)
    and a total row sums them."""
    w = words("dues")
    sheet = Sheet(w["sheet"], title, w["columns"], widths=[10, 10, 10, 9, 12, 9, 10],
                  formats={1: MONEY, 2: MONEY, 3: INTEGER, 6: MONEY}, freeze="A3")
    due_sum = paid_sum = extra_sum = Decimal("0.00")
    for row in dues.ledger(branch.id, month):
        due = Decimal(row["due"]) if row["due"] else None
        paid = Decimal(row["paid"]) if row["paid"] else None
        extra = Decimal(row["voluntary"]) if row["voluntary"] not in (None, "", "0.00") else None
        due_sum += due or 0
        paid_sum += paid or 0
        extra_sum += extra or 0
        sheet.rows.append([row["name"], due, paid, row["arrears_months"], row["paid_on"] or "",
                           METHOD_LABELS.get(row["method"], "") if row["method"] else "",
                           extra])
    sheet.totals.append([w["total"], due_sum, paid_sum, None, "", "", extra_sum])
    return sheet


def floating_sheet(title, members, start, end, month: str, phones: bool,
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
    sheet = Sheet(w["sheet"], title, head,
                  widths=[9, 13, 12, 14, 11, 11, 9, 11, 24, 11, 11][:len(head)],
                  wrap=(2, 3, 8) if locations else (2, 3), freeze="A3")
    for period in periods:
        member, report = names[period.member_id], reports.get(period.member_id)
        phone = period.contact_phone or member.phone
        line = [member.name, phone if phones else mask_phone(phone), floating.reason_of(period),
                floating.where(period), period.left_on.isoformat(),
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
    if path is None:  # a free name: 第一党支部-2026-11-考勤表.xlsx, then …(2).xlsx
        path = free_path(file_name(branch.name, period, words("attendance")["sheet"]), ".xlsx")
    sheets = build(branch, year, month, now, with_dues, phones, locations)
    if fmt == "csv":
        write_csv(sheets, path)
    else:
        write_book(sheets, path)
    log.path = str(path)
    log.options = {"format": fmt, "via": via, "phones": phones, "locations": locations,
                   "sheets": [sheet.name for sheet in sheets]}
    return log


def write_csv(sheets: list[Sheet], folder: Path) -> list[Path]:
    """One CSV per sheet in folder, UTF-8 with BOM: the title, the header, the rows, the
    totals and the notes (no lines to sign: a CSV is not a paper)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for sheet in sheets:
        path = folder / f"{sheet.name}.csv"
        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            lines = [[sheet.title], sheet.header, *sheet.rows, *sheet.totals,
                     *([note] for note in sheet.notes)]
            csv.writer(fh).writerows([csv_value(v) for v in row] for row in lines)
        written.append(path)
    return written
