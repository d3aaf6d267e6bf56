"""Reminder fan-out benchmark: prints figures, asserts nothing.

`.venv/bin/python bench/fanout.py [--members 5000] [--latency-ms 50] [--concurrency 16]
 [--sequential-members N] [--database-url URL --redis-url URL]`
(a PostgreSQL database and Redis database given here are wiped before each run)

A fresh instance with N members bound (inside the 48-hour window, so customer-service messages),
one 主题党日 whose 3-day reminder is due; the stand-in platform (`fake-wechat`) with the given
latency per call; a real `rq worker`. Timed: from the planner's start to the stand-in platform
receiving the last send. The worker's peak memory (worker + work-horse, PSS, so the pages they
share after the fork count once) is sampled every 50 ms. Then the same fan-out one send at a time (REMINDER_CONCURRENCY=1) on
--sequential-members members, and the ratio of the per-send rates.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import add_backend_options, backend_env, backend_name, free_port  # noqa: E402
PY = sys.executable


def setup(env: dict, members: int) -> None:
    """Schema, members bound and inside the window, a theme day 3 days after 2026-11-24 14:30."""
    code = f'''
from datetime import datetime, timezone
from bot import create_app
from bot.meetings import planning as meetings
from bot.clock import BEIJING
from bot.storage.engine import db
from bot.members import store
from bot.storage.models import Branch, Member, WechatUser
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
    db.session.commit()
    meetings.add(branch, "theme_day", datetime(2026, 11, 27, 14, 30, tzinfo=BEIJING), now)
'''
    subprocess.run([PY, "-c", code], cwd=ROOT, env=env, check=True)


def fan_out(env: dict, members: int, fake_url: str) -> tuple[float, float]:
    """(seconds from planner start to the last send received, peak worker RSS in MB)."""
    worker = subprocess.Popen([PY, "-m", "rq.cli", "worker", "--config", "bot.jobs.rq_settings",
                               "--logging_level", "WARNING"], cwd=ROOT, env=env,
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
            time.sleep(0.05)

    threading.Thread(target=sample, daemon=True).start()
    time.sleep(3)  # the worker is up and waiting
    started = time.monotonic()
    subprocess.run([PY, "-c", '''
from datetime import datetime
from bot import create_app
from bot.meetings import reminders
from bot.clock import BEIJING
app = create_app({"PRELOAD_INTENTS": False})
with app.app_context():
    run_reminders(datetime(2026, 11, 24, 14, 30, tzinfo=BEIJING))
'''], cwd=ROOT, env=env, check=True)
    received = 0
    while received < members:
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


def run(args, members: int, concurrency: int) -> tuple[float, float]:
    tmp = Path(tempfile.mkdtemp(prefix="zhibu-fanout-"))
    fake_port = free_port()
    env = backend_env(args, tmp, WECHAT_API_BASE=f"http://127.0.0.1:{fake_port}",
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
        return fan_out(env, members, f"http://127.0.0.1:{fake_port}")
    finally:
        fake.terminate()
        fake.wait(20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--sequential-members", type=int, default=5000)
    add_backend_options(parser)
    args = parser.parse_args()
    print(f"backend: {backend_name(args)}; stand-in latency {args.latency_ms} ms; {os.cpu_count()} cores")
    elapsed, peak = run(args, args.members, args.concurrency)
    print(f"fan-out to {args.members} members, concurrency {args.concurrency}: "
          f"{elapsed:.1f} s planner start to last send ({args.members / elapsed:.0f} sends/s), "
          f"peak worker memory {peak:.0f} MB")
    if args.sequential_members:
        seq, seq_peak = run(args, args.sequential_members, 1)
        print(f"one send at a time, {args.sequential_members} members: {seq:.1f} s "
              f"({args.sequential_members / seq:.1f} sends/s), peak {seq_peak:.0f} MB; "
              f"concurrent/sequential rate ratio "
              f"{(args.members / elapsed) / (args.sequential_members / seq):.1f}x")


if __name__ == "__main__":
    main()
