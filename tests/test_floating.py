"""A floating member through the real webhook: going out (a dialogue), three months of reports
(by location, in two parts, one missed and chased), a contact logged, the escalations, remote
sign-in, return; and every kind of bad input."""
from __future__ import annotations

import json

import pytest
import requests
from sqlalchemy import func, select

from bot import digest
from bot.meetings import planning as meetings
from bot.cli.floating import group as floating_cli
from bot.digest import member_lines as lines_for
from bot.members import store
from bot.storage.engine import db
from bot.storage.models import Branch, FloatingPeriod, FloatingReport, Member
from tests.helpers import OPENIDS, beijing, bind, deliver




@pytest.fixture
def branch(app, platform, fake, tmp_path, clock):
    bind(platform, tmp_path, *OPENIDS.items())
    for openid in OPENIDS.values():
        requests.post(f"{fake.url}/_fake/interact", json={"openid": openid})
    return db.session.execute(select(Branch)).scalar_one()


def member(name: str) -> Member:
    found = store.members_by_name(name)[0]
    db.session.refresh(found)
    return found


def location(platform, openid: str, lat: str, lon: str, label: str = "") -> str:
    return platform.message(openid, MsgType="location", Location_X=lat, Location_Y=lon,
                            Scale="15", Label=label)


def secretary_digest(clock, branch, name="张建国") -> str:
    found = digest.compose(branch, member(name), [
        i for i in digest.collect(branch, clock())
        if name == "张建国" or member(name).id in i.also_to])
    return digest.text_of(found, clock()) if found.items else ""


def test_going_out_step_by_step_then_a_year_of_life_away(app, platform, branch, fake, clock):
    say = lambda text: platform.text("o_wang", text)  # noqa: E731
    # --- 外出报告, one question at a time -----------------------------------------------------
    assert say("外出报告").startswith("好的，登记外出。请问外出做什么？")
    assert say("去苏州打工") == "预计外出多久，或者哪天回来？（例如：三个月、2027年2月1日；还不确定就说“不确定”）"
    assert "没看懂外出多久" in say("看情况吧")
    assert say("三个月").startswith("外出期间联系电话有变化吗？")
    assert "请发 11 位手机号码" in say("换了")
    done = say("13912345678")
    assert done == ("已登记外出：打工，去苏州，2026年11月21日起，预计2027年2月19日回来。联系人：李红梅。"
                    "外出期间请每月发一次汇报（也可以直接发位置）；支部的会可以远程参加，开会时发“签到”加签到码。")
    wang = member("王志强")
    period = db.session.execute(select(FloatingPeriod).where(
        FloatingPeriod.member_id == wang.id)).scalar_one()
    assert wang.is_floating and (period.reason, period.destination, period.contact_phone) == \
        ("打工", "苏州", "13912345678")
    told = deliver(app, fake)
    assert told["o_zhang"][-1].startswith("王志强报告外出：打工，去苏州，2026年11月21日起")
    assert told["o_li"][-1].startswith("王志强报告外出")  # the contact person
    assert "您已经登记了外出（2026年11月21日起在苏州）" in say("外出报告：去杭州经商半年")

    # --- November: a location message is the report's first part ------------------------------
    reply = location(platform, "o_wang", "31.318", "120.715", "苏州市工业园区星湖街")
    assert reply == "已收到您11月的汇报（第 1 条）。还可以补充：工作和学习情况、是否参加了当地党组织的活动。"
    assert "这个位置看起来不对" in location(platform, "o_wang", "0", "0")
    assert "请说说您现在在哪" in say("汇报")
    # --- December: two parts -------------------------------------------------------------------
    clock.set(beijing(2026, 12, 10))
    assert "还可以补充：是否参加了当地党组织的活动" in say("本月汇报：在苏州，工作正常，每天学习强国")
    assert say("汇报：参加了当地党支部的主题党日") == "已收到您12月的汇报（第 2 条）。本月汇报齐了，谢谢！"
    dec = db.session.execute(select(FloatingReport).where(FloatingReport.month == "2026-12")
                             ).scalar_one()
    assert (dec.place, dec.party_life, dec.parts) == ("苏州", True, 2)
    nov = db.session.execute(select(FloatingReport).where(FloatingReport.month == "2026-11")
                             ).scalar_one()
    assert (str(nov.latitude), nov.place) == ("31.318000", "苏州市工业园区星湖街")  # as sent

    # --- January: missed; chased before the month ends and once after, never more -------------
    assert lines_for(member("王志强"), beijing(2027, 1, 20)) == []
    before = lines_for(member("王志强"), beijing(2027, 1, 29))
    assert before == ["本月的流动党员汇报还没收到：发“汇报：在哪里、工作学习情况、是否参加当地组织生活”即可，"
                      "也可以直接发位置。"]
    assert lines_for(member("王志强"), beijing(2027, 1, 30)) == []
    assert lines_for(member("王志强"), beijing(2027, 2, 3)) == \
        ["上个月的流动党员汇报没有收到，请补一下（发“汇报：……”或位置）。"]
    assert lines_for(member("王志强"), beijing(2027, 2, 5)) == []

    # --- escalation: two months without report or contact --------------------------------------
    clock.set(beijing(2027, 2, 11))
    text = secretary_digest(clock, branch)
    assert "【流动党员未汇报】\n· 刘海波（地点未报）：2 个月没有汇报也没有联系，联系人 李红梅\n" \
           "· 王志强（苏州）：2 个月没有汇报也没有联系，联系人 李红梅" in text  # 刘海波: the roster's
    assert "王志强（苏州）：2 个月" in secretary_digest(clock, branch, "李红梅")  # contact person
    overview = json.loads(app.test_cli_runner().invoke(floating_cli, ["list", "--json"]).output)
    wang = {"name": "王志强", "branch": "第一党支部", "reason": "打工", "where": "苏州",
            "since": "2026-11-21", "expected_return": "2027-02-19", "contact_person": "李红梅",
            "last_report": "2026-12-10", "last_contact": None, "overdue": True, "months_away": 2}
    liu = {**wang, "name": "刘海波", "reason": None, "where": None, "expected_return": None,
           "last_report": None}  # marked 流动党员 in the roster, where and why not said yet
    assert sorted(overview, key=lambda r: r["name"]) == [liu, wang]
    assert "⚠ 超过 2 个月没有汇报或联系" in platform.text("o_zhang", "流动党员情况")
    assert "只有支部书记" in platform.text("o_liu", "流动党员情况")
    # the contact person logs a contact; a member who is neither may not
    assert "只有支部书记" in platform.text("o_liu", "联系了王志强，一切正常")
    assert platform.text("o_li", "联系了王志强，在苏州一切正常") == "已记录：2027年2月11日联系了王志强。"
    assert "王志强（苏州）" not in secretary_digest(clock, branch)

    # --- remote sign-in ------------------------------------------------------------------------
    theme = meetings.add(branch, "theme_day", beijing(2027, 2, 12, 14, 30), clock())
    db.session.commit()
    clock.set(beijing(2027, 2, 12, 14, 25))
    assert say(f"签到 {theme.checkin_code}").startswith("远程签到成功")

    # --- six months: lost contact, and transfer suggested --------------------------------------
    clock.set(beijing(2027, 8, 12))
    text = secretary_digest(clock, branch)
    assert "【⚠ 流动党员失去联系】\n· 刘海波（地点未报）：已 8 个月没有任何联系" in text
    assert "\n· 王志强（苏州）：已 6 个月没有任何联系" in text
    assert "刘海波：2026年11月21日起" not in text  # no transfer suggested where the place is unknown
    assert "【建议转移组织关系】\n· 王志强：2026年11月21日起在苏州已满 8 个月" in text
    assert member("王志强").status == "probationary"  # nothing decided by the bot
    app.test_cli_runner().invoke(floating_cli, ["contact", "王志强", "--note", "电话联系，仍在苏州"])
    assert "王志强（苏州）：已" not in secretary_digest(clock, branch)

    # --- return --------------------------------------------------------------------------------
    assert say("我回来了") == "欢迎回来！已登记返回：2027年8月12日（2026年11月21日起在苏州）。"
    assert not member("王志强").is_floating
    assert "王志强报告返回" in deliver(app, fake)["o_zhang"][-1]
    assert say("我回来了") == "没有您的外出登记，不用报告返回。如有疑问请联系支部书记张建国。"
    assert "请先发“外出报告”" in say("汇报：在家")
    assert "王志强" not in platform.text("o_zhang", "流动党员情况")  # (刘海波 still away)


def test_a_dialogue_cancelled_or_abandoned_saves_nothing(app, platform, branch, clock):
    assert "外出做什么" in platform.text("o_li", "外出报告")
    assert platform.text("o_li", "取消") == "好的，外出报告没有登记。"
    assert "外出做什么" not in platform.text("o_li", "三个月")  # not in a dialogue any more
    assert "去哪里" in platform.text("o_li", "外出报告：经商")
    clock.advance(minutes=31)  # abandoned halfway: it expires
    assert "已登记外出" not in platform.text("o_li", "杭州")
    assert db.session.execute(select(func.count(FloatingPeriod.id)).where(
        FloatingPeriod.source == "chat")).scalar_one() == 0  # (the roster's 刘海波 has one)
    assert not member("李红梅").is_floating


def test_reports_and_returns_from_members_not_away(app, platform, branch, clock):
    assert "请先发“外出报告”" in platform.text("o_zhang", "本月汇报：在北京，工作正常")
    assert location(platform, "o_zhang", "39.9", "116.4", "北京") == "已收到您的位置：北京。"
    # the 书记 is never told to contact the 书记
    assert platform.text("o_zhang", "返回报告") == \
        "没有您的外出登记，不用报告返回。如有疑问请联系组织委员李红梅。"
    assert platform.text("o_li", "联系了张建国，一切正常") == "张建国目前没有外出登记。"
    assert platform.text("o_li", "联系了赵六，一切正常") == "本支部没有叫“赵六”的党员。"
    assert db.session.execute(select(func.count(FloatingReport.id))).scalar_one() == 0


def test_going_out_in_one_message(app, platform, branch, clock):
    reply = platform.text("o_zhang", "外出报告：去深圳务工半年，电话13800000000")
    assert reply.startswith("已登记外出：务工，去深圳，2026年11月21日起，预计2027年5月22日回来。")
    assert "联系人：李红梅" in reply


def test_the_report_cadence_is_a_branch_setting(app, platform, branch, clock):
    branch.settings = {"floating": {"report_months": 2}}
    db.session.commit()
    platform.text("o_zhang", "外出报告：去深圳务工半年，电话没变13800138001")
    clock.set(beijing(2026, 12, 10))
    platform.text("o_zhang", "汇报：在深圳，一切正常")
    assert lines_for(member("张建国"), beijing(2027, 1, 29)) == []  # December's report covers it
    assert lines_for(member("张建国"), beijing(2027, 2, 26)) != []  # two months without
