"""The study topic's line in a member's reminder digest: a gentle nudge when the month has no
study at all, once a month, only if the branch wants it (no formalism: never a message of its own)."""
from __future__ import annotations

from datetime import datetime

from bot.digest.core import adds_to_member_digest, once_a_month
from bot.replies import render
from bot.study import checkins as study


@adds_to_member_digest(10)
def study_nudge(member, now: datetime) -> list[str]:
    """学习: a gentle nudge when the month has no study at all, if the branch wants it."""
    if study.nudge_due(member, now) and once_a_month("study", member, now):
        return [render("study.nudge")]
    return []
