"""Test helpers: a platform that signs and posts messages, and roster builders."""
from __future__ import annotations

import itertools
from datetime import datetime, timezone
from pathlib import Path

import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import random_string

from bot import clock as app_clock
from bot.clock import BEIJING
from bot.wechat.webhook import sign
from bot.wechat.simulator import message_xml

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
ROSTER_HEADER = "姓名,手机号码,所在党支部,党小组,人员类别,党内职务,党费类别,党费基数,是否流动党员"
ROSTER = [
    "张建国,13800138001,第一党支部,第一党小组,正式党员,书记,在职,8500.00,否",
    "李红梅,13800138002,第一党支部,第一党小组,正式党员,组织委员,在职,6200,否",
    "王志强,13800138003,第一党支部,第二党小组,预备党员,党小组长,在职,\"4,800.00\",否",
    "刘海波,13800138006,第一党支部,第二党小组,正式党员,,农民,,是",
]


def write_roster(path: Path, rows=ROSTER, header=ROSTER_HEADER, encoding="utf-8") -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding=encoding)
    return path


class Platform:
    """Plays the WeChat platform against the app's /wechat through the Flask test client."""

    _ids = itertools.count(7000000000000000001)

    def __init__(self, app, safe: bool = False):
        self.app = app
        self.client = app.test_client()
        self.safe = safe

    def crypto(self) -> WeChatCrypto:
        cfg = self.app.config
        return WeChatCrypto(cfg["WECHAT_TOKEN"], AES_KEY, cfg["WECHAT_APP_ID"])

    def params(self, timestamp: int | None = None, **extra) -> dict:
        ts = str(timestamp if timestamp is not None else int(app_clock.now().timestamp()))
        nonce = random_string(10)
        return {"signature": sign(self.app.config["WECHAT_TOKEN"], ts, nonce), "timestamp": ts,
                "nonce": nonce, **extra}

    def post_raw(self, body: bytes | str, params: dict):
        if isinstance(body, str):
            body = body.encode("utf-8")
        return self.client.post("/wechat", query_string=params, data=body,
                                content_type="application/xml")

    def post(self, xml: str, timestamp: int | None = None):
        """POST xml as the platform would; returns the response."""
        params = self.params(timestamp)
        if not self.safe:
            return self.post_raw(xml, params)
        crypto = self.crypto()
        enc = xmltodict.parse(crypto.encrypt_message(xml, params["nonce"],
                                                     params["timestamp"]))["xml"]
        params.update(encrypt_type="aes", msg_signature=enc["MsgSignature"])
        body = f"<xml><ToUserName><![CDATA[gh_zhibu]]></ToUserName>" \
               f"<Encrypt><![CDATA[{enc['Encrypt']}]]></Encrypt></xml>"
        return self.post_raw(body, params)

    def reply_of(self, response) -> str:
        """The text content of a reply ('' for success / empty)."""
        assert response.status_code == 200, response.data
        body = response.get_data(as_text=True)
        if body in ("", "success"):
            return ""
        doc = xmltodict.parse(body)["xml"]
        if self.safe:
            assert "Encrypt" in doc, "safe mode reply must be encrypted"
            doc = xmltodict.parse(self.crypto().decrypt_message(
                body, doc["MsgSignature"], doc["TimeStamp"], doc["Nonce"]))["xml"]
        return doc.get("Content", "")

    def text(self, openid: str, content: str, msg_id: int | None = None) -> str:
        """Send a text message; return the bot's reply text."""
        msg_id = msg_id or next(self._ids)
        created = int(app_clock.now().timestamp())
        return self.reply_of(self.post(message_xml(openid, text=content, msg_id=msg_id,
                                                   created=created)))

    def event(self, openid: str, event: str, created: int | None = None, **extra) -> str:
        created = created or int(app_clock.now().timestamp())
        return self.reply_of(self.post(message_xml(openid, event=event, created=created,
                                                   **extra)))

    def message(self, openid: str, **fields) -> str:
        """Any other message type: pass the XML fields (MsgType, …)."""
        fields.setdefault("MsgId", str(next(self._ids)))
        xml = xmltodict.unparse({"xml": {"ToUserName": "gh_zhibu", "FromUserName": openid,
                                         "CreateTime": str(int(app_clock.now().timestamp())),
                                         **fields}}, full_document=False)
        return self.reply_of(self.post(xml))


def bind(platform: Platform, tmp_path: Path, *pairs: tuple[str, str]):
    """Import the test roster and bind each (name, openid) through the webhook; the members."""
    from bot.members.roster import import_file
    from bot.members import store
    from bot.storage.engine import db

    now = app_clock.now()
    import_file(write_roster(tmp_path / "roster.csv"), now, "机关党委")
    bound = []
    for name, openid in pairs:
        member = store.members_by_name(name)[0]
        code = store.invite_code_for(member, now, 30).code
        db.session.commit()
        assert "绑定成功" in platform.text(openid, f"绑定 {code}")
        bound.append(member)
    return bound


def deliver(app, fake) -> dict[str, list[str]]:
    """Run the queued sends through a real RQ worker; texts delivered, by openid."""
    from rq import SimpleWorker

    queue = app.extensions["rq_queue"]
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    out: dict[str, list[str]] = {}
    for sent in fake.state.delivered:
        out.setdefault(sent["openid"], []).append(pushed_text(sent["body"]))
    return out


def pushed_text(body: dict) -> str:
    """What a member sees of a push (the simulator's reading of it)."""
    from bot.wechat.simulator import push_text

    return push_text(body)


# The members of the test roster bound in most tests, by name: their pretend openids.
OPENIDS = {"张建国": "o_zhang", "李红梅": "o_li", "王志强": "o_wang", "刘海波": "o_liu"}


def beijing(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    """The instant of a Beijing wall-clock time, as the app stores it (aware UTC)."""
    return datetime(year, month, day, hour, minute, tzinfo=BEIJING).astimezone(timezone.utc)


def leave_trace(text: str = "下次主题党日请假，孩子生病") -> list[str]:
    """The project's files a 请假 message from a bound member runs through, from wsgi.py's app
    to its reply (a fresh instance under ZHIBU_INSTANCE; the caller sets the secrets)."""
    import importlib

    from flask_migrate import upgrade

    from bench.trace import traced_files
    from bot.members import store
    from bot.meetings import planning
    from bot.members.roster import import_file
    from bot.storage.engine import db
    from bot.storage.models import Branch

    import pkgutil

    import bot

    wsgi = importlib.import_module("wsgi")
    app = wsgi.app
    for found in pkgutil.walk_packages(bot.__path__, "bot."):  # module code is not the path
        if found.name != "bot.jobs.rq_settings":
            importlib.import_module(found.name)
    with app.app_context():
        upgrade()
        now = app_clock.now()
        import_file(write_roster(Path(app.instance_path) / "roster.csv"), now, "机关党委")
        branch = db.session.execute(db.select(Branch)).scalar_one()
        for year, month in app_clock.next_months(now):
            planning.plan_month(branch, year, month, now)
        code = store.invite_code_for(store.members_by_name("王志强")[0], now, 30).code
        db.session.commit()
        platform = Platform(app)
        assert "绑定成功" in platform.text("o_trace", f"绑定 {code}")
        platform.text("o_trace", "帮助")  # warm: first-use imports are not part of the path
        inner, traced = app.wsgi_app, {}

        def wsgi_app(environ, start):  # only the server's side of the request is traced
            response = []
            traced["files"] = traced_files(
                app, lambda: response.append(list(inner(environ, start))))
            return response[0]

        app.wsgi_app = wsgi_app
        try:
            answer = platform.text("o_trace", text)
        finally:
            app.wsgi_app = inner
        assert "请假" in answer, answer
        return_files = traced["files"]
        db.session.remove()
    return return_files
