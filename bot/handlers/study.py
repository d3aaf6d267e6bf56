"""Study as members see it: 学习打卡, 我的学习记录, and a ranking only where the branch wants one."""
from __future__ import annotations

from bot.chat.dispatch import Handler, Incoming
from bot.study import checkins as study


class StudyHandler(Handler):
    """学习打卡 / 今天学习了党章第三章40分钟 / 学习心得：… / 我的学习记录 / 学习排名."""

    intents = ("study_checkin",)

    def handle(self, msg: Incoming, match) -> str:
        slots = match.slots
        if slots.get("ranking"):
            return study.ranking(msg.member, msg.now).render()
        if slots.get("query"):
            return study.record(msg.member, msg.now).render()
        return study.checkin(msg.member, slots, msg.now).render()


HANDLERS = [StudyHandler()]
