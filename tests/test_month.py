"""A whole month of a branch, October 2026, travelling in time through the real webhook, a real
RQ worker in its own process (killed with SIGKILL mid-fan-out) and the stand-in platform.

The month: 国庆 moves the first-Friday 主题党日 (2 Oct) and the first-Monday 支委会 (5 Oct) to
Thursday 8 Oct; the two 党小组会 are on 14 Oct. Forty members, one of them floating.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta

import psutil
import pytest
import requests
from sqlalchemy import select

from bot import digest
from bot.jobs.meetings import run_reminders
from bot.cli.meetings import group as meetings_cli
from bot.cli.meetings import reminders_group
from bot.config import ROOT
from bot.jobs.meetings import close_finished_meetings
from bot.members.roster import import_file
from bot.members import store
from bot.storage.engine import db
from bot.storage.models import Member, Meeting, OutboundMessage, Reminder
from tests.helpers import ROSTER, beijing, deliver, write_roster

NAMED = {"张建国": "o_zhang", "李红梅": "o_li", "王志强": "o_wang", "刘海波": "o_liu"}
BULK = {f"党员{i:02d}": f"o_{i:02d}" for i in range(1, 37)}
OPENIDS = {**NAMED, **BULK}



class Month:
    """The test's handles: the app, the webhook, the stand-in, and a clock shared with the
    worker process through ZHIBU_CLOCK_FILE."""

    def __init__(self, app, platform, fake, clock, tmp_path):
        self.app, self.platform, self.fake, self.clock = app, platform, fake, clock
        self.clock_file = tmp_path / "clock.txt"
        self.worker_log = tmp_path / "worker.log"

    def travel(self, moment: datetime) -> None:
        self.clock.set(moment)
        self.clock_file.write_text(moment.isoformat())

    def say(self, name: str, text: str) -> str:
        """The member writes to the account: the platform opens their 48-hour window too."""
        self.fake_post("/_fake/interact", {"openid": OPENIDS[name]})
        return self.platform.text(OPENIDS[name], text)

    def cli(self, group, *args) -> str:
        result = self.app.test_cli_runner().invoke(group, [str(a) for a in args])
        assert result.exit_code == 0, result.output
        return result.output

    def reminders_at(self, when: str) -> list[str]:
        return self.cli(reminders_group, "run", "--at", when).splitlines()

    def worker(self, burst: bool) -> subprocess.Popen:
        """A real `rq worker` process on the app's database and Redis, in its own session."""
        cfg = self.app.config
        env = dict(os.environ, DATABASE_URL=cfg["SQLALCHEMY_DATABASE_URI"],
                   REDIS_URL=cfg["REDIS_URL"], RQ_QUEUE=cfg["RQ_QUEUE"],
                   WECHAT_TOKEN=cfg["WECHAT_TOKEN"], WECHAT_APP_ID=cfg["WECHAT_APP_ID"],
                   WECHAT_APP_SECRET=cfg["WECHAT_APP_SECRET"], WECHAT_API_BASE=self.fake.url,
                   SECRET_KEY=cfg["SECRET_KEY"],
                   REMINDER_CONCURRENCY="4", ZHIBU_CLOCK_FILE=str(self.clock_file),
                   ZHIBU_INSTANCE=str(self.clock_file.parent / "instance"))
        args = [sys.executable, "-m", "rq.cli", "worker", "--config", "bot.jobs.rq_settings",
                "--logging_level", "INFO", *(["--burst"] if burst else [])]
        return subprocess.Popen(args, cwd=ROOT, env=env, start_new_session=True,
                                stdout=open(self.worker_log, "a"), stderr=subprocess.STDOUT)

    def kill_worker_mid_fan_out(self) -> None:
        """Start a worker, wait until every send thread is inside a held platform call, SIGKILL
        the worker and its work-horse (RQ forks it into a session of its own), and drop the held
        calls: they never reached the platform."""
        worker = self.worker(burst=False)
        deadline = time.monotonic() + 90
        while self.fake_get("/_fake/held")["held"] < 4:
            assert time.monotonic() < deadline and worker.poll() is None, \
                self.worker_log.read_text()
            time.sleep(0.05)
        for proc in [*psutil.Process(worker.pid).children(recursive=True),
                     psutil.Process(worker.pid)]:
            proc.send_signal(signal.SIGKILL)
        worker.wait(10)
        self.fake_post("/_fake/release", {"drop": True})

    def fake_get(self, path: str) -> dict:
        return requests.get(f"{self.fake.url}{path}", timeout=5).json()

    def fake_post(self, path: str, body: dict) -> None:
        requests.post(f"{self.fake.url}{path}", json=body, timeout=5).raise_for_status()


def is_reminder(delivery: dict) -> bool:
    body = delivery["body"]
    if "text" in body:
        return "会议提醒" in body["text"]["content"]
    return body["data"]["thing1"]["value"] == "会议提醒"


@pytest.fixture
def month(app, platform, fake, clock, tmp_path):
    """Monday 28 Sep 2026, 10:00: the roster imported and every member bound."""
    m = Month(app, platform, fake, clock, tmp_path)
    m.travel(beijing(2026, 9, 28, 10))
    bulk = [f"{name},1390000{i:04d},第一党支部,{'第一党小组' if i % 2 else '第二党小组'},"
            f"正式党员,,在职,5000,否" for i, name in enumerate(BULK, start=1)]
    import_file(write_roster(tmp_path / "roster.csv", [*ROSTER, *bulk]), clock(), "机关党委")
    for name, openid in OPENIDS.items():
        code = store.invite_code_for(store.members_by_name(name)[0], clock(), 30).code
        db.session.commit()
        assert "绑定成功" in platform.text(openid, f"绑定 {code}")
    return m


def test_a_month_of_branch_life(month, app, fake):
    # --- planning, with the National Day holiday ------------------------------------------------
    out = month.cli(meetings_cli, "plan", "--month", "2026-10")
    assert "第一党支部 2026-10：新排 4 次会议" in out
    listed = json.loads(month.cli(meetings_cli, "list", "--month", "2026-10", "--json"))
    assert [(m["kind"], m["starts_at"], m["group"]) for m in listed] == [
        ("committee", "2026-10-08T09:00:00+08:00", None),
        ("theme_day", "2026-10-08T14:30:00+08:00", None),
        ("group", "2026-10-14T15:00:00+08:00", "第一党小组"),
        ("group", "2026-10-14T15:00:00+08:00", "第二党小组")]
    ids = {m["kind"]: m["id"] for m in listed[:2]}
    codes = {m["kind"]: m["checkin_code"] for m in listed[:2]}
    assert db.session.get(Meeting, ids["theme_day"]).moved_from == beijing(2026, 10, 2, 14, 30)

    # --- before the invitations: some members write in; one unfollowed unnoticed -------------
    month.travel(beijing(2026, 10, 4, 10))
    for name in ("张建国", "李红梅", "王志强", "刘海波"):
        assert "10月8日" in month.say(name, "下次开会是什么时候")
    assert "不再追加提醒" in month.say("党员03", "关闭提醒")
    month.fake_post("/_fake/unfollow", {"openid": "o_07"})  # the platform knows; we do not

    # --- wave 1: the 支委会 invitation, 3 days ahead; 45015 falls back to a template ----------
    month.fake_post("/_fake/fail", {"errcode": 45015, "openid": "o_li"})
    lines = month.reminders_at("2026-10-05 09:00")
    assert sorted(lines) == sorted([
        "张建国\t1 次会议\t[3d]\t支委会（10月8日（周四）09:00）\tsent via custom",
        "李红梅\t1 次会议\t[3d]\t支委会（10月8日（周四）09:00）\tsent via template"])
    li = store.members_by_name("李红梅")[0]
    attempts = db.session.execute(select(OutboundMessage.attempts).where(
        OutboundMessage.member_id == li.id)).scalar_one()
    assert [(a["channel"], a["errcode"]) for a in attempts] == [("custom", 45015),
                                                              ("template", 0)]

    # --- wave 2: the 主题党日 invitation to all forty, by a real worker killed mid-fan-out ----
    month.travel(beijing(2026, 10, 5, 14, 30))
    before = len(fake.state.delivered)
    fake.state.latency = 0.05
    month.fake_post("/_fake/hold", {"after": before + 10})
    planned = run_reminders(month.clock())  # claims and enqueues; the worker sends
    assert len(planned) == 40
    month.kill_worker_mid_fan_out()  # worker and work-horse die mid-call
    assert len(fake.state.delivered) == before + 10
    claimed = db.session.execute(select(Reminder.status).where(
        Reminder.meeting_id == ids["theme_day"])).scalars().all()
    assert Counter(claimed)["sending"] == 40  # the database never heard back

    month.travel(beijing(2026, 10, 5, 14, 41))  # the next planner runs after the claim went stale
    run_reminders(month.clock())
    worker = month.worker(burst=True)
    assert worker.wait(120) == 0, month.worker_log.read_text()
    fake.state.latency = 0
    db.session.expire_all()  # another process wrote since
    wave = [d for d in fake.state.delivered[before:] if is_reminder(d)]
    per_member = Counter(d["openid"] for d in wave)
    assert set(per_member) == set(OPENIDS.values()) - {"o_07"}  # no gap
    assert set(per_member.values()) == {1}  # no duplicate
    assert store.members_by_name("党员07")[0].reachable is False  # 43004
    remote = next(d for d in wave if d["openid"] == "o_liu")["body"]["text"]["content"]
    assert "您在外地，可远程参加" in remote  # the floating member's version
    assert Counter(db.session.execute(select(Reminder.status).where(
        Reminder.meeting_id == ids["theme_day"], Reminder.slot == "3d")).scalars()) == \
        {"sent": 39, "failed": 1}

    # --- RSVPs and leave through the webhook; approvals in chat -------------------------------
    month.travel(beijing(2026, 10, 5, 16))
    assert month.say("王志强", "参加") == "已报名：主题党日（10月8日（周四）14:30）。请准时参加。"
    assert month.say("张建国", "支委会参加").startswith("已报名：支委会")
    first = month.say("党员01", "我请假，孩子生病")
    assert first.startswith("已收到您的请假：主题党日（10月8日（周四）14:30），原因：孩子生病")
    assert "原因" in month.say("党员02", "周四去不了")
    second = month.say("党员02", "家里老人住院")
    number = {name: int(text.rsplit("请假编号 ", 1)[1].rstrip("）。"))
              for name, text in (("党员01", first), ("党员02", second))}
    assert "已批准党员01的请假" in month.say("张建国", f"批准 {number['党员01']}")
    assert "已不批准党员02的请假" in month.say("李红梅", f"不批准 {number['党员02']}")
    told = deliver(app, fake)
    assert "您的请假已批准：主题党日（10月8日（周四）14:30）。" in told["o_01"]

    # --- the secretary's digest: the member the platform refused ------------------------------
    month.travel(beijing(2026, 10, 6, 8, 30))
    [(sent, result)] = digest.run(month.clock())
    assert result == "sent via custom"
    text = digest.text_of(sent, month.clock())
    assert "【联系不上】\n· 党员07（139****0007）已取消关注公众号" in text

    # --- wave 3: the evening before, chasers merged into one message per member ---------------
    lines = month.reminders_at("2026-10-07 20:00")
    by_name = {line.split("\t")[0]: line for line in lines}
    assert len(by_name) == len(lines) == 35  # not: answered ×3, muted 党员03, unreachable 党员07
    assert not {"王志强", "党员01", "党员02", "党员03", "党员07"} & set(by_name)
    assert by_name["李红梅"].startswith("李红梅\t2 次会议\t[eve 20:00]\t支委会（10月8日（周四）09:00）、主题党日")
    assert by_name["张建国"].startswith("张建国\t1 次会议\t[eve 20:00]\t主题党日")

    # quiet hours: the 支委会's 2-hours-before (07:00) waits for 08:00
    assert month.reminders_at("2026-10-08 07:00") == []
    assert [line.split("\t")[:3] for line in month.reminders_at("2026-10-08 08:00")] == \
        [["李红梅", "1 次会议", "[2h]"]]

    # --- the 支委会: one sign-in, one absence -------------------------------------------------
    month.travel(beijing(2026, 10, 8, 8, 50))
    assert month.say("张建国", f"签到 {codes['committee']}").startswith("签到成功：支委会")
    # the 主题党日's 2-hours-before: the same 35 (张建国 answered only the 支委会)
    assert len(month.reminders_at("2026-10-08 12:30")) == 35

    # --- the 主题党日: a late leave, sign-ins right and wrong, a remote one --------------------
    month.travel(beijing(2026, 10, 8, 14, 15))
    assert "已不能在这里请假" in month.say("党员04", "请假，临时加班")
    month.travel(beijing(2026, 10, 8, 14, 20))
    code = codes["theme_day"]
    assert month.say("王志强", f"签到 {code}") == "签到成功：主题党日（10月8日（周四）14:30）。"
    assert "不用重复签到" in month.say("王志强", f"签到 {code}")
    wrong = "0000" if code != "0000" else "1111"
    assert "签到码不对" in month.say("党员05", f"签到 {wrong}")
    assert month.say("党员05", f"签到 {code}").startswith("签到成功")
    assert month.say("刘海波", f"签到 {code}").startswith("远程签到成功")
    month.travel(beijing(2026, 10, 8, 14, 40))
    assert month.say("党员08", f"签到 {code}").startswith("签到成功")
    month.travel(beijing(2026, 10, 8, 15, 5))
    assert "签到已在" in month.say("党员06", f"签到 {code}")
    month.travel(beijing(2026, 10, 8, 15, 10))
    assert close_finished_meetings() == "closed 2"

    # --- the rest of the month: planner, closer and digest three times a day ------------------
    day = beijing(2026, 10, 9, 0)
    while day < beijing(2026, 11, 1, 0):
        for hour, minute in ((8, 30), (14, 30), (20, 0)):
            month.travel(day + timedelta(hours=hour, minutes=minute))
            run_reminders(month.clock(), inline=True)
            close_finished_meetings()
            digest.run(month.clock())
        day += timedelta(days=1)

    # --- the attendance log: every member due has exactly one status --------------------------
    theme = json.loads(month.cli(meetings_cli, "show", ids["theme_day"], "--json"))
    status = {m["name"]: (m["attendance"], m["leave_reason"]) for m in theme["members"]}
    assert len(status) == 40
    assert status["王志强"] == ("present", None)
    assert status["党员05"][0] == status["党员08"][0] == "present"
    assert status["刘海波"][0] == "remote"
    assert status["党员01"] == ("excused", "孩子生病")
    assert status["党员02"] == ("absent", "家里老人住院")  # leave denied
    assert status["党员04"][0] == status["党员06"][0] == "absent"
    assert Counter(s for s, _ in status.values()) == {"present": 3, "remote": 1, "excused": 1,
                                                      "absent": 35}
    committee = json.loads(month.cli(meetings_cli, "show", ids["committee"], "--json"))
    assert {m["name"]: m["attendance"] for m in committee["members"]} == \
        {"张建国": "present", "李红梅": "absent"}
    for meeting in listed[2:]:
        shown = json.loads(month.cli(meetings_cli, "show", meeting["id"], "--json"))
        assert shown["status"] == "closed" and len(shown["members"]) == 20
        assert {m["attendance"] for m in shown["members"]} == {"absent"}

    # --- no reminder delivered twice over the month -------------------------------------------
    sent_records = db.session.execute(select(OutboundMessage).where(
        OutboundMessage.purpose == "reminder.digest",
        OutboundMessage.status == "sent")).scalars().all()
    assert len(sent_records) == sum(1 for d in fake.state.delivered if is_reminder(d))
    per_slot = Counter(db.session.execute(select(Reminder.meeting_id, Reminder.member_id,
                                                 Reminder.slot)).all())
    assert set(per_slot.values()) == {1}
    assert db.session.get(Member, li.id).reachable is True
