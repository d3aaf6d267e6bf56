"""Fan-out benchmark (reminders and notices): prints figures, asserts nothing.

`.venv/bin/python bench/fanout.py [--what reminders|notices|both] [--members 5000]
 [--latency-ms 50] [--concurrency 16] [--sequential-members N]
 [--database-url URL --redis-url URL]`
(a PostgreSQL database and Redis database given here are wiped before each run)

A fresh instance with N members bound (inside the 48-hour window, so customer-service messages);
the stand-in platform (`fake-wechat`) with the given latency per call; a real `rq worker`.
reminders: one 主题党日 whose 3-day reminder is due. notices: a notice to all (the secretary
aside), confirmed. Timed: from the planner job being queued to the running worker (what the
scheduler, or a 确认 in chat, does) to the stand-in platform receiving the last send; the
worker's clock is 2026-11-24 14:30 Beijing. The worker's peak memory (worker + work-horse, PSS,
so the pages they share after the fork count once) is sampled every 0.5 s. For notices, then:
通知情况 asked by the secretary through the signed webhook, in process, 30 times (server time).
Then the same number of bare customer-service calls on as many threads against the same stand-in
(nothing composed, no database, no job): the floor a fan-out cannot beat on this machine.
With --sequential-members, the same fan-out one send at a time (REMINDER_CONCURRENCY=1), and the
ratio of the per-send rates.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import requests
from redis import Redis
from rq import Queue

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import add_backend_options, backend_env, backend_name, free_port  # noqa: E402
PY = sys.executable


def setup(env: dict, members: int) -> None:
    """Schema, members bound and inside the window (the first is the 书记), a theme day 3 days
    after 2026-11-24 14:30."""
    code = f'''
from datetime import datetime, timezone
from bot import create_app
from bot.meetings import planning as meetings
from bot.clock import BEIJING
from bot.storage.engine import db
from bot.members import store
from bot.storage.models import Branch, Member, MemberRole, WechatUser
from bench.common import fresh_schema
app = create_app({{"PRELOAD_INTENTS": False}})
with app.app_context():
    fresh_schema()  # a PostgreSQL database given to the bench is wiped
    now = datetime(2026, 11, 24, 14, 0, tzinfo=BEIJING)
    branch = store.get_or_create_branch("压测支部", "机关党委")
    for i in range({members}):
        m = Member(name=f"党员{{i}}", phone=f"139{{i:08d}}", branch=branch, status="full",
                   is_floating=False, reachable=True, created_at=now, updated_at=now)
        db.session.add(m)
        db.session.add(WechatUser(openid=f"o_fan_{{i}}", member=m, subscribed=True,
                                  last_interaction_at=now, created_at=now))
        if i == 0:
            m.role_rows.append(MemberRole(role="secretary"))
    db.session.commit()
    meetings.add(branch, "theme_day", datetime(2026, 11, 27, 14, 30, tzinfo=BEIJING), now)
    db.session.commit()  # (topic functions flush; the caller commits)
'''
    subprocess.run([PY, "-c", code], cwd=ROOT, env=env, check=True)


# What the timed run starts: the planner job, queued to the running worker (as a 确认 in chat
# or the scheduler queues it), on the worker's clock (2026-11-24 14:30 Beijing).
PLANNERS = {"reminders": "bot.jobs.meetings.plan_reminders",
            "notices": "bot.jobs.notices.send_due_notices"}
NOTICE = '''
from datetime import datetime
from bot import create_app
from bot.clock import BEIJING
from bot.notices import store
from bot.storage.engine import db
from bot.storage.models import Branch, Member
app = create_app({"PRELOAD_INTENTS": False})
with app.app_context():
    now = datetime(2026, 11, 24, 14, 30, tzinfo=BEIJING)
    branch = db.session.execute(db.select(Branch)).scalar_one()
    store.create(branch, db.session.get(Member, 1), "all",
                 "本周五下午3点在三楼会议室开主题党日，请准时参加。", now, False, now)
    db.session.commit()
'''


def fan_out(env: dict, members: int, fake_url: str, what: str) -> tuple[float, float]:
    """(seconds from planner start to the last send received, peak worker RSS in MB)."""
    extra = os.environ.get("FANOUT_WORKER_ARGS", "").split()
    worker = subprocess.Popen([PY, "-m", "rq.cli", "worker", "--config", "bot.jobs.rq_settings", *extra,
                               "--logging_level", "INFO" if os.environ.get("FANOUT_WORKER_LOG") else "WARNING"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=open(os.environ.get("FANOUT_WORKER_LOG", os.devnull), "w"))
    peak = [0]
    stop = threading.Event()

    def sample():
        proc = psutil.Process(worker.pid)
        while not stop.is_set():
            try:
                # PSS: pages the worker shares with its forked work-horse are counted once
                pss = proc.memory_full_info().pss + sum(
                    c.memory_full_info().pss for c in proc.children(recursive=True))
                peak[0] = max(peak[0], pss)
            except psutil.Error:
                pass
            time.sleep(0.5)  # reading smaps costs CPU: more often would slow the fan-out

    threading.Thread(target=sample, daemon=True).start()
    if what == "notices":
        subprocess.run([PY, "-c", NOTICE], cwd=ROOT, env=env, check=True)
    queue = Queue(env.get("RQ_QUEUE", "zhibu"), connection=Redis.from_url(env["REDIS_URL"]))
    time.sleep(3)  # the worker is up and waiting
    started = time.monotonic()
    queue.enqueue(PLANNERS[what])
    received, expected = 0, members - (what == "notices")  # a notice skips its sender
    while received < expected:
        received = requests.get(f"{fake_url}/_fake/messages",
                                params={"after": 10**9}).json()["next"]
        if time.monotonic() - started > 1800:
            break
        time.sleep(0.05)
    elapsed = time.monotonic() - started
    stop.set()
    worker.terminate()
    worker.wait(30)
    return elapsed, peak[0] / 2**20


STATUS = '''
import hashlib, statistics, time
from datetime import datetime
from bot import create_app
from bot.clock import BEIJING
from bot.wechat.simulator import message_xml
app = create_app()
app.config["CLOCK"] = lambda: datetime(2026, 11, 24, 15, 0, tzinfo=BEIJING)
client, token, times, reply = app.test_client(), app.config["WECHAT_TOKEN"], [], ""
for i in range(31):
    stamp, nonce = str(int(app.config["CLOCK"]().timestamp())), f"n{i}"
    signature = hashlib.sha1("".join(sorted([token, stamp, nonce])).encode()).hexdigest()
    xml = message_xml("o_fan_0", text="通知情况", msg_id=9000 + i)
    started = time.perf_counter()
    response = client.post("/wechat", query_string={"signature": signature, "timestamp": stamp,
                           "nonce": nonce}, data=xml.encode(), content_type="application/xml")
    times.append(time.perf_counter() - started)
    reply = response.get_data(as_text=True)
times = sorted(times[1:])  # the first warms the connection pool
print(f"通知情况 for a notice to {MEMBERS} members, through the signed webhook in process, 30 "
      f"times: p50 {statistics.median(times) * 1000:.1f} ms, max {times[-1] * 1000:.1f} ms")
print("  reply starts: " + reply.split("<Content><![CDATA[", 1)[1][:60].replace("\\n", " "))
'''


def raw_floor(fake_url: str, count: int, concurrency: int) -> float:
    """Seconds the same number of bare customer-service calls take on `concurrency` threads
    against the same stand-in (no database, no job, nothing composed): what a fan-out cannot
    beat on this machine, the rest being the fan-out's own cost."""
    from concurrent.futures import ThreadPoolExecutor

    token = requests.get(f"{fake_url}/cgi-bin/token", params={
        "grant_type": "client_credential", "appid": "wxfanout0000000001",
        "secret": "fanout"}).json()["access_token"]
    local = threading.local()

    def call(index: int) -> int:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        body = {"touser": f"floor{index}", "msgtype": "text", "text": {"content": "提醒" * 40}}
        return session.post(f"{fake_url}/cgi-bin/message/custom/send",
                            params={"access_token": token},
                            data=json.dumps(body, ensure_ascii=False).encode()).json()["errcode"]

    started = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        codes = set(pool.map(call, range(count)))
    elapsed = time.monotonic() - started
    assert codes == {0}, codes
    return elapsed


def run(args, members: int, concurrency: int, what: str) -> tuple[float, float, float]:
    tmp = Path(tempfile.mkdtemp(prefix="zhibu-fanout-"))
    fake_port = free_port()
    (tmp / "clock.txt").write_text("2026-11-24T14:30:00+08:00")
    env = backend_env(args, tmp, WECHAT_API_BASE=f"http://127.0.0.1:{fake_port}",
                      ZHIBU_CLOCK_FILE=str(tmp / "clock.txt"),
                      WECHAT_APP_ID="wxfanout0000000001", WECHAT_APP_SECRET="fanout",
                      WECHAT_TOKEN="fanout", SECRET_KEY="fanout-secret",
                      REMINDER_CONCURRENCY=str(concurrency))
    if args.redis_url:
        subprocess.run(["redis-cli", "-u", args.redis_url, "flushdb"], check=True,
                       stdout=subprocess.DEVNULL)
    fake = subprocess.Popen([PY, "-m", "flask", "--app", "wsgi", "fake-wechat", "--port",
                             str(fake_port), "--latency-ms", str(args.latency_ms), "--no-window"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        setup(env, members)
        for _ in range(100):
            try:
                requests.get(f"http://127.0.0.1:{fake_port}/_fake/messages", timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.1)
        result = fan_out(env, members, f"http://127.0.0.1:{fake_port}", what)
        result += (raw_floor(f"http://127.0.0.1:{fake_port}", members - (what == "notices"),
                             concurrency),)
        if what == "notices" and concurrency > 1:
            subprocess.run([PY, "-c", f"MEMBERS = {members}\n" + STATUS], cwd=ROOT,
                           env=dict(env, WECHAT_ENCRYPT_MODE="plain"), check=True)
        return result
    finally:
        fake.terminate()
        fake.wait(20)
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--sequential-members", type=int, default=0)
    parser.add_argument("--what", choices=["reminders", "notices", "both"], default="both")
    add_backend_options(parser)
    args = parser.parse_args()
    print(f"backend: {backend_name(args)}; stand-in latency {args.latency_ms} ms; {os.cpu_count()} cores")
    for what in (["reminders", "notices"] if args.what == "both" else [args.what]):
        count = args.members - (what == "notices")  # a notice does not go to its sender
        elapsed, peak, floor = run(args, args.members, args.concurrency, what)
        print(f"{what}: fan-out to {count} members, concurrency {args.concurrency}: "
              f"{elapsed:.1f} s planner start to last send ({count / elapsed:.0f} sends/s), "
              f"peak worker memory {peak:.0f} MB; the same number of bare calls to the "
              f"stand-in on {args.concurrency} threads: {floor:.1f} s")
    if args.sequential_members:
        seq, seq_peak, _ = run(args, args.sequential_members, 1, "reminders")
        print(f"one send at a time, {args.sequential_members} members: {seq:.1f} s "
              f"({args.sequential_members / seq:.1f} sends/s), peak {seq_peak:.0f} MB; "
              f"concurrent/sequential rate ratio "
              f"{(args.members / elapsed) / (args.sequential_members / seq):.1f}x")


if __name__ == "__main__":
    main()
