"""The last two handlers: topics not built yet, and text nobody understood."""
from __future__ import annotations

from bot.chat.dispatch import Handler, Incoming
from bot.members.rules import is_leader
from bot.replies import load, render

LEADER_INTENTS = {"broadcast", "stats"}


class PendingHandler(Handler):
    """An understood request whose topic is not available yet: say so plainly."""

    group = "fallback"

    def accept(self, msg: Incoming, match):
        features = load("replies")["features"]
        return msg.intent if msg.intent is not None and msg.intent.name in features else None

    def handle(self, msg: Incoming, match) -> str:
        if match.name in LEADER_INTENTS and not is_leader(msg.member.roles):
            return render("leader_only")
        return render("coming_soon", feature=load("replies")["features"][match.name])


class UnknownHandler(Handler):
    """Anything else: say we did not understand and point to 帮助."""

    group, who = "fallback", "anyone"

    def handle(self, msg: Incoming, match) -> str:
        return render("unknown")


HANDLERS = [PendingHandler(), UnknownHandler()]
