"""Study rules (domain.md, Study): check-ins are voluntary records, never a ranking by default.

Per branch, in Branch.settings["study"] (defaults below):
    per_day           check-ins counted per member per day; more the same day add to the last (1)
    grace_days        a missed day may be checked in (补卡) this many days later (1)
    collective_kinds  meetings whose attendance counts as collective study (集中学习)
    nudge             a line in the member's reminder digest when the month has no study (false)
    points            off (null); or {"checkin": 1, "per_30_minutes": 1, "reflection": 1}
    ranking           false; true lets members see the branch's ranking (only with points)
"""
from __future__ import annotations

from datetime import date, timedelta

DEFAULTS = {"per_day": 1, "grace_days": 1, "collective_kinds": ["theme_day", "party_lecture",
            "group"], "nudge": False, "points": None, "ranking": False}
MAX_MINUTES = 24 * 60  # more than a day of study in one check-in is a typo


def setting(branch, key: str):
    """The branch's value for key, or the default."""
    return branch.setting("study", DEFAULTS)[key]


def date_problem(day: date, today: date, branch) -> str | None:
    """Why a check-in cannot be for `day` (future, or older than the grace period), or None."""
    if day > today:
        return "future"
    if (today - day).days > int(setting(branch, "grace_days")):
        return "too_old"
    return None


def streak(days: set[date], today: date) -> int:
    """Consecutive days with study ending today (or yesterday, if today has none yet)."""
    day = today if today in days else today - timedelta(days=1)
    count = 0
    while day in days:
        count += 1
        day -= timedelta(days=1)
    return count


def points(branch, minutes: int | None, has_reflection: bool) -> int | None:
    """The points of one day's record under the branch's own rules; None when points are off."""
    table = setting(branch, "points")
    if not table:
        return None
    total = int(table.get("checkin", 0))
    total += int(table.get("per_30_minutes", 0)) * ((minutes or 0) // 30)
    total += int(table.get("reflection", 0)) if has_reflection else 0
    return total


def ranking_visible(branch) -> bool:
    """Members see a ranking only when the branch turned on both points and the ranking."""
    return bool(setting(branch, "points")) and bool(setting(branch, "ranking"))
