"""Queries about meetings: the one place that decides who is due and what is coming up."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from bot.members.rules import COMMITTEE_ROLES
from bot.storage.engine import db
from bot.storage.models import Meeting, MeetingAttendance, Member, MemberRole


def in_range(start: datetime, end: datetime, branch_id: int | None = None,
             include_cancelled: bool = False) -> list[Meeting]:
    """Meetings starting in [start, end), by time."""
    query = (select(Meeting).options(joinedload(Meeting.branch), joinedload(Meeting.group))
             .where(Meeting.starts_at >= start, Meeting.starts_at < end)
             .order_by(Meeting.starts_at, Meeting.id))
    if branch_id is not None:
        query = query.where(Meeting.branch_id == branch_id)
    if not include_cancelled:
        query = query.where(Meeting.status != "cancelled")
    return list(db.session.execute(query).scalars())


def due_members(meeting: Meeting) -> list[Member]:
    """The members due at a meeting (应到): the branch, its committee, or one group."""
    query = select(Member).where(Member.branch_id == meeting.branch_id).order_by(Member.id)
    if meeting.audience == "group":
        query = query.where(Member.group_id == meeting.group_id)
    elif meeting.audience == "committee":
        query = query.where(Member.id.in_(select(MemberRole.member_id).where(
            MemberRole.role.in_(COMMITTEE_ROLES))))
    return list(db.session.execute(query.options(joinedload(Member.group))).scalars())


def is_due(meeting: Meeting, member: Member) -> bool:
    """Is member due at meeting?"""
    if member.branch_id != meeting.branch_id:
        return False
    if meeting.audience == "group":
        return member.group_id == meeting.group_id
    if meeting.audience == "committee":
        return bool(member.roles & COMMITTEE_ROLES)
    return True


def upcoming_for(member: Member, now: datetime, limit: int = 5,
                 kind: str | None = None) -> list[Meeting]:
    """The next scheduled meetings this member is due at."""
    query = (select(Meeting).where(Meeting.branch_id == member.branch_id,
                                   Meeting.status == "scheduled", Meeting.starts_at >= now)
             .order_by(Meeting.starts_at))
    if kind:
        query = query.where(Meeting.kind == kind)
    found = [m for m in db.session.execute(query.limit(50)).scalars() if is_due(m, member)]
    return found[:limit]


def attendance_rows(meeting: Meeting) -> dict[int, MeetingAttendance]:
    """member_id -> the member's row for this meeting (only members with an answer or status)."""
    rows = db.session.execute(select(MeetingAttendance).where(
        MeetingAttendance.meeting_id == meeting.id)).scalars()
    return {row.member_id: row for row in rows}


def pending_leave(branch_id: int) -> list[tuple[MeetingAttendance, Meeting, Member]]:
    """Leave requests waiting for a decision, for meetings still to come, oldest first."""
    return [tuple(r) for r in db.session.execute(
        select(MeetingAttendance, Meeting, Member)
        .join(Meeting, MeetingAttendance.meeting_id == Meeting.id)
        .join(Member, MeetingAttendance.member_id == Member.id)
        .where(Meeting.branch_id == branch_id, Meeting.status == "scheduled",
               MeetingAttendance.rsvp == "leave", MeetingAttendance.leave_status == "pending")
        .order_by(MeetingAttendance.leave_requested_at, MeetingAttendance.id))]


def final_statuses(branch_id: int, since: datetime) -> list[tuple[Member, datetime, str]]:
    """(member, meeting start, final status) at the branch's closed meetings since `since`."""
    return [tuple(r) for r in db.session.execute(
        select(Member, Meeting.starts_at, MeetingAttendance.attendance)
        .join(Meeting, MeetingAttendance.meeting_id == Meeting.id)
        .join(Member, MeetingAttendance.member_id == Member.id)
        .where(Meeting.branch_id == branch_id, Meeting.status == "closed",
               Meeting.starts_at >= since, MeetingAttendance.attendance.is_not(None))
        .order_by(Member.id, Meeting.starts_at))]


def told(meeting: Meeting) -> list[tuple[Member, MeetingAttendance | None]]:
    """Members who know of the meeting: reminded of it, or who answered (参加 / 请假)."""
    from bot.storage.models import Reminder

    reminded = select(Reminder.member_id).where(Reminder.meeting_id == meeting.id,
                                                Reminder.status == "sent")
    answered = select(MeetingAttendance.member_id).where(
        MeetingAttendance.meeting_id == meeting.id, MeetingAttendance.rsvp.is_not(None))
    rows = attendance_rows(meeting)
    members = db.session.execute(select(Member).where(
        Member.id.in_(reminded.union(answered))).order_by(Member.id)).scalars()
    return [(member, rows.get(member.id)) for member in members]
