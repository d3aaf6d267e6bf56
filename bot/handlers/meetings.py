"""Meetings as members see them: schedule questions and sign-in (签到 4821)."""
from __future__ import annotations

import re

from bot import attendance, leave, meetings
from bot.handlers import Handler
from bot.replies import render
from bot.rules.organisation import is_leader
from bot.rules.calendar import MEETING_KINDS
from bot.storage import meetings as store


def describe(meeting, key: str, leader: bool = False) -> str:
    """One meeting in a sentence (key: schedule.next or schedule.line); leaders also see its
    number and sign-in code, to announce at the meeting."""
    code = render("schedule.code", id=meeting.id, code=meeting.checkin_code) if leader else ""
    return render(key, code=code, **meetings.details(meeting))


class ScheduleHandler(Handler):
    """The member's next meetings from the real calendar (only those they are due at)."""

    intents = ("schedule_query",)

    def handle(self, msg) -> str:
        kind = msg.intent.slots.get("meeting")
        found = store.upcoming_for(msg.member, msg.now, limit=3, kind=kind)
        if not found:
            return render("schedule.none_kind", kind=MEETING_KINDS[kind]) if kind \
                else render("schedule.none")
        leader = is_leader(msg.member.roles)
        if kind or len(found) == 1:
            return describe(found[0], "schedule.next", leader)
        return "\n".join([render("schedule.list_intro"),
                          *(describe(m, "schedule.line", leader) for m in found)])


class CheckinHandler(Handler):
    """签到 4821: sign in to the meeting whose window is open; floating members sign in remotely."""

    intents = ("meeting_checkin",)

    def handle(self, msg) -> str:
        outcome = attendance.sign_in(msg.member, msg.intent.slots.get("code"), msg.now)
        return outcome.render()


class RsvpHandler(Handler):
    """参加: the member will attend the meeting meant (named, or the nearest one due)."""

    intents = ("rsvp_yes",)

    def handle(self, msg) -> str:
        outcome = leave.rsvp_yes(msg.member, msg.intent.slots, msg.now)
        return outcome.render()


class LeaveHandler(Handler):
    """我请假，孩子生病 / 周五去不了 / 外出一个月，这期间的会都请假."""

    intents = ("leave_request",)

    def handle(self, msg) -> str:
        outcome = leave.request(msg.member, msg.intent.slots, msg.now)
        return outcome.render()


CANCEL = re.compile(r"^(取消|算了|不请了|不请假了|不用了)[。！!.]*$")


class LeaveReasonHandler(Handler):
    """The answer to 请说一下请假的原因: the next plain message is the reason (or 取消)."""

    def check(self, msg) -> bool:
        if msg.member is None or msg.msg_type not in ("text", "voice") or not msg.text:
            return False
        if msg.intent is not None and msg.intent.name not in ("unknown", "leave_request"):
            return bool(CANCEL.match(msg.text.strip()))
        return leave.waiting_for_reason(msg.member, msg.now) is not None

    def handle(self, msg) -> str:
        state = leave.waiting_for_reason(msg.member, msg.now)
        leave.forget_reason_wait(msg.member)
        if state is None or CANCEL.match(msg.text.strip()):
            return render("leave.cancelled")
        reason = msg.intent.slots.get("reason") if msg.intent.name == "leave_request" else None
        outcome = leave.request(msg.member, state, msg.now,
                                reason=reason or msg.text.strip()[:200])
        return outcome.render()


DECISION = re.compile(r"^(不批准|不同意|驳回|不准|批准|同意|准假|准)\s*[:：]?\s*"
                      r"(\d+(?:[\s,，、]+\d+)*)[。!！]*$")


class LeaveDecisionHandler(Handler):
    """批准 12 / 不批准 12 13: a leader decides leave requests by their short numbers."""

    def check(self, msg) -> bool:
        return bool(msg.member is not None and msg.text and is_leader(msg.member.roles)
                    and DECISION.match(msg.text.strip()))

    def handle(self, msg) -> str:
        match = DECISION.match(msg.text.strip())
        approve = not match.group(1).startswith(("不", "驳"))
        numbers = [int(n) for n in re.findall(r"\d+", match.group(2))]
        outcomes = leave.decide(msg.member, numbers, approve, msg.now)
        return "\n".join(o.render() for o in outcomes)


# The meeting's number stands alone: 取消12月5日的党课 is a date, never meeting 12.
CHANGE = re.compile(r"^(改期|调整|取消)(?:会议)?\s*(?:编号)?\s*(\d{1,9})(?![\d月日号点.:：])"
                    r"[，,。\s]*(.*)$", re.S)


class MeetingChangeHandler(Handler):
    """改期 12 12月6日下午3点，地点五楼 / 取消 12 上级临时安排: a leader moves or cancels a
    meeting by the number shown to leaders in the schedule reply."""

    def check(self, msg) -> bool:
        return bool(msg.member is not None and msg.text and is_leader(msg.member.roles)
                    and CHANGE.match(msg.text.strip()))

    def handle(self, msg) -> str:
        verb, number, rest = CHANGE.match(msg.text.strip()).groups()
        outcome = meetings.change_by_chat(msg.member, int(number), verb == "取消", rest,
                                          msg.now)
        return outcome.render()


MUTE = re.compile(r"^(关闭提醒|免打扰|不要再提醒|别提醒了|少提醒)[。!！]*$")
UNMUTE = re.compile(r"^(打开提醒|恢复提醒|开启提醒)[。!！]*$")


class MuteHandler(Handler):
    """关闭提醒 / 打开提醒: optional reminders (chasers) off or on; invitations always come."""

    def check(self, msg) -> bool:
        text = (msg.text or "").strip()
        return msg.member is not None and bool(MUTE.match(text) or UNMUTE.match(text))

    def handle(self, msg) -> str:
        muted = bool(MUTE.match(msg.text.strip()))
        msg.member.reminders_muted = muted
        return render("reminder.muted" if muted else "reminder.unmuted")
