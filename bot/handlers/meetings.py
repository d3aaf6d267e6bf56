"""Meetings in chat: schedule questions, 参加 / 请假 (with the reason asked for), sign-in
(签到 4821), and leaders' 批准 12, 改期 12 …, 取消 12 …; 关闭提醒 / 打开提醒."""
from __future__ import annotations

import re

from bot.chat import intents
from bot.chat.dispatch import Handler, Incoming
from bot.meetings import attendance, store
from bot.meetings import planning as meetings
from bot.members.rules import is_leader
from bot.replies import render


class ScheduleHandler(Handler):
    """The member's next meetings from the real calendar (only those they are due at)."""

    intents = ("schedule_query",)

    def handle(self, msg: Incoming, match) -> str:
        return attendance.schedule(msg.member, match.slots, msg.now)


class CheckinHandler(Handler):
    """签到 4821: sign in to the meeting whose window is open; floating members sign in remotely."""

    intents = ("meeting_checkin",)

    def handle(self, msg: Incoming, match) -> str:
        return attendance.sign_in(msg.member, match.slots.get("code"), msg.now).render()


class RsvpHandler(Handler):
    """参加: the member will attend the meeting meant (named, or the nearest one due)."""

    intents = ("rsvp_yes",)

    def handle(self, msg: Incoming, match) -> str:
        return attendance.rsvp_yes(msg.member, match.slots, msg.now).render()


class LeaveHandler(Handler):
    """我请假，孩子生病 / 周五去不了 / 外出一个月，这期间的会都请假."""

    intents = ("leave_request",)

    def handle(self, msg: Incoming, match) -> str:
        return attendance.request(msg.member, match.slots, msg.now).render()


class LeaveReasonHandler(Handler):
    """The answer to 请说一下请假的原因: the next plain message is the reason (or 取消)."""

    group, dialogue = "dialogues", "leave"

    def accept(self, msg: Incoming, match):
        if not msg.text or (msg.intent is not None and msg.intent.name not in (
                "unknown", "leave_request") and not intents.command("cancel", msg.text)):
            return None
        return match

    def handle(self, msg: Incoming, match) -> str:
        attendance.forget_reason_wait(msg.member)
        if intents.command("cancel", msg.text):
            return render("leave.cancelled")
        reason = msg.intent.slots.get("reason") if msg.intent.name == "leave_request" else None
        return attendance.request(msg.member, match, msg.now,
                             reason=reason or msg.text.strip()[:200]).render()


class _LeaderCommand(Handler):
    """A leader's exact command of prompts/intents.toml [commands]."""

    group = "commands"

    def accept(self, msg: Incoming, match):
        return match if is_leader(msg.member.roles) else None


class LeaveDecisionHandler(_LeaderCommand):
    """批准 12 / 不批准 12 13: a leader decides leave requests by their short numbers."""

    commands = ("leave_decision",)

    def handle(self, msg: Incoming, match) -> str:
        approve = not match.group(1).startswith(("不", "驳"))
        numbers = [int(n) for n in re.findall(r"\d+", match.group(2))]
        return "\n".join(o.render() for o in attendance.decide(msg.member, numbers, approve,
                                                            msg.now))


class MeetingChangeHandler(_LeaderCommand):
    """改期 12 12月6日下午3点，地点五楼 / 取消 12 上级临时安排: a leader moves or cancels a
    meeting by the number shown to leaders in the schedule reply."""

    commands = ("meeting_change",)

    def handle(self, msg: Incoming, match) -> str:
        verb, number, rest = match.groups()
        return meetings.change_by_chat(msg.member, int(number), verb == "取消", rest,
                                       msg.now).render()


class MuteHandler(Handler):
    """关闭提醒: optional reminders (chasers) off; invitations always come."""

    group, commands = "commands", ("mute",)

    def handle(self, msg: Incoming, match) -> str:
        msg.member.reminders_muted = True
        return render("reminder.muted")


class MuteWordsHandler(Handler):
    """别再提醒我了 / 把提醒打开吧: the same, said in the member's own words."""

    intents = ("mute",)

    def handle(self, msg: Incoming, match) -> str:
        on = bool(match.slots.get("on"))
        msg.member.reminders_muted = not on
        return render("reminder.unmuted" if on else "reminder.muted")


class MyAttendanceHandler(Handler):
    """我这个月参加了几次会: the member's own attendance."""

    intents = ("attendance_query",)

    def handle(self, msg: Incoming, match) -> str:
        return attendance.my_month(msg.member, msg.now).render()


class _LeaderQuestion(Handler):
    def accept(self, msg: Incoming, match):
        return match if is_leader(msg.member.roles) else None


class MeetingAnswersHandler(_LeaderQuestion):
    """谁请假了 / 这次开会多少人请假了 / 到会情况 (leaders): a meeting's answers and attendance."""

    intents = ("stats.leave", "stats.attendance")

    def handle(self, msg: Incoming, match) -> str:
        meeting = attendance.meeting_meant(msg.member, match.slots, msg.now)
        if meeting is None:
            return render("attendance.no_meeting")
        return attendance.answers(meeting)


class PendingLeaveHandler(_LeaderQuestion):
    """待批请假 (leaders): the leave requests waiting, with their numbers."""

    intents = ("stats.pending_leave",)

    def handle(self, msg: Incoming, match) -> str:
        return attendance.pending_list(msg.member)


class BareDecisionHandler(_LeaderQuestion):
    """批准 / 同意 without a number, right after a leave push: that request; if several are
    waiting, which one."""

    intents = ("leave_decision",)

    def handle(self, msg: Incoming, match) -> str:
        numbers = match.slots.get("numbers")
        if not numbers:
            waiting = store.pending_leave(msg.member.branch_id)
            if len(waiting) != 1:
                if not waiting:
                    return render("leave.pending_none")
                return render("leave.decide_which", count=len(waiting)) + "\n" + \
                    attendance.pending_list(msg.member)
            numbers = [waiting[0][0].id]
        approve = match.slots.get("approve", True)
        return "\n".join(o.render() for o in attendance.decide(msg.member, numbers, approve,
                                                                 msg.now))


class UnmuteHandler(Handler):
    """打开提醒: optional reminders on again."""

    group, commands = "commands", ("unmute",)

    def handle(self, msg: Incoming, match) -> str:
        msg.member.reminders_muted = False
        return render("reminder.unmuted")


HANDLERS = [LeaveDecisionHandler(), MeetingChangeHandler(), MuteHandler(), UnmuteHandler(),
            LeaveReasonHandler(), MuteWordsHandler(), MyAttendanceHandler(),
            MeetingAnswersHandler(), PendingLeaveHandler(), BareDecisionHandler(),
            ScheduleHandler(), CheckinHandler(), RsvpHandler(), LeaveHandler()]
