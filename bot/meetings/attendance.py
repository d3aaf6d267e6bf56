"""Attendance: sign-in, closing a meeting into one status per member, and hand-marking (补登).

Every change of a member's status is written to the audit trail (AttendanceChange).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from bot.meetings.planning import label  # noqa: F401  (callers name meetings through here too)
from bot.replies import Outcome, when
from bot.meetings import rules
from bot.meetings import store
from bot.storage.engine import db
from bot.storage.models import AttendanceChange, Meeting, MeetingAttendance, Member

NEAR = timedelta(hours=6)  # how far from a meeting's start a sign-in code is looked for



def row_for(meeting: Meeting, member: Member, now: datetime) -> MeetingAttendance:
    """The member's row for meeting, created empty if there is none yet."""
    row = db.session.execute(select(MeetingAttendance).where(
        MeetingAttendance.meeting_id == meeting.id,
        MeetingAttendance.member_id == member.id)).scalar_one_or_none()
    if row is None:
        row = MeetingAttendance(meeting_id=meeting.id, member_id=member.id, updated_at=now)
        db.session.add(row)
    return row


def set_status(meeting: Meeting, member: Member, new: str, by: str, now: datetime,
               reason: str | None = None) -> tuple[str | None, MeetingAttendance]:
    """Change the member's attendance at meeting, audited; returns (old status, row)."""
    row = row_for(meeting, member, now)
    old = row.attendance
    if old != new:
        row.attendance, row.updated_at = new, now
        db.session.add(AttendanceChange(meeting_id=meeting.id, member_id=member.id, old=old,
                                        new=new, changed_by=by, reason=reason, changed_at=now))
    return old, row


def open_for(member: Member, now: datetime) -> list[Meeting]:
    """Meetings the member is due at whose sign-in window is open now."""
    nearby = store.in_range(now - NEAR, now + NEAR, member.branch_id)
    return [m for m in nearby if rules.checkin_open(m, now) and store.is_due(m, member)]


def sign_in(member: Member, code: str | None, now: datetime) -> Outcome:
    """签到 CODE (or a bare 签到 where the branch allows it)."""
    if code is None:
        meetings = open_for(member, now)
        if len(meetings) == 1 and rules.setting(member.branch, "bare_checkin"):
            return _sign_in(meetings[0], member, now)
        return Outcome("checkin.need_code")
    nearby = [m for m in store.in_range(now - NEAR, now + NEAR, member.branch_id,
                                        include_cancelled=False) if m.checkin_code == code]
    if not nearby:
        return Outcome("checkin.wrong_code")
    meeting = min(nearby, key=lambda m: abs(m.starts_at - now))
    if not store.is_due(meeting, member):
        return Outcome("checkin.not_due", {"meeting": label(meeting)})
    if meeting.status == "closed":
        return Outcome("checkin.closed", {"meeting": label(meeting)})
    opens, closes = rules.checkin_window(meeting)
    if now < opens:
        return Outcome("checkin.too_early", {"meeting": label(meeting), "opens": when(opens)})
    if now > closes:
        return Outcome("checkin.too_late", {"meeting": label(meeting), "closes": when(closes)})
    return _sign_in(meeting, member, now)


def _sign_in(meeting: Meeting, member: Member, now: datetime) -> Outcome:
    row = row_for(meeting, member, now)
    if row.attendance in ("present", "remote"):
        return Outcome("checkin.already", {"meeting": label(meeting)})
    status = "remote" if member.is_floating else "present"  # 流动党员: 远程参加
    _, row = set_status(meeting, member, status, f"member:{member.id}", now)
    row.signed_in_at = now
    return Outcome("checkin.ok_remote" if status == "remote" else "checkin.ok",
                   {"meeting": label(meeting)})


def close(meeting: Meeting, now: datetime, by: str = "system") -> dict[str, int]:
    """Give every due member exactly one status; the meeting is closed. Counts by status."""
    rows = store.attendance_rows(meeting)
    counts = {"due": 0, "present": 0, "remote": 0, "excused": 0, "absent": 0}
    for member in store.due_members(meeting):
        status = rules.status_at_close(rows.get(member.id))
        set_status(meeting, member, status, by, now)
        counts["due"] += 1
        counts[status] += 1
    meeting.status, meeting.closed_at, meeting.updated_at = "closed", now, now
    db.session.flush()
    return counts


def close_finished(now: datetime) -> int:
    """Close every scheduled meeting whose sign-in window has ended; how many were closed."""
    candidates = db.session.execute(select(Meeting).where(
        Meeting.status == "scheduled", Meeting.starts_at <= now)).scalars().all()
    done = 0
    for meeting in candidates:
        if rules.closes_at(meeting) <= now:
            close(meeting, now)
            done += 1
    return done


def mark(meeting: Meeting, member: Member, status: str, reason: str, by: str,
         now: datetime) -> str | None:
    """补登: a secretary sets a member's status by hand, with a reason; returns the old one."""
    old, _ = set_status(meeting, member, status, by, now, reason=reason)
    db.session.flush()
    return old
