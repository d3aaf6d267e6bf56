"""Study as members see it: 学习打卡, 我的学习记录, and a ranking only where the branch wants one."""
from __future__ import annotations

from bot.chat.dispatch import Handler, Incoming
from bot.members.rules import is_leader
from bot.study import checkins as study


class StudyHandler(Handler):
    """学习打卡 / 今天学习了党章第三章40分钟 / 学习心得：… / 我的学习记录 / 学习排名."""

    intents = ("study_checkin", "study_checkin.query")

    def handle(self, msg: Incoming, match) -> str:
        if match.name == "study_checkin.query":
            if match.slots.get("ranking"):
                return study.ranking(msg.member, msg.now).render()
            return study.record(msg.member, msg.now).render()
        return study.checkin(msg.member, match.slots, msg.now, msg.text).render()


class StudyStatsHandler(Handler):
    """大家学习情况怎么样 (leaders): how many studied this month, and for how long — no
    ranking of people unless the branch turned it on."""

    intents = ("stats.study",)

    def accept(self, msg: Incoming, match):
        return match if is_leader(msg.member.roles) else None

    def handle(self, msg: Incoming, match) -> str:
        return study.branch_month(msg.member.branch, msg.now).render()


HANDLERS = [StudyHandler(), StudyStatsHandler()]
