"""Queries about meetings: the one place that decides who is due and what is coming up."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from bot.clock import to_beijing
from bot.members import store as member_store
from bot.members.rules import COMMITTEE_ROLES, on_roll
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


def counted(meeting: Meeting) -> bool:
    """Does the meeting count in the branch's records? Not when it falls before the day the
    branch started here (planned by mistake before there was a start date), unless the
    secretary entered it afterwards as held (补录)."""
    start = meeting.branch.started_on
    return bool(meeting.backfilled) or start is None or \
        to_beijing(meeting.starts_at).date() >= start


def due_members(meeting: Meeting) -> list[Member]:
    """The members due at a meeting (应到): the branch, its committee, or one group — those
    who were members on the day (joined, not yet transferred out: on_roll); nobody at a
    meeting that does not count (counted)."""
    if not counted(meeting):
        return []
    day = to_beijing(meeting.starts_at).date()
    query = select(Member).where(Member.branch_id == meeting.branch_id,
                                 member_store.on_roll(day)).order_by(Member.id)
    if meeting.audience == "group":
        query = query.where(Member.group_id == meeting.group_id)
    elif meeting.audience == "committee":
        query = query.where(Member.id.in_(select(MemberRole.member_id).where(
            MemberRole.role.in_(COMMITTEE_ROLES))))
    return list(db.session.execute(query.options(joinedload(Member.group))).scalars())


def is_due(meeting: Meeting, member: Member, roles: set[str] | None = None) -> bool:
    """Is member due at meeting? (`roles`: the member's, when worked out once for many.)"""
    if member.branch_id != meeting.branch_id or not counted(meeting):
        return False
    return audience_includes(meeting, member, member.roles if roles is None else roles)


def audience_includes(meeting: Meeting, member: Member, roles: set[str]) -> bool:
    """Was the member of the meeting's audience on its day (whether or not it counts)?"""
    if not on_roll(member, to_beijing(meeting.starts_at).date()):
        return False
    if meeting.audience == "group":
        return member.group_id == meeting.group_id
    if meeting.audience == "committee":
        return bool(roles & COMMITTEE_ROLES)
    return True


def month_statuses(meeting_ids: list[int]) -> dict[tuple[int, int], str | None]:
    """(meeting id, member id) -> the status, and nothing else (the console's matrix)."""
    return {(meeting_id, member_id): status for meeting_id, member_id, status in
            db.session.execute(select(MeetingAttendance.meeting_id, MeetingAttendance.member_id,
                                      MeetingAttendance.attendance)
                               .where(MeetingAttendance.meeting_id.in_(meeting_ids)))}


def month_rows(meeting_ids: list[int]) -> dict[int, dict[int, object]]:
    """meeting id -> member id -> the member's answer and status, as plain rows (not ORM
    objects: a branch's month can hold 100,000) — for the workbook and the console's matrix."""
    rows: dict[int, dict[int, object]] = {mid: {} for mid in meeting_ids}
    for row in db.session.execute(select(
            MeetingAttendance.id, MeetingAttendance.meeting_id, MeetingAttendance.member_id,
            MeetingAttendance.attendance, MeetingAttendance.rsvp, MeetingAttendance.leave_status,
            MeetingAttendance.leave_reason, MeetingAttendance.leave_decided_by,
            MeetingAttendance.leave_decided_at, MeetingAttendance.leave_requested_at,
            MeetingAttendance.entered_by).where(
            MeetingAttendance.meeting_id.in_(meeting_ids))):
        rows[row.meeting_id][row.member_id] = row
    return rows


def upcoming_for(member: Member, now: datetime, limit: int = 5,
                 kind: str | None = None, before: datetime | None = None) -> list[Meeting]:
    """The next scheduled meetings this member is due at (starting before `before`, if given)."""
    query = (select(Meeting).where(Meeting.branch_id == member.branch_id,
                                   Meeting.status == "scheduled", Meeting.starts_at >= now)
             .order_by(Meeting.starts_at))
    if kind:
        query = query.where(Meeting.kind == kind)
    if before is not None:
        query = query.where(Meeting.starts_at < before)
    found = [m for m in db.session.execute(query.limit(50)).scalars() if is_due(m, member)]
    return found[:limit]


def attendance_rows(meeting: Meeting) -> dict[int, MeetingAttendance]:
    """member_id -> the member's row for this meeting (only members with an answer or status)."""
    rows = db.session.execute(select(MeetingAttendance).where(
        MeetingAttendance.meeting_id == meeting.id)).scalars()
    return {row.member_id: row for row in rows}


def answer_counts(meeting_ids: list[int]) -> dict[int, dict[str, int]]:
    """meeting id -> how many said 参加 (yes), asked leave (leave), of which still undecided
    (pending): one query for a month of meetings."""
    from sqlalchemy import func

    out = {mid: {"yes": 0, "leave": 0, "pending": 0} for mid in meeting_ids}
    for mid, rsvp, status, count in db.session.execute(
            select(MeetingAttendance.meeting_id, MeetingAttendance.rsvp,
                   MeetingAttendance.leave_status, func.count())
            .where(MeetingAttendance.meeting_id.in_(meeting_ids),
                   MeetingAttendance.rsvp.is_not(None))
            .group_by(MeetingAttendance.meeting_id, MeetingAttendance.rsvp,
                      MeetingAttendance.leave_status)):
        out[mid][rsvp] += count
        if rsvp == "leave" and status == "pending":
            out[mid]["pending"] += count
    return out


def pending_leave(branch_id: int) -> list[tuple[MeetingAttendance, Meeting, Member]]:
    """Leave requests waiting for a decision, for meetings still to come, oldest first (not
    those of a member who will have left by the meeting: it is no longer theirs)."""
    return [tuple(r) for r in db.session.execute(
        select(MeetingAttendance, Meeting, Member)
        .join(Meeting, MeetingAttendance.meeting_id == Meeting.id)
        .join(Member, MeetingAttendance.member_id == Member.id)
        .where(Meeting.branch_id == branch_id, Meeting.status == "scheduled",
               MeetingAttendance.rsvp == "leave", MeetingAttendance.leave_status == "pending")
        .order_by(MeetingAttendance.leave_requested_at, MeetingAttendance.id))
        if on_roll(r[2], to_beijing(r[1].starts_at).date())]


def final_statuses(branch_id: int, since: datetime) -> list[tuple[Member, datetime, str]]:
    """(member, meeting start, final status) at the branch's closed meetings since `since`
    that count (counted) and were the member's (on_roll)."""
    found = db.session.execute(
        select(Member, Meeting, MeetingAttendance.attendance)
        .join(Meeting, MeetingAttendance.meeting_id == Meeting.id)
        .join(Member, MeetingAttendance.member_id == Member.id)
        .where(Meeting.branch_id == branch_id, Meeting.status == "closed",
               Meeting.starts_at >= since, MeetingAttendance.attendance.is_not(None))
        .order_by(Member.id, Meeting.starts_at))
    return [(member, meeting.starts_at, status) for member, meeting, status in found
            if counted(meeting) and on_roll(member, to_beijing(meeting.starts_at).date())]


def told(meeting: Meeting) -> list[tuple[Member, MeetingAttendance | None]]:
    """Members who know of the meeting: reminded of it, or who answered (参加 / 请假) — and
    are still in the branch on its day (on_roll)."""
    from bot.storage.models import Reminder

    reminded = select(Reminder.member_id).where(Reminder.meeting_id == meeting.id,
                                                Reminder.status == "sent")
    answered = select(MeetingAttendance.member_id).where(
        MeetingAttendance.meeting_id == meeting.id, MeetingAttendance.rsvp.is_not(None))
    rows = attendance_rows(meeting)
    members = db.session.execute(select(Member).where(
        Member.id.in_(reminded.union(answered)),
        member_store.on_roll(to_beijing(meeting.starts_at).date())).order_by(Member.id)).scalars()
    return [(member, rows.get(member.id)) for member in members]
