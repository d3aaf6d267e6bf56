"""The /wechat endpoint: verification, signatures, safe mode, dedupe, bad input, every type."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.chat import dispatch as handlers
from bot.wechat.webhook import sign
from bot.wechat.simulator import message_xml
from bot.storage.engine import db
from bot.storage.models import InboundMessage, Member, WechatUser
from tests.helpers import AES_KEY, Platform, bind, write_roster

# The platform's published cryptoDemo sample (../shared/wechat.md).
SAMPLE_TOKEN = "spamtest"
SAMPLE_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
SAMPLE_APPID = "wx2c2769f8efd9abc2"
SAMPLE_TS, SAMPLE_NONCE = "1409735669", "1320562132"
SAMPLE_MSG_SIGNATURE = "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
SAMPLE_ENCRYPT = (
    "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PG"
    "HQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6"
    "tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp"
    "3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhv"
    "Ql+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=")


def count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def test_known_answer_signature():
    assert sign(SAMPLE_TOKEN, SAMPLE_TS, SAMPLE_NONCE, SAMPLE_ENCRYPT) == SAMPLE_MSG_SIGNATURE


def test_known_answer_through_the_webhook(app, clock):
    """The platform's own sample decrypts through /wechat to Content abcdteT, MsgId …728."""
    from datetime import datetime, timezone

    app.config.update(WECHAT_TOKEN=SAMPLE_TOKEN, WECHAT_AES_KEY=SAMPLE_KEY,
                      WECHAT_ENCRYPT_MODE="safe", WECHAT_APP_ID=SAMPLE_APPID)
    clock.set(datetime.fromtimestamp(int(SAMPLE_TS), tz=timezone.utc))
    try:
        body = (f"<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>"
                f"<Encrypt><![CDATA[{SAMPLE_ENCRYPT}]]></Encrypt></xml>")
        params = {"signature": sign(SAMPLE_TOKEN, SAMPLE_TS, SAMPLE_NONCE), "timestamp": SAMPLE_TS,
                  "nonce": SAMPLE_NONCE, "encrypt_type": "aes",
                  "msg_signature": SAMPLE_MSG_SIGNATURE}
        response = Platform(app).post_raw(body, params)
        assert response.status_code == 200
        row = db.session.execute(select(InboundMessage)).scalar_one()
        assert row.content == "abcdteT"
        assert row.msg_id == 6054768590064713728
        assert row.openid == "oyORnuP8q7ou2gfYjqLzSIWZf0rs"
        assert "<Encrypt>" in response.get_data(as_text=True)  # the reply is encrypted too
        tampered = dict(params, msg_signature="0" * 40)
        assert Platform(app).post_raw(body, tampered).status_code == 403
    finally:
        app.config.update(WECHAT_TOKEN="test-token", WECHAT_AES_KEY=None,
                          WECHAT_ENCRYPT_MODE="plain", WECHAT_APP_ID="wxtest000000000001")


def test_get_verification_echoes_only_when_signed(app, platform):
    client = app.test_client()
    ok = client.get("/wechat", query_string=platform.params(echostr="hello123"))
    assert ok.status_code == 200 and ok.get_data(as_text=True) == "hello123"
    forged = dict(platform.params(echostr="hello123"), signature="f" * 40)
    assert client.get("/wechat", query_string=forged).status_code == 403
    assert client.get("/wechat", query_string={"echostr": "x"}).status_code == 403


@pytest.mark.parametrize("case", ["forged", "unsigned", "stale", "future", "no_timestamp"])
def test_bad_requests_are_refused_and_store_nothing(app, platform, clock, case):
    xml = message_xml("o_attacker", text="绑定 12345678", msg_id=42)
    params = platform.params()
    if case == "forged":
        params["signature"] = sign("wrong-token", params["timestamp"], params["nonce"])
    elif case == "unsigned":
        params.pop("signature")
    elif case == "stale":
        params = platform.params(timestamp=int((clock() - timedelta(minutes=10)).timestamp()))
    elif case == "future":
        params = platform.params(timestamp=int((clock() + timedelta(minutes=10)).timestamp()))
    else:
        params.pop("timestamp")
    response = platform.post_raw(xml, params)
    assert response.status_code == 403
    assert count(InboundMessage) == 0 and count(WechatUser) == 0


def test_safe_mode_checks_msg_signature_not_only_signature(app, platform):
    """A request with a valid plain signature but a forged msg_signature is refused."""
    app.config.update(WECHAT_AES_KEY=AES_KEY, WECHAT_ENCRYPT_MODE="safe")
    try:
        safe = Platform(app, safe=True)
        crypto = safe.crypto()
        params = safe.params()
        import xmltodict
        enc = xmltodict.parse(crypto.encrypt_message(
            message_xml("o_x", text="帮助", msg_id=1), params["nonce"], params["timestamp"]))["xml"]
        body = f"<xml><Encrypt><![CDATA[{enc['Encrypt']}]]></Encrypt></xml>"
        params.update(encrypt_type="aes", msg_signature="a" * 40)
        assert safe.post_raw(body, params).status_code == 403
        params.pop("msg_signature")
        assert safe.post_raw(body, params).status_code == 403
        assert count(InboundMessage) == 0
    finally:
        app.config.update(WECHAT_AES_KEY=None, WECHAT_ENCRYPT_MODE="plain")


def test_safe_mode_round_trip_replies_encrypted(app, platform):
    app.config.update(WECHAT_AES_KEY=AES_KEY, WECHAT_ENCRYPT_MODE="safe")
    try:
        safe = Platform(app, safe=True)
        reply = safe.text("o_newcomer", "你好")
        assert "绑定" in reply  # decrypted by the helper, which insists the reply is encrypted
        assert db.session.execute(select(InboundMessage.content)).scalar_one() == "你好"
    finally:
        app.config.update(WECHAT_AES_KEY=None, WECHAT_ENCRYPT_MODE="plain")


def test_safe_mode_without_a_key_is_refused(app, platform):
    params = platform.params(encrypt_type="aes", msg_signature="a" * 40)
    assert platform.post_raw("<xml><Encrypt>abc</Encrypt></xml>", params).status_code == 403


def _bound(app, platform, tmp_path):
    return bind(platform, tmp_path, ("张建国", "o_zhang"))[0]


def test_retries_are_processed_once_and_get_the_same_reply(app, platform, tmp_path):
    from bot import clock
    from bot.members.roster import import_file
    from bot.members import store

    import_file(write_roster(tmp_path / "roster.csv"), clock.now(), "机关党委")
    code = store.invite_code_for(store.members_by_name("李红梅")[0], clock.now(), 30).code
    db.session.commit()
    first = platform.text("o_li", f"绑定 {code}", msg_id=555)
    again = platform.text("o_li", f"绑定 {code}", msg_id=555)
    third = platform.text("o_li", f"绑定 {code}", msg_id=555)
    assert "绑定成功" in first and first == again == third  # not "already bound"
    assert count(InboundMessage) == 1


def test_event_retries_dedupe_by_sender_and_create_time(app, platform, clock):
    created = int(clock().timestamp())
    first = platform.event("o_new", "subscribe", created=created)
    second = platform.event("o_new", "subscribe", created=created)
    assert first == second and "欢迎" in first
    assert count(InboundMessage) == 1
    platform.event("o_new", "subscribe", created=created + 1)
    assert count(InboundMessage) == 2


def test_concurrent_duplicate_waits_for_the_first_reply(app, platform):
    """A retry arriving while the first delivery is still being handled returns its reply."""
    import threading

    from bot.chat import inbound

    gate = threading.Event()
    original = app.extensions["handlers"]

    class Slow(handlers.Handler):
        def check(self, msg):
            return True

        def handle(self, msg, match):
            gate.wait(2)
            return "慢慢处理完了"

    xml = message_xml("o_slow", text="你好", msg_id=9001)
    results = []
    app.extensions["handlers"] = [Slow()]
    try:
        body = xml.encode()
        worker = threading.Thread(target=lambda: results.append(_process_in_app(app, body)))
        worker.start()
        import time
        redis = app.extensions["redis"]
        for _ in range(100):  # until the first delivery has claimed the message
            if redis.exists("zhibu:inbound:msg:9001"):
                break
            time.sleep(0.02)
        assert redis.exists("zhibu:inbound:msg:9001")
        threading.Timer(0.3, gate.set).start()  # the first finishes while the retry waits
        second = inbound.process(body)
        worker.join()
    finally:
        app.extensions["handlers"] = original
    assert "慢慢处理完了" in results[0] and "慢慢处理完了" in second
    assert count(InboundMessage) == 1


def _process_in_app(app, body):
    from bot.chat import inbound

    with app.app_context():
        try:
            return inbound.process(body)
        finally:
            db.session.remove()


@pytest.mark.parametrize("body", [
    b"not xml at all",
    b"<xml><MsgType>text</MsgType>",  # truncated
    b"<xml></xml>",
    b"<other><FromUserName>x</FromUserName></other>",
    b"<xml><ToUserName>a</ToUserName><CreateTime>1</CreateTime><MsgType>text</MsgType></xml>",
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
    b"<xml><FromUserName>&b;</FromUserName></xml>",
])
def test_malformed_bodies_get_a_safe_response(app, platform, body):
    response = platform.post_raw(body, platform.params())
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "success"
    row = db.session.execute(select(InboundMessage)).scalar_one()
    assert row.status == "malformed" and row.raw_xml


def test_oversized_body_is_refused_before_parsing(app, platform):
    huge = message_xml("o_big", text="长" * 40000, msg_id=77)
    response = platform.post_raw(huge, platform.params())
    assert response.status_code == 413
    assert count(InboundMessage) == 0


def test_invalid_utf8_emoji_and_long_text_get_polite_replies(app, platform, tmp_path):
    _bound(app, platform, tmp_path)
    xml = message_xml("o_zhang", text="PLACEHOLDER", msg_id=31).encode()
    broken = xml.replace(b"PLACEHOLDER", b"\xff\xfe\xe4\xb8 \xe5\xad\xa6")
    reply = platform.reply_of(platform.post_raw(broken, platform.params()))
    assert reply and "抱歉" in reply
    emoji = platform.text("o_zhang", "收到👍🇨🇳")
    assert emoji
    assert db.session.execute(select(InboundMessage.content).where(
        InboundMessage.msg_id == InboundMessage.msg_id).order_by(InboundMessage.id.desc())
    ).scalars().first() == "收到👍🇨🇳"
    long_text = "今天天气很好，" * 400
    assert "太长" in platform.text("o_zhang", long_text)
    stored = db.session.execute(select(InboundMessage.content).order_by(
        InboundMessage.id.desc())).scalars().first()
    assert stored == long_text  # kept whole


def test_every_message_type_and_event(app, platform, tmp_path):
    member = _bound(app, platform, tmp_path)
    assert "图片" in platform.message("o_zhang", MsgType="image", PicUrl="http://x/y.jpg",
                                     MediaId="m1")
    assert "视频" in platform.message("o_zhang", MsgType="video", MediaId="m2", ThumbMediaId="t")
    assert "小视频" in platform.message("o_zhang", MsgType="shortvideo", MediaId="m3",
                                       ThumbMediaId="t")
    assert "链接" in platform.message("o_zhang", MsgType="link", Title="t", Description="d",
                                     Url="http://x")
    assert "没听清" in platform.message("o_zhang", MsgType="voice", MediaId="v", Format="amr",
                                       Recognition="")  # unrecognised: asked to repeat
    voice = platform.message("o_zhang", MsgType="voice", MediaId="v", Format="amr",
                             Recognition="帮助。")
    assert "学习打卡" in voice  # treated as the text 帮助
    where = platform.message("o_zhang", MsgType="location", Location_X="31.230416",
                             Location_Y="121.473701", Scale="15", Label="上海市黄浦区人民广场")
    assert "人民广场" in where
    row = db.session.execute(select(InboundMessage).where(
        InboundMessage.msg_type == "location")).scalar_one()
    assert str(row.latitude) == "31.230416" and str(row.longitude) == "121.473701"
    assert row.label == "上海市黄浦区人民广场" and row.scale == 15
    assert "只能看懂文字" in platform.message("o_zhang", MsgType="miniprogrampage", Title="t")
    # events
    assert platform.event("o_zhang", "LOCATION", Latitude="23.137466", Longitude="113.352425",
                          Precision="119.385040") == ""
    assert platform.event("o_zhang", "VIEW", EventKey="http://example.com") == ""
    assert "学习打卡" in platform.event("o_zhang", "CLICK", EventKey="HELP")
    assert "欢迎回来" in platform.event("o_zhang", "SCAN", EventKey="123", Ticket="t")
    assert platform.event("o_zhang", "TEMPLATESENDJOBFINISH", MsgID="1", Status="success") == ""
    assert platform.event("o_zhang", "unsubscribe") == ""
    db.session.refresh(member)
    assert member.reachable is False and member.wechat.subscribed is False
    assert "欢迎回来" in platform.event("o_zhang", "subscribe", EventKey="qrscene_123",
                                       Ticket="t")
    db.session.refresh(member)
    assert member.reachable is True
    kinds = set(db.session.execute(select(InboundMessage.msg_type)).scalars())
    assert {"image", "video", "shortvideo", "link", "voice", "location", "event"} <= kinds


def test_a_failing_handler_becomes_a_polite_reply(app, platform, tmp_path):
    _bound(app, platform, tmp_path)
    original = app.extensions["handlers"]

    class Broken(handlers.Handler):
        def check(self, msg):
            return True

        def handle(self, msg, match):
            db.session.add(Member(name="半截", phone="13999999999", branch_id=1))
            raise RuntimeError("boom")

    app.extensions["handlers"] = [Broken()]
    try:
        reply = platform.text("o_zhang", "随便说点什么")
    finally:
        app.extensions["handlers"] = original
    assert "抱歉" in reply
    row = db.session.execute(select(InboundMessage).order_by(InboundMessage.id.desc())) \
        .scalars().first()
    assert row.status == "error" and "boom" in row.error
    assert not db.session.execute(select(Member).where(Member.name == "半截")).first()


def test_healthz_reports_database_and_redis(app):
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_healthz_reports_a_dead_redis(app):
    from bot.redisconn import connect

    real = app.extensions["redis"]
    app.extensions["redis"] = connect("redis://127.0.0.1:1/0")  # nothing listens there
    try:
        response = app.test_client().get("/healthz")
    finally:
        app.extensions["redis"] = real
    assert response.status_code == 503
    body = response.get_json()
    assert body["database"] == "ok" and body["redis"].startswith("error")


def test_a_database_failure_at_commit_is_a_polite_reply_not_a_500(app, platform, tmp_path):
    """A write the database refuses (here a reply longer than the column on PostgreSQL, or any
    failure at commit) is answered politely; the platform's retry may try again."""
    original = app.extensions["handlers"]

    class Overlong(handlers.Handler):
        def check(self, msg):
            return True

        def handle(self, msg, match):
            msg.record.intent = "x" * 500  # column holds 32: PostgreSQL refuses at commit
            msg.record.msg_type = None     # NOT NULL: every database refuses at commit
            return "不会送出"

    app.extensions["handlers"] = [Overlong()]
    try:
        response = platform.post(message_xml("o_fail", text="你好", msg_id=4242))
    finally:
        app.extensions["handlers"] = original
    assert response.status_code == 200
    assert "抱歉" in platform.reply_of(response)
    kept = db.session.execute(select(InboundMessage)).scalar_one()  # kept, marked failed
    assert kept.status == "failed" and kept.content == "你好" and kept.dedupe_key != "msg:4242"
    assert not app.extensions["redis"].exists("zhibu:inbound:msg:4242")  # retry may try again
    retry = platform.reply_of(platform.post(message_xml("o_fail", text="你好", msg_id=4242)))
    assert "绑定" in retry  # handled this time
    assert count(InboundMessage) == 2


def test_messages_are_still_answered_and_deduplicated_without_redis(app, platform):
    from bot.redisconn import connect

    real = app.extensions["redis"]
    app.extensions["redis"] = connect("redis://127.0.0.1:1/0")
    try:
        first = platform.text("o_nored", "你好", msg_id=8080)
        again = platform.text("o_nored", "你好", msg_id=8080)
    finally:
        app.extensions["redis"] = real
    assert "绑定" in first and first == again
    assert count(InboundMessage) == 1
