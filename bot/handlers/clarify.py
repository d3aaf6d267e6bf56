"""Ambiguous short answers, resolved by the member's context or met with a question.

A bare 签到 with no meeting open, and a bare 收到 with nothing or more than one thing it could
answer, are never guessed at silently. When the context makes the meaning plain, the message
passes on to the topic's own handler.
"""
from __future__ import annotations

from bot.chat import context
from bot.chat.dispatch import Handler, Incoming
from bot.replies import render


class BareCheckinHandler(Handler):
    """签到 without a code and no sign-in open for the member."""

    intents = ("meeting_checkin",)

    def accept(self, msg: Incoming, match):
        if "code" in match.slots or context.open_checkins(msg.member, msg.now):
            return None
        return match

    def handle(self, msg: Incoming, match) -> str:
        return render("checkin_no_open_meeting")


class BareAckHandler(Handler):
    """收到 / 好的 with no notice pending, or with both a notice and a meeting question open:
    the match says which question to ask back."""

    intents = ("notice_ack",)

    def accept(self, msg: Incoming, match):
        notices = context.pending_notices(msg.member, msg.now)
        rsvps = context.awaiting_rsvp(msg.member, msg.now)
        if notices and not rsvps:
            return None  # plainly an acknowledgement: the notices topic handles it
        return "both" if notices else "meeting" if rsvps else "nothing"

    def handle(self, msg: Incoming, match) -> str:
        if match == "both":
            return render("ack_which")
        if match == "meeting":  # 收到 after a reminder: received, but coming or not?
            return render("ack_rsvp")
        return render("ack_nothing_pending")


HANDLERS = [BareCheckinHandler(), BareAckHandler()]
