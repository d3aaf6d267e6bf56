"""Queries about study check-ins: a member's days, a branch's month, collective study."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select

from bot.storage.engine import db
from bot.storage.models import Meeting, MeetingAttendance, Member, StudyCheckin


def records_of_day(member_id: int, day: date) -> list[StudyCheckin]:
    """The member's records of that day, by sequence."""
    return list(db.session.execute(select(StudyCheckin).where(
        StudyCheckin.member_id == member_id, StudyCheckin.day == day)
        .order_by(StudyCheckin.seq)).scalars())


def records_between(member_id: int, start: date, end: date) -> list[StudyCheckin]:
    """The member's records with start <= day < end, newest first."""
    return list(db.session.execute(select(StudyCheckin).where(
        StudyCheckin.member_id == member_id, StudyCheckin.day >= start, StudyCheckin.day < end)
        .order_by(StudyCheckin.day.desc(), StudyCheckin.seq.desc())).scalars())


def summary(member_id: int, start: date, end: date) -> tuple[int, int, int]:
    """(records, distinct days, minutes) of the member with start <= day < end, in SQL."""
    times, days, minutes = db.session.execute(select(
        func.count(StudyCheckin.id), func.count(func.distinct(StudyCheckin.day)),
        func.coalesce(func.sum(StudyCheckin.minutes), 0)).where(
        StudyCheckin.member_id == member_id, StudyCheckin.day >= start,
        StudyCheckin.day < end)).one()
    return int(times), int(days), int(minutes)


def days_between(member_id: int, start: date, end: date) -> set[date]:
    """The days with a record, start <= day < end (plain dates, no records loaded)."""
    return set(db.session.execute(select(StudyCheckin.day).where(
        StudyCheckin.member_id == member_id, StudyCheckin.day >= start,
        StudyCheckin.day < end).distinct()).scalars())


def latest(member_id: int, limit: int) -> list[StudyCheckin]:
    """The member's latest records, newest first."""
    return list(db.session.execute(select(StudyCheckin).where(
        StudyCheckin.member_id == member_id).order_by(
        StudyCheckin.day.desc(), StudyCheckin.seq.desc()).limit(limit)).scalars())


def studied(member_ids: list[int], start: date, end: date) -> set[int]:
    """Those of these members with a record with start <= day < end."""
    return set(db.session.execute(select(StudyCheckin.member_id).where(
        StudyCheckin.member_id.in_(member_ids), StudyCheckin.day >= start,
        StudyCheckin.day < end).distinct()).scalars())


def attended(member_ids: list[int], kinds: list[str], start: datetime, end: datetime) -> set[int]:
    """Those of these members present (or remote) at a meeting of these kinds in [start, end)."""
    return set(db.session.execute(select(MeetingAttendance.member_id).join(
        Meeting, MeetingAttendance.meeting_id == Meeting.id).where(
        MeetingAttendance.member_id.in_(member_ids), Meeting.kind.in_(kinds),
        Meeting.starts_at >= start, Meeting.starts_at < end,
        MeetingAttendance.attendance.in_(("present", "remote"))).distinct()).scalars())


def collective(member_id: int, kinds: list[str], start: datetime, end: datetime) -> int:
    """Meetings of these kinds in [start, end) the member attended (present or remote)."""
    return db.session.execute(select(func.count(MeetingAttendance.id)).join(
        Meeting, MeetingAttendance.meeting_id == Meeting.id).where(
        MeetingAttendance.member_id == member_id, Meeting.kind.in_(kinds),
        Meeting.starts_at >= start, Meeting.starts_at < end,
        MeetingAttendance.attendance.in_(("present", "remote")))).scalar_one()


def branch_month(branch_id: int, start: date, end: date) -> list[tuple[Member, StudyCheckin]]:
    """Every record of the branch's members with start <= day < end."""
    return [tuple(r) for r in db.session.execute(
        select(Member, StudyCheckin).join(StudyCheckin, StudyCheckin.member_id == Member.id)
        .where(Member.branch_id == branch_id, StudyCheckin.day >= start,
               StudyCheckin.day < end).order_by(Member.id, StudyCheckin.day))]
