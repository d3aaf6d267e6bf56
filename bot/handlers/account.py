"""Binding (绑定 CODE) and what a follower who is not bound is told."""
from __future__ import annotations

from bot import binding
from bot.handlers import Handler
from bot.replies import render


class BindHandler(Handler):
    """绑定 12345678: link this WeChat to the roster member the code was issued for."""

    intents = ("bind",)

    def handle(self, msg) -> str:
        outcome = binding.bind(msg.user, msg.intent.slots.get("code"), msg.now)
        return outcome.render()


class UnboundHandler(Handler):
    """Any message from a follower who is not bound: how to bind, and no branch data."""

    def check(self, msg) -> bool:
        return msg.member is None and msg.msg_type != "event"

    def handle(self, msg) -> str:
        return render("bind_howto")


class MyInfoHandler(Handler):
    """我的信息: what the branch keeps about this member (PIPL)."""

    intents = ("my_info",)

    def handle(self, msg) -> str:
        from bot import privacy

        return privacy.summary(msg.member)
