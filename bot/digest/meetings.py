"""The meetings topic's lines in the secretary's digest.

Leave requests waiting for approval (every day until decided), today's and tomorrow's meetings
with sign-in codes and RSVP counts, members the bot cannot reach, and members approaching the
6-month rule on organisation life (bot/members/rules.py).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from bot.meetings import attendance
from bot.clock import BEIJING, to_beijing
from bot.digest.core import Item, contributes
from bot.replies import render
from bot.members import rules as member_rules
from bot.meetings import store
from bot.members import store as member_store
from bot.storage.models import Branch

NAMES_SHOWN = 10  # names listed on the line of members not yet bound


@contributes(10)
def pending_leave(branch: Branch, now: datetime) -> list[Item]:
    """请假 waiting for a decision: every day until a leader decides."""
    return [Item("leave", f"leave:{row.id}", render(
        "digest.leave", number=row.id, name=member.name, meeting=attendance.label(meeting),
        reason=row.leave_reason), urgent=True)
        for row, meeting, member in store.pending_leave(branch.id)]


def _counts(meeting) -> dict:
    due = store.due_members(meeting)
    rows = store.attendance_rows(meeting)
    answers = [rows[m.id] for m in due if m.id in rows]
    yes = sum(1 for r in answers if r.rsvp == "yes")
    leave = sum(1 for r in answers if r.rsvp == "leave" and r.leave_status != "denied")
    pending = sum(1 for r in answers if r.rsvp == "leave" and r.leave_status == "pending")
    return {"due": len(due), "yes": yes, "leave": leave, "pending": pending,
            "silent": len(due) - yes - leave}


@contributes(20)
def coming_meetings(branch: Branch, now: datetime) -> list[Item]:
    """Today's meetings (with the sign-in code) and tomorrow's, with RSVP counts."""
    today = to_beijing(now).date()
    start = datetime.combine(today, datetime.min.time(), tzinfo=BEIJING)
    items = []
    for meeting in store.in_range(max(start, now), start + timedelta(days=2), branch.id):
        section = "today" if to_beijing(meeting.starts_at).date() == today else "tomorrow"
        items.append(Item(section, f"{section}:{meeting.id}:{meeting.starts_at.isoformat()}",
                          render(f"digest.{section}", meeting=attendance.label(meeting),
                                 code=meeting.checkin_code, **_counts(meeting))))
    return items


@contributes(30)
def unreachable(branch: Branch, now: datetime) -> list[Item]:
    """Members who unfollowed (or the platform answered 43004), and members never bound."""
    today = to_beijing(now).date()
    items = [Item("unreachable", f"unreachable:{m.id}", render(
        "digest.unreachable", name=m.name, phone=m.phone_masked))
        for m in member_store.unreachable_members(branch.id, today)]
    unbound = member_store.unbound_members(today, branch.name)
    if unbound:
        names = "、".join(m.name for m in unbound[:NAMES_SHOWN])
        if len(unbound) > NAMES_SHOWN:
            names += render("digest.and_more", count=len(unbound))
        items.append(Item("unreachable", "unbound", render(
            "digest.unbound", count=len(unbound), names=names)))
    return items


@contributes(40)
def absence(branch: Branch, now: datetime) -> list[Item]:
    """Members (still in the branch) missing organisation life without leave for `notice` /
    `warn` months in a row."""
    here = to_beijing(now)
    since = datetime(here.year - 1, here.month, 1, tzinfo=BEIJING)
    months: dict[int, dict[tuple[int, int], list[str]]] = {}
    names = {}
    for member, starts_at, status in store.final_statuses(branch.id, since):
        if not member_rules.on_roll(member, here.date()):
            continue  # transferred out (转出): no longer the branch's to talk to
        local = to_beijing(starts_at)
        months.setdefault(member.id, {}).setdefault((local.year, local.month), []).append(status)
        names[member.id] = member
    items = []
    for member_id, by_month in months.items():
        run, first = member_rules.consecutive({
            month: member_rules.missed_organisation_life(statuses)
            for month, statuses in by_month.items()})
        level = member_rules.level(branch, run)
        if level:
            items.append(Item(f"absence_{level}", f"absence:{member_id}:{run}", render(
                f"digest.absence_{level}", name=names[member_id].name, months=run,
                since=render("digest.month", year=first[0], month=first[1]),
                rule=member_rules.RULE_MONTHS)))
    return items
