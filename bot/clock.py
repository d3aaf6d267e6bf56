"""The one clock of the application: aware UTC datetimes, replaceable in tests."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

BEIJING = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    """Current time as an aware UTC datetime, from the app's CLOCK if one is configured.

    CLOCK_FILE (env ZHIBU_CLOCK_FILE) names a file holding an ISO 8601 time: every process of
    a demo or an end-to-end test (web, worker, CLI) then reads the same travelling clock.
    Production sets neither.
    """
    if has_app_context():
        clock = current_app.config.get("CLOCK")
        if clock is not None:
            return clock()
        path = current_app.config.get("CLOCK_FILE")
        if path:
            return _from_file(path)
    return datetime.now(timezone.utc)


_read: dict[str, tuple[int, datetime]] = {}  # path → (the file's mtime, its time)


def _from_file(path: str) -> datetime:
    """The file's time, read again when the file changes (a fan-out asks thousands of times a
    second). A file changed within the last second is always read: two writes inside one tick
    of the file system's coarse clock leave the same mtime."""
    import os
    import time

    stamp = os.stat(path).st_mtime_ns
    known = _read.get(path)
    if known is None or known[0] != stamp or time.time_ns() - stamp < 10**9:
        with open(path, encoding="utf-8") as fh:
            moment = datetime.fromisoformat(fh.read().strip())
        known = _read[path] = (stamp, moment if moment.tzinfo else moment.replace(tzinfo=BEIJING))
    return known[1]


def to_beijing(moment: datetime) -> datetime:
    """The same instant, in Beijing time, for anything a person sees."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(BEIJING)


def start_of_day(day: date) -> datetime:
    """Midnight in Beijing at the start of `day`."""
    return datetime.combine(day, datetime.min.time(), tzinfo=BEIJING)


def from_timestamp(seconds: int | float) -> datetime:
    """A platform CreateTime / timestamp as an aware UTC datetime."""
    return datetime.fromtimestamp(float(seconds), tz=timezone.utc)


# Months and quarters: the one place for month arithmetic. A month is a key "2026-11" or a
# (year, month) pair; quarters are numbered 1-4. Everything here is Beijing time.

def month_key(year: int, month: int) -> str:
    """(2026, 11) -> "2026-11"."""
    return f"{year:04d}-{month:02d}"


def parse_month(text: str) -> tuple[int, int]:
    """"2026-12" -> (2026, 12); ValueError for anything else."""
    parsed = datetime.strptime(text.strip(), "%Y-%m")
    return parsed.year, parsed.month


def parse_at(text: str) -> datetime:
    """"2026-12-05 14:30" (Beijing time) -> an aware datetime; ValueError for anything else."""
    return datetime.strptime(text.strip(), "%Y-%m-%d %H:%M").replace(tzinfo=BEIJING)


def add_months(key: str, count: int) -> str:
    """The month `count` months after (or before, if negative) the month `key`."""
    year, month = (int(part) for part in key.split("-"))
    index = year * 12 + month - 1 + count
    return month_key(index // 12, index % 12 + 1)


@lru_cache(maxsize=4096)
def months_between(first: str, last: str) -> tuple[str, ...]:
    """Every month key from first to last, inclusive (() if last is before first)."""
    out, key = [], first
    while key <= last:
        out.append(key)
        key = add_months(key, 1)
    return tuple(out)


def month_of(moment: datetime | date) -> str:
    """The month key of an instant (in Beijing) or of a date."""
    day = to_beijing(moment) if isinstance(moment, datetime) else moment
    return month_key(day.year, day.month)


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """The first instant of the month and of the next, Beijing time."""
    following = add_months(month_key(year, month), 1)
    return (datetime(year, month, 1, tzinfo=BEIJING),
            datetime(int(following[:4]), int(following[5:]), 1, tzinfo=BEIJING))


def last_day(day: date) -> date:
    """The last day of day's month."""
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def next_months(now: datetime, count: int = 2) -> list[tuple[int, int]]:
    """This month and the following ones, Beijing time (what the scheduler keeps planned)."""
    first = month_of(now)
    return [(int(k[:4]), int(k[5:])) for k in (add_months(first, i) for i in range(count))]


def previous_month(year: int, month: int) -> tuple[int, int]:
    key = add_months(month_key(year, month), -1)
    return int(key[:4]), int(key[5:])


def months_since(earlier: date, today: date) -> int:
    """Whole months from earlier to today (5 Jan → 4 Mar is 1; → 5 Mar is 2)."""
    months = (today.year - earlier.year) * 12 + today.month - earlier.month
    return months - (today.day < earlier.day)


def quarter_of(day: date) -> tuple[int, int]:
    """(year, quarter) of a date."""
    return day.year, (day.month - 1) // 3 + 1


def quarter_months(year: int, quarter: int) -> list[tuple[int, int]]:
    first = 3 * (quarter - 1) + 1
    return [(year, first + i) for i in range(3)]


def quarter_end(year: int, quarter: int) -> date:
    """The last day of the quarter."""
    return last_day(date(year, 3 * quarter, 1))


def parse_quarter(text: str) -> tuple[int, int]:
    """"2026-Q4" -> (2026, 4); ValueError otherwise."""
    year, _, quarter = text.strip().upper().partition("-Q")
    if not (year.isdigit() and len(year) == 4 and quarter in ("1", "2", "3", "4")):
        raise ValueError(text)
    return int(year), int(quarter)
