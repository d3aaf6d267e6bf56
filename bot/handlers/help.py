"""帮助: what this member can do, given their roles and whether they are floating."""
from __future__ import annotations

import re

from bot.chat.dispatch import Handler, Incoming
from bot.members.rules import is_leader, may_send_notices
from bot.replies import render


class HelpHandler(Handler):
    intents = ("help",)

    def handle(self, msg: Incoming, match) -> str:
        member = msg.member
        parts = [render("help_intro", name=member.name), render("help_member")]
        if member.is_floating:
            parts.append(render("help_floating"))
        if may_send_notices(member.roles):
            parts.append(render("help_notices"))
        if is_leader(member.roles):
            parts.append(render("help_leader"))
        parts.append(render("help_outro"))
        return "\n".join(parts)


class GreetingHandler(Handler):
    """你好 / 谢谢 / 辛苦了 / 👍: a short warm reply, not 没看懂."""

    intents = ("greeting",)

    def handle(self, msg: Incoming, match) -> str:
        text = msg.clean or msg.text or ""
        if re.search(r"谢|感谢|辛苦|多亏|麻烦你|thank|thx", text, re.IGNORECASE):
            return render("greeting.thanks")
        if re.search(r"你好|您好|早上好|早安|晚上好|下午好|在吗|hello|hi", text, re.IGNORECASE):
            return render("greeting.hello", name=msg.member.name)
        return render("greeting.other")


HANDLERS = [HelpHandler(), GreetingHandler()]
