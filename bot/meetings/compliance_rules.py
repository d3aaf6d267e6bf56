"""What 三会一课 requires of a branch (domain.md, Records the secretary needs).

Each quarter: a 支部党员大会 and a 党课; each month: a 主题党日, a 支委会 and a 党小组会 in every
group. A requirement is met by a meeting held (closed with someone present or attending
remotely) in its period. The secretary's digest warns `WARN_DAYS` before the quarter ends.
"""
from __future__ import annotations

from datetime import date, timedelta

REQUIRED = (("branch_assembly", "quarter"), ("party_lecture", "quarter"),
            ("theme_day", "month"), ("committee", "month"), ("group", "month"))
WARN_DAYS = 14


def quarter_months(year: int, quarter: int) -> list[tuple[int, int]]:
    first = 3 * (quarter - 1) + 1
    return [(year, first + i) for i in range(3)]


def quarter_of(day: date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def quarter_end(year: int, quarter: int) -> date:
    """The last day of the quarter."""
    last_month = 3 * quarter
    following = date(year + (last_month == 12), last_month % 12 + 1, 1)
    return following - timedelta(days=1)


def parse_quarter(text: str) -> tuple[int, int]:
    """'2026-Q4' -> (2026, 4); ValueError otherwise."""
    year, _, quarter = text.strip().upper().partition("-Q")
    if not (year.isdigit() and len(year) == 4 and quarter in ("1", "2", "3", "4")):
        raise ValueError(text)
    return int(year), int(quarter)
