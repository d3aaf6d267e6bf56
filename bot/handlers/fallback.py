"""The last handlers: leaders' requests from members without the role, and text nobody
understood."""
from __future__ import annotations

from bot.chat import intents
from bot.chat.dispatch import Handler, Incoming, reroute
from bot.members.rules import is_leader
from bot.replies import render

LEADERS_ONLY = tuple(sorted({name for name in intents.INTENTS if name.startswith("stats.")} |
                            {"leave_decision", "broadcast", "broadcast.remind", "console",
                             "dues_query.member", "meeting_change", "dues_record"}))


# A branch-wide question from a member who may not see the branch, read as their own.
OWN_VERSION = {"stats.dues": "dues_query", "dues_query.member": "dues_query",
               "stats.study": "study_checkin.query", "stats.attendance": "attendance_query"}


class LeaderOnlyHandler(Handler):
    """A branch-wide question or a leader's command from a member without the role: their own
    figures where the question has an own version (这个月交了吗), else a polite no."""

    group, intents = "fallback", LEADERS_ONLY

    def accept(self, msg: Incoming, match):
        return match if not is_leader(msg.member.roles) else None

    def handle(self, msg: Incoming, match) -> str:
        own = OWN_VERSION.get(match.name)
        if own and not match.slots.get("name"):
            msg.intent = intents.Intent(own, match.slots, match.confidence)
            return reroute(msg, past_dialogues=True)
        return render("leader_only")


class UnknownHandler(Handler):
    """Anything else: say we did not understand and point to 帮助 (kept for review)."""

    group, who = "fallback", "anyone"

    def handle(self, msg: Incoming, match) -> str:
        if msg.member is not None and msg.intent is not None and msg.text:
            intents.note("unknown", msg.clean or msg.text, msg.intent.name,
                         msg.intent.confidence, msg.now)
        return render("unknown")


HANDLERS = [LeaderOnlyHandler(), UnknownHandler()]
