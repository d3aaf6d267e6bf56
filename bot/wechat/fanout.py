"""A fan-out: one push to each of many members, claimed and journalled, never twice, never lost.

Reminders and notices send this way. Each keeps its own table of send rows (Reminder,
NoticeSend: member_id, status, claim, claimed_at, outbound_id, note, updated_at) and says, in a
`Fanout`, how a member's claimed rows become one message. The steps:

1. claim: a planner marks the due rows `sending` with a fresh token and commits;
2. prepare: a send job loads the rows still holding its token, writes one OutboundMessage per
   member (idempotency key) and commits before any platform call — a killed worker leaves a
   trail;
3. deliver: the platform calls only, CONCURRENCY at a time on threads (no database); each
   accepted call is journalled in Redis at once;
4. settle: every outcome is written in one flush.
A send job runs these steps on SLICEs of its members as a pipeline: while the threads call the
platform for one slice, the job prepares the next and settles the finished.

A claim not settled within STALE (the worker died) is recovered by the next planner: what the
journal says the platform accepted is settled as sent, the rest is released and sent again.
A quota error (45009, 45011), a busy platform or the network pause every fan-out of the account:
the rows wait for the next run.
"""
from __future__ import annotations

import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from bot.clock import BEIJING, to_beijing
from bot.storage.engine import db
from bot.storage.models import Member, OutboundMessage
from bot.wechat import client as wechat

log = logging.getLogger(__name__)
STALE = timedelta(minutes=10)  # a claim not settled by then is recovered (the worker died)
CHUNK = 2500  # members per send job
SLICE = 100  # members prepared (and committed) at a time inside a send job
PAUSE_KEY = "zhibu:fanout:paused_until"  # the account's quota is one, whatever the fan-out
JOURNAL = "zhibu:fanout:delivered:"  # + idempotency key: the platform accepted this send
JOURNAL_TTL = 7 * 86400


class Fanout:
    """One kind of fan-out. Subclasses set `model` (the send rows) and say how a member's rows
    become a message (`message`) and its idempotency key (`key`)."""

    model = None

    def key(self, claim: str, member_id: int) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def row_key(self, row) -> str:
        """The idempotency key a claimed row was (or will be) sent under."""
        return self.key(row.claim, row.member_id)

    def message(self, member: Member, rows: list, now: datetime) -> tuple[str, dict]:
        """(reply key, values) of the member's message; values may hold `menu` (one-tap
        options of a customer-service message)."""
        raise NotImplementedError  # pragma: no cover - overridden

    def hold(self, rows: dict[int, list], members: list[Member], now: datetime) -> object:
        """What the batch's messages need, read at once for all its members and kept (alive,
        in the session) while they are composed."""
        return None


# Pauses and the journal ---------------------------------------------------------------------

def paused_until(now: datetime, redis=None) -> datetime | None:
    """The end of a pause of fan-outs still running at `now`, or None."""
    raw = (redis or current_app.extensions["redis"]).get(PAUSE_KEY)
    if not raw:
        return None
    until = datetime.fromisoformat(raw.decode())
    return until if until > now else None


def pause(errcode: int | None, now: datetime) -> None:
    """Hold every fan-out: until the next Beijing day (45009), else for a minute."""
    if errcode == 45009:
        here = to_beijing(now)
        until = datetime.combine(here.date() + timedelta(days=1), datetime.min.time(),
                                 tzinfo=BEIJING)
    else:  # per-minute quota, busy, network
        until = now + timedelta(minutes=1)
    current_app.extensions["redis"].set(PAUSE_KEY, until.isoformat(), ex=2 * 86400)
    log.warning("fan-out paused until %s (errcode %s)", until, errcode)


def journal(redis, key: str, delivery) -> None:
    """Note at once (before any database write) that the platform accepted this send."""
    redis.set(JOURNAL + key, delivery.channel, ex=JOURNAL_TTL)


# Claiming -----------------------------------------------------------------------------------

def recover_stale(kind: Fanout, now: datetime, *where) -> None:
    """Claims whose worker died: settle what the journal says was delivered, release the rest."""
    model, redis = kind.model, current_app.extensions["redis"]
    stale = db.session.execute(select(model).where(
        model.status == "sending", model.claimed_at < now - STALE, *where)).scalars().all()
    for row in stale:
        key = kind.row_key(row)
        channel = redis.get(JOURNAL + key)
        if channel:
            row.status, row.note, row.updated_at = "sent", "recovered", now
            record = db.session.execute(select(OutboundMessage).where(
                OutboundMessage.idempotency_key == key)).scalar_one_or_none()
            if record is not None:
                record.status, record.channel, record.errcode = "sent", channel.decode(), 0
                row.outbound_id = record.id
        else:
            release([row], now)


def claim(kind: Fanout, row_ids: list[int], now: datetime) -> tuple[str, set[int]]:
    """Claim these pending rows with a fresh token: (token, the members whose rows it holds).
    A concurrent planner may have taken some first. The caller commits before sending."""
    model, token = kind.model, uuid.uuid4().hex
    for start in range(0, len(row_ids), 500):  # a few statements, not one per row
        db.session.execute(update(model).where(
            model.id.in_(row_ids[start:start + 500]), model.status == "pending").values(
            status="sending", claim=token, claimed_at=now, updated_at=now),
            execution_options={"synchronize_session": False})
    mine = set(db.session.execute(select(model.member_id).where(model.claim == token))
               .scalars())
    return token, mine


def chunks(member_ids: list[int], size: int = CHUNK) -> list[list[int]]:
    """Member ids, CHUNK to a send job (or `size`)."""
    return [member_ids[start:start + size] for start in range(0, len(member_ids), size)]


# Sending ------------------------------------------------------------------------------------

@dataclass
class Batch:
    """One send job between its three steps: prepared (records written; the caller commits
    before any call), delivered (platform calls only, on threads), settled (outcomes written;
    the caller commits)."""

    kind: Fanout
    claim: str
    now: datetime
    results: dict[int, str]
    prepared: list = field(default_factory=list)  # (member id, record id, key, Delivery)


def _claimed(kind: Fanout, member_ids: list[int], token: str) -> dict[int, list]:
    model, rows = kind.model, {}
    for row in db.session.execute(select(model).where(
            model.member_id.in_(member_ids), model.claim == token,
            model.status == "sending").order_by(model.id)).scalars():
        rows.setdefault(row.member_id, []).append(row)
    return rows


def prepare(kind: Fanout, member_ids: list[int], token: str, now: datetime) -> Batch:
    """The claimed rows of these members as one message each, records written (flush)."""
    rows = _claimed(kind, member_ids, token)
    batch = Batch(kind, token, now, {mid: "nothing" for mid in member_ids if mid not in rows})
    if paused_until(now):
        for member_id, member_rows in rows.items():
            release(member_rows, now)
            batch.results[member_id] = "paused"
        db.session.flush()
        return batch
    members = {m.id: m for m in db.session.execute(select(Member).where(
        Member.id.in_(list(rows))).options(joinedload(Member.wechat))).scalars()}
    held = kind.hold(rows, list(members.values()), now)  # noqa: F841 - alive while composed
    keys = {member_id: kind.key(token, member_id) for member_id in rows}
    records = {r.idempotency_key: r for r in db.session.execute(select(OutboundMessage).where(
        OutboundMessage.idempotency_key.in_(list(keys.values())))).scalars()}
    prepared = []
    for member_id, member_rows in rows.items():
        member, key = members[member_id], keys[member_id]
        purpose, values = kind.message(member, member_rows, now)
        record, delivery = wechat.prepare(member, purpose, now, idempotency_key=key,
                                          record=records.get(key), **values)
        if delivery is None:
            settle_rows(member_rows, record, now)
            batch.results[member_id] = f"{record.status} via {record.channel}"
        else:
            prepared.append((member_id, record, key, delivery))
    db.session.flush()
    batch.prepared = [(member_id, record.id, key, delivery)
                      for member_id, record, key, delivery in prepared]
    return batch


class Pipeline:
    """The platform calls of prepared batches, REMINDER_CONCURRENCY at a time (default 16: at
    about 50 ms a call, ~300 calls/s), while the caller prepares the next batch and settles the
    finished ones — the threads never wait for the database. No database on the threads: they
    see plain values only. Once a send hits a quota, what has not gone out waits."""

    PAUSE_CHECK_SECONDS = 1.0  # another process's pause is seen within this

    def __init__(self, now: datetime):
        self.now, self.api = now, wechat.client()
        self.redis = current_app.extensions["redis"]
        self.pool = ThreadPoolExecutor(max_workers=current_app.config["REMINDER_CONCURRENCY"])
        self.inflight: list[tuple[Batch, list]] = []
        self.paused, self.checked = False, 0.0

    def _paused(self) -> bool:
        """Has a send hit a quota: one of ours (at once), another process's (within a second)?"""
        moment = time.monotonic()
        if not self.paused and moment - self.checked > self.PAUSE_CHECK_SECONDS:
            self.checked = moment
            self.paused = paused_until(self.now, self.redis) is not None
        return self.paused

    def _call(self, item) -> None:
        _, _, key, delivery = item
        if self._paused():  # a send hit a quota: do not add to it
            return
        wechat.deliver(self.api, delivery, self.now)
        if delivery.errcode == 0:
            journal(self.redis, key, delivery)
        elif delivery.retry_later:
            self.paused = True

    def submit(self, batch: Batch) -> None:
        """Start the calls of a prepared (and committed) batch."""
        self.inflight.append((batch, [self.pool.submit(self._call, item)
                                      for item in batch.prepared]))

    def finished(self, wait: bool = False):
        """The batches whose calls are all done, oldest first (with wait: every batch, each as
        soon as it is done)."""
        while self.inflight:
            batch, futures = self.inflight[0]
            if not wait and not all(f.done() for f in futures):
                return
            for future in futures:
                future.result()
            self.inflight.pop(0)
            yield batch

    def close(self) -> None:
        self.pool.shutdown(wait=True)


def settle(batch: Batch) -> dict[int, str]:
    """Write every outcome of a delivered batch (flush); the result per member."""
    now, record_ids = batch.now, {member_id: rid for member_id, rid, _, _ in batch.prepared}
    # Reload what the commit expired in three queries (not one lazy load, and one autoflush,
    # per member), then write every outcome in one flush.
    records = {r.id: r for r in db.session.execute(select(OutboundMessage).where(
        OutboundMessage.id.in_(list(record_ids.values())))).scalars()}
    members = {m.id: m for m in db.session.execute(select(Member).where(
        Member.id.in_(list(record_ids)))).scalars()}
    rows = _claimed(batch.kind, list(record_ids), batch.claim)
    results = batch.results
    with db.session.no_autoflush:
        for member_id, _, _, delivery in batch.prepared:
            member, member_rows = members[member_id], rows.get(member_id, [])
            record = records[record_ids[member_id]]
            if not delivery.attempts:  # held back by a pause
                release(member_rows, now)
                results[member_id] = "paused"
                continue
            wechat.finish(record, delivery, member, now)
            if delivery.retry_later:
                pause(delivery.errcode, now)
                release(member_rows, now)
                results[member_id] = f"paused ({delivery.errcode})"
            else:
                settle_rows(member_rows, record, now)
                results[member_id] = f"{record.status} via {record.channel}"
    db.session.flush()
    return results


def settle_rows(rows: list, record: OutboundMessage, now: datetime) -> None:
    """The rows of one member's send, as its record ended."""
    for row in rows:
        row.status = "sent" if record.status == "sent" else "failed"
        row.outbound_id, row.updated_at = record.id, now
        row.note = None if record.status == "sent" else f"errcode {record.errcode}"


def release(rows: list, now: datetime) -> None:
    """Give claimed rows back: the next planner run claims them again."""
    for row in rows:
        row.status, row.claim, row.claimed_at, row.updated_at = "pending", None, None, now
