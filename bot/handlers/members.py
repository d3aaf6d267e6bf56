"""Binding (绑定 CODE), what a follower who is not bound is told, what a member who left the
branch (转出) is told, and 我的信息."""
from __future__ import annotations

from bot.chat.dispatch import Handler, Incoming
from bot.members import binding, privacy, roster
from bot.members.rules import is_leader
from bot.replies import render


class LeftHandler(Handler):
    """Any message from a member recorded as transferred out (转出): when and where to, and whom
    to ask if that is wrong; nothing of the branch is done for them."""

    group, who, msg_types = "events", "left", ("*",)

    def handle(self, msg: Incoming, match) -> str:
        member, day = msg.member, msg.member.left_on
        return render("members.gone", name=member.name, branch=member.branch.name,
                      year=day.year, month=day.month, day=day.day,
                      to=render("members.gone_to", to=member.left_to) if member.left_to else "")


class BindHandler(Handler):
    """绑定 12345678: link this WeChat to the roster member the code was issued for."""

    group, who, intents = "events", "anyone", ("bind",)

    def handle(self, msg: Incoming, match) -> str:
        return binding.bind(msg.user, match.slots.get("code"), msg.now).render()


class UnboundHandler(Handler):
    """Any message from a follower who is not bound: how to bind, and no branch data."""

    group, who, msg_types = "events", "unbound", ("*",)

    def handle(self, msg: Incoming, match) -> str:
        return render("bind_howto")


class MyInfoHandler(Handler):
    """我的信息: what the branch keeps about this member (PIPL)."""

    intents = ("my_info",)

    def handle(self, msg: Incoming, match) -> str:
        return privacy.summary(msg.member)


class _LeaderQuestion(Handler):
    def accept(self, msg: Incoming, match):
        return match if is_leader(msg.member.roles) else None


class UnboundListHandler(_LeaderQuestion):
    """谁还没绑定 (leaders): members with no WeChat yet, with their invite codes to hand out."""

    intents = ("stats.unbound",)

    def handle(self, msg: Incoming, match) -> str:
        return roster.unbound_text(msg.member.branch, msg.now)


class BranchSizeHandler(_LeaderQuestion):
    """支部有多少人 (leaders): the branch in numbers."""

    intents = ("stats.members",)

    def handle(self, msg: Incoming, match) -> str:
        return roster.size_text(msg.member.branch, msg.now)


HANDLERS = [LeftHandler(), BindHandler(), UnboundHandler(), MyInfoHandler(), UnboundListHandler(),
            BranchSizeHandler()]
