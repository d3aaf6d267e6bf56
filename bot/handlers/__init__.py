"""Handlers, tried in order: the first whose check() is true handles the message.

Each handler is small: check() looks at the message (type, event, intent, member) and handle()
returns the reply text ('' for no reply). Topics that later issues add go before `pending`.
"""
from __future__ import annotations


class Handler:
    """Base class: subclasses set `intents` (and, for a statistics request, its `topic`) or
    override check()."""

    intents: tuple[str, ...] = ()
    topic: str | None = None  # the `topic` slot a stats request must name

    def check(self, msg) -> bool:
        return msg.intent is not None and msg.intent.name in self.intents and \
            (self.topic is None or msg.intent.slots.get("topic") == self.topic)

    def handle(self, msg) -> str:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError


def default_handlers() -> list[Handler]:
    """The ordered handler list used by the webhook."""
    from bot.handlers import (account, clarify, dues, events, fallback, floating, help, media,
                              meetings, records, study)

    return [
        *events.HANDLERS,      # subscribe, unsubscribe, scan, menu clicks, delivery reports
        account.BindHandler(),  # 绑定 CODE works before binding, of course
        account.UnboundHandler(),  # anyone else not bound learns how to bind, sees nothing more
        floating.ReportLocationHandler(),  # a floating member's location: part of the report
        *media.HANDLERS,       # images, unrecognised voice, locations
        meetings.LeaveDecisionHandler(),  # a leader's 批准 12 (before any intent)
        meetings.MeetingChangeHandler(),  # a leader's 改期 12 … / 取消 12 …
        dues.DuesRecordHandler(),         # a leader's 记党费 张三 12月 45.00 转账
        records.ConsoleLinkHandler(),     # a leader's 控制台 → a sign-in link
        meetings.LeaveReasonHandler(),    # the answer to "why?" of a leave request
        floating.OutgoingDialogueHandler(),  # the answer to the 外出报告's last question
        floating.ContactHandler(),        # 联系了张三，在苏州一切正常
        meetings.MuteHandler(),           # 关闭提醒 / 打开提醒
        help.HelpHandler(),
        account.MyInfoHandler(),
        *clarify.HANDLERS,     # a bare 签到 or 收到: resolved by context, or a question back
        meetings.ScheduleHandler(),
        meetings.CheckinHandler(),
        meetings.RsvpHandler(),
        meetings.LeaveHandler(),
        study.StudyHandler(),
        dues.DuesQueryHandler(),
        dues.DuesUnpaidHandler(),
        floating.OutgoingHandler(),
        floating.ReportHandler(),
        floating.ReturnHandler(),
        floating.FloatingStatsHandler(),
        records.AttendanceExportHandler(),
        fallback.PendingHandler(),  # intents whose topic arrives with a later issue
        fallback.UnknownHandler(),
    ]
