"""The study topic's line in a member's reminder digest: a gentle nudge when the month has no
study at all, once a month, only if the branch wants it (no formalism: never a message of its own)."""
from __future__ import annotations

from datetime import datetime

from bot.digest.core import adds_to_member_digest, once_a_month
from bot.replies import render
from bot.study import checkins as study


@adds_to_member_digest(10)
def study_nudge(members: list, now: datetime) -> dict[int, list[str]]:
    """学习: a gentle nudge when the month has no study at all, if the branch wants it."""
    due = study.nudge_due(members, now)
    return {member.id: [render("study.nudge")] for member in members
            if member.id in due and once_a_month("study", member, now)}
