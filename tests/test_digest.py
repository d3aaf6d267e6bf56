"""The secretary's daily digest: when it goes, to whom, what it says, and only when it says
something new; the 3- and 5-month thresholds on organisation life."""
from __future__ import annotations

from datetime import date, datetime

import pytest
import requests
from sqlalchemy import select

from bot import digest
from bot.jobs.meetings import run_reminders
from bot.meetings import attendance
from bot.meetings import planning as meetings
from bot.cli.digest import group as digest_group
from bot.digest.core import Item, contributes
from bot.jobs.digest import send_digests
from bot.members import rules as member_rules
from bot.members import store
from bot.storage.engine import db
from bot.storage.models import Branch, Member, OutboundMessage
from tests.helpers import OPENIDS, beijing, bind




@pytest.fixture
def branch(app, platform, fake, tmp_path):
    """The test roster, everyone bound and inside the 48-hour window; no meetings."""
    bind(platform, tmp_path, *OPENIDS.items())
    for openid in OPENIDS.values():
        requests.post(f"{fake.url}/_fake/interact", json={"openid": openid})
    found = db.session.execute(select(Branch)).scalar_one()
    meetings.start_branch(found, date(2026, 6, 1))  # its records are kept here since June
    db.session.commit()
    return found


def member(name: str) -> Member:
    return store.members_by_name(name)[0]


def active(platform, fake, openid: str = "o_zhang") -> None:
    """The member writes to the account now: inside the 48-hour window again."""
    requests.post(f"{fake.url}/_fake/interact", json={"openid": openid})
    platform.text(openid, "帮助")


def to_secretary(fake) -> list[str]:
    """Texts the stand-in platform delivered to the secretary (张建国)."""
    return [d["body"].get("text", {}).get("content") or str(d["body"]["data"])
            for d in fake.state.delivered if d["openid"] == "o_zhang"]


def test_nothing_to_say_sends_nothing(app, branch, fake, clock):
    clock.set(beijing(2026, 11, 22, 8, 30))
    assert [r for _, r in digest.run(clock())] == ["nothing new"]
    assert to_secretary(fake) == []
    assert db.session.execute(select(OutboundMessage).where(
        OutboundMessage.purpose == "digest.message")).first() is None


def test_once_a_day_at_half_past_eight_with_pending_leave_until_decided(app, platform, branch,
                                                                        fake, clock):
    meeting = meetings.add(branch, "theme_day", beijing(2026, 11, 27, 14, 30), clock())
    db.session.commit()
    clock.set(beijing(2026, 11, 21, 12))
    assert "已收到" in platform.text("o_wang", "主题党日请假，孩子生病")
    clock.set(beijing(2026, 11, 22, 8, 29))
    assert digest.run(clock()) == []  # not yet time
    clock.set(beijing(2026, 11, 22, 8, 30))
    assert "sent via custom" in digest.run(clock())[0][1]
    text = to_secretary(fake)[-1]
    assert text.startswith("张建国同志，早上好。第一党支部今天（11月22日）需要您关注的事")
    assert "【待批请假】1 条" in text and "王志强：主题党日（11月27日（周五）14:30），原因：孩子生病" in text
    clock.set(beijing(2026, 11, 22, 9, 0))
    assert digest.run(clock()) == []  # once a day
    assert send_digests() == "0 sent of 0"
    assert len(to_secretary(fake)) == 1

    clock.set(beijing(2026, 11, 23, 8, 40))  # still pending: it needs the secretary, so again
    assert send_digests() == "1 sent of 1"
    assert "孩子生病" in to_secretary(fake)[-1]

    number = db.session.execute(select(OutboundMessage.payload).where(
        OutboundMessage.purpose == "digest.message")).scalars().first()["values"]["items"]
    assert number == [f"leave:{attendance.row_for(meeting, member('王志强'), clock()).id}"]
    row = attendance.row_for(meeting, member("王志强"), clock())
    assert "已批准" in platform.text("o_zhang", f"批准 {row.id}")
    clock.set(beijing(2026, 11, 24, 8, 30))
    assert [r for _, r in digest.run(clock())] == ["nothing new"]  # decided: nothing to say


def test_todays_and_tomorrows_meetings_with_codes_and_rsvp_counts(app, platform, branch, fake,
                                                                  clock):
    today = meetings.add(branch, "committee", beijing(2026, 11, 22, 15), clock())
    tomorrow = meetings.add(branch, "theme_day", beijing(2026, 11, 23, 14, 30), clock())
    meetings.add(branch, "party_lecture", beijing(2026, 11, 25, 9), clock())  # not yet
    db.session.commit()
    clock.set(beijing(2026, 11, 21, 20))
    platform.text("o_li", "主题党日参加")
    platform.text("o_wang", "主题党日请假，值班")
    platform.text("o_liu", "11月23日的会请假，在外地")
    assert "已批准" in platform.text("o_zhang", "批准 %d" % attendance.row_for(
        tomorrow, member("刘海波"), clock()).id)
    clock.set(beijing(2026, 11, 22, 8, 30))
    digest.run(clock())
    text = to_secretary(fake)[-1]
    assert f"【今天的会】\n· 支委会（11月22日（周日）15:00），签到码 {today.checkin_code}：" \
           "应到 2 人，回复参加 0，请假 0（待批 0），未回复 2" in text
    assert "【明天的会】\n· 主题党日（11月23日（周一）14:30）：应到 4 人，回复参加 1，" \
           "请假 2（待批 1），未回复 1" in text
    assert "党课" not in text


def test_unreachable_members_after_43004_and_members_not_bound(app, platform, branch, fake, clock,
                                                              tmp_path):
    meetings.add(branch, "theme_day", beijing(2026, 11, 22, 9), clock())
    db.session.commit()
    requests.post(f"{fake.url}/_fake/fail", json={"errcode": 43004, "openid": "o_liu"})
    clock.set(beijing(2026, 11, 21, 14, 30))
    run_reminders(clock(), inline=True)
    assert member("刘海波").reachable is False
    from bot.members.roster import import_file
    from tests.helpers import ROSTER, write_roster

    import_file(write_roster(tmp_path / "more.csv", [*ROSTER,
                "赵新华,13800138009,第一党支部,第一党小组,正式党员,,在职,5000,否"]), clock(),
                "机关党委")
    clock.set(beijing(2026, 11, 22, 8, 30))
    digest.run(clock())
    text = to_secretary(fake)[-1]
    assert "【联系不上】\n· 刘海波（138****8006）已取消关注公众号，提醒发不到，请电话或当面联系" in text
    assert "尚未绑定微信 1 人：赵新华" in text
    # the next day nothing is new: no digest, though both are still true
    clock.set(beijing(2026, 11, 23, 8, 30))
    assert [r for _, r in digest.run(clock())] == ["nothing new"]
    # a new item brings the digest back, with the standing ones alongside
    requests.post(f"{fake.url}/_fake/unfollow", json={"openid": "o_wang"})
    platform.event("o_wang", "unsubscribe")
    clock.set(beijing(2026, 11, 24, 8, 30))
    active(platform, fake)
    digest.run(clock())
    text = to_secretary(fake)[-1]
    assert "王志强（138****8003）" in text and "刘海波（138****8006）" in text and "赵新华" in text


def test_quiet_hours_branch_time_roles_and_catch_up(app, branch, fake, clock):
    branch.settings = {"digest": {"at": "07:00", "roles": ["organization"]}}
    meetings.add(branch, "theme_day", beijing(2026, 11, 23, 14, 30), clock())
    db.session.commit()
    clock.set(beijing(2026, 11, 22, 7, 30))  # inside quiet hours (until 08:00): wait
    assert digest.run(clock()) == []
    clock.set(beijing(2026, 11, 22, 19, 0))  # the system was down all day: catch up
    done = digest.run(clock())
    assert [(d.recipient.name, r) for d, r in done] == [("李红梅", "sent via custom")]
    clock.set(beijing(2026, 11, 22, 21, 45))
    assert digest.run(clock()) == []


def test_outside_the_window_a_template_with_a_short_summary(app, platform, branch, fake, clock):
    meetings.add(branch, "theme_day", beijing(2026, 11, 27, 14, 30), clock())
    db.session.commit()
    platform.text("o_wang", "主题党日请假，出差")
    clock.set(beijing(2026, 11, 26, 8, 30))  # the secretary last wrote on the 21st
    assert digest.run(clock())[0][1] == "sent via template"
    sent = [d for d in fake.state.delivered if d["openid"] == "o_zhang"][-1]["body"]["data"]
    assert sent["thing1"]["value"] == "支部每日提醒"
    assert sent["thing2"]["value"] == "待批请假1条、明天会议1条"


def test_a_failed_send_is_tried_again_on_the_next_run(app, platform, branch, fake, clock):
    meetings.add(branch, "theme_day", beijing(2026, 11, 27, 14, 30), clock())
    db.session.commit()
    platform.text("o_wang", "主题党日请假，出差")
    requests.post(f"{fake.url}/_fake/fail", json={"errcode": 45011, "openid": "o_zhang"})
    clock.set(beijing(2026, 11, 22, 8, 30))
    assert digest.run(clock())[0][1] == "retry later (45011)"
    clock.set(beijing(2026, 11, 22, 8, 40))
    assert digest.run(clock())[0][1] == "sent via custom"
    clock.set(beijing(2026, 11, 22, 8, 50))
    assert digest.run(clock()) == []


def test_topics_contribute_lines_in_one_place(app, branch, fake, clock):
    @contributes(99)
    def extra(found_branch, now):
        return [Item("absence_notice", "test:extra", f"来自 {found_branch.name} 的一行")]

    try:
        clock.set(beijing(2026, 11, 22, 8, 30))
        digest.run(clock())
        assert "【连续缺席】\n· 来自 第一党支部 的一行" in to_secretary(fake)[-1]
    finally:
        from bot.digest import core

        core.SECRETARY._sources.remove((99, extra))


def test_cli_dry_run_prints_the_digest_and_sends_nothing(app, platform, branch, fake, clock):
    meetings.add(branch, "theme_day", beijing(2026, 11, 27, 14, 30), clock())
    db.session.commit()
    platform.text("o_wang", "主题党日请假，出差")
    before = len(fake.state.delivered)
    result = app.test_cli_runner().invoke(digest_group, [
        "run", "--at", "2026-11-22 08:30", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "== 第一党支部 张建国：would send" in result.output
    assert "【待批请假】1 条" in result.output
    assert len(fake.state.delivered) == before
    result = app.test_cli_runner().invoke(digest_group, ["run", "--at", "2026-11-22 07:00"])
    assert "现在没有到时间的每日提醒" in result.output
    bad = app.test_cli_runner().invoke(digest_group, ["run", "--at", "tomorrow"])
    assert bad.exit_code == 2 and "时间格式" in bad.output


# --- thresholds -------------------------------------------------------------------------------

def test_consecutive_months_rule():
    assert member_rules.missed_organisation_life([]) is None
    assert member_rules.missed_organisation_life(["absent", "excused"]) is True
    assert member_rules.missed_organisation_life(["absent", "remote"]) is False
    assert member_rules.missed_organisation_life(["excused"]) is False
    months = {(2026, 7): False, (2026, 8): True, (2026, 9): None, (2026, 10): True,
              (2026, 11): True}
    assert member_rules.consecutive(months) == (3, (2026, 8))  # a month with nothing due is skipped
    assert member_rules.consecutive({**months, (2026, 11): False}) == (0, None)


def held(branch, when: datetime, present=(), excused=()) -> None:
    """A theme day held and closed at `when`; the named members present / on approved leave."""
    meeting = meetings.add(branch, "theme_day", when, when)
    db.session.flush()
    for name in present:
        attendance.set_status(meeting, member(name), "present", "test", when)
    for name in excused:
        attendance.set_status(meeting, member(name), "excused", "test", when)
    attendance.close(meeting, when)


def test_three_months_in_the_digest_five_months_warn_and_nobody_changed(app, platform, branch,
                                                                        fake, clock):
    everyone = ("张建国", "李红梅")
    held(branch, beijing(2026, 6, 12, 14), present=(*everyone, "王志强", "刘海波"))
    held(branch, beijing(2026, 7, 10, 14), present=everyone, excused=("刘海波",))
    held(branch, beijing(2026, 8, 14, 14), present=everyone)
    clock.set(beijing(2026, 9, 1, 8, 30))  # 王志强 2 months, 刘海波 1 (the excused July breaks)
    assert "连续" not in digest.text_of(digest.compose(branch, member("张建国"), digest.collect(
        branch, clock())), clock())

    held(branch, beijing(2026, 9, 11, 14), present=everyone)
    clock.set(beijing(2026, 9, 12, 8, 30))
    digest.run(clock())
    text = to_secretary(fake)[-1]
    assert "【连续缺席】\n· 王志强：自2026年7月起已连续 3 个月无故未参加组织生活，建议谈心谈话了解情况" \
        in text
    assert "刘海波" not in text

    for month in (10, 11):
        held(branch, beijing(2026, month, 9, 14), present=everyone)
    clock.set(beijing(2026, 11, 10, 8, 30))
    digest.run(clock())
    text = to_secretary(fake)[-1]
    assert "【⚠ 临近六个月规定】\n· 王志强：自2026年7月起已连续 5 个月无故未参加组织生活。" \
           "按党章，连续6个月不参加党的组织生活又无正当理由的，视为自行脱党" in text
    assert "本系统不会改变任何人的党籍状态" in text
    assert "刘海波：自2026年8月起已连续 4 个月" in text
    wang = member("王志强")
    assert (wang.status, wang.reachable) == ("probationary", True)  # the bot decided nothing

    clock.set(beijing(2026, 11, 11, 8, 30))  # the same months: not news, no digest
    assert [r for _, r in digest.run(clock())] == ["nothing new"]

    held(branch, beijing(2026, 12, 11, 14), present=(*everyone, "刘海波"))  # 刘海波 came back
    clock.set(beijing(2026, 12, 12, 8, 30))
    active(platform, fake)
    digest.run(clock())
    text = to_secretary(fake)[-1]
    assert "王志强：自2026年7月起已连续 6 个月" in text and "刘海波" not in text


def test_thresholds_are_a_branch_setting(app, branch, fake, clock):
    branch.settings = {"thresholds": {"notice": 2, "warn": 3}}
    for month in (9, 10):
        held(branch, beijing(2026, month, 11, 14), present=("张建国", "李红梅", "刘海波"))
    clock.set(beijing(2026, 10, 12, 8, 30))
    digest.run(clock())
    assert "王志强：自2026年9月起已连续 2 个月" in to_secretary(fake)[-1]


def test_a_run_that_died_while_deciding_does_not_lose_the_day(app, platform, branch, fake,
                                                              clock):
    from bot.digest import core

    meetings.add(branch, "theme_day", beijing(2026, 11, 27, 14, 30), clock())
    db.session.commit()
    platform.text("o_wang", "主题党日请假，出差")
    clock.set(beijing(2026, 11, 22, 8, 30))
    key = core.idempotency_key(member("张建国"), clock())
    redis = app.extensions["redis"]
    redis.set(core.LOCK + key, "1", ex=300)  # another run is deciding (or died doing so)
    assert digest.run(clock()) == []
    redis.delete(core.LOCK + key)  # its lock expired
    clock.set(beijing(2026, 11, 22, 8, 40))
    assert digest.run(clock())[0][1] == "sent via custom"
    # it died after the platform took the digest but before noting the day as done
    for done in redis.keys(core.DONE + "*"):  # neither its day nor its branch marked done
        redis.delete(done)
    clock.set(beijing(2026, 11, 22, 8, 50))
    assert [r for _, r in digest.run(clock())] == ["sent via custom"]  # the record, not a resend
    assert len(to_secretary(fake)) == 1
