"""The last two handlers: topics not built yet, and text nobody understood."""
from __future__ import annotations

from bot.handlers import Handler
from bot.replies import load, render
from bot.rules.organisation import is_leader

LEADER_INTENTS = {"broadcast", "stats"}


class PendingHandler(Handler):
    """An understood request whose topic is not available yet: say so plainly."""

    def check(self, msg) -> bool:
        return msg.intent is not None and msg.intent.name in load("replies")["features"]

    def handle(self, msg) -> str:
        if msg.intent.name in LEADER_INTENTS and not is_leader(msg.member.roles):
            return render("leader_only")
        return render("coming_soon", feature=load("replies")["features"][msg.intent.name])


class UnknownHandler(Handler):
    """Anything else: say we did not understand and point to 帮助."""

    def check(self, msg) -> bool:
        return True

    def handle(self, msg) -> str:
        return render("unknown")
