"""学习打卡 through the real webhook: what, how long, which day, reflections, one record a day,
retries, the member's own totals, collective study, points and rankings only when turned on,
and the gentle monthly nudge in the reminder digest."""
from __future__ import annotations


import pytest
import requests
from sqlalchemy import func, select

from bot.jobs.meetings import run_reminders
from bot.meetings import attendance
from bot.meetings import planning as meetings
from bot.members import store
from bot.storage.engine import db
from bot.storage.models import Branch, OutboundMessage, StudyCheckin
from tests.helpers import OPENIDS, beijing, bind




@pytest.fixture
def branch(app, platform, fake, tmp_path, clock):
    bind(platform, tmp_path, *OPENIDS.items())
    return db.session.execute(select(Branch)).scalar_one()


def records(name_openid: str = "o_wang") -> list[tuple]:
    return [(r.day.isoformat(), r.seq, r.material, r.minutes, r.reflection, r.entries)
            for r in db.session.execute(select(StudyCheckin).order_by(
                StudyCheckin.day, StudyCheckin.seq)).scalars()]


def test_a_check_in_with_material_and_time_then_totals(app, platform, branch, clock):
    clock.set(beijing(2026, 11, 21, 20))
    reply = platform.text("o_wang", "今天学习了党章第三章40分钟")
    assert reply == "已记录今天的学习：党章第三章，40 分钟。本月已学习 1 天，共 40 分钟；今年 1 天；" \
                    "已连续 1 天。"
    assert records() == [("2026-11-21", 1, "党章第三章", 40, None, 1)]


def test_one_record_a_day_retries_and_repeats_never_count_twice(app, platform, branch, clock):
    clock.set(beijing(2026, 11, 21, 20))
    first = platform.text("o_wang", "今天学习了党章第三章40分钟", msg_id=9100000000000001)
    # the platform retries the same message: the same answer, nothing added
    assert platform.text("o_wang", "今天学习了党章第三章40分钟", msg_id=9100000000000001) == first
    # the member sends it again: recognised, nothing added
    assert platform.text("o_wang", "今天学习了党章第三章40分钟").startswith(
        "今天的这条学习已经记过了，不会重复计算。本月已学习 1 天，共 40 分钟")
    added = platform.text("o_wang", "学习了二十大报告半小时")
    assert added.startswith("已补充到今天的学习记录：二十大报告，30 分钟（同一天只算一次）。"
                            "本月已学习 1 天，共 70 分钟")
    platform.text("o_wang", "学习心得：要把学习成果转化为推动工作的实际成效")
    assert records() == [("2026-11-21", 1, "党章第三章；二十大报告", 70,
                          "要把学习成果转化为推动工作的实际成效", 3)]


def test_a_branch_may_count_several_a_day(app, platform, branch, clock):
    branch.settings = {"study": {"per_day": 2}}
    db.session.commit()
    clock.set(beijing(2026, 11, 21, 9))
    platform.text("o_wang", "学习了党章20分钟")
    clock.set(beijing(2026, 11, 21, 20))
    assert "本月已学习 1 天，共 50 分钟" in platform.text("o_wang", "学习了党史30分钟")
    platform.text("o_wang", "学习了新思想10分钟")  # a third: added to the second
    assert [(r[1], r[2], r[3]) for r in records()] == [(1, "党章", 20), (2, "党史；新思想", 40)]
    assert "本月 1 天、2 次，共 60 分钟" in platform.text("o_wang", "我的学习记录")


def test_days_grace_and_streak(app, platform, branch, clock):
    clock.set(beijing(2026, 11, 20, 21))
    platform.text("o_wang", "学习打卡")
    clock.set(beijing(2026, 11, 22, 8, 30))
    reply = platform.text("o_wang", "昨天补卡，学习了党史一个小时")
    assert reply.startswith("已记录昨天的学习：党史，60 分钟。")
    assert "已连续 2 天" in reply  # 20th and 21st
    assert "已连续 3 天" in platform.text("o_wang", "学习打卡")
    assert platform.text("o_wang", "前天补卡，学习了党章") == \
        "只能补记最近 1 天的学习。更早的学习如需登记，请联系支部书记张建国。"
    assert platform.text("o_wang", "明天学习了党章") == \
        "还没到那一天呢。学习记录只能记今天的，或补记之前的。"
    assert "学习时长看起来不太对" in platform.text("o_wang", "学习了党章3000分钟")
    assert len(records()) == 3  # nothing stored by the refused ones
    branch.settings = {"study": {"grace_days": 3}}
    db.session.commit()
    assert platform.text("o_wang", "11月19日补卡，学习了党章").startswith("已记录11月19日的学习")


def test_undo_of_a_second_check_in_puts_the_days_record_back(app, platform, branch, clock):
    """The day's record existed before the second check-in: 撤回 restores it, its update time
    (a UTC column kept as text in the undo record) included. Found by bench/fuzz.py."""
    clock.set(beijing(2026, 11, 20, 20))
    platform.text("o_wang", "今天学习了党章20分钟")
    clock.set(beijing(2026, 11, 20, 21))
    platform.text("o_wang", "今天又学习了党史30分钟")
    assert platform.text("o_wang", "撤回").startswith("已撤回")
    record = db.session.execute(select(StudyCheckin)).scalar_one()
    db.session.refresh(record)
    assert record.minutes == 20 and "党史" not in (record.material or "")
    assert record.updated_at == beijing(2026, 11, 20, 20)


def test_my_record_is_mine_only(app, platform, branch, clock):
    assert "还没有您的学习记录" in platform.text("o_wang", "我的学习记录")
    clock.set(beijing(2026, 11, 20, 21))
    platform.text("o_wang", "今天学习了党章第三章40分钟")
    clock.set(beijing(2026, 11, 21, 21))
    platform.text("o_wang", "学习打卡")
    platform.text("o_li", "今天学习了党史3小时")
    reply = platform.text("o_wang", "这个月学了几次")
    assert reply == ("您的学习记录：本月 2 天、2 次，共 40 分钟；今年 2 天；已连续 2 天。\n最近：\n"
                     "· 11月21日：学习打卡\n· 11月20日：党章第三章，40 分钟")
    assert "党史" not in reply and "180" not in reply


def test_collective_study_counts_from_meeting_attendance(app, platform, branch, clock):
    theme = meetings.add(branch, "theme_day", beijing(2026, 11, 20, 14, 30), clock())
    committee = meetings.add(branch, "committee", beijing(2026, 11, 20, 9), clock())
    db.session.flush()
    zhang = store.members_by_name("张建国")[0]  # not branch.members[0]: unordered on PostgreSQL
    for meeting in (theme, committee):
        attendance.set_status(meeting, zhang, "present", "test", clock())
    attendance.close(theme, clock())
    reply = platform.text("o_zhang", "学习打卡")
    assert "本月参加集中学习 1 次。" in reply  # the 主题党日 counts, the 支委会 does not
    assert "本月参加集中学习" not in platform.text("o_wang", "学习打卡")  # absent: nothing


def test_points_and_ranking_only_when_the_branch_turns_them_on(app, platform, branch, clock):
    platform.text("o_wang", "今天学习了党章第三章40分钟")
    assert "积分" not in platform.text("o_li", "学习了党史1小时，心得：不忘初心")
    assert platform.text("o_wang", "学习排名") == \
        "本支部没有开启学习排名。学习打卡是自愿记录，只给您自己看。"
    branch.settings = {"study": {"points": {"checkin": 1, "per_30_minutes": 1, "reflection": 1}}}
    db.session.commit()
    assert "本月积分 2。" in platform.text("o_wang", "我的学习记录")  # 1 + 40 min
    assert platform.text("o_wang", "学习排名").startswith("本支部没有开启")  # points, no ranking
    branch.settings = {"study": {"points": {"checkin": 1, "per_30_minutes": 1,
                                            "reflection": 1}, "ranking": True}}
    db.session.commit()
    assert platform.text("o_wang", "学习排名") == \
        "本月学习积分排名（本支部已开启）：\n1. 李红梅 4 分\n2. 王志强 2 分"


def test_the_monthly_nudge_rides_in_the_reminder_digest_once(app, platform, branch, fake, clock):
    clock.set(beijing(2026, 11, 24, 9))  # everyone wrote in: customer-service messages
    for openid in OPENIDS.values():
        requests.post(f"{fake.url}/_fake/interact", json={"openid": openid})
        platform.text(openid, "帮助")
    meetings.add(branch, "theme_day", beijing(2026, 11, 27, 14, 30), clock())
    meetings.add(branch, "party_lecture", beijing(2026, 11, 28, 14, 30), clock())
    platform.text("o_li", "学习打卡")

    def texts():
        return {d["openid"]: d["body"]["text"]["content"] if "text" in d["body"]
                else str(d["body"]["data"]) for d in fake.state.delivered}

    run_reminders(beijing(2026, 11, 24, 14, 30), inline=True)
    assert "本月还没有" not in texts()["o_wang"]  # the branch has not asked for it
    branch.settings = {"study": {"nudge": True}}
    db.session.commit()
    run_reminders(beijing(2026, 11, 25, 14, 30), inline=True)  # the 党课 invitation
    sent = texts()
    assert sent["o_wang"].endswith("\n· 本月还没有您的学习记录，有空学一学，发“学习打卡”即可记录（自愿）。")
    assert "学习记录" not in sent["o_li"]  # she studied
    run_reminders(beijing(2026, 11, 26, 20), inline=True)  # the evening before: no second nudge
    wang = store.members_by_name("王志强")[0]
    last = db.session.execute(select(OutboundMessage).where(
        OutboundMessage.member_id == wang.id, OutboundMessage.purpose == "reminder.digest")
        .order_by(OutboundMessage.id.desc()).limit(1)).scalar_one()
    assert "会议提醒" in last.payload["text"] and "学习记录" not in last.payload["text"]
    assert db.session.execute(select(func.count(StudyCheckin.id))).scalar_one() == 1
