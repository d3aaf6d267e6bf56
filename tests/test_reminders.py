"""Meeting reminders: three waves with quiet hours, digests, answered and muted members,
idempotent planning, quota pauses, fallbacks, and recovery from a dead worker."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
import requests
from sqlalchemy import func, select

from bot.jobs.meetings import run_reminders, send_batch
from bot.meetings import planning as meetings
from bot.meetings import reminders
from bot.cli.meetings import reminders_group
from bot.meetings import rules
from bot.members import store
from bot.storage.engine import db
from bot.storage.models import Branch, Meeting, Reminder
from tests.helpers import beijing, bind



@pytest.fixture
def branch(app, platform, fake, tmp_path, clock):
    """支委会 27 Nov 09:00 (张建国, 李红梅) and 主题党日 27 Nov 14:30 (all four)."""
    bind(platform, tmp_path, ("张建国", "o_zhang"), ("李红梅", "o_li"), ("王志强", "o_wang"),
         ("刘海波", "o_liu"))
    for openid in ("o_zhang", "o_li", "o_wang", "o_liu"):
        requests.post(f"{fake.url}/_fake/interact", json={"openid": openid})
    found = db.session.execute(select(Branch)).scalar_one()
    meetings.add(found, "committee", beijing(2026, 11, 27, 9), clock(), place="二楼小会议室")
    meetings.add(found, "theme_day", beijing(2026, 11, 27, 14, 30), clock(), place="三楼会议室")
    return found


def run_at(app, when: str, *extra) -> list[str]:
    result = app.test_cli_runner().invoke(reminders_group, ["run", "--at", when, *extra])
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def delivered(fake) -> list[tuple[str, str]]:
    return [(d["openid"], d["body"].get("text", {}).get("content") or str(d["body"]))
            for d in fake.state.delivered]


def test_slots_and_quiet_hours(app, branch):
    starts = beijing(2026, 11, 27, 9)
    assert rules.slot_time("3d", starts) == beijing(2026, 11, 24, 9)
    assert rules.slot_time("eve 20:00", starts) == beijing(2026, 11, 26, 20)
    assert rules.slot_time("2h", starts) == beijing(2026, 11, 27, 7)
    assert rules.shift_out_of_quiet(beijing(2026, 11, 27, 7), starts, branch) == beijing(2026, 11, 27, 8)
    assert rules.shift_out_of_quiet(beijing(2026, 11, 26, 22), starts, branch) == beijing(2026, 11, 27, 8)
    early = beijing(2026, 11, 27, 7, 30)  # a 07:30 meeting: the morning is too late, so the evening
    assert rules.shift_out_of_quiet(beijing(2026, 11, 27, 5, 30), early, branch) == \
        beijing(2026, 11, 26, 21, 29)
    assert rules.shift_out_of_quiet(beijing(2026, 11, 27, 12), starts, branch) == beijing(2026, 11, 27, 12)


def test_three_waves_with_digests_answers_mutes_and_quiet_hours(app, platform, fake, branch,
                                                                clock):
    assert run_at(app, "2026-11-23 12:00") == []  # nothing due yet
    first = run_at(app, "2026-11-24 09:00")  # committee, 3 days ahead
    # the members last wrote on the 21st: outside the 48-hour window, so a template message
    assert len(first) == 2 and all("sent via template" in line for line in first)
    assert run_at(app, "2026-11-24 09:00") == []  # planning again sends nothing twice
    assert len(run_at(app, "2026-11-24 14:30")) == 4  # theme day, 3 days ahead, everyone

    clock.set(beijing(2026, 11, 24, 15))
    assert "已报名" in platform.text("o_wang", "主题党日参加")  # answered: not chased again
    assert "不再追加提醒" in platform.text("o_li", "关闭提醒")  # muted: no chasers
    clock.set(beijing(2026, 11, 26, 19))
    platform.text("o_zhang", "帮助")  # inside the window again: a full text digest
    platform.text("o_liu", "帮助")

    evening = run_at(app, "2026-11-26 20:00")
    assert all("sent via custom" in line for line in evening)
    assert sorted(line.split("\t")[0] for line in evening) == ["刘海波", "张建国"]
    texts = dict(delivered(fake)[-2:])
    assert "支委会" in texts["o_zhang"] and "主题党日" in texts["o_zhang"]  # one digest, two lines
    assert texts["o_zhang"].count("\n·") == 2 and texts["o_zhang"].startswith("张建国同志，会议提醒")
    assert "远程参加" in texts["o_liu"]  # the floating member's version

    assert run_at(app, "2026-11-27 07:00") == []  # the 07:00 chaser is in quiet hours
    morning = run_at(app, "2026-11-27 08:00")
    assert [line.split("\t")[0] for line in morning] == ["张建国"]
    assert len(run_at(app, "2026-11-27 12:30")) == 2  # 张建国, 刘海波 (not 王志强, not 李红梅)

    # 张建国: 3d ×2, the evening digest of both, 2h ×2; 刘海波: the theme day's three;
    # 李红梅: the two invitations only (muted); 王志强: one invitation (answered)
    counts = Counter(openid for openid, _ in delivered(fake))
    assert counts == {"o_zhang": 5, "o_li": 2, "o_wang": 1, "o_liu": 3}
    statuses = Counter(r.status for r in db.session.execute(select(Reminder)).scalars())
    assert statuses == {"sent": 12, "skipped": 6}
    notes = Counter(r.note for r in db.session.execute(
        select(Reminder).where(Reminder.status == "skipped")).scalars())
    assert notes == {"answered": 2, "muted": 4}


def test_dry_run_sends_nothing(app, fake, branch):
    lines = run_at(app, "2026-11-24 15:00", "--dry-run")
    assert len(lines) == 4 and all(line.endswith("would send") for line in lines)
    assert fake.state.delivered == []
    assert db.session.execute(select(func.count()).select_from(Reminder).where(
        Reminder.status == "pending")).scalar_one() > 0
    assert len(run_at(app, "2026-11-24 15:00")) == 4


def test_outside_the_window_and_unfollowed(app, platform, fake, branch, clock):
    requests.post(f"{fake.url}/_fake/fail", json={"errcode": 45015, "openid": "o_zhang"})
    requests.post(f"{fake.url}/_fake/unfollow", json={"openid": "o_li"})
    clock.set(beijing(2026, 11, 24, 8))
    platform.text("o_zhang", "帮助")  # inside the window: a customer-service message is tried
    lines = {line.split("\t")[0]: line.split("\t")[-1]
             for line in run_at(app, "2026-11-24 09:00")}
    assert lines["张建国"] == "sent via template"  # 45015 from the platform: template fallback
    assert lines["李红梅"] == "failed via template"  # 43004
    li = store.members_by_name("李红梅")[0]
    db.session.refresh(li)
    assert li.reachable is False
    run_at(app, "2026-11-24 14:30")
    skipped = db.session.execute(select(Reminder).where(
        Reminder.member_id == li.id, Reminder.status == "skipped")).scalars().all()
    assert {r.note for r in skipped} == {"unreachable"}


def test_a_quota_error_pauses_and_the_rest_follows_later(app, fake, branch):
    requests.post(f"{fake.url}/_fake/fail", json={"errcode": 45011, "openid": "o_wang"})
    first = run_at(app, "2026-11-24 14:30")
    assert any("paused (45011)" in line for line in first)
    sent_before = len(fake.state.delivered)
    assert sent_before < 4
    assert run_at(app, "2026-11-24 14:30") == []  # still paused: nothing claimed
    later = run_at(app, "2026-11-24 14:32")
    assert len(later) == 4 - sent_before and all("sent" in line for line in later)
    assert Counter(o for o, _ in delivered(fake)) == {"o_zhang": 1, "o_li": 1, "o_wang": 1,
                                                       "o_liu": 1}


def test_recovery_from_a_dead_worker_never_duplicates_or_skips(app, fake, branch, clock):
    now = beijing(2026, 11, 24, 14, 30)
    reminders.materialise(now)
    claim, planned = reminders.claim_due(now)
    db.session.commit()
    ids = [p.member.id for p in planned]
    assert len(ids) == 4
    # the worker sends to half the members, then dies before the rest
    for member_id in ids[:2]:
        send_batch([member_id], claim, now)
    # the planner runs again before the claim is stale: the claimed rows are not re-sent
    assert run_reminders(now + timedelta(minutes=5), inline=True) == []
    # once the claim is stale, what was not sent is claimed again and sent, once
    again = run_reminders(now + timedelta(minutes=11), inline=True)
    assert sorted(p.member.id for p, _ in again) == sorted(ids[2:])
    # the dead worker's job, retried late with its old claim, finds nothing to send
    assert send_batch(ids, claim, now + timedelta(minutes=12)) == \
        {i: "nothing" for i in ids}
    assert Counter(o for o, _ in delivered(fake)) == {"o_zhang": 1, "o_li": 1, "o_wang": 1,
                                                       "o_liu": 1}


def test_a_worker_that_died_after_the_platform_accepted_sends_nothing_twice(app, fake, branch):
    """The platform accepted two digests; the worker died before writing that down. The journal
    (written the moment the platform answered) lets recovery settle them instead of resending."""
    from bot.wechat import client as wechat

    now = beijing(2026, 11, 24, 14, 30)
    reminders.materialise(now)
    claim, planned = reminders.claim_due(now)
    db.session.commit()
    api, redis = wechat.client(), app.extensions["redis"]
    for item in planned[:2]:  # what the dead worker got done: platform call and journal only
        record, delivery = wechat.prepare(item.member, "reminder.digest", now,
                                          idempotency_key=f"reminders:{claim}:{item.member.id}",
                                          **reminders.compose(item.member, item.rows, now))
        db.session.commit()
        wechat.deliver(api, delivery, now)
        reminders.journal(redis, claim, item.member.id, delivery)
    assert len(fake.state.delivered) == 2
    again = run_reminders(now + timedelta(minutes=11), inline=True)
    assert len(again) == 2  # only the two the dead worker never reached
    assert Counter(o for o, _ in delivered(fake)) == {"o_zhang": 1, "o_li": 1, "o_wang": 1,
                                                       "o_liu": 1}
    recovered = db.session.execute(select(Reminder).where(Reminder.note == "recovered")) \
        .scalars().all()
    assert {r.member_id for r in recovered} == {p.member.id for p in planned[:2]}
    assert {r.status for r in db.session.execute(select(Reminder).where(
        Reminder.slot == "3d", Reminder.meeting_id == planned[0].rows[0].meeting_id))
        .scalars()} == {"sent"}


def test_the_planner_job_enqueues_batches_for_the_worker(app, fake, branch, clock):
    from rq import SimpleWorker

    from bot.jobs.meetings import plan_reminders

    clock.set(beijing(2026, 11, 24, 14, 30))
    assert plan_reminders() == "planned 4"
    assert plan_reminders() == "planned 0"
    queue = app.extensions["rq_queue"]
    assert queue.count == 1  # one batch of up to 200 members
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    assert len(fake.state.delivered) == 4


def test_a_moved_meeting_moves_its_pending_reminders(app, fake, branch):
    reminders.materialise(beijing(2026, 11, 21, 10))
    db.session.commit()
    theme = db.session.execute(select(Reminder).where(Reminder.slot == "3d")).scalars().first()
    meeting = db.session.get(Meeting, theme.meeting_id)
    meeting.starts_at = meeting.starts_at + timedelta(days=1)
    db.session.commit()
    reminders.materialise(beijing(2026, 11, 21, 11))
    db.session.commit()
    db.session.refresh(theme)
    assert theme.due_at == meeting.starts_at - timedelta(days=3)
    meeting.status = "cancelled"
    db.session.commit()
    reminders.materialise(beijing(2026, 11, 21, 12))
    db.session.commit()
    assert {r.status for r in db.session.execute(select(Reminder).where(
        Reminder.meeting_id == meeting.id)).scalars()} == {"skipped"}


def test_a_bare_ack_after_a_reminder_asks_whether_they_come(app, platform, fake, branch, clock):
    assert "没有需要您确认的通知" in platform.text("o_wang", "收到")
    run_at(app, "2026-11-24 14:30")
    clock.set(beijing(2026, 11, 24, 15))
    assert "请问您参加吗" in platform.text("o_wang", "收到")
    platform.text("o_wang", "参加")
    assert "没有需要您确认的通知" in platform.text("o_wang", "收到")
