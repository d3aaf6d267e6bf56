"""Floating members in chat: 外出报告 (a short dialogue), 月度汇报 (text or location), 返回报告,
a leader's 联系了张三… and 流动党员情况."""
from __future__ import annotations

from bot.chat.dispatch import Handler, Incoming
from bot.clock import to_beijing
from bot.floating import reports as floating
from bot.floating import rules
from bot.members import store as member_store
from bot.members.rules import is_leader
from bot.replies import render


class OutgoingDialogueHandler(Handler):
    """The answer to the 外出报告's last question (or 取消)."""

    group, dialogue = "dialogues", "outgoing"

    def handle(self, msg: Incoming, match) -> str:
        return floating.continue_outgoing(msg.member, match, msg.text, msg.now).render()


class OutgoingHandler(Handler):
    """外出报告：去苏州打工三个月."""

    intents = ("outgoing_report",)

    def handle(self, msg: Incoming, match) -> str:
        return floating.start_outgoing(msg.member, match.slots, msg.text, msg.now).render()


class ReportHandler(Handler):
    """本月汇报：在苏州，工作正常… (one message or several)."""

    intents = ("floating_report",)

    def handle(self, msg: Incoming, match) -> str:
        return floating.report(msg.member, msg.text, None, msg.now).render()


class ReportLocationHandler(Handler):
    """A location message from a floating member is part of their monthly report."""

    group, msg_types = "events", ("location",)

    def accept(self, msg: Incoming, match):
        return floating.open_period(msg.member) if msg.location is not None else None

    def handle(self, msg: Incoming, match) -> str:
        return floating.report(msg.member, None, msg.location, msg.now).render()


class ReturnHandler(Handler):
    """我回来了 / 返回报告."""

    intents = ("return_report",)

    def handle(self, msg: Incoming, match) -> str:
        return floating.report_return(msg.member, match.slots, msg.now).render()


class ContactHandler(Handler):
    """联系了张三，在苏州一切正常 (a leader, or the member's contact person)."""

    group, commands = "commands", ("floating_contact",)

    def handle(self, msg: Incoming, match) -> str:
        name, note = match.groups()
        return self.log(msg, name, note)

    def log(self, msg: Incoming, name: str, note: str | None) -> str:
        found = member_store.members_by_name(name, msg.member.branch.name)
        if not found:
            return render("dues.unknown_member", name=name)
        member = found[0]
        period = floating.open_period(member)
        allowed = is_leader(msg.member.roles) or (
            period is not None and period.contact_person_id == msg.member.id)
        if not allowed:
            return render("leader_only")
        return floating.log_contact(member, (note or "").strip() or None,
                                    to_beijing(msg.now).date(), f"member:{msg.member.id}",
                                    msg.now).render()


class ContactWordsHandler(ContactHandler):
    """刚和刘海波通了电话，他挺好的: a contact logged from the leader's own words (the whole
    text is the note)."""

    group, commands, intents = "intents", (), ("floating_contact",)

    def handle(self, msg: Incoming, match) -> str:
        return self.log(msg, match.slots["name"], msg.clean or msg.text)


class FloatingStatsHandler(Handler):
    """流动党员情况 (leaders): each floating member, where, last report and contact."""

    intents = ("stats.floating",)

    def accept(self, msg: Incoming, match):
        return match if is_leader(msg.member.roles) else None

    def handle(self, msg: Incoming, match) -> str:
        rows = floating.overview(msg.member.branch_id, msg.now)
        if not rows:
            return render("floating.list_none")
        never = render("floating.never")
        lines = [render("floating.list_line", name=r["name"], since=r["since"], where=r["where"] or render("floating.where_unknown"),
                        reason=r["reason"] or render("floating.reason_unknown"), report=r["last_report"] or never,
                        contact=r["last_contact"] or never,
                        overdue=render("floating.overdue", months=rules.setting(
                            msg.member.branch, "overdue_months")) if r["overdue"] else "")
                 for r in rows]
        return "\n".join([render("floating.list_intro", count=len(rows)), *lines])


HANDLERS = [ReportLocationHandler(), ContactHandler(), OutgoingDialogueHandler(),
            OutgoingHandler(), ReportHandler(), ReturnHandler(), ContactWordsHandler(),
            FloatingStatsHandler()]
