"""The floating-members topic's lines. In a member's reminder digest: the monthly report, a
few days before the month ends and once after it. In the secretary's digest: no report and no
contact for 2 months (the contact person sees it too), 6 months without any contact (the
lost-contact warning), and 6 months away (suggest transferring the 组织关系). The bot decides
nothing."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from bot import clock
from bot.floating import reports as floating
from bot.clock import to_beijing
from bot.digest.core import Item, adds_to_member_digest, contributes, once_a_month
from bot.replies import render
from bot.floating import rules
from bot.members.store import on_roll
from bot.storage.engine import db
from bot.storage.models import Branch, FloatingPeriod, Member


@contributes(60)
def floating_members(branch: Branch, now: datetime) -> list[Item]:
    """Overdue, lost-contact and transfer lines for the branch's floating members."""
    today = to_beijing(now).date()
    items = []
    rows = db.session.execute(select(FloatingPeriod, Member).join(
        Member, FloatingPeriod.member_id == Member.id).where(
        Member.branch_id == branch.id, FloatingPeriod.returned_on.is_(None), on_roll(today))
        .order_by(FloatingPeriod.id)).all()
    for period, member in rows:
        seen = [d for d in (floating.last_report(period), floating.last_contact(period)) if d]
        silent = clock.months_since(max(seen, default=period.left_on), today)
        contact = db.session.get(Member, period.contact_person_id) \
            if period.contact_person_id else None
        values = {"name": member.name, "where": floating.where(period), "months": silent,
                  "contact": contact.name if contact else render("floating.no_contact_person"),
                  "since": render("floating.day", year=period.left_on.year,
                                  month=period.left_on.month, day=period.left_on.day)}
        if silent >= rules.setting(branch, "lost_months"):
            items.append(Item("floating_lost", f"floating-lost:{period.id}:{silent}",
                              render("floating.digest_lost", **values)))
        elif silent >= rules.setting(branch, "overdue_months"):
            items.append(Item("floating_overdue", f"floating-overdue:{period.id}:{silent}",
                              render("floating.digest_overdue", **values),
                              also_to=(contact.id,) if contact else ()))
        away = clock.months_since(period.left_on, today)
        if away >= rules.setting(branch, "transfer_months") and period.destination:
            items.append(Item("floating_transfer", f"floating-transfer:{period.id}",
                              render("floating.digest_transfer", **{**values, "months": away})))
    return items


@adds_to_member_digest(30)
def floating_reports(members: list, now: datetime) -> dict[int, list[str]]:
    """流动党员: the monthly report, a few days before the month ends and once after it (the
    few floating members among those reminded, one by one)."""
    return {m.id: lines for m in members if m.is_floating
            for lines in [floating_report(m, now)] if lines}


def floating_report(member, now: datetime) -> list[str]:
    """One floating member's reminder line, if one is due."""
    period = floating.open_period(member)
    if period is None:
        return []
    today = to_beijing(now).date()
    month = clock.month_of(today)
    last_month = today.replace(day=1) - timedelta(days=1)
    every = rules.setting(member.branch, "report_months")  # a report per this many months
    if rules.month_end_near(today, member.branch) and \
            not floating.reported(member, month, every) and \
            once_a_month("floating-before", member, now):
        return [render("floating.member_remind")]
    if last_month >= period.left_on and today.day <= 10 and \
            not floating.reported(member, clock.month_of(last_month), every) and \
            once_a_month("floating-after", member, now):
        return [render("floating.member_remind_after")]
    return []
