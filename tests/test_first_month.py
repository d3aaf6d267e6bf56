"""A branch's first month: it starts the day its roster is first imported (or `branches start`);
nothing before is planned, closed or counted; a meeting held before can be entered afterwards
(补录) and is 未记录 where nobody marked it; members who join later count from joining; the
roster's 流动党员 report at once; sign-in says when it opens and when it closed; reminders spare
whoever is present or excused; study repeats are the same text, never the same minutes."""
from __future__ import annotations

import json
from datetime import date

import pytest
import requests
from openpyxl import load_workbook
from sqlalchemy import select

from bot import digest
from bot.cli.exports import group as export_cli
from bot.cli.floating import group as floating_cli
from bot.cli.meetings import group as meetings_cli
from bot.cli.meetings import report_group, reminders_group
from bot.cli.members import branches_group
from bot.meetings import attendance
from bot.meetings import planning as meetings
from bot.members import store
from bot.members.roster import import_file
from bot.storage.engine import db
from bot.storage.models import Branch, FloatingPeriod, Meeting, Member, Reminder, StudyCheckin
from tests.helpers import ROSTER, ROSTER_HEADER, beijing, bind, write_roster

FOUR = (("张建国", "o_zhang"), ("李红梅", "o_li"), ("王志强", "o_wang"), ("刘海波", "o_liu"))


@pytest.fixture
def branch(app, platform, fake, tmp_path, clock):
    """第一党支部, its roster first imported on Saturday 21 November 2026 at 10:00."""
    bind(platform, tmp_path, *FOUR)
    return db.session.execute(select(Branch)).scalar_one()


def cli(app, group, *args):
    return app.test_cli_runner().invoke(group, [*args])


def quarter(app) -> dict:
    out = cli(app, report_group, "compliance", "--quarter", "2026-Q4", "--json")
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)[0]
    return {(r["kind"], r["period"], r["group"]): r["status"] for r in data["requirements"]} | \
        {"missing": data["missing"], "unrecorded": data["unrecorded"]}


def member(name: str) -> Member:
    found = store.members_by_name(name)[0]
    db.session.refresh(found)
    return found


def shown(app, meeting_id: int) -> dict:
    out = cli(app, meetings_cli, "show", str(meeting_id), "--json")
    return {m["name"]: m["attendance"] for m in json.loads(out.output)["members"]}


def test_a_branch_started_mid_month_plans_and_counts_nothing_before(app, branch, clock):
    assert branch.started_on == date(2026, 11, 21)
    planned = cli(app, meetings_cli, "plan", "--month", "2026-11")
    assert "新排 0 次会议" in planned.output  # November's meetings all fell before the 21st
    assert "新排 6 次会议" in cli(app, meetings_cli, "plan", "--month", "2026-12").output
    found = quarter(app)
    # October's and November's meetings may have been held before: 未记录, never 未开
    assert found[("theme_day", "2026-10", None)] == "unrecorded"
    assert found[("committee", "2026-11", None)] == "unrecorded"
    assert found[("party_lecture", "2026-Q4", None)] == "unrecorded"  # its date passed unplanned
    assert found[("branch_assembly", "2026-Q4", None)] == "upcoming"  # 11 December, planned
    assert found[("theme_day", "2026-12", None)] == "upcoming"
    assert not any("10月" in item or "11月" in item for item in found["missing"])
    assert "10月主题党日" in found["unrecorded"]
    text = cli(app, report_group, "compliance", "--quarter", "2026-Q4").output
    assert "✗ 11月支委会" not in text and "○ 11月支委会：未记录（本支部从 11月21日 起" in text
    # the December meetings close with real absences; nothing before the 21st is closed at all
    clock.set(beijing(2026, 12, 31, 23))
    assert attendance.close_finished(clock()) == 6
    db.session.commit()
    closed = db.session.execute(select(Meeting).where(Meeting.status == "closed")).scalars()
    assert all(m.starts_at >= beijing(2026, 12, 1, 0) for m in closed)


def test_a_meeting_held_before_the_start_is_entered_afterwards(app, branch, platform, clock,
                                                               tmp_path):
    refused = cli(app, meetings_cli, "add", "--branch", "第一党支部", "--kind", "theme_day",
                  "--at", "2026-11-06 14:30")
    assert refused.exit_code == 2 and "已经过去" in refused.output and "--held" in refused.output
    future = cli(app, meetings_cli, "add", "--branch", "第一党支部", "--kind", "theme_day",
                 "--at", "2026-12-30 14:30", "--held")
    assert future.exit_code == 2 and "还没到" in future.output
    assert db.session.execute(select(Meeting)).first() is None  # neither made a meeting

    added = cli(app, meetings_cli, "add", "--branch", "第一党支部", "--kind", "theme_day",
                "--at", "2026-11-06 14:30", "--held", "--topic", "学习党章")
    assert added.exit_code == 0 and "已补录" in added.output, added.output
    meeting = db.session.execute(select(Meeting)).scalar_one()
    assert (meeting.status, meeting.backfilled) == ("closed", True)
    assert set(shown(app, meeting.id).values()) == {"unrecorded"}  # nobody marked yet
    for name, status in (("张建国", "present"), ("李红梅", "excused"), ("王志强", "absent")):
        marked = cli(app, meetings_cli, "mark", str(meeting.id), "--member", name, "--status",
                     status, "--reason", "补录")
        assert marked.exit_code == 0, marked.output
    assert shown(app, meeting.id) == {"张建国": "present", "李红梅": "excused", "王志强": "absent",
                                      "刘海波": "unrecorded"}
    listed = json.loads(cli(app, meetings_cli, "list", "--month", "2026-11", "--json").output)
    assert [(m["status"], m["backfilled"]) for m in listed] == [("closed", True)]
    assert quarter(app)[("theme_day", "2026-11", None)] == "held"
    # the members see it as it was entered: 刘海波's is 未记录, not 缺席
    assert "未记录 1 次" in platform.text("o_liu", "我这个月参加了几次会")
    assert "缺席 1 次" in platform.text("o_wang", "我这个月参加了几次会")
    answers = platform.text("o_zhang", "11月6日主题党日到会情况")
    assert "未记录 1 人：刘海波" in answers and "缺席 1 人：王志强" in answers
    # the month's workbook: 未记录 in his cell, not counted as due nor as absent
    out = tmp_path / "nov.xlsx"
    assert cli(app, export_cli, "attendance", "--month", "2026-11", "--out", str(out)
               ).exit_code == 0
    sheet = load_workbook(out)["考勤表"]
    table = {row[0].value: [c.value for c in row] for row in sheet.iter_rows(min_row=3)}
    assert table["刘海波"][4] == "未记录" and table["刘海波"][-4:] == [0, 0, 0, 0]
    assert table["王志强"][4] == "缺席" and table["王志强"][-4:] == [1, 0, 0, 1]
    assert table["应到"][4] == 3 and table["出席率"][4] == pytest.approx(1 / 3)


def test_false_absences_from_before_the_start_no_longer_count(app, branch, clock):
    """A branch set up before start dates existed: its October and November were planned and
    closed with everyone absent. Its start date is what stops them counting."""
    branch.settings = {"thresholds": {"notice": 2}}
    meetings.start_branch(branch, date(2026, 9, 1))  # as if the whole autumn were kept here
    for month in (10, 11):
        meetings.plan_month(branch, 2026, month, clock())
    attendance.close_finished(clock())
    db.session.commit()

    def absence_lines():
        found = digest.collect(branch, clock())
        return [item.text for item in found if item.section.startswith("absence")]

    assert any("王志强：自2026年10月起已连续 2 个月" in line for line in absence_lines())
    started = cli(app, branches_group, "start", "第一党支部", "--on", "2026-11-21")
    assert started.exit_code == 0 and "2026-11-21" in started.output, started.output
    assert absence_lines() == []
    assert quarter(app)[("theme_day", "2026-11", None)] == "unrecorded"
    listed = json.loads(cli(app, meetings_cli, "list", "--month", "2026-10", "--json").output)
    assert {m["status"] for m in listed} == {"unrecorded"}
    assert cli(app, branches_group, "start", "第一党支部", "--on", "21/11").exit_code == 2
    assert cli(app, branches_group, "start", "没有的支部", "--on", "2026-11-21").exit_code == 2


def test_moving_the_start_later_withdraws_unanswered_meetings_before_it(app, branch, platform,
                                                                        clock):
    meetings.plan_month(branch, 2026, 12, clock())
    db.session.commit()
    assert "已报名" in platform.text("o_zhang", "12月7日的支委会我参加")  # answered: kept
    started = cli(app, branches_group, "start", "第一党支部", "--on", "2026-12-08")
    assert "撤下了此前误排、无人回复的 1 次会" in started.output, started.output
    kinds = {m.kind for m in db.session.execute(select(Meeting)).scalars()}
    assert "theme_day" not in kinds and "committee" in kinds  # answered: kept (and not counted)


def test_a_member_who_joins_later_counts_from_joining(app, branch, tmp_path, clock):
    meetings.start_branch(branch, date(2026, 11, 1))
    meetings.plan_month(branch, 2026, 11, clock())
    db.session.commit()
    clock.set(beijing(2026, 11, 25, 9))
    rows = [*ROSTER, "陈晓燕,13800138009,第一党支部,第一党小组,正式党员,,在职,3000,否,",
            "赵磊,13800138010,第一党支部,第二党小组,正式党员,,在职,3000,否,2026-11-10"]
    report = import_file(write_roster(tmp_path / "later.csv", rows, ROSTER_HEADER + ",转入日期"),
                         clock(), "机关党委")
    db.session.commit()
    assert (report.created, report.errors) == (2, [])
    assert member("陈晓燕").joined_on == date(2026, 11, 25)
    assert member("赵磊").joined_on == date(2026, 11, 10)
    assert member("张建国").joined_on is None  # from the branch's start
    theme = db.session.execute(select(Meeting).where(Meeting.kind == "theme_day")).scalar_one()
    group = db.session.execute(select(Meeting).where(
        Meeting.kind == "group", Meeting.group_key == member("赵磊").group_id)).scalar_one()
    assert "陈晓燕" not in shown(app, theme.id) and "赵磊" not in shown(app, theme.id)  # 6 Nov
    assert "赵磊" in shown(app, group.id)  # 11 November: he had joined on the 10th
    counts = attendance.close(theme, clock())
    assert counts["due"] == 4
    db.session.commit()
    out = tmp_path / "nov.xlsx"
    assert cli(app, export_cli, "attendance", "--month", "2026-11", "--out", str(out)
               ).exit_code == 0
    sheet = load_workbook(out)["考勤表"]
    heads = [c.value for c in sheet[2]]
    column = next(i for i, h in enumerate(heads) if h and "主题党日" in str(h))
    table = {row[0].value: [c.value for c in row] for row in sheet.iter_rows(min_row=3)}
    assert table["陈晓燕"][column] == "—" and table["赵磊"][column] == "—"  # not yet members
    assert table["王志强"][column] == "缺席"
    bad = import_file(write_roster(tmp_path / "bad.csv", [
        "孙明,13800138011,第一党支部,第一党小组,正式党员,,在职,3000,否,上个月"],
        ROSTER_HEADER + ",转入日期"), clock(), "机关党委")
    assert bad.errors and "转入日期“上个月”不是日期" in bad.errors[0][1]


def test_a_floating_member_from_the_roster_reports_and_is_asked_what_is_missing(
        app, branch, platform, tmp_path, clock):
    liu = member("刘海波")  # 是否流动党员: 是, in the test roster
    period = db.session.execute(select(FloatingPeriod).where(
        FloatingPeriod.member_id == liu.id)).scalar_one()
    assert (period.source, period.left_on, period.destination) == ("roster", date(2026, 11, 21),
                                                                   None)
    listed = json.loads(cli(app, floating_cli, "list", "--json").output)
    assert [(r["name"], r["where"], r["since"]) for r in listed] == [("刘海波", None, "2026-11-21")]
    first = platform.text("o_liu", "下次开会是什么时候")
    assert "名册上登记您是流动党员" in first and "外出地点、外出原因" in first
    assert "名册上登记您是流动党员" not in platform.text("o_liu", "帮助")  # asked once, not nagged
    reply = platform.text("o_liu", "本月汇报：在苏州，工地上干活，每天学习强国")
    assert reply.startswith("已收到您11月的汇报") and "没有外出登记" not in reply
    db.session.refresh(period)
    assert period.destination == "苏州"
    filled = platform.text("o_liu", "外出报告：务工")
    assert "您已经登记了外出" not in filled
    while "已登记外出" not in filled:  # the rest of the questions: how long, the phone
        filled = platform.text("o_liu", "不确定" if "多久" in filled else "没变")
    assert "务工，去苏州，2026年11月21日起" in filled
    periods = db.session.execute(select(FloatingPeriod).where(
        FloatingPeriod.member_id == liu.id)).scalars().all()
    assert [(p.id, p.reason, p.destination) for p in periods] == [(period.id, "务工", "苏州")]
    # a roster's 外出日期 is the day away; re-importing keeps the one period, and what was said
    rows = [r for r in ROSTER if not r.startswith("刘海波")] + [
        "刘海波,13800138006,第一党支部,第二党小组,正式党员,,农民,,是,2026年10月8日"]
    import_file(write_roster(tmp_path / "again.csv", rows, ROSTER_HEADER + ",外出日期"), clock(),
                "机关党委")
    db.session.commit()
    assert db.session.get(FloatingPeriod, period.id).left_on == date(2026, 10, 8)
    assert db.session.execute(select(FloatingPeriod).where(
        FloatingPeriod.member_id == liu.id)).scalar_one().destination == "苏州"


def test_the_roster_date_of_leaving(app, tmp_path, clock):
    rows = [*ROSTER[:3], "刘海波,13800138006,第一党支部,第二党小组,正式党员,,农民,,是,2026/10/8"]
    import_file(write_roster(tmp_path / "r.csv", rows, ROSTER_HEADER + ",外出日期"), clock(),
                "机关党委")
    db.session.commit()
    period = db.session.execute(select(FloatingPeriod)).scalar_one()
    assert (period.left_on, period.source) == (date(2026, 10, 8), "roster")


def test_sign_in_before_the_window_after_it_and_with_nothing_near(app, branch, platform, clock):
    theme = meetings.add(branch, "theme_day", beijing(2026, 11, 27, 14, 30), clock())
    db.session.commit()
    code = theme.checkin_code
    wrong = "0000" if code != "0000" else "9999"
    # days ahead: the right code is told when it opens, not that it is wrong
    early = platform.text("o_wang", f"签到 {code}")
    assert "签到码不对" not in early and "14:00 开始" in early
    nothing = platform.text("o_wang", f"签到 {wrong}")
    assert "签到码不对" not in nothing and "现在没有正在签到的会议" in nothing
    assert "11月27日" in nothing and "14:00" in nothing  # the next one, and when it opens
    clock.set(beijing(2026, 11, 27, 14, 10))
    assert "签到码不对" in platform.text("o_wang", f"签到 {wrong}")  # only while it is open
    clock.set(beijing(2026, 11, 27, 15, 30))
    late = platform.text("o_wang", f"签到 {code}")
    assert "已在" in late and "结束" in late and "补登" in late and "张建国" in late
    late_wrong = platform.text("o_wang", f"签到 {wrong}")
    assert "签到码不对" not in late_wrong and "补登" in late_wrong
    clock.set(beijing(2026, 11, 29, 10))
    assert "现在没有正在签到的会议" in platform.text("o_wang", f"签到 {wrong}")


def test_no_reminder_to_whoever_is_present_or_excused(app, branch, platform, fake, clock):
    for openid in ("o_zhang", "o_li", "o_wang", "o_liu"):
        requests.post(f"{fake.url}/_fake/interact", json={"openid": openid})
    branch.settings = {"reminders": {"cadence": {"theme_day": ["10m"]}},
                       "attendance": {"checkin_before": 60}}
    theme = meetings.add(branch, "theme_day", beijing(2026, 11, 27, 14, 30), clock())
    db.session.commit()
    clock.set(beijing(2026, 11, 27, 14, 0))
    assert "签到成功" in platform.text("o_wang", f"签到 {theme.checkin_code}")
    attendance.mark(theme, member("李红梅"), "excused", "住院", "cli", clock())  # 补登 by hand
    db.session.commit()
    out = cli(app, reminders_group, "run", "--at", "2026-11-27 14:20")
    assert out.exit_code == 0, out.output
    sent = sorted(line.split("\t")[0] for line in out.output.splitlines())
    assert sent == ["刘海波", "张建国"]
    notes = {member_id: note for member_id, note in db.session.execute(
        select(Reminder.member_id, Reminder.note).where(Reminder.status == "skipped"))}
    assert notes == {member("王志强").id: "answered", member("李红梅").id: "answered"}


def test_study_repeats_are_the_same_text_never_the_same_minutes(app, branch, platform, clock):
    say = lambda text: platform.text("o_wang", text)  # noqa: E731
    assert "已记录" in say("今天学习了党史6分钟")
    assert "已补充" in say("今天又学习了党史12分钟")
    third = say("今天学习了党史18分钟")  # equals the running total, but it is another text
    assert "已经记过了" not in third and "已补充" in third
    assert "已经记过了" in say("今天学习了党史18分钟")  # the very same text again
    record = db.session.execute(select(StudyCheckin)).scalar_one()
    assert (record.minutes, record.entries) == (36, 3)

    clock.set(beijing(2026, 11, 22, 20))
    long = "今天学习了党章第三章40分钟，" + "我认为要坚定理想信念，" * 250
    assert len(long) > 2500
    assert "已记录" in say("学习党章第三章")
    def check_in(text):
        reply = say(text)
        return say("1") if "回复 1" in reply else reply  # (asked back: answered)

    added = check_in(long)
    assert "已经记过了" not in added and "40 分钟" in added
    assert "已经记过了" in check_in(long)
    day = db.session.execute(select(StudyCheckin).where(
        StudyCheckin.day == date(2026, 11, 22))).scalar_one()
    assert day.minutes == 40


def test_reflections_are_shown_back(app, branch, platform, clock):
    platform.text("o_wang", "今天学习了党章第三章40分钟，心得：要把学习成果落实到岗位上")
    mine = platform.text("o_wang", "我的学习记录")
    assert "党章第三章" in mine and "心得：要把学习成果落实到岗位上" in mine
