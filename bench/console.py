"""Console page benchmark: prints figures, asserts nothing.

`.venv/bin/python bench/console.py [--members 500] [--meetings 12] [--runs 20]
[--database-url URL] [--redis-url URL]` (a PostgreSQL database given here is wiped). One branch
of N members in 10 groups with M closed meetings of the month and every member's status; a
secretary signs in through the chat's one-time link; then each page is asked for `runs` times
in this process (Flask's test client: the server's own time, no network): the attendance matrix
(考勤) and the roster (名册). Issue 16's targets: the matrix under 300 ms, the roster under 200 ms.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import add_backend_options, backend_env, backend_name, fresh_schema  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--meetings", type=int, default=12)
    parser.add_argument("--runs", type=int, default=20)
    add_backend_options(parser)
    args = parser.parse_args()
    import os

    instance = tempfile.mkdtemp(prefix="zhibu-console-")
    os.environ["ZHIBU_INSTANCE"] = instance  # before bot.config is first imported
    os.environ.update(backend_env(args, instance))
    from sqlalchemy import insert, select

    from bot import create_app
    from bot.clock import BEIJING
    from bot.console import login_link
    from bot.members import store
    from bot.storage.engine import db
    from bot.storage.models import Meeting, MeetingAttendance, Member, MemberRole

    app = create_app({"PRELOAD_INTENTS": False, "SECRET_KEY": "bench-" + "x" * 32,
                      "PUBLIC_URL": "http://127.0.0.1:5000"})
    with app.app_context():
        fresh_schema()
        now = datetime(2026, 11, 30, 4, tzinfo=timezone.utc)
        branch = store.get_or_create_branch("压测支部", "机关党委")
        groups = [store.get_or_create_group(branch, f"第{i + 1}党小组") for i in range(10)]
        db.session.commit()
        db.session.execute(insert(Member), [
            {"branch_id": branch.id, "group_id": groups[i % 10].id, "name": f"党员{i}",
             "phone": f"139{i:08d}", "status": "full", "is_floating": i % 50 == 0,
             "reachable": True, "reminders_muted": False, "created_at": now,
             "updated_at": now} for i in range(args.members)])
        ids = list(db.session.execute(select(Member.id).order_by(Member.id)).scalars())
        db.session.add(MemberRole(member_id=ids[0], role="secretary"))
        kinds = ["theme_day", "party_lecture", "branch_assembly", "org_life"]
        for k in range(args.meetings):
            starts = datetime(2026, 11, 1 + 2 * k, 14, 30, tzinfo=BEIJING)
            db.session.add(Meeting(branch_id=branch.id, kind=kinds[k % 4], audience="branch",
                                   group_key=0, starts_at=starts, checkin_code="1234",
                                   status="closed", period=f"bench-{k}", created_at=now,
                                   updated_at=now, closed_at=starts))
        db.session.commit()
        statuses = ("present", "present", "present", "remote", "excused", "absent")
        db.session.execute(insert(MeetingAttendance), [
            {"meeting_id": m, "member_id": member, "attendance": statuses[(n + m) % 6],
             "updated_at": now}
            for m in db.session.execute(select(Meeting.id)).scalars()
            for n, member in enumerate(ids)])
        db.session.commit()
        secretary = db.session.get(Member, ids[0])
        client = app.test_client()
        path = login_link(secretary).split("127.0.0.1:5000", 1)[1]
        assert client.get(path).status_code == 302, "sign-in failed"
        print(f"backend: {backend_name(args)}; {args.members} members, {args.meetings} meetings")
        for name, url, target in (("attendance matrix", "/console/attendance?month=2026-11", 300),
                                  ("roster", "/console/roster", 200)):
            times = []
            for _ in range(args.runs + 2):
                started = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, response.status_code
            times = times[2:]  # the first two warm the caches (templates, statements)
            if os.environ.get("PROFILE"):
                import cProfile
                import pstats

                profile = cProfile.Profile()
                profile.runcall(client.get, url)
                pstats.Stats(profile).sort_stats("cumulative").print_stats(
                    os.environ.get("PROFILE_FILTER", ""), 25)
            print(f"{name}: p50 {statistics.median(times):.0f} ms, max {max(times):.0f} ms "
                  f"over {args.runs} runs, {len(response.data) / 1024:.0f} KB "
                  f"(target < {target} ms)")


if __name__ == "__main__":
    main()
