"""The outbound client: the platform's API through wechatpy, with the access token in Redis.

* One token for every process (web, worker, CLI), kept in Redis with its expiry, fetched from
  `stable_token` under a Redis lock and refreshed before it expires.
* An API call answered 40001/40014/42001 refreshes the token once and is retried once; never more.
* A member inside the 48-hour window gets a customer-service message; outside it, or when the
  platform answers 45015/45047, a template message. 43004 marks the member unreachable.
* Every send is recorded (OutboundMessage) with each attempt's channel and errcode.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlencode

import requests
import urllib3
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from bot import clock
from bot.config import secret
from bot.logs import redact
from bot.replies import render, template_for
from bot.storage.engine import db
from bot.storage.models import Member, OutboundMessage, WechatUser

log = logging.getLogger(__name__)

TOKEN_ERRORS = {40001, 40014, 42001}
WINDOW_ERRORS = {45015, 45047}  # outside the 48-hour window / customer-service quota used up
UNREACHABLE = 43004
NO_MENU = 40200  # invalid account type: this account cannot send msgmenu messages
RETRY_LATER = {-1, 45009, 45011}  # busy, daily quota, per-minute quota
TEMPLATE_FIELD_MAX = 20


class PlatformError(Exception):
    """The platform answered with a non-zero errcode (or could not be reached: errcode None).

    Its message never holds the access token: a failed request's URL carries it, so it is
    masked before the error is logged or stored (outbound_messages.errmsg, attempts)."""

    def __init__(self, errcode: int | None, errmsg: str):
        errmsg = redact(str(errmsg))
        super().__init__(f"{errcode}: {errmsg}")
        self.errcode, self.errmsg = errcode, errmsg


class TokenStore:
    """The access token in Redis, shared by every process of the app."""

    def __init__(self, redis, appid: str, secret: str, api_base: str, margin: int, timeout: float,
                 http=None):
        self.redis, self.appid, self.secret = redis, appid, secret
        self.api_base, self.margin, self.timeout = api_base, margin, timeout
        self.http = http or requests.Session()
        self.key = f"zhibu:wechat:token:{appid}"
        self.local: tuple[float, dict] | None = None  # (read at, the token) for LOCAL_SECONDS

    LOCAL_SECONDS = 10  # a fan-out makes hundreds of calls a second: not a Redis read each

    def get(self) -> str:
        """A token with more than `margin` seconds to live, refreshing it if needed. Read from
        Redis at most every LOCAL_SECONDS (a token replaced meanwhile by another process stays
        valid for 5 minutes on the platform; a call answered 40001 refreshes it at once)."""
        now = time.time()
        if self.local and now - self.local[0] < self.LOCAL_SECONDS and \
                self.local[1]["expires_at"] - now > self.margin:
            return self.local[1]["token"]
        cached = self._cached()
        if cached and cached["expires_at"] - now > self.margin:
            self.local = (now, cached)
            return cached["token"]
        return self.refresh(stale=cached["token"] if cached else None)

    def _cached(self) -> dict | None:
        raw = self.redis.get(self.key)
        return json.loads(raw) if raw else None

    def current(self) -> str | None:
        """The token in Redis now, whatever its age."""
        cached = self._cached()
        return cached["token"] if cached else None

    def refresh(self, stale: str | None = None, force: bool = False) -> str:
        """Fetch a new token unless another process already replaced `stale` meanwhile."""
        self.local = None
        lock = self.redis.lock(self.key + ":lock", timeout=15, blocking_timeout=15)
        with lock:
            cached = self._cached()
            if cached and cached["token"] != stale and \
                    cached["expires_at"] - time.time() > self.margin:
                return cached["token"]
            try:
                response = self.http.post(
                    f"{self.api_base}/cgi-bin/stable_token",
                    json={"grant_type": "client_credential", "appid": self.appid,
                          "secret": self.secret, "force_refresh": force},
                    timeout=self.timeout)
                data = response.json()
            except (requests.RequestException, ValueError) as exc:
                raise PlatformError(None, f"token fetch failed: {exc}") from None
            if data.get("errcode"):
                raise PlatformError(int(data["errcode"]), data.get("errmsg", ""))
            expires_at = time.time() + int(data.get("expires_in", 7200))
            self.redis.set(self.key, json.dumps({"token": data["access_token"],
                                                 "expires_at": expires_at}),
                           ex=int(data.get("expires_in", 7200)))
            return data["access_token"]


class _Response:
    """What wechatpy reads of a response: status_code, content, raise_for_status()."""

    def __init__(self, status: int, content: bytes, url: str):
        self.status_code, self.content, self.url = status, content, url
        self.request = None

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.content)

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise requests.HTTPError(f"HTTP {self.status_code}", response=self)


class Transport:
    """What wechatpy needs of a requests.Session (request() → a response), on urllib3's
    connection pool directly. A fan-out's 16 threads share one interpreter: requests' own
    work per call (sessions, hooks, the environment's proxy settings read on every call) was
    what they queued for; this does a third of it. Proxies (HTTPS_PROXY …) are read once.
    Network failures are requests' exceptions, as callers expect."""

    def __init__(self, api_base: str, maxsize: int = 64):
        proxy = requests.utils.get_environ_proxies(api_base).get(api_base.split(":", 1)[0])
        self.pool = urllib3.ProxyManager(proxy, maxsize=maxsize) if proxy else \
            urllib3.PoolManager(maxsize=maxsize)

    def request(self, method: str, url: str, params: dict | None = None, data=None,
                timeout: float | None = None, **kwargs) -> _Response:
        if kwargs.get("files") or kwargs.get("json") is not None:
            raise NotImplementedError("uploads are not sent through the fan-out transport")
        if params:
            url += ("&" if "?" in url else "?") + urlencode(params)
        headers = {"Content-Type": "application/json"} if data is not None else None
        try:
            raw = self.pool.request(method.upper(), url, body=data, headers=headers,
                                    timeout=urllib3.Timeout(total=timeout), retries=False)
        except urllib3.exceptions.HTTPError as exc:
            raise requests.ConnectionError(redact(f"{method.upper()} {url}: {exc}")) from None
        return _Response(raw.status, raw.data, url)


class Client(WeChatClient):
    """wechatpy's client, pointed at WECHAT_API_BASE, with the token from TokenStore."""

    def __init__(self, tokens: TokenStore, timeout: float):
        super().__init__(tokens.appid, tokens.secret, timeout=timeout, auto_retry=False)
        self.tokens = tokens
        self.API_BASE_URL = tokens.api_base + "/cgi-bin/"
        # Fan-outs make many calls at once from threads: enough connections kept open.
        self._http = Transport(tokens.api_base)

    @property
    def access_token(self) -> str:
        return self.tokens.get()

    def fetch_access_token(self):
        return self.tokens.refresh(force=False)

    def call(self, fn, *args, **kwargs) -> dict:
        """Run an API call; on a token error refresh once and retry once. PlatformError else."""
        for attempt in (1, 2):
            try:
                return fn(*args, **kwargs)
            except WeChatClientException as exc:
                code = int(exc.errcode) if exc.errcode is not None else None
                if code in TOKEN_ERRORS and attempt == 1:
                    self.tokens.refresh(stale=self.tokens.current())
                    continue
                raise PlatformError(code, exc.errmsg or "") from None
            except requests.RequestException as exc:
                raise PlatformError(None, f"network: {exc}") from None
        raise AssertionError("unreachable")  # pragma: no cover


def client() -> Client:
    """The app's outbound client (one per process, sharing the token through Redis)."""
    app = current_app
    if "wechat_client" not in app.extensions:
        cfg = app.config
        tokens = TokenStore(app.extensions["redis"], cfg["WECHAT_APP_ID"],
                            secret(cfg, "WECHAT_APP_SECRET"), cfg["WECHAT_API_BASE"],
                            cfg["WECHAT_TOKEN_REFRESH_MARGIN"], cfg["WECHAT_HTTP_TIMEOUT"])
        app.extensions["wechat_client"] = Client(tokens, cfg["WECHAT_HTTP_TIMEOUT"])
    return app.extensions["wechat_client"]


def in_window(user: WechatUser, now: datetime) -> bool:
    """Is the member inside the customer-service window (48 h after their last interaction)?"""
    hours = current_app.config["WECHAT_SERVICE_WINDOW_HOURS"]
    return bool(user.last_interaction_at and now - user.last_interaction_at < timedelta(hours=hours))


def _template_data(key: str, values: dict, text: str, now: datetime) -> tuple[str, str, dict]:
    spec = template_for(key)
    fields = {"text": text, "title": values.get("title", text), "when": clock.to_beijing(now)
              .strftime("%Y-%m-%d %H:%M"), **values}
    data = {}
    url = str(spec.get("url", "")).format(**fields)
    for name, pattern in spec.get("data", {}).items():
        value = str(pattern).format(**fields)
        value = value.replace("\n", " ")
        data[name] = {"value": value if len(value) <= TEMPLATE_FIELD_MAX
                      else value[:TEMPLATE_FIELD_MAX - 1] + "…"}
    return spec["template_id"], url, data


@dataclass
class Delivery:
    """What one send needs on the wire, and what came back: no database in here, so many
    deliveries can run on threads at once."""

    openid: str
    channels: list[str]  # custom then template, or template only
    text: str
    template: tuple[str, str, dict]  # template_id, url, data
    attempts: list = field(default_factory=list)
    channel: str = "custom"
    errcode: int | None = None
    errmsg: str = ""
    msgid: int | None = None
    menu: dict | None = None  # a msgmenu (head_content, list, tail_content): one-tap answers

    @property
    def retry_later(self) -> bool:
        """Busy, a quota, or the network: worth trying again later, not now."""
        return self.errcode in RETRY_LATER or self.errcode is None


_LOOK_UP = object()


def prepare(member: Member, key: str, now: datetime, idempotency_key: str | None = None,
            record=_LOOK_UP, **values) -> tuple[OutboundMessage, Delivery | None]:
    """The send's record (added, not committed) and its Delivery; None if nothing is to go out
    (already sent under this key, or the member cannot be reached). A caller preparing many
    sends passes the record found for the key (or None) instead of a look-up per send.
    values["menu"], if given, goes as a customer-service msgmenu (the text is its fallback)."""
    menu = values.pop("menu", None)
    if record is _LOOK_UP:
        record = db.session.execute(select(OutboundMessage).where(
            OutboundMessage.idempotency_key == idempotency_key)).scalar_one_or_none() \
            if idempotency_key else None
    if record is not None and record.status == "sent":
        return record, None
    user = member.wechat
    from bot import replies
    from bot.members.store import contact_for

    day = clock.to_beijing(now).date()
    turn_to = replies.asking.set(lambda: contact_for(member, day))  # {contact}: the recipient's
    try:
        text = render(key, **values)
    finally:
        replies.asking.reset(turn_to)
    if record is None:
        record = OutboundMessage(member_id=member.id, openid=user.openid if user else "",
                                 channel="custom", purpose=key, idempotency_key=idempotency_key,
                                 payload={"text": text, "values": values}, status="pending",
                                 attempts=[], created_at=now)
        db.session.add(record)
    if user is None or not user.subscribed:
        record.status, record.errcode = "failed", UNREACHABLE
        record.errmsg = "member not bound or not following"
        return record, None
    channels = ["custom", "template"] if in_window(user, now) else ["template"]
    return record, Delivery(user.openid, channels, text, _template_data(key, values, text, now),
                            menu=menu)


def deliver(api: Client, delivery: Delivery, now: datetime) -> Delivery:
    """Make the platform calls of one delivery (custom, falling back to template on 45015)."""
    for channel in delivery.channels:
        delivery.channel = channel
        try:
            if channel == "custom" and delivery.menu:
                result = _menu_or_text(api, delivery, now)
            elif channel == "custom":
                result = api.call(api.message.send_text, delivery.openid, delivery.text)
            else:
                template_id, url, data = delivery.template
                result = api.call(api.message.send_template, delivery.openid, template_id,
                                  data, url=url or None)
            delivery.msgid = result.get("msgid")
            delivery.errcode, delivery.errmsg = 0, "ok"
            delivery.attempts.append({"channel": channel, "errcode": 0, "errmsg": "ok",
                                      "at": now.isoformat()})
            return delivery
        except PlatformError as exc:
            delivery.errcode, delivery.errmsg = exc.errcode, exc.errmsg
            delivery.attempts.append({"channel": channel, "errcode": exc.errcode,
                                      "errmsg": exc.errmsg, "at": now.isoformat()})
            if not (channel == "custom" and exc.errcode in WINDOW_ERRORS):
                return delivery  # otherwise: outside the window after all, try a template
    return delivery


def _menu_or_text(api: Client, delivery: Delivery, now: datetime) -> dict:
    """A msgmenu; where the account cannot send one (40200), the same text without the tap."""
    try:
        return api.call(api.message.send_msg_menu, delivery.openid, delivery.menu)
    except PlatformError as exc:
        if exc.errcode != NO_MENU:
            raise
        delivery.attempts.append({"channel": "custom", "errcode": exc.errcode,
                                  "errmsg": exc.errmsg, "at": now.isoformat()})
        return api.call(api.message.send_text, delivery.openid, delivery.text)


def finish(record: OutboundMessage, delivery: Delivery, member: Member, now: datetime) -> None:
    """Write a delivery's outcome to its record (the caller commits)."""
    record.channel = delivery.channel
    record.attempts = [*record.attempts, *delivery.attempts]
    record.wechat_msgid = delivery.msgid
    record.errcode, record.errmsg = delivery.errcode, delivery.errmsg
    record.status = "sent" if delivery.errcode == 0 else "failed"
    if record.status == "sent":
        record.sent_at = now
    if delivery.errcode == UNREACHABLE:
        member.reachable = False
    # One line per send is noise at a fan-out's scale (and costs a fan-out's time): successes
    # at DEBUG, failures at WARNING. Every send is recorded in outbound_messages anyway.
    log.log(logging.DEBUG if record.status == "sent" else logging.WARNING,
            "send %s to member %s via %s: %s (errcode %s)", record.purpose, member.id,
            record.channel, record.status, record.errcode)


def send(member: Member, key: str, now: datetime, idempotency_key: str | None = None,
         **values) -> OutboundMessage:
    """Send reply `key` (rendered with values) to member; recorded, and at most once per key.

    Raises PlatformError only for errors worth retrying later (busy, quota, network); the record
    keeps every attempt. Returns the record; its status is sent or failed.
    """
    try:
        record, delivery = prepare(member, key, now, idempotency_key, **values)
        db.session.commit()
    except IntegrityError:  # the same key, recorded by another process just now
        db.session.rollback()
        return db.session.execute(select(OutboundMessage).where(
            OutboundMessage.idempotency_key == idempotency_key)).scalar_one()
    if delivery is None:
        return record
    deliver(client(), delivery, now)
    finish(record, delivery, member, now)
    db.session.commit()
    if delivery.retry_later:
        raise PlatformError(delivery.errcode, delivery.errmsg)
    return record
