"""A member who left the branch (转出): due at the meetings before the day they left and not
after, kept in the papers of the months they were a member, gone from everything current
(lists and counts, reminders, the digest, notices, dues, the floating overview), told so when
they write; marked (and undone) on the console by the leaders, logged, or from the CLI; a later
roster that has them again rejoins them."""
from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bot import digest
from bot.clock import month_bounds, to_beijing
from bot.cli.exports import group as export_cli
from bot.cli.meetings import group as meetings_cli
from bot.cli.members import members_group
from bot.cli.notices import group as notices_cli
from bot.dues import ledger as dues
from bot.floating import reports as floating
from bot.meetings import attendance, reminders
from bot.meetings import planning as meetings
from bot.meetings import store as meeting_store
from bot.members import changes, roster, store
from bot.members.roster import import_file
from bot.notices import store as notices
from bot.storage.engine import db
from bot.storage.models import Branch, ConsoleChange, Meeting, Member, NoticeRecipient
from tests.helpers import ROSTER, beijing, bind, write_roster
from tests.test_console import sign_in


def cli(app, group, *args):
    return app.test_cli_runner().invoke(group, [*args])


def member(name: str) -> Member:
    found = store.members_by_name(name)[0]
    db.session.refresh(found)
    return found


def the_branch() -> Branch:
    return db.session.execute(select(Branch)).scalar_one()


def theme_day(month: int) -> Meeting:
    """The branch's 主题党日 of a month of 2026 (November or December)."""
    start, end = month_bounds(2026, month)
    return db.session.execute(select(Meeting).where(
        Meeting.kind == "theme_day", Meeting.starts_at >= start, Meeting.starts_at < end)
    ).scalar_one()


def workbook_names(app, tmp_path, month: str) -> dict[str, list]:
    out = tmp_path / f"{month}.xlsx"
    done = cli(app, export_cli, "attendance", "--month", month, "--out", str(out))
    assert done.exit_code == 0, done.output
    sheet = load_workbook(out)["考勤表"]
    return {row[0].value: [c.value for c in row] for row in sheet.iter_rows(min_row=3)}


def changes_logged(kind: str) -> list[ConsoleChange]:
    return list(db.session.execute(select(ConsoleChange).where(
        ConsoleChange.kind == kind).order_by(ConsoleChange.id)).scalars())


def test_due_before_the_day_they_left_not_after_and_kept_in_the_papers(app, platform, tmp_path,
                                                                        clock):
    bind(platform, tmp_path, ("张建国", "o_zhang"))
    branch = the_branch()
    meetings.start_branch(branch, date(2026, 11, 1))
    for month in (11, 12):
        meetings.plan_month(branch, 2026, month, clock())
    db.session.commit()
    nov, dec = theme_day(11), theme_day(12)
    liu = member("刘海波")
    assert meeting_store.is_due(dec, liu)  # a member like any other until marked

    missing = cli(app, members_group, "leave", "刘波", "--branch", "第一党支部", "--on",
                  "2026-12-01")
    assert missing.exit_code == 2 and "没有叫“刘波”" in missing.output
    bad = cli(app, members_group, "leave", "刘海波", "--branch", "第一党支部", "--on", "12月1日")
    assert bad.exit_code == 2 and "转出日期应写成" in bad.output
    done = cli(app, members_group, "leave", "刘海波", "--branch", "第一党支部", "--on",
               "2026-12-01", "--to", "市财政局机关第二党支部")
    assert done.exit_code == 0, done.output
    assert "已登记刘海波于 2026-12-01 转出本支部（转往市财政局机关第二党支部）" in done.output
    liu = member("刘海波")
    assert (liu.left_on, liu.left_to) == (date(2026, 12, 1), "市财政局机关第二党支部")
    [logged] = changes_logged("member_leave")
    assert logged.by == "cli" and logged.subject == f"member:{liu.id}"
    assert logged.details["left_on"] == [None, "2026-12-01"]

    # the Python and the SQL form of the rule agree: November's meetings are his, December's not
    assert meeting_store.is_due(nov, liu) and not meeting_store.is_due(dec, liu)
    assert liu in meeting_store.due_members(nov) and liu not in meeting_store.due_members(dec)
    # the day he left is the first that is not his (a meeting that morning is not his)
    morning = meetings.add(the_branch(), "theme_day", beijing(2026, 12, 1, 9), clock())
    evening = meetings.add(the_branch(), "theme_day", beijing(2026, 11, 30, 19), clock())
    assert not meeting_store.is_due(morning, liu) and meeting_store.is_due(evening, liu)
    assert liu in meeting_store.due_members(evening)
    assert liu not in meeting_store.due_members(morning)
    db.session.rollback()

    # November closes with him absent; it stays in November's papers after he has gone
    clock.set(beijing(2026, 12, 31, 23))
    attendance.close_finished(clock())
    db.session.commit()
    shown = json.loads(cli(app, meetings_cli, "show", str(nov.id), "--json").output)
    assert {m["name"]: m["attendance"] for m in shown["members"]}["刘海波"] == "absent"
    shown = json.loads(cli(app, meetings_cli, "show", str(dec.id), "--json").output)
    assert "刘海波" not in {m["name"] for m in shown["members"]}
    november = workbook_names(app, tmp_path, "2026-11")
    assert "刘海波" in november and "缺席" in november["刘海波"]
    december = workbook_names(app, tmp_path, "2026-12")
    assert "刘海波" not in december and "张建国" in december
    from bot.exports import record  # 记实表

    assert "刘海波" in " ".join(value for _, value in record.fields(nov))
    assert "刘海波" not in " ".join(value for _, value in record.fields(dec))

    undone = cli(app, members_group, "leave", "刘海波", "--branch", "第一党支部", "--undo")
    assert undone.exit_code == 0 and "已撤销刘海波的转出登记" in undone.output
    liu = member("刘海波")
    assert liu.left_on is None and meeting_store.is_due(dec, liu)
    assert [c.by for c in changes_logged("member_leave_undone")] == ["cli"]
    again = cli(app, members_group, "leave", "刘海波", "--branch", "第一党支部", "--undo")
    assert "没有转出登记" in again.output


def _names(members) -> set[str]:
    return {m.name for m in members}


def test_a_member_who_left_drops_out_of_everything_current(app, platform, fake, tmp_path, clock):
    """刘海波 (floating, not bound) leaves on 1 December, marked on 28 November: the lists, counts,
    reminders, digest, notices, dues and the floating overview have him until then, not after."""
    bind(platform, tmp_path, ("张建国", "o_zhang"), ("李红梅", "o_li"), ("王志强", "o_wang"))
    branch = the_branch()
    liu = member("刘海波")
    dues.set_base(liu, "in_service", Decimal("3000.00"), "2026-11", "test", clock())
    clock.set(beijing(2026, 11, 28, 10))
    meeting = meetings.add(branch, "theme_day", beijing(2026, 12, 4, 14, 30), clock())
    reminders.materialise(clock())  # his reminder rows are made before he is marked
    db.session.commit()

    def current() -> dict:
        today = to_beijing(clock()).date()
        planned = {p.member.name for p in reminders.claim_due(beijing(2026, 12, 4, 13),
                                                              dry_run=True)[1]}
        db.session.rollback()
        return {
            "size": platform.text("o_zhang", "支部有多少人"),
            "unbound": platform.text("o_zhang", "谁还没绑定"),
            "digest": " ".join(item.text for item in digest.collect(the_branch(), clock())),
            "audience": _names(notices.audience_members(branch.id, "all", today)),
            "group": _names(notices.audience_members(branch.id, "group:第二党小组", today)),
            "unpaid_dec": _names(m for m, _, _ in dues.unpaid(branch.id, "2026-12")),
            "unpaid_nov": _names(m for m, _, _ in dues.unpaid(branch.id, "2026-11")),
            "floating": {r["name"] for r in floating.overview(branch.id, clock())},
            "due": _names(meeting_store.due_members(db.session.get(Meeting, meeting.id))),
            "reminded": planned,
            "roster": _names(store.roster(branch.id, today)),
        }

    before = current()
    assert "共有党员 4 人" in before["size"] and "刘海波" in before["unbound"]
    assert "刘海波" in before["digest"]  # not bound yet: named in the secretary's digest
    for key in ("audience", "group", "unpaid_dec", "unpaid_nov", "floating", "due", "reminded",
                "roster"):
        assert "刘海波" in before[key], key

    changes.leave(liu, date(2026, 12, 1), "", "cli", clock())
    db.session.commit()
    clock.set(beijing(2026, 12, 2, 10))
    after = current()
    assert "共有党员 3 人" in after["size"] and "流动党员 0 人" in after["size"]
    assert "刘海波" not in after["unbound"] and "都已绑定" in after["unbound"]
    assert "刘海波" not in after["digest"]
    for key in ("audience", "group", "unpaid_dec", "floating", "due", "reminded", "roster"):
        assert "刘海波" not in after[key], key
    assert after["group"] == {"王志强"}
    assert "刘海波" in after["unpaid_nov"]  # November he was a member: still owed

    sent = cli(app, notices_cli, "send", "--branch", "第一党支部", "--to", "all", "--text",
               "周五下午开主题党日")
    assert sent.exit_code == 0, sent.output
    got = set(db.session.execute(select(Member.name).join(
        NoticeRecipient, NoticeRecipient.member_id == Member.id)).scalars())
    assert got == {"张建国", "李红梅", "王志强"}


def test_a_member_who_left_is_told_so_when_writing(app, platform, tmp_path, clock):
    bind(platform, tmp_path, ("张建国", "o_zhang"), ("刘海波", "o_liu"))
    meetings.plan_month(the_branch(), 2026, 12, clock())
    db.session.commit()
    assert "转出" not in platform.text("o_liu", "下次开会是什么时候")
    done = cli(app, members_group, "leave", "刘海波", "--branch", "第一党支部", "--on",
               "2026-11-21", "--to", "区教育局党委")
    assert done.exit_code == 0, done.output
    for text in ("下次开会是什么时候", "我的党费", "绑定 12345678", "帮助"):
        reply = platform.text("o_liu", text)
        assert "已于 2026年11月21日 转出第一党支部（转往区教育局党委）" in reply, (text, reply)
        assert "请联系支部书记张建国更正" in reply
    assert "转出" not in platform.text("o_zhang", "下次开会是什么时候")  # others as before


def test_the_console_marks_and_undoes_a_leave_logged_and_only_for_leaders(
        app, platform, tmp_path, clock):
    bind(platform, tmp_path, ("张建国", "o_zhang"), ("李红梅", "o_li"), ("王志强", "o_wang"))
    for day in (beijing(2026, 11, 27, 14, 30), beijing(2026, 12, 4, 14, 30)):
        meetings.add(the_branch(), "theme_day", day, clock())
    db.session.commit()
    liu = member("刘海波")
    client = app.test_client()
    sign_in(platform, client)  # 李红梅, 组织委员
    page = client.get(f"/console/roster/{liu.id}").get_data(as_text=True)
    assert "登记转出" in page and 'name="left_on" value="2026-11-21"' in page
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    form = {"action": "leave", "left_on": "2026-11-20", "left_to": "市财政局机关第二党支部"}
    assert client.post(f"/console/roster/{liu.id}", data=form).status_code == 400  # no CSRF
    assert member("刘海波").left_on is None
    bad = client.post(f"/console/roster/{liu.id}", data={**form, "left_on": "2026-13-01",
                                                          "csrf_token": token})
    assert "转出日期应写成" in bad.get_data(as_text=True) and member("刘海波").left_on is None

    # a 党小组长 sees his group's member but may not change the roster
    leader = app.test_client()
    sign_in(platform, leader, "o_wang")
    wang_page = leader.get(f"/console/roster/{liu.id}").get_data(as_text=True)
    assert "登记转出" not in wang_page
    behalf = leader.get(f"/console/roster/{liu.id}/behalf").get_data(as_text=True)  # his 代登记
    wang_token = behalf.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert leader.post(f"/console/roster/{liu.id}", data={
        **form, "csrf_token": wang_token}).status_code == 403
    assert member("刘海波").left_on is None and not changes_logged("member_leave")

    done = client.post(f"/console/roster/{liu.id}", data={**form, "csrf_token": token}
                       ).get_data(as_text=True)
    assert "已登记刘海波于 2026-11-20 转出本支部（转往市财政局机关第二党支部）" in done
    assert "撤销转出" in done and "登记转出" not in done
    assert member("刘海波").left_on == date(2026, 11, 20)
    li = member("李红梅")
    [logged] = changes_logged("member_leave")
    assert (logged.by, logged.subject) == (f"member:{li.id}", f"member:{liu.id}")
    assert logged.details == {"left_on": [None, "2026-11-20"],
                              "left_to": [None, "市财政局机关第二党支部"]}

    listed = client.get("/console/roster").get_data(as_text=True)
    assert "共 3 人" in listed and "刘海波" not in listed
    gone = client.get("/console/roster?left=1").get_data(as_text=True)
    assert "已转出" in gone and "刘海波" in gone and "2026-11-20" in gone and "张建国" not in gone
    assert "刘海波" in client.get("/console/attendance?month=2026-11").get_data(as_text=True)
    assert "刘海波" not in client.get("/console/attendance?month=2026-12").get_data(as_text=True)

    undone = client.post(f"/console/roster/{liu.id}", data={
        "action": "undo_leave", "csrf_token": token}).get_data(as_text=True)
    assert "已撤销刘海波的转出登记" in undone and member("刘海波").left_on is None
    assert [c.by for c in changes_logged("member_leave_undone")] == [f"member:{li.id}"]
    assert "共 4 人" in client.get("/console/roster").get_data(as_text=True)

    # a leader who leaves is out of the console at once, whatever roles the roster still says
    changes.leave(li, date(2026, 11, 21), "", "cli", clock())
    db.session.commit()
    assert client.get("/console/roster").status_code == 401


def test_a_roster_import_rejoins_a_member_who_left_and_never_drops_one_missing(
        app, tmp_path, clock):
    import_file(write_roster(tmp_path / "first.csv"), clock(), "机关党委")
    db.session.commit()
    without = write_roster(tmp_path / "without.csv", ROSTER[:3])
    assert import_file(without, clock(), "机关党委").not_in_file == 1  # 刘海波: not in it
    db.session.rollback()
    changes.leave(member("刘海波"), date(2026, 11, 21), "", "cli", clock())
    db.session.commit()
    report = import_file(without, clock(), "机关党委")
    db.session.commit()
    assert report.not_in_file == 0 and report.rejoined == []  # he left: nothing to say
    assert member("刘海波").left_on == date(2026, 11, 21)

    clock.set(beijing(2026, 11, 28, 10))
    report = import_file(write_roster(tmp_path / "again.csv"), clock(), "机关党委")
    db.session.commit()
    assert (report.created, report.rejoined) == (0, ["刘海波"])
    liu = member("刘海波")
    assert (liu.left_on, liu.joined_on) == (None, date(2026, 11, 28))
    assert len(store.members_by_name("刘海波")) == 1
    [logged] = changes_logged("member_rejoin")
    assert logged.by == "cli" and logged.details["left_on"] == ["2026-11-21", None]
    assert "共有党员 4 人" in roster.size_text(the_branch(), clock())
