"""Dues ledger benchmark: prints figures, asserts nothing.

`.venv/bin/python bench/ledger.py [--members 10000] [--database-url URL]` (a PostgreSQL
database given here is wiped). One branch of N members with bases from January (the table's
categories in turn) and most months paid, some in arrears, some voluntary extras; then, timed,
the branch's ledger for December: every member's account over the 12 months of the year (the
two queries that load bases and payments, and the computation), then the same written to XLSX.
Issue 4's target: under 2 s for 10,000 members × 12 months.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CATEGORIES = [("in_service", "2999.99"), ("in_service", "4800.00"), ("in_service", "6200.00"),
              ("in_service", "12000.00"), ("retired", "4200.00"), ("retired", "5600.00"),
              ("farmer", None), ("student", None), ("self_employed", "3500.00")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=10000)
    parser.add_argument("--database-url", help="default: SQLite in a fresh folder")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="zhibu-ledger-"))
    os.environ["ZHIBU_INSTANCE"] = str(tmp)
    os.environ.pop("REDIS_URL", None)
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    else:
        os.environ.pop("DATABASE_URL", None)

    from sqlalchemy import insert, select

    from bench.common import fresh_schema

    from bot import create_app
    from bot.dues import ledger as dues
    from bot.dues.sheet import write_ledger
    from bot.members import store
    from bot.storage.engine import db
    from bot.storage.models import DuesBase, DuesPayment, Member

    app = create_app({"PRELOAD_INTENTS": False})
    with app.app_context():
        fresh_schema()
        now = datetime(2026, 12, 20, 2, tzinfo=timezone.utc)
        branch = store.get_or_create_branch("压测支部", "机关党委")
        db.session.commit()
        started = time.perf_counter()
        db.session.execute(insert(Member), [
            {"branch_id": branch.id, "name": f"党员{i}", "phone": f"139{i:08d}",
             "status": "full", "is_floating": False, "reachable": True,
             "reminders_muted": False, "created_at": now, "updated_at": now}
            for i in range(args.members)])
        ids = list(db.session.execute(select(Member.id).where(
            Member.branch_id == branch.id).order_by(Member.id)).scalars())
        bases, payments = [], []
        for n, member_id in enumerate(ids):
            category, base = CATEGORIES[n % len(CATEGORIES)]
            bases.append({"member_id": member_id, "from_month": "2026-01", "category": category,
                          "base": Decimal(base) if base else None, "amount": None,
                          "set_by": "bench", "created_at": now})
            paid_through = 12 - n % 4  # a quarter owe nothing; the rest 1 to 3 months
            due, _ = __import__("bot.dues.rules", fromlist=["monthly"]).monthly(
                category, Decimal(base) if base else None)
            for month in range(1, paid_through + 1):
                payments.append({"member_id": member_id, "month": f"2026-{month:02d}",
                                 "amount": due, "paid_on": date(2026, month, 5),
                                 "method": "transfer", "paid_by": None, "batch": f"b{n}",
                                 "recorded_by": "bench", "created_at": now})
            if n % 10 == 0:
                payments.append({"member_id": member_id, "month": None,
                                 "amount": Decimal("100.00"), "paid_on": date(2026, 7, 1),
                                 "method": "cash", "paid_by": None, "batch": f"v{n}",
                                 "recorded_by": "bench", "created_at": now})
        db.session.execute(insert(DuesBase), bases)
        db.session.execute(insert(DuesPayment), payments)
        db.session.commit()
        print(f"backend: {db.engine.dialect.name}; setup: {len(ids)} members, "
              f"{len(payments)} payments in {time.perf_counter() - started:.1f} s")
        branch_id = branch.id
        db.session.expunge_all()  # nothing cached: the timing includes loading
        started = time.perf_counter()
        if os.environ.get("LEDGER_PROFILE"):
            import cProfile
            import pstats
            prof = cProfile.Profile()
            prof.enable()
        rows = dues.ledger(branch_id, "2026-12")
        elapsed = time.perf_counter() - started
        if os.environ.get("LEDGER_PROFILE"):
            prof.disable()
            pstats.Stats(prof).sort_stats("tottime").print_stats(15)
        owing = sum(1 for r in rows if r["arrears_months"])
        print(f"ledger for {len(rows)} members x 12 months: {elapsed:.2f} s "
              f"({owing} members in arrears)")
        started = time.perf_counter()
        write_ledger(rows, tmp / "ledger.xlsx")
        print(f"written to XLSX (streamed): {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
