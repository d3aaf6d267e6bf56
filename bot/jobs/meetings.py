"""Jobs of the meetings topic: keeping the calendar planned ahead."""
from __future__ import annotations

import logging

from sqlalchemy import select

from bot import clock
from bot.jobs import with_app

log = logging.getLogger(__name__)


@with_app
def plan_upcoming(months: int = 2) -> str:
    """Materialise this month's and next month's meetings for every branch (idempotent)."""
    from bot.meetings import planning as meetings
    from bot.meetings.calendar import RuleError
    from bot.storage.engine import db
    from bot.storage.models import Branch

    now, created = clock.now(), 0
    for branch in db.session.execute(select(Branch).order_by(Branch.id)).scalars():
        for year, month in clock.next_months(now, months):
            try:
                created += meetings.plan_month(branch, year, month, now)[0]
            except RuleError as exc:  # a branch's own rule is wrong: the others still plan
                log.warning("branch %s: calendar rule not understood: %s", branch.name, exc)
    return f"planned {created}"


@with_app
def close_finished_meetings() -> str:
    """Give every member of each finished meeting exactly one status (出席/远程/请假/缺席)."""
    from bot.meetings import attendance

    return f"closed {attendance.close_finished(clock.now())}"


@with_app
def plan_reminders() -> str:
    """The reminder planner: claim what is due and enqueue the send jobs."""
    from bot.meetings import reminders

    return f"planned {len(reminders.run(clock.now()))}"


@with_app
def send_reminder_batch(member_ids: list[int], claim: str) -> str:
    """Send the claimed reminders of these members (one digest each)."""
    from bot.meetings import reminders

    results = reminders.send_batch(member_ids, claim, clock.now())
    return f"{sum(1 for r in results.values() if r.startswith('sent'))} sent of {len(results)}"
