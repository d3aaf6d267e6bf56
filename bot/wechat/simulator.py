"""The chat simulator: talk to the running webhook as a member, with real signed XML.

Replies are printed as they come back; messages pushed to the member through the stand-in
platform (reminders, notices) are polled and printed as 【推送】.
"""
from __future__ import annotations

import hashlib
import itertools
import secrets
import threading
import time

import click
import requests
import xmltodict
from flask import current_app
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import random_string

from bot import clock
from bot.replies import render
from bot.wechat.webhook import sign
from bot.members import store
from bot.storage.engine import db


def message_xml(openid: str, text: str | None = None, msg_id: int | None = None,
                event: str | None = None, location: tuple | None = None,
                to: str = "gh_zhibu", created: int | None = None, voice: str | None = None,
                image: bool = False, **extra) -> str:
    """The XML the platform would POST for a text message, an event, a location, a voice
    message (voice: its Recognition, "" when the platform recognised nothing) or an image."""
    created = created or int(time.time())
    fields = {"ToUserName": to, "FromUserName": openid, "CreateTime": str(created)}
    if event:
        fields.update(MsgType="event", Event=event)
    elif location:
        lat, lng, label = location
        fields.update(MsgType="location", Location_X=str(lat), Location_Y=str(lng), Scale="15",
                      Label=label, MsgId=str(msg_id))
    elif voice is not None:
        fields.update(MsgType="voice", MediaId=_media_id(), Format="amr", MsgId=str(msg_id),
                      Recognition=voice)
    elif image:
        media = _media_id()
        fields.update(MsgType="image", PicUrl=f"http://mmbiz.qpic.cn/mmbiz_jpg/{media}/0",
                      MediaId=media, MsgId=str(msg_id))
    else:
        fields.update(MsgType="text", Content=text, MsgId=str(msg_id))
    fields.update(extra)
    return xmltodict.unparse({"xml": fields}, full_document=False)


def _media_id() -> str:
    """A MediaId shaped like the platform's (64 characters of letters, digits, - and _)."""
    return secrets.token_urlsafe(48)


class Usage(Exception):
    """A simulator command typed without what it needs; args[0] is what to print."""


COMMANDS = {"/位置": "location", "/loc": "location", "/点": "tap", "/tap": "tap",
            "/语音": "voice", "/voice": "voice", "/图片": "image", "/image": "image",
            "/空": "empty", "/empty": "empty"}


def line_xml(line: str, openid: str, msg_id: int, taps: dict[str, str],
             created: int | None = None) -> str:
    """The XML the platform would POST when the member sends what this typed line stands
    for: a simulator command (COMMANDS), or else the line as a text message. Usage if a
    command lacks what it needs."""
    head, _, rest = line.partition(" ")
    rest = rest.strip()
    command = COMMANDS.get(head)
    if command == "tap":
        if rest not in taps:
            raise Usage(render("chat.tap_usage", options="、".join(taps) or "-"))
        return message_xml(openid, text=rest, msg_id=msg_id, created=created,
                           bizmsgmenuid=taps[rest])
    if command == "location":
        parts = rest.split(maxsplit=2)
        if len(parts) < 3:
            raise Usage(render("chat.location_usage"))
        return message_xml(openid, msg_id=msg_id, created=created, location=tuple(parts))
    if command == "voice":
        return message_xml(openid, msg_id=msg_id, created=created, voice=rest)
    if command == "image":
        return message_xml(openid, msg_id=msg_id, created=created, image=True)
    if command == "empty":
        return message_xml(openid, text="", msg_id=msg_id, created=created)
    return message_xml(openid, text=line, msg_id=msg_id, created=created)


def signed_post(url: str, xml: str, token: str, aes_key: str | None, app_id: str,
                timestamp: int | None = None, session=None) -> str:
    """POST xml as the platform would (plain, or safe mode if aes_key) and return the reply text."""
    timestamp = str(timestamp or int(time.time()))
    nonce = random_string(10)
    params = {"signature": sign(token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce,
              "openid": xmltodict.parse(xml)["xml"]["FromUserName"]}
    body = xml
    crypto = WeChatCrypto(token, aes_key, app_id) if aes_key else None
    if crypto:
        encrypted = xmltodict.parse(crypto.encrypt_message(xml, nonce, timestamp))["xml"]
        params.update(encrypt_type="aes", msg_signature=encrypted["MsgSignature"])
        body = xmltodict.unparse({"xml": {"ToUserName": "gh_zhibu",
                                          "Encrypt": encrypted["Encrypt"]}}, full_document=False)
    response = (session or requests).post(url, params=params, data=body.encode("utf-8"),
                                          headers={"Content-Type": "application/xml"}, timeout=10)
    response.raise_for_status()
    reply = response.text
    if reply in ("", "success"):
        return ""
    doc = xmltodict.parse(reply)["xml"]
    if crypto and "Encrypt" in doc:
        doc = xmltodict.parse(crypto.decrypt_message(reply, doc["MsgSignature"], doc["TimeStamp"],
                                                     doc["Nonce"]))["xml"]
    return doc.get("Content", "")


def push_text(body: dict) -> str:
    """What a member sees of a push: a text; a msgmenu, its head, its options in brackets and
    its tail; a template, its fields and its link."""
    if "text" in body:
        return body["text"]["content"]
    if "msgmenu" in body:
        menu = body["msgmenu"]
        options = "  ".join(f"［{o['content']}］" for o in menu.get("list", []))
        return f"{menu.get('head_content', '')}\n{options}{menu.get('tail_content', '')}"
    fields = " / ".join(v.get("value", "") for v in (body.get("data") or {}).values())
    return fields + (f"\n{body['url']}" if body.get("url") else "")


def menu_options(body: dict) -> dict[str, str]:
    """The one-tap options of a msgmenu push: the words shown → the id the platform returns."""
    return {o["content"]: o["id"] for o in (body.get("msgmenu") or {}).get("list", [])}


def simulated_openid(phone: str) -> str:
    """A stable pretend openid for a member who has not bound a real WeChat."""
    return "o_sim_" + hashlib.sha1(phone.encode()).hexdigest()[:22]


def run_chat(name: str, url: str, fake_url: str) -> int:
    """The interactive loop; returns an exit status."""
    cfg = current_app.config
    found = store.members_by_name(name)
    if not found:
        click.echo(render("chat.no_such_member", name=name))
        return 1
    member = found[0]
    openid = member.wechat.openid if member.wechat else simulated_openid(member.phone)
    counter = itertools.count(int(time.time() * 1000))
    send = lambda xml: signed_post(url, xml, cfg["WECHAT_TOKEN"], cfg["WECHAT_AES_KEY"],  # noqa
                                   cfg["WECHAT_APP_ID"])

    def interact():
        try:
            requests.post(f"{fake_url}/_fake/interact", json={"openid": openid}, timeout=2)
        except requests.RequestException:
            pass

    stop = threading.Event()
    taps: dict[str, str] = {}  # the options of the latest msgmenu, for /点

    def poll_pushes():
        after = 0
        while not stop.is_set():
            try:
                data = requests.get(f"{fake_url}/_fake/messages",
                                    params={"openid": openid, "after": after}, timeout=2).json()
                for m in data["messages"]:
                    body = m["body"]
                    if menu_options(body):
                        taps.clear()
                        taps.update(menu_options(body))
                    click.echo("\n" + render("chat.push", text=push_text(body)) + "\n> ",
                               nl=False)
                after = data["next"]
            except (requests.RequestException, ValueError, KeyError):
                pass
            stop.wait(2)

    threading.Thread(target=poll_pushes, daemon=True).start()
    click.echo(render("chat.intro", name=member.name, branch=member.branch.name,
                      phone=member.phone_masked))
    click.echo(render("chat.commands"))
    if member.wechat is None:
        invite = store.invite_code_for(member, clock.now(), cfg["INVITE_TTL_DAYS"])
        db.session.commit()
        click.echo(render("chat.unbound", code=invite.code))
        interact()
        _show(send(message_xml(openid, event="subscribe")))
    try:
        while True:
            line = click.prompt(">", prompt_suffix=" ", default="", show_default=False).strip()
            if line in ("/退出", "/quit", "/exit"):
                break
            if not line:
                continue
            if line in ("/帮助", "/help"):
                click.echo(render("chat.commands"))
                continue
            interact()
            try:
                xml = line_xml(line, openid, next(counter), taps)
            except Usage as usage:
                click.echo(usage.args[0])
                continue
            try:
                _show(send(xml))
            except requests.RequestException as exc:
                click.echo(render("chat.unreachable", error=exc))
    except (EOFError, click.Abort):
        pass
    finally:
        stop.set()
    return 0


def _show(reply: str) -> None:
    if reply:
        prefix = render("chat.bot")
        click.echo(prefix + reply.replace("\n", "\n" + " " * (2 * len(prefix))))
