"""The meeting calendar: rules, holidays, planning, the meetings CLI, schedule questions."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from bot.meetings import planning as meetings
from bot.cli.meetings import group as meetings_cli
from bot.clock import BEIJING
from bot.meetings import calendar
from bot.members import store
from bot.storage.engine import db
from bot.storage.models import Branch, Meeting, MeetingAttendance
from tests.helpers import bind


@pytest.mark.parametrize("text,year,month,expected", [
    ("每月第一个星期五 14:30", 2026, 11, date(2026, 11, 6)),
    ("每月第二个周三", 2026, 12, date(2026, 12, 9)),
    ("每月15日 09:00", 2026, 11, date(2026, 11, 15)),
    ("每月31号", 2026, 11, date(2026, 11, 30)),  # a short month: its last day
    ("每月最后一个星期五", 2026, 12, date(2026, 12, 25)),
    ("每月最后一个工作日 15:00", 2026, 9, date(2026, 9, 30)),
    ("每月最后一个工作日", 2026, 10, date(2026, 10, 30)),
    ("每月第一个工作日", 2026, 10, date(2026, 10, 8)),  # 10-01..10-07: the National Day break
    ("每季度第三个月第二个星期五 14:30", 2026, 12, date(2026, 12, 11)),
    ("每季度末月15日", 2026, 9, date(2026, 9, 15)),
    ("每年12月第三个星期五", 2026, 12, date(2026, 12, 18)),
    ("每月第五个星期五", 2026, 11, None),  # November 2026 has four Fridays
])
def test_rule_days(text, year, month, expected):
    rule = calendar.parse_rule(text)
    assert rule.day_in(year, month) == expected


def test_rule_times_and_periods():
    rule = calendar.parse_rule("每季度第二个月第三个星期五 14:30")
    assert (rule.at.hour, rule.at.minute) == (14, 30)
    assert [m for m in range(1, 13) if rule.applies_to(2026, m)] == [2, 5, 8, 11]
    assert rule.period(2026, 11) == "2026-Q4"
    assert calendar.parse_rule("每月1日").period(2026, 3) == "2026-03"
    assert calendar.parse_rule("每年12月1日").period(2026, 12) == "2026"


@pytest.mark.parametrize("text", ["每周五", "每月第八个星期五", "每月32日", "每月15日 25:00",
                                  "每年13月1日", "每月初", ""])
def test_rules_that_cannot_be_understood(text):
    with pytest.raises(calendar.RuleError):
        calendar.parse_rule(text)


def test_holiday_policy_follows_the_official_calendar():
    national_day = date(2026, 10, 1)
    assert not calendar.is_working_day(national_day)
    after = calendar.apply_policy(national_day, "next_working_day")
    before = calendar.apply_policy(national_day, "previous_working_day")
    assert calendar.is_working_day(after) and after > national_day
    assert calendar.is_working_day(before) and before < national_day
    assert all(not calendar.is_working_day(date(2026, 10, d)) for d in range(1, after.day))
    assert calendar.apply_policy(national_day, "keep") == national_day
    assert calendar.apply_policy(date(2026, 11, 20), "next_working_day") == date(2026, 11, 20)
    with pytest.raises(calendar.RuleError):
        calendar.apply_policy(national_day, "whenever")


def test_a_year_the_holiday_data_does_not_cover_falls_back_to_weekends():
    assert calendar.coverage(2026)
    if calendar.coverage(2030):
        pytest.skip("the installed chinesecalendar already covers 2030")
    assert not calendar.is_working_day(date(2030, 1, 5))  # a Saturday
    assert calendar.is_working_day(date(2030, 1, 7))


def test_occurrences_move_a_theme_day_off_national_day():
    settings = {"calendar": {"theme_day": "每月1日 09:00"}}
    found = {o.kind: o for o in calendar.occurrences(Branch(settings=settings), 2026, 10)}
    theme = found["theme_day"]
    assert theme.moved_from == datetime(2026, 10, 1, 9, 0, tzinfo=BEIJING)
    assert calendar.is_working_day(theme.starts_at.date()) and theme.starts_at.hour == 9
    assert theme.period == "2026-10"
    off = calendar.occurrences(Branch(settings={"calendar": {"committee": ""}}), 2026, 11)
    assert "committee" not in {o.kind for o in off}  # a branch can switch a rule off


def run(app, *args):
    return app.test_cli_runner().invoke(meetings_cli, list(args))


@pytest.fixture
def branch(app, platform, tmp_path):
    """第一党支部 with 张建国 (secretary, group 1), 李红梅 (committee, group 1),
    王志强 (group 2), 刘海波 (group 2, floating) — the first three bound."""
    bind(platform, tmp_path, ("张建国", "o_zhang"), ("李红梅", "o_li"), ("王志强", "o_wang"))
    found = db.session.execute(select(Branch)).scalar_one()
    meetings.start_branch(found, date(2026, 9, 1))  # keeping its records here since September
    db.session.commit()
    return found


def test_plan_is_idempotent_and_covers_every_group(app, branch):
    first = run(app, "plan", "--month", "2026-12")
    assert first.exit_code == 0, first.output
    assert "新排 6 次会议" in first.output  # theme day, committee, 2 groups, assembly, org life
    second = run(app, "plan", "--month", "2026-12", "--branch", "第一党支部")
    assert "新排 0 次会议，已有 6 次" in second.output
    assert db.session.execute(select(func.count(Meeting.id))).scalar_one() == 6
    kinds = sorted(m.kind for m in db.session.execute(select(Meeting)).scalars())
    assert kinds == ["branch_assembly", "committee", "group", "group", "org_life", "theme_day"]


def test_plan_does_not_recreate_a_cancelled_meeting(app, branch, clock):
    meetings.plan_month(branch, 2026, 11, clock())
    theme = db.session.execute(select(Meeting).where(Meeting.kind == "theme_day")).scalar_one()
    theme.status = "cancelled"
    db.session.commit()
    assert meetings.plan_month(branch, 2026, 11, clock()) == (0, 5)


def test_plan_uses_the_branch_rules_and_policy(app, branch, clock):
    branch.settings = {"calendar": {"theme_day": "每月1日 09:00"},
                       "holiday_policy": "previous_working_day"}
    db.session.commit()
    meetings.plan_month(branch, 2026, 10, clock())
    theme = db.session.execute(select(Meeting).where(Meeting.kind == "theme_day")).scalar_one()
    held = theme.starts_at.astimezone(BEIJING)
    assert held.date() < date(2026, 10, 1) and calendar.is_working_day(held.date())
    assert theme.moved_from.astimezone(BEIJING).date() == date(2026, 10, 1)


def test_add_list_and_show(app, branch):
    added = run(app, "add", "--branch", "第一党支部", "--kind", "party_lecture", "--at",
                "2026-12-05 14:30", "--place", "三楼会议室", "--topic", "学习四中全会精神")
    assert added.exit_code == 0 and "党课" in added.output and "签到码" in added.output
    run(app, "add", "--branch", "第一党支部", "--kind", "group", "--group", "第二党小组",
        "--at", "2026-12-10 15:00")
    listed = run(app, "list", "--month", "2026-12", "--json")
    rows = json.loads(listed.output)
    assert [set(r) >= {"id", "kind", "branch", "group", "starts_at", "place", "topic",
                       "checkin_code"} for r in rows] == [True, True]
    lecture = rows[0]
    assert lecture["starts_at"] == "2026-12-05T14:30:00+08:00"
    assert lecture["place"] == "三楼会议室" and lecture["topic"] == "学习四中全会精神"
    assert lecture["branch"] == "第一党支部" and lecture["group"] is None
    assert len(lecture["checkin_code"]) == 4 and lecture["checkin_code"].isdigit()
    assert rows[1]["group"] == "第二党小组"
    stored = db.session.get(Meeting, lecture["id"])
    assert stored.starts_at == datetime(2026, 12, 5, 6, 30, tzinfo=timezone.utc)  # UTC stored

    shown = json.loads(run(app, "show", str(lecture["id"]), "--json").output)
    assert [m["name"] for m in shown["members"]] == ["张建国", "李红梅", "王志强", "刘海波"]
    assert all(m["rsvp"] is None and m["attendance"] is None and m["leave_reason"] is None
               for m in shown["members"])
    group_meeting = json.loads(run(app, "show", str(rows[1]["id"]), "--json").output)
    assert [m["name"] for m in group_meeting["members"]] == ["王志强", "刘海波"]

    wang = store.members_by_name("王志强")[0]
    db.session.add(MeetingAttendance(meeting_id=lecture["id"], member_id=wang.id, rsvp="leave",
                                     leave_reason="出差", leave_status="approved",
                                     attendance="excused", updated_at=stored.created_at))
    db.session.commit()
    shown = json.loads(run(app, "show", str(lecture["id"]), "--json").output)
    row = next(m for m in shown["members"] if m["name"] == "王志强")
    assert (row["rsvp"], row["attendance"], row["leave_reason"]) == ("leave", "excused", "出差")


def test_committee_meetings_are_due_for_the_committee_only(app, branch, clock):
    meetings.plan_month(branch, 2026, 12, clock())
    committee = db.session.execute(select(Meeting).where(Meeting.kind == "committee")) \
        .scalar_one()
    names = [m["name"] for m in meetings.show_json(committee)["members"]]
    assert names == ["张建国", "李红梅"]


@pytest.mark.parametrize("args,words", [
    (["add", "--branch", "没有", "--kind", "theme_day", "--at", "2026-12-05 14:30"], "没有这个党支部"),
    (["add", "--branch", "第一党支部", "--kind", "party", "--at", "2026-12-05 14:30"], "会议类型"),
    (["add", "--branch", "第一党支部", "--kind", "theme_day", "--at", "12/5 2pm"], "时间格式"),
    (["add", "--branch", "第一党支部", "--kind", "group", "--at", "2026-12-05 14:30"], "--group"),
    (["add", "--branch", "第一党支部", "--kind", "group", "--group", "第九党小组", "--at",
      "2026-12-05 14:30"], "没有这个党小组"),
    (["list", "--month", "2026/12"], "YYYY-MM"),
    (["show", "999"], "没有编号为 999"),
])
def test_bad_cli_input_is_refused_clearly(app, branch, args, words):
    result = run(app, *args)
    assert result.exit_code == 2 and words in result.output
    assert db.session.execute(select(func.count(Meeting.id))).scalar_one() == 0


def test_schedule_questions_are_answered_from_the_calendar(app, branch, platform, clock):
    assert "近期没有安排会议" in platform.text("o_wang", "下次开会是什么时候")
    meetings.plan_month(branch, 2026, 12, clock())
    run(app, "add", "--branch", "第一党支部", "--kind", "party_lecture", "--at",
        "2026-11-27 14:30", "--place", "三楼会议室")
    reply = platform.text("o_wang", "下次开会是什么时候")
    assert "近期的会议安排" in reply and "11月27日（周五）14:30 党课，地点：三楼会议室" in reply
    assert "支委会" not in reply  # 王志强 is not on the committee
    theme = platform.text("o_wang", "这个月主题党日哪天")  # November's is past: said so
    assert theme == "11月没有安排主题党日。下一次会议：12月4日（周五）14:30 主题党日。"
    week = platform.text("o_wang", "下周有会吗")  # 11月23日–29日: the 党课 only
    assert week == "11月23日至11月29日的会议安排：\n· 11月27日（周五）14:30 党课，地点：三楼会议室"
    assert platform.text("o_wang", "下个月有几次会").startswith("12月的会议安排：\n· 12月4日")
    assert platform.text("o_wang", "明天开会吗").startswith("11月22日没有安排会议。下一次会议：")
    committee = next(m for m in meetings.store.in_range(
        clock(), clock() + timedelta(days=40)) if m.kind == "committee")
    assert platform.text("o_li", "支委会什么时候开") == \
        f"下一次会议：12月7日（周一）09:00 支委会（编号 {committee.id}，签到码 " \
        f"{committee.checkin_code}）。"  # leaders see the number and the sign-in code
    assert "签到码" not in reply  # members do not
    clock.set(datetime(2026, 12, 31, 2, 0, tzinfo=timezone.utc))  # travel past them all
    assert "近期没有安排党课" in platform.text("o_wang", "党课几点开始")


def test_the_planning_job_keeps_two_months_ahead(app, branch):
    from bot.jobs.meetings import plan_upcoming

    # November: theme day, 支委会, 2 党小组会, the Q4 党课; December: those but 党课, + 大会, 组织生活会
    assert plan_upcoming() == "planned 11"
    assert plan_upcoming() == "planned 0"
