"""帮助: what this member can do, given their roles and whether they are floating."""
from __future__ import annotations

from bot.chat.dispatch import Handler, Incoming
from bot.members.rules import is_leader
from bot.replies import render


class HelpHandler(Handler):
    intents = ("help",)

    def handle(self, msg: Incoming, match) -> str:
        member = msg.member
        parts = [render("help_intro", name=member.name), render("help_member")]
        if member.is_floating:
            parts.append(render("help_floating"))
        if is_leader(member.roles):
            parts.append(render("help_leader"))
        parts.append(render("help_outro"))
        return "\n".join(parts)


HANDLERS = [HelpHandler()]
