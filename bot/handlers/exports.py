"""Records asked for in chat: a leader's 导出考勤 / 这个月出勤情况 → a download link, later."""
from __future__ import annotations

import re

from flask import current_app

from bot.chat import outbox
from bot.chat.dispatch import Handler, Incoming
from bot.clock import to_beijing
from bot.members.rules import console_scope, is_leader
from bot.replies import render


class AttendanceExportHandler(Handler):
    """导出考勤 (this month; 上个月 for the last): the workbook is built by a worker and the
    link, valid for EXPORT_LINK_HOURS, is pushed to the leader who asked."""

    intents = ("stats.export",)

    def accept(self, msg: Incoming, match):
        return match if is_leader(msg.member.roles) else None

    def handle(self, msg: Incoming, match) -> str:
        here = to_beijing(msg.now)
        year, month = here.year, here.month
        if re.search(r"上个?月", msg.text or ""):
            year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        from bot.jobs.exports import attendance_for

        outbox.later(attendance_for, msg.member.id, year, month)
        return render("export.asked", month=month,
                      hours=current_app.config["EXPORT_LINK_HOURS"])


class ConsoleLinkHandler(Handler):
    """控制台: a leader gets a one-time sign-in link to the console (10 minutes)."""

    group, commands = "commands", ("console",)

    def handle(self, msg: Incoming, match) -> str:
        from bot import console

        if console_scope(msg.member.roles) is None:
            return render("console.not_for_you")
        return render("console.link", link=console.login_link(msg.member),
                      minutes=console.LOGIN_MINUTES)


class ConsoleWordsHandler(ConsoleLinkHandler):
    """给我个电脑上登录的链接: the console link, asked in the leader's own words."""

    group, commands, intents = "intents", (), ("console",)


HANDLERS = [ConsoleLinkHandler(), AttendanceExportHandler(), ConsoleWordsHandler()]
