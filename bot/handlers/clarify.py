"""Ambiguous short answers, resolved by the member's context or met with a question.

A bare 签到 with no meeting open, and a bare 收到 with nothing or more than one thing it could
answer, are never guessed at silently. When the context makes the meaning plain, the message
passes on to the topic's own handler.
"""
from __future__ import annotations

from bot import context
from bot.handlers import Handler
from bot.replies import render


class BareCheckinHandler(Handler):
    """签到 without a code and no sign-in open for the member."""

    intents = ("meeting_checkin",)

    def check(self, msg) -> bool:
        return super().check(msg) and "code" not in msg.intent.slots and \
            not context.open_checkins(msg.member, msg.now)

    def handle(self, msg) -> str:
        return render("checkin_no_open_meeting")


class BareAckHandler(Handler):
    """收到 / 好的 with no notice pending, or with both a notice and a meeting question open."""

    intents = ("notice_ack",)

    def check(self, msg) -> bool:
        if not super().check(msg):
            return False
        notices = context.pending_notices(msg.member, msg.now)
        rsvps = context.awaiting_rsvp(msg.member, msg.now)
        if notices and not rsvps:
            return False  # plainly an acknowledgement: the notices topic handles it
        if rsvps:
            msg.intent.slots["ambiguous"] = "both" if notices else "meeting"
        return True

    def handle(self, msg) -> str:
        ambiguous = msg.intent.slots.get("ambiguous")
        if ambiguous == "both":
            return render("ack_which")
        if ambiguous == "meeting":  # 收到 after a reminder: received, but coming or not?
            return render("ack_rsvp")
        return render("ack_nothing_pending")


HANDLERS = [BareCheckinHandler(), BareAckHandler()]
