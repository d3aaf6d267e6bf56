"""Chat of the notices topic: 通知 全体党员：… / 发通知 (a draft, sent on 确认), 收到 (a tap or
words), 通知情况 / 谁还没回复, 再提醒. The rules and the work are in bot/notices/."""
from __future__ import annotations

from bot.chat import intents, outbox
from bot.chat.dispatch import Handler, Incoming
from bot.jobs.notices import send_due_notices
from bot.members.rules import is_leader, may_send_notices
from bot.notices import drafts, sending, store
from bot.replies import Outcome, render


class NoticeCommandHandler(Handler):
    """通知 全体党员：本周五下午3点… / 紧急通知 支委：… / 发通知: a draft, shown back for 确认."""

    group, commands = "commands", ("notice", "notice_start")

    def handle(self, msg: Incoming, match) -> str:
        # The notice's words as typed, not as the bot reads them (normalised for understanding).
        match = next((found for found in (intents.command(name, msg.text)
                                          for name in self.commands) if found), match)
        lead = match.group(1)
        words = match.group(2) if match.re.groups >= 3 else None
        text = match.group(3) if match.re.groups >= 3 else None
        return drafts.begin(msg.member, words, text, lead.startswith("紧急"), msg.now).render()


def _send_soon() -> None:
    """Ask a worker to send what is due once this message's transaction commits (the
    scheduler's minute run catches anything a lost enqueue missed)."""
    outbox.later(send_due_notices)


class NoticeDraftHandler(Handler):
    """The sender's answers while a draft is open: its text, its audience, 确认 or 取消."""

    group, dialogue = "dialogues", drafts.TOPIC

    def handle(self, msg: Incoming, match) -> str:
        outcome = drafts.answer(msg.member, match, msg.text, msg.now)
        if outcome.key in ("notice.sending", "notice.scheduled"):
            _send_soon()
        return outcome.render()


class NoticeMenuTapHandler(Handler):
    """The member tapped 收到 under a notice (a msgmenu option: bizmsgmenuid names it)."""

    group, menu = "commands", sending.MENU_PREFIX

    def handle(self, msg: Incoming, match) -> str:
        number = sending.menu_notice_id(match)
        notice = store.find(msg.member.branch_id, number) if number else None
        if notice is None:
            return render("ack_nothing_pending")
        return store.acknowledge(msg.member, notice, "menu", msg.now).render()


class NoticeAckCommandHandler(Handler):
    """收到通知 (what 收到 is asked to become when a meeting question is open too)."""

    group, commands = "commands", ("notice_ack",)

    def handle(self, msg: Incoming, match) -> str:
        return store.acknowledge(msg.member, None, "chat", msg.now).render()


class NoticeAckHandler(Handler):
    """收到 / 已阅 / 知道了 / 好的, with a notice waiting (and no meeting question open: then
    bot/handlers/clarify.py asks which): the newest notice not acknowledged."""

    intents = ("notice_ack",)

    def handle(self, msg: Incoming, match) -> str:
        return store.acknowledge(msg.member, None, "chat", msg.now).render()


class _SenderHandler(Handler):
    """Only for those who may send notices; others are told so."""

    def handle(self, msg: Incoming, match) -> str:
        if not may_send_notices(msg.member.roles):
            return render("notice.not_allowed")
        number = _number(match)
        notice = store.find(msg.member.branch_id, number) if number else \
            store.latest(msg.member)
        if notice is None:
            return render("notice.no_such" if number else "notice.none_yet", number=number)
        return self.act(msg, notice).render()

    def act(self, msg: Incoming, notice) -> Outcome:  # pragma: no cover - overridden
        raise NotImplementedError


def _number(match) -> int | None:
    """The notice's number, when the command names one (通知情况 12)."""
    if hasattr(match, "lastindex") and match.lastindex:
        value = match.group(match.lastindex)
        if value and value.isdigit():
            return int(value)
    return None


class NoticeStatusHandler(_SenderHandler):
    """通知情况 / 谁还没回复 / 谁没收到 [编号]: the latest notice's figures, names included."""

    group, commands = "commands", ("notice_status",)

    def act(self, msg: Incoming, notice) -> Outcome:
        return store.chat_report(store.summary(notice), msg.now,
                                 console=is_leader(msg.member.roles))


class NoticeStatusAskedHandler(NoticeStatusHandler):
    """The same, asked in other words (通知大家都看了吗)."""

    group, commands, intents = "intents", (), ("stats.notices",)


class NoticeRemindHandler(_SenderHandler):
    """再提醒 [编号]: once per notice, to those who have not acknowledged."""

    group, commands = "commands", ("notice_remind",)

    def act(self, msg: Incoming, notice) -> Outcome:
        outcome = sending.remind(notice, msg.now)
        if outcome.key == "notice.remind_queued":
            _send_soon()
        return outcome


class NoticeRemindAskedHandler(NoticeRemindHandler):
    """The same, said in other words (把没回复的再催一下)."""

    group, commands, intents = "intents", (), ("broadcast.remind",)


class NoticeStartHandler(Handler):
    """帮我给大家发个通知 (understood, not an exact command): a draft asking for the text."""

    intents = ("broadcast",)

    def handle(self, msg: Incoming, match) -> str:
        return drafts.begin(msg.member, None, match.slots.get("content"), False,
                            msg.now).render()


HANDLERS = [NoticeMenuTapHandler(), NoticeAckCommandHandler(), NoticeCommandHandler(),
            NoticeStatusHandler(), NoticeRemindHandler(), NoticeDraftHandler(),
            NoticeStatusAskedHandler(), NoticeRemindAskedHandler(), NoticeStartHandler(),
            NoticeAckHandler()]
