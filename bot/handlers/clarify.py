"""What the bot does when it is not sure, or when a short answer could mean several things:
ask one short question (and act on the answer), resolve a bare 签到 or 收到 by the member's
context, undo the member's last action (撤回), and show how to say an exact command.

Never act on a guess: a reading that would change a record but is not clear enough (bot/chat/
intents.py decides) is asked back — 您是要请假吗？回复 1 请假，2 不是 — and the answer settles it.
"""
from __future__ import annotations

import re

from bot.chat import context, intents, undo
from bot.chat.dispatch import Handler, Incoming, reroute
from bot.members.rules import is_leader
from bot.replies import load, render

CONFIRM_MINUTES = 10
YES = re.compile(r"^\s*(1|１|是|是的|对|对的|嗯|嗯嗯|好|好的|确认|没错|yes|y|ok)[。!！.~～]*\s*$",
                 re.IGNORECASE)
NO = re.compile(r"^\s*(2|２|不是|不对|不|否|no|n|错了|不用了|算了)[。!！.~～]*\s*$", re.IGNORECASE)
# A leader's question about others, read as an own action: the statistics it asks for.
AS_STATISTICS = {"rsvp_yes": "stats.attendance", "leave_request": "stats.leave",
                 "meeting_checkin": "stats.attendance", "study_checkin": "stats.study",
                 "notice_ack": "stats.notices", "floating_report": "stats.floating",
                 "outgoing_report": "stats.floating", "return_report": "stats.floating"}


class AskBackHandler(Handler):
    """A reading that would change a record, not sure enough to act on: one short question."""

    intents, unsure = tuple(sorted(intents.RECORD_CHANGING)), True

    def accept(self, msg: Incoming, match):
        return match if match.why not in intents.ASKED_FOR_DETAIL else None

    def handle(self, msg: Incoming, match) -> str:
        if match.why == "about_others":  # 谁来不了: a question about others, not an action
            if not is_leader(msg.member.roles):
                return render("confirm.leader_question")
            msg.intent = intents.Intent(AS_STATISTICS[match.name], match.slots, match.confidence)
            return reroute(msg, past_dialogues=True)
        what = load("replies")["confirm"]["what"].get(match.name)
        if what is None:
            return render("unknown")
        msg.member.start_dialogue("confirm", {"intent": match.name, "slots": match.slots,
                                              "text": msg.text, "clean": msg.clean},
                                  msg.now, CONFIRM_MINUTES)
        intents.note("asked", msg.clean or msg.text or "", match.name, match.confidence,
                     msg.now)
        return render("confirm.ask", what=what)


class ConfirmAnswerHandler(Handler):
    """The answer to 您是要…吗？: 1 acts on it, 2 does not; anything else is read as new."""

    group, dialogue = "dialogues", "confirm"

    def handle(self, msg: Incoming, match) -> str:
        msg.member.end_dialogue()
        answer = msg.clean or msg.text or ""
        if YES.match(answer):
            intents.note_choice(match["clean"] or match["text"], match["intent"], msg.now)
            msg.text, msg.clean = match["text"], match["clean"]
            msg.intent = intents.Intent(match["intent"], match["slots"], 1.0)
            return reroute(msg, past_dialogues=True)
        if NO.match(answer):
            intents.note_choice(match["clean"] or match["text"], "no", msg.now)
            return render("confirm.no")
        return reroute(msg, past_dialogues=True)


class UndoHandler(Handler):
    """撤回 / 说错了 / 不是这个意思: undo the member's last action within 10 minutes."""

    intents = ("undo",)

    def handle(self, msg: Incoming, match) -> str:
        outcome = undo.undo(msg.member, msg.now)
        if outcome.key == "undo.done":
            intents.note("undone", outcome.values["what"], "undo", None, msg.now)
        return outcome.render()


class CommandHowHandler(Handler):
    """A leader's exact command said in free words (周五的会改到下午三点, 李四交了11月党费):
    how to say it, nothing changed."""

    intents, unsure = ("meeting_change", "dues_record", "floating_contact"), True

    def accept(self, msg: Incoming, match):
        return match if match.why in intents.ASKED_FOR_DETAIL else None

    def handle(self, msg: Incoming, match) -> str:
        if not is_leader(msg.member.roles):
            return render("leader_only")
        return render(f"how.{match.name}")


class BareCheckinHandler(Handler):
    """签到 without a code and no sign-in open for the member."""

    intents = ("meeting_checkin",)

    def accept(self, msg: Incoming, match):
        if "code" in match.slots or context.open_checkins(msg.member, msg.now):
            return None
        return match

    def handle(self, msg: Incoming, match) -> str:
        return render("checkin_no_open_meeting")


class BareAckHandler(Handler):
    """收到 / 好的 with no notice pending, or with both a notice and a meeting question open:
    the match says which question to ask back."""

    intents = ("notice_ack",)

    def accept(self, msg: Incoming, match):
        notices = context.pending_notices(msg.member, msg.now)
        rsvps = context.awaiting_rsvp(msg.member, msg.now)
        if notices and not rsvps:
            return None  # plainly an acknowledgement: the notices topic handles it
        return "both" if notices else "meeting" if rsvps else "nothing"

    def handle(self, msg: Incoming, match) -> str:
        if match == "both":
            return render("ack_which")
        if match == "meeting":  # 收到 after a reminder: received, but coming or not?
            return render("ack_rsvp")
        return render("ack_nothing_pending")


HANDLERS = [ConfirmAnswerHandler(), AskBackHandler(), CommandHowHandler(), UndoHandler(),
            BareCheckinHandler(), BareAckHandler()]
