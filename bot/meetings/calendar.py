"""The 三会一课 and 主题党日 calendar: recurring rules per branch and the holiday policy.

A rule is written the way a secretary says it, e.g. "每月第一个星期五 14:30", "每月15日 09:00",
"每月最后一个工作日 15:00", "每季度第三个月第二个星期五 14:30", "每年12月第三个星期五 14:30".
Defaults (domain.md) are below; a branch overrides any of them in Branch.settings:
    {"calendar": {"theme_day": "每月15日 14:30"}, "holiday_policy": "next_working_day"}
A date that is not a working day in China's official calendar (a statutory holiday, or a weekend
that is not a make-up working day) is moved by the policy: next_working_day (default),
previous_working_day, or keep. The calendar data comes from the `chinesecalendar` package and
changes every year: for a year it does not cover yet, only weekends are known (see `coverage`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import chinese_calendar

from bot.clock import BEIJING, last_day, quarter_of
from bot.chat.slots import to_number
from bot.replies import render

DEFAULT_RULES = {
    "theme_day": "每月第一个星期五 14:30",
    "committee": "每月第一个星期一 09:00",
    "group": "每月第二个星期三 15:00",
    "branch_assembly": "每季度第三个月第二个星期五 14:30",
    "party_lecture": "每季度第二个月第三个星期五 14:30",
    "org_life": "每年12月第三个星期五 14:30",
}
POLICIES = ("next_working_day", "previous_working_day", "keep")
WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_ORDINAL = r"([一二三四五1-5])"


class RuleError(ValueError):
    """A rule a secretary wrote that cannot be understood."""


@dataclass(frozen=True)
class Rule:
    """A parsed rule: which months, which day in the month, at what time."""

    text: str
    every: str  # month / quarter / year
    month: int  # month of the quarter (1-3) or of the year (1-12); 0 for every month
    day: tuple  # ("date", 15) / ("weekday", n, wd) / ("last_weekday", wd) / ("workday", ±1)
    at: time

    def applies_to(self, year: int, month: int) -> bool:
        if self.every == "month":
            return True
        if self.every == "quarter":
            return (month - 1) % 3 + 1 == self.month
        return month == self.month

    def period(self, year: int, month: int) -> str:
        """The key that makes planning idempotent: 2026-12, 2026-Q4 or 2026."""
        if self.every == "month":
            return f"{year}-{month:02d}"
        if self.every == "quarter":
            return f"{year}-Q{quarter_of(date(year, month, 1))[1]}"
        return str(year)

    def day_in(self, year: int, month: int) -> date | None:
        """The day this rule names in that month (before any holiday move)."""
        first = date(year, month, 1)
        last = last_day(first)
        kind = self.day[0]
        if kind == "date":
            return first.replace(day=min(self.day[1], last.day))
        if kind == "weekday":
            n, weekday = self.day[1], self.day[2]
            day = first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
            return day if day.month == month else None
        if kind == "last_weekday":
            return last - timedelta(days=(last.weekday() - self.day[1]) % 7)
        step = 1 if self.day[1] > 0 else -1
        day = first if step > 0 else last
        while not is_working_day(day):
            day += timedelta(days=step)
        return day


def parse_rule(text: str) -> Rule:
    """Understand a rule such as 每月第一个星期五 14:30; RuleError if it cannot be understood."""
    raw = text.strip()
    body = raw.replace(" ", "").replace("：", ":")
    at = time(9, 0)
    clock_match = re.search(r"(\d{1,2}):(\d{2})$", body)
    if clock_match:
        hour, minute = int(clock_match.group(1)), int(clock_match.group(2))
        if hour > 23 or minute > 59:
            raise RuleError(render("calendar.bad_time", rule=raw))
        at, body = time(hour, minute), body[:clock_match.start()]
    every, month = "month", 0
    if body.startswith("每月"):
        rest = body[2:]
    elif m := re.match(r"^每季度(第([一二三1-3])个月|首月|末月)?", body):
        every, rest = "quarter", body[m.end():]
        month = 1 if not m.group(1) or m.group(1) == "首月" else \
            3 if m.group(1) == "末月" else int(to_number(m.group(2)))
    elif m := re.match(r"^每年(\d{1,2}|[一二三四五六七八九十]+)月", body):
        every, month, rest = "year", int(to_number(m.group(1))), body[m.end():]
        if not 1 <= month <= 12:
            raise RuleError(render("calendar.bad_month", rule=raw))
    else:
        raise RuleError(render("calendar.bad_start", rule=raw))
    if m := re.fullmatch(r"(\d{1,2})[日号]", rest):
        day = ("date", int(m.group(1)))
        if not 1 <= day[1] <= 31:
            raise RuleError(render("calendar.bad_date", rule=raw))
    elif m := re.fullmatch(rf"第{_ORDINAL}个(?:星期|周|礼拜)([一二三四五六日天])", rest):
        day = ("weekday", int(to_number(m.group(1))), WEEKDAYS[m.group(2)])
    elif m := re.fullmatch(r"最后一个(?:星期|周|礼拜)([一二三四五六日天])", rest):
        day = ("last_weekday", WEEKDAYS[m.group(1)])
    elif rest == "第一个工作日":
        day = ("workday", 1)
    elif rest == "最后一个工作日":
        day = ("workday", -1)
    else:
        raise RuleError(render("calendar.bad_day", rule=raw))
    return Rule(raw, every, month, day, at)


def is_working_day(day: date) -> bool:
    """A working day in China's official calendar; for years it does not cover, Monday–Friday."""
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5


def coverage(year: int) -> bool:
    """Does the installed holiday calendar know this year's holidays and make-up days?"""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
        return True
    except NotImplementedError:
        return False


def apply_policy(day: date, policy: str) -> date:
    """The day a meeting is held: moved off non-working days as the branch's policy says."""
    if policy not in POLICIES:
        raise RuleError(render("calendar.bad_policy", policy=policy))
    if policy == "keep":
        return day
    step = 1 if policy == "next_working_day" else -1
    while not is_working_day(day):
        day += timedelta(days=step)
    return day


def rules_for(branch) -> dict[str, Rule]:
    """The branch's rules: defaults, overridden by settings["calendar"]; "" switches one off."""
    texts = branch.setting("calendar", DEFAULT_RULES)
    return {kind: parse_rule(text) for kind, text in texts.items() if text}


def policy_for(branch) -> str:
    return (branch.settings or {}).get("holiday_policy", "next_working_day")


@dataclass(frozen=True)
class Occurrence:
    kind: str
    period: str
    starts_at: datetime  # aware, Beijing time
    moved_from: datetime | None


def occurrences(branch, year: int, month: int) -> list[Occurrence]:
    """The meetings the branch's rules put in that month, holiday policy applied."""
    policy = policy_for(branch)
    found = []
    for kind, rule in rules_for(branch).items():
        if not rule.applies_to(year, month):
            continue
        day = rule.day_in(year, month)
        if day is None:
            continue
        held = apply_policy(day, policy)
        starts = datetime.combine(held, rule.at, tzinfo=BEIJING)
        moved = datetime.combine(day, rule.at, tzinfo=BEIJING) if held != day else None
        found.append(Occurrence(kind, rule.period(year, month), starts, moved))
    return found
