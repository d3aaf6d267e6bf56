"""Meetings: planning a month from the branch's rules, adding one, moving and cancelling."""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import date, datetime, time

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.meetings.attendance import details, label
from bot.meetings.rules import AUDIENCE, MEETING_KINDS, attendance_of
from bot.chat import outbox
from bot.clock import BEIJING, to_beijing
from bot.chat import slots
from bot.replies import Outcome, render, when
from bot.meetings import calendar
from bot.meetings import store
from bot.members import store as member_store
from bot.storage.engine import db
from bot.storage.models import Branch, Meeting, MeetingAttendance, Reminder




def _code() -> str:
    return f"{secrets.randbelow(9000) + 1000}"


def _new(branch: Branch, kind: str, starts_at: datetime, now: datetime, group=None,
         period=None, moved_from=None, place=None, topic=None) -> Meeting:
    return Meeting(branch=branch, group=group, group_key=group.id if group else 0, kind=kind,
                   audience=AUDIENCE[kind], starts_at=starts_at, place=place,
                   topic=topic, checkin_code=_code(), status="scheduled", period=period,
                   moved_from=moved_from, created_at=now, updated_at=now)


def plan_month(branch: Branch, year: int, month: int, now: datetime) -> tuple[int, int]:
    """Materialise the month's meetings from the branch's rules; (created, already there).
    The caller commits.

    Idempotent: a meeting planned for a rule's period is never planned twice, even if the
    secretary has since moved or cancelled it.
    """
    created = existing = 0
    groups = member_store.party_groups(branch.id)
    for occ in calendar.occurrences(branch, year, month):
        if branch.started_on and to_beijing(occ.starts_at).date() < branch.started_on:
            continue  # before the branch started here: not planned, never counted
        for group in (groups if occ.kind == "group" else [None]):
            taken = db.session.execute(select(Meeting.id).where(
                Meeting.branch_id == branch.id, Meeting.kind == occ.kind,
                Meeting.group_key == (group.id if group else 0),
                Meeting.period == occ.period)).first()
            if taken:
                existing += 1
                continue
            try:
                with db.session.begin_nested():  # a savepoint: only this meeting is undone
                    db.session.add(_new(branch, occ.kind, occ.starts_at, now, group=group,
                                        period=occ.period, moved_from=occ.moved_from))
                created += 1
            except IntegrityError:  # planned by another process meanwhile
                existing += 1
    return created, existing


def add(branch: Branch, kind: str, starts_at: datetime, now: datetime, group=None,
        place=None, topic=None, held: bool = False) -> Meeting:
    """Add one meeting by hand (a secretary's extra or rescheduled meeting); `held`: one
    already held, entered afterwards (补录) — closed at once, its attendance what the
    secretary then marks (meetings mark), the rest 未记录, never 缺席."""
    meeting = _new(branch, kind, starts_at, now, group=group, place=place, topic=topic)
    if held:
        meeting.status, meeting.closed_at, meeting.backfilled = "closed", now, True
    db.session.add(meeting)
    db.session.flush()
    return meeting


def start_branch(branch: Branch, day: date) -> int:
    """The branch keeps its records here from `day`: meetings planned for before it that
    nobody has answered are removed (nothing before the start is planned, closed or
    counted); returns how many. The caller commits."""
    branch.started_on = day
    start = datetime.combine(day, time(0, 0), tzinfo=BEIJING)
    answered = select(MeetingAttendance.meeting_id)
    found = db.session.execute(select(Meeting).where(
        Meeting.branch_id == branch.id, Meeting.starts_at < start, Meeting.period.is_not(None),
        Meeting.status == "scheduled", Meeting.backfilled.is_(False),
        Meeting.id.not_in(answered))).scalars().all()
    for meeting in found:
        db.session.execute(Reminder.__table__.delete().where(
            Reminder.meeting_id == meeting.id))
        db.session.delete(meeting)
    db.session.flush()
    return len(found)


class ChangeRefused(ValueError):
    """A move or cancellation that cannot be made; args[0] is the prompts key, then values."""


class AddRefused(ValueError):
    """A meeting a person entered that cannot be added: args[0] is why (unknown_kind,
    group_needs_group, held_in_future, add_in_past), args[1] the values; each way in says it
    in its own words (calendar.* for the CLI, console.add_* on the page)."""


def add_entered(branch: Branch, kind: str, starts_at: datetime, now: datetime, group=None,
                place=None, topic=None, held: bool = False) -> Meeting:
    """add(), with what a person's entry must satisfy: a known kind, a 党小组会 with its group,
    a meeting still to come — or, held (补录), one already past."""
    at = to_beijing(starts_at).strftime("%Y-%m-%d %H:%M")
    if kind not in MEETING_KINDS:
        raise AddRefused("unknown_kind", {"kinds": ", ".join(MEETING_KINDS)})
    if kind == "group" and group is None:
        raise AddRefused("group_needs_group", {})
    if held and starts_at > now:
        raise AddRefused("held_in_future", {"at": at})
    if not held and starts_at <= now:
        raise AddRefused("add_in_past", {"at": at})
    return add(branch, kind, starts_at, now, group=group, place=place, topic=topic, held=held)


def _check_changeable(meeting: Meeting, now: datetime) -> None:
    if meeting.status != "scheduled":
        raise ChangeRefused("change.not_scheduled", {"meeting": label(meeting),
                            "status": render(f"change.status_{meeting.status}")})
    if meeting.starts_at <= now:
        raise ChangeRefused("change.started", {"meeting": label(meeting)})


def move(meeting: Meeting, now: datetime, starts_at: datetime | None = None,
         place: str | None = None, topic: str | None = None) -> int:
    """Move a meeting (time, place, topic); members already told are told of the change.

    Answers stay: members who said 参加 are asked to ask leave if the new time does not suit;
    members on leave may now say 参加. Reminders not yet sent follow the new time. Returns how
    many members are told.
    """
    _check_changeable(meeting, now)
    if starts_at is not None and starts_at <= now:
        raise ChangeRefused("change.in_past", {"at": when(starts_at)})
    before = label(meeting)
    if starts_at is not None and starts_at != meeting.starts_at:
        if meeting.moved_from is None:
            meeting.moved_from = meeting.starts_at
        meeting.starts_at = starts_at
    meeting.place = place if place is not None else meeting.place
    meeting.topic = topic if topic is not None else meeting.topic
    meeting.updated_at = now
    told = store.told(meeting)
    for member, row in told:
        answer = row.rsvp if row is not None and row.rsvp else "none"
        outbox.notify(member.id, "change.moved", _change_key(meeting, member),
                      before=before, ask=render(f"change.ask_{answer}"), **details(meeting))
    db.session.flush()
    return len(told)


def cancel(meeting: Meeting, now: datetime, reason: str | None = None) -> int:
    """Cancel a meeting; members already told are told. Returns how many."""
    _check_changeable(meeting, now)
    meeting.status, meeting.updated_at = "cancelled", now
    told = store.told(meeting)
    for member, _ in told:
        outbox.notify(member.id, "change.cancelled", _change_key(meeting, member),
                      meeting=label(meeting),
                      reason=render("change.reason", reason=reason) if reason else "")
    db.session.flush()
    return len(told)


PLACE = re.compile(r"(?:地点|地址|会场|(?<![现正实存所])在)\s*[:：为是改到]*\s*([^，,。；;\s]+)")


def change_by_chat(leader, number: int, cancelling: bool, rest: str, now: datetime) -> Outcome:
    """A leader's 改期 12 12月6日下午3点，地点五楼 / 取消 12 原因: parse, change, say what happened."""
    meeting = db.session.get(Meeting, number)
    if meeting is None or meeting.branch_id != leader.branch_id:
        return Outcome("calendar.no_meeting", {"id": number})
    try:
        if cancelling:
            told = cancel(meeting, now, reason=rest.strip(" ，,。") or None)
            return Outcome("change.cancelled_cli", {"meeting": label(meeting), "id": meeting.id,
                                                    "told": told})
        starts_at, place = _parse_change(meeting, rest, now)
        if starts_at is None and place is None:
            return Outcome("change.how")
        told = move(meeting, now, starts_at=starts_at, place=place)
    except ChangeRefused as exc:
        return Outcome(exc.args[0], exc.args[1])
    return Outcome("change.moved_cli", {"meeting": label(meeting), "id": meeting.id,
                                        "told": told})


def _parse_change(meeting: Meeting, text: str, now: datetime):
    """(new start or None, new place or None) from 12月6日下午3点，地点五楼报告厅."""
    place_match = PLACE.search(text)
    place = place_match.group(1) if place_match else None
    when_text = PLACE.sub(" ", text)
    old = to_beijing(meeting.starts_at)
    day = slots.extract_date(when_text, to_beijing(now).date())
    hour_minute = slots.extract_time(when_text)
    if day is None and hour_minute is None:
        return None, place
    new_day = date.fromisoformat(day) if day else old.date()
    hour, minute = hour_minute or (old.hour, old.minute)
    return datetime.combine(new_day, time(hour, minute), tzinfo=BEIJING), place


def _change_key(meeting: Meeting, member) -> str:
    """One notice per member and state of the meeting (each move, the cancellation)."""
    state = f"{meeting.status}|{meeting.starts_at.isoformat()}|{meeting.place}|{meeting.topic}"
    digest = hashlib.sha1(state.encode("utf-8")).hexdigest()[:16]
    return f"meeting-change:{meeting.id}:{digest}:{member.id}"


def as_json(meeting: Meeting) -> dict:
    """The meeting as `meetings list --json` prints it."""
    return {"id": meeting.id, "kind": meeting.kind, "branch": meeting.branch.name,
            "group": meeting.group.name if meeting.group else None,
            "starts_at": to_beijing(meeting.starts_at).isoformat(), "place": meeting.place,
            "topic": meeting.topic, "checkin_code": meeting.checkin_code,
            "status": meeting.status if store.counted(meeting) else "unrecorded",
            "backfilled": bool(meeting.backfilled)}


def show_json(meeting: Meeting) -> dict:
    """The meeting with every member due: rsvp, attendance and leave reason."""
    rows = store.attendance_rows(meeting)
    members = []
    for member in store.due_members(meeting):
        row = rows.get(member.id)
        members.append({"id": member.id, "name": member.name,
                        "group": member.group.name if member.group else None,
                        "rsvp": row.rsvp if row else None,
                        "attendance": attendance_of(meeting, row.attendance if row else None),
                        "leave_reason": row.leave_reason if row else None})
    return {**as_json(meeting), "members": members}


