"""What is open for a member right now, so a bare 签到 or 收到 can be resolved, not guessed.

Topics register providers here (meetings: open sign-ins and reminders awaiting an answer;
notices: notices awaiting acknowledgement). Each provider takes (member, now) and returns a list.
"""
from __future__ import annotations

from collections.abc import Callable

def _open_meetings(member, now) -> list:
    from bot.meetings.attendance import open_for

    return open_for(member, now)


OPEN_CHECKINS: list[Callable] = [_open_meetings]  # meetings the member may sign in to now


def _unacknowledged(member, now) -> list:
    from bot.notices.store import pending_for

    return pending_for(member, now)


PENDING_NOTICES: list[Callable] = [_unacknowledged]  # notices the member has not acknowledged



def _reminded_unanswered(member, now) -> list:
    from bot.meetings.reminders import awaiting_answer

    return awaiting_answer(member, now)


# meetings the member was reminded of and has not answered
AWAITING_RSVP: list[Callable] = [_reminded_unanswered]


def _collect(providers: list[Callable], member, now) -> list:
    found: list = []
    for provider in providers:
        found.extend(provider(member, now))
    return found


def open_checkins(member, now) -> list:
    """Meetings whose sign-in window is open for this member."""
    return _collect(OPEN_CHECKINS, member, now)


def pending_notices(member, now) -> list:
    """Notices sent to this member and not yet acknowledged."""
    return _collect(PENDING_NOTICES, member, now)


def awaiting_rsvp(member, now) -> list:
    """Meetings this member was reminded of and has not answered."""
    return _collect(AWAITING_RSVP, member, now)
