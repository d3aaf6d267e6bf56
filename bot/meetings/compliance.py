"""The quarterly check of 三会一课: for each requirement, the meetings held, and what is missing."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select

from bot import clock
from bot.clock import to_beijing
from bot.clock import month_bounds
from bot.replies import render
from bot.meetings import rules, store
from bot.meetings.rules import MEETING_KINDS, UNRECORDED
from bot.storage.engine import db
from bot.members import store as member_store
from bot.storage.models import Branch, Meeting, MeetingAttendance


@dataclass
class Requirement:
    """One thing the rules require in one period (a month or the quarter), and whether met."""

    kind: str
    period: str  # 2026-11 or 2026-Q4
    group: str | None = None
    held: list[str] = field(default_factory=list)  # ISO dates of the meetings held
    upcoming: list[str] = field(default_factory=list)  # scheduled, not held yet
    before_start: bool = False  # the period began before the branch started here

    @property
    def met(self) -> bool:
        return bool(self.held)

    @property
    def status(self) -> str:
        """held / upcoming / missing — or unrecorded: not held here, nothing planned, and the
        period began before the branch started here (it may have been held; 补录 enters it)."""
        if self.held:
            return "held"
        if self.upcoming:
            return "upcoming"
        return UNRECORDED if self.before_start else "missing"

    def label(self) -> str:
        name = MEETING_KINDS[self.kind] + (f"（{self.group}）" if self.group else "")
        if "Q" in self.period:
            return render("compliance.in_quarter", kind=name)
        return render("compliance.in_month", kind=name, month=int(self.period[5:]))


def check(branch: Branch, year: int, quarter: int) -> list[Requirement]:
    """Every requirement of the quarter for the branch, with the meetings that meet it."""
    months = clock.quarter_months(year, quarter)
    start, end = month_bounds(*months[0])[0], month_bounds(*months[-1])[1]
    meetings = db.session.execute(select(Meeting).where(
        Meeting.branch_id == branch.id, Meeting.starts_at >= start, Meeting.starts_at < end,
        Meeting.status != "cancelled").order_by(Meeting.starts_at)).scalars().all()
    attended = set(db.session.execute(select(MeetingAttendance.meeting_id).where(
        MeetingAttendance.meeting_id.in_([m.id for m in meetings]),
        MeetingAttendance.attendance.in_(("present", "remote")))).scalars())
    groups = member_store.party_groups(branch.id)
    out = []
    for kind, per in rules.REQUIRED:
        periods = [f"{year}-Q{quarter}"] if per == "quarter" else \
            [f"{y:04d}-{m:02d}" for y, m in months]
        for period in periods:
            first = clock.quarter_months(year, quarter)[0] if per == "quarter" else \
                (int(period[:4]), int(period[5:]))
            before_start = branch.started_on is not None and \
                date(first[0], first[1], 1) < branch.started_on
            for group in (groups if kind == "group" else [None]):
                req = Requirement(kind, period, group.name if group else None,
                                  before_start=before_start)
                for meeting in meetings:
                    local = to_beijing(meeting.starts_at)
                    in_period = per == "quarter" or local.strftime("%Y-%m") == period
                    if meeting.kind != kind or not in_period or \
                            (group and meeting.group_id != group.id) or \
                            not store.counted(meeting):
                        continue
                    if meeting.status == "closed" and meeting.id in attended:
                        req.held.append(local.date().isoformat())
                    elif meeting.status == "scheduled":
                        req.upcoming.append(local.date().isoformat())
                out.append(req)
    return out


def report_text(branch: Branch, year: int, quarter: int) -> str:
    """The check as the secretary reads it."""
    found = check(branch, year, quarter)
    lines = [render("compliance.title", branch=branch.name, year=year, quarter=quarter)]
    for req in found:
        dates = "、".join(_day(d) for d in req.held)
        if req.met:
            lines.append(render("compliance.ok", what=req.label(), dates=dates))
        elif req.status == UNRECORDED:
            lines.append(render("compliance.unrecorded", what=req.label(),
                                start=_day(branch.started_on.isoformat())))
        else:
            lines.append(render("compliance.missing", what=req.label(), upcoming=render(
                "compliance.upcoming", dates="、".join(_day(d) for d in req.upcoming))
                if req.upcoming else ""))
    missing = [r.label() for r in found if r.status in ("missing", "upcoming")]
    unrecorded = [r.label() for r in found if r.status == UNRECORDED]
    lines.append(render("compliance.summary_missing", items="；".join(missing)) if missing
                 else render("compliance.summary_ok_unrecorded") if unrecorded
                 else render("compliance.summary_ok"))
    return "\n".join(lines)


def _day(iso: str) -> str:
    return render("period.day", month=int(iso[5:7]), day=int(iso[8:10]))


def as_json(branch: Branch, year: int, quarter: int) -> dict:
    found = check(branch, year, quarter)
    return {"branch": branch.name, "quarter": f"{year}-Q{quarter}",
            "requirements": [{"kind": r.kind, "period": r.period, "group": r.group,
                              "held": r.held, "upcoming": r.upcoming, "met": r.met,
                              "status": r.status}
                             for r in found],
            "missing": [r.label() for r in found if r.status in ("missing", "upcoming")],
            "unrecorded": [r.label() for r in found if r.status == UNRECORDED],
            "started_on": branch.started_on.isoformat() if branch.started_on else None}


def by_quarter(branch: Branch, now: datetime, quarters: int = 4) -> list[tuple[str, int, int]]:
    """三会一课 of the last `quarters` quarters: (2026-Q4, requirements met, requirements that
    count — those of periods before the branch started here are left out)."""
    year, quarter = clock.quarter_of(to_beijing(now).date())
    out = []
    for _ in range(quarters):
        found = [r for r in check(branch, year, quarter) if r.status != UNRECORDED]
        out.append((f"{year}-Q{quarter}", sum(r.met for r in found), len(found)))
        year, quarter = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
    return out[::-1]


def not_yet_held(branch: Branch, now: datetime) -> list[Requirement]:
    """This quarter's requirements not met yet, counting only months that have begun."""
    today = to_beijing(now).date()
    year, quarter = clock.quarter_of(today)
    this_month = today.strftime("%Y-%m")
    return [r for r in check(branch, year, quarter) if r.status in ("missing", "upcoming")
            and ("Q" in r.period or r.period <= this_month)]
