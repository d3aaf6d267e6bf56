"""Lines other topics add to a member's reminder digest (not a message of their own).

A function registered with @adds_to_member_digest(order) takes (member, now) and returns the
lines it has for this member now (a study nudge, this month's dues unpaid …). Each topic keeps
its own lines rare: the study nudge goes once a month at most.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from flask import current_app

from bot.clock import to_beijing
from bot.replies import render

_contributors: list[tuple[int, Callable]] = []


def adds_to_member_digest(order: int):
    """Register fn(member, now) -> [str] as a source of lines for members' reminder digests."""

    def register(fn):
        _contributors.append((order, fn))
        _contributors.sort(key=lambda pair: pair[0])
        return fn
    return register


def lines_for(member, now: datetime) -> list[str]:
    """Every registered topic's lines for this member, in order."""
    return [line for _, fn in _contributors for line in fn(member, now)]


def once_a_month(topic: str, member, now: datetime) -> bool:
    """True the first time in the (Beijing) month a topic asks for this member; then False."""
    month = to_beijing(now).strftime("%Y-%m")
    return bool(current_app.extensions["redis"].set(
        f"zhibu:member-digest:{topic}:{member.id}:{month}", "1", nx=True, ex=40 * 86400))


@adds_to_member_digest(10)
def study_nudge(member, now: datetime) -> list[str]:
    """学习: a gentle nudge when the month has no study at all, if the branch wants it."""
    from bot.study import checkins as study

    if study.nudge_due(member, now) and once_a_month("study", member, now):
        return [render("study.nudge")]
    return []


@adds_to_member_digest(20)
def dues_unpaid(member, now: datetime) -> list[str]:
    """党费: on the branch's reminder day (default the month's 主题党日), this month unpaid."""
    from bot.dues import ledger as dues

    line = dues.unpaid_reminder(member, now)
    if line and once_a_month("dues", member, now):
        return [line]
    return []


@adds_to_member_digest(30)
def floating_report(member, now: datetime) -> list[str]:
    """流动党员: the monthly report, a few days before the month ends and once after it."""
    from bot.floating import reports as floating
    from bot.floating import rules

    period = floating.open_period(member) if member.is_floating else None
    if period is None:
        return []
    today = to_beijing(now).date()
    month = today.strftime("%Y-%m")
    last_month = (today.replace(day=1) - timedelta(days=1))
    every = rules.setting(member.branch, "report_months")  # a report per this many months
    if rules.month_end_near(today, member.branch) and \
            not floating.reported(member, month, every) and \
            once_a_month("floating-before", member, now):
        return [render("floating.member_remind")]
    if last_month >= period.left_on and today.day <= 10 and \
            not floating.reported(member, last_month.strftime("%Y-%m"), every) and \
            once_a_month("floating-after", member, now):
        return [render("floating.member_remind_after")]
    return []
