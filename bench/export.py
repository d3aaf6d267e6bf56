"""Attendance export benchmark: prints figures, asserts nothing.

`.venv/bin/python bench/export.py [--members 10000] [--meetings 10] [--database-url URL]`
(a PostgreSQL database given here is wiped). One branch, N members in 20 groups, M closed
meetings of the month with every member's status, leave for some, a check-in a day for a third
of them (a reflection once a week), dues paid by most; then, timed in a fresh process, `export attendance` to XLSX:
wall time and the process's peak memory (ru_maxrss). Issue 6's target: under 10 s and 300 MB.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable

SETUP = r'''
import sys
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from sqlalchemy import insert, select
from bench.common import fresh_schema
from bot import create_app
from bot.clock import BEIJING
from bot.storage.engine import db
from bot.members import store
from bot.storage.models import (DuesBase, DuesPayment, Meeting, MeetingAttendance, Member,
                                PartyGroup, StudyCheckin)
members, count = int(sys.argv[1]), int(sys.argv[2])
app = create_app({"PRELOAD_INTENTS": False})
with app.app_context():
    fresh_schema()
    now = datetime(2026, 11, 30, 12, tzinfo=timezone.utc)
    branch = store.get_or_create_branch("压测支部", "机关党委")
    groups = [store.get_or_create_group(branch, f"第{i + 1}党小组") for i in range(20)]
    db.session.commit()
    db.session.execute(insert(Member), [
        {"branch_id": branch.id, "group_id": groups[i % 20].id, "name": f"党员{i}",
         "phone": f"139{i:08d}", "status": "full", "is_floating": i % 50 == 0,
         "reachable": True, "reminders_muted": False, "created_at": now, "updated_at": now}
        for i in range(members)])
    ids = list(db.session.execute(select(Member.id).order_by(Member.id)).scalars())
    kinds = ["theme_day", "party_lecture", "branch_assembly", "org_life"]
    for k in range(count):
        starts = datetime(2026, 11, 2 + 2 * k, 14, 30, tzinfo=BEIJING)
        db.session.add(Meeting(branch_id=branch.id, kind=kinds[k % 4], audience="branch",
                               group_key=0, starts_at=starts, checkin_code="1234",
                               status="closed", period=f"bench-{k}", created_at=now,
                               updated_at=now, closed_at=starts))
    db.session.commit()
    meetings = list(db.session.execute(select(Meeting.id)).scalars())
    rows = []
    for m in meetings:
        for n, member in enumerate(ids):
            status = ("present", "present", "present", "remote", "excused", "absent")[(n + m) % 6]
            rows.append({"meeting_id": m, "member_id": member, "attendance": status,
                         "rsvp": "leave" if status == "excused" else None,
                         "leave_reason": "出差" if status == "excused" else None,
                         "leave_status": "approved" if status == "excused" else None,
                         "leave_requested_at": now if status == "excused" else None,
                         "leave_decided_by": ids[0] if status == "excused" else None,
                         "leave_decided_at": now if status == "excused" else None,
                         "updated_at": now})
    for start in range(0, len(rows), 20000):
        db.session.execute(insert(MeetingAttendance), rows[start:start + 20000])
    db.session.execute(insert(StudyCheckin), [
        {"member_id": member, "day": date(2026, 11, d), "seq": 1, "material": "党章",
         "minutes": 30, "reflection": "要把学习成果转化为推动工作的实际成效" if d % 7 == 0 else None,
         "entries": 1, "created_at": now, "updated_at": now}
        for member in ids[::3] for d in range(1, 29)])
    db.session.execute(insert(DuesBase), [
        {"member_id": member, "from_month": "2026-01", "category": "in_service",
         "base": Decimal("6200.00"), "amount": None, "set_by": "bench", "created_at": now}
        for member in ids])
    db.session.execute(insert(DuesPayment), [
        {"member_id": member, "month": f"2026-{mo:02d}", "amount": Decimal("93.00"),
         "paid_on": date(2026, mo, 5), "method": "transfer", "paid_by": None, "batch": "b",
         "recorded_by": "bench", "created_at": now}
        for n, member in enumerate(ids) for mo in range(1, 12 - n % 3)])
    db.session.commit()
    print(f"setup: {len(ids)} members, {len(meetings)} meetings, {len(rows)} statuses")
'''


# `flask --app wsgi export attendance …` in this process, then its own peak RSS (KB).
RUN = r'''
import resource, sys
from flask.cli import main
out = sys.argv[1]
sys.argv = ["flask", "--app", "wsgi", "export", "attendance", "--month", "2026-11", "--out", out]
try:
    main()
except SystemExit as exc:
    assert not exc.code, exc.code
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
'''


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=10000)
    parser.add_argument("--meetings", type=int, default=10)
    parser.add_argument("--database-url", help="default: SQLite in a fresh folder")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="zhibu-export-"))
    env = dict(os.environ, ZHIBU_INSTANCE=str(tmp))
    env.pop("REDIS_URL", None)
    env.pop("DATABASE_URL", None)
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    started = time.monotonic()
    subprocess.run([PY, "-c", SETUP, str(args.members), str(args.meetings)], cwd=ROOT, env=env,
                   check=True)
    print(f"backend: {args.database_url or 'SQLite'}; setup took {time.monotonic() - started:.1f} s")
    out = tmp / "考勤.xlsx"
    started = time.monotonic()
    result = subprocess.run([PY, "-c", RUN, str(out)], cwd=ROOT, env=env, check=True,
                            capture_output=True, text=True)
    elapsed = time.monotonic() - started
    peak = int(result.stdout.strip().splitlines()[-1]) / 1024
    print(f"export attendance, {args.members} members x {args.meetings} meetings: {elapsed:.1f} s "
          f"(process start included), peak memory {peak:.0f} MB (the export process), "
          f"{out.stat().st_size / 1e6:.1f} MB workbook")


if __name__ == "__main__":
    main()
