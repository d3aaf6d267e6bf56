"""三会一课 in the secretary's digest: two weeks before the quarter ends, what is required and
not held yet."""
from __future__ import annotations

from datetime import datetime, timedelta

from bot import clock
from bot.meetings import compliance
from bot.clock import to_beijing
from bot.digest.core import Item, contributes
from bot.replies import render
from bot.meetings import rules
from bot.storage.models import Branch


@contributes(70)
def quarter_not_held(branch: Branch, now: datetime) -> list[Item]:
    today = to_beijing(now).date()
    year, quarter = clock.quarter_of(today)
    if today < clock.quarter_end(year, quarter) - timedelta(days=rules.WARN_DAYS):
        return []
    return [Item("compliance", f"compliance:{year}-Q{quarter}:{req.kind}:{req.period}:"
                 f"{req.group or ''}", render("compliance.digest", what=req.label(),
                                              end=render("period.day", month=3 * quarter,
                                                         day=clock.quarter_end(
                                                             year, quarter).day)))
            for req in compliance.not_yet_held(branch, now)]
