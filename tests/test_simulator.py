"""The chat simulator's commands: each line becomes the signed XML the platform would send, and
the real webhook answers it as it answers members (plain and safe mode)."""
from __future__ import annotations

import itertools

import pytest
import xmltodict
from sqlalchemy import select

from bot import clock as app_clock
from bot.replies import load, render
from bot.storage.engine import db
from bot.storage.models import InboundMessage
from bot.wechat.simulator import COMMANDS, Usage, line_xml, signed_post
from tests.helpers import AES_KEY, Platform, bind


class ClientSession:
    """Stands in for `requests` in signed_post: the same call, answered by the Flask test
    client (so the app's clock and database are the test's)."""

    def __init__(self, app):
        self.client = app.test_client()

    def post(self, url, params, data, headers, timeout):
        response = self.client.post(url, query_string=params, data=data, headers=headers)

        class Reply:
            text = response.get_data(as_text=True)

            @staticmethod
            def raise_for_status():
                assert response.status_code == 200, response.status_code

        return Reply()


_ids = itertools.count(8100000000000000001)


@pytest.fixture(params=["plain", "safe"])
def chat(request, app, tmp_path):
    """Send a typed simulator line as 张建国 (bound) through /wechat; return the bot's reply."""
    safe = request.param == "safe"
    if safe:
        app.config.update(WECHAT_AES_KEY=AES_KEY, WECHAT_ENCRYPT_MODE="safe")
    bind(Platform(app, safe=safe), tmp_path, ("张建国", "o_zhang"))
    session = ClientSession(app)

    def send(line: str, taps: dict | None = None) -> str:
        now = int(app_clock.now().timestamp())
        xml = line_xml(line, "o_zhang", next(_ids), taps or {}, created=now)
        cfg = app.config
        return signed_post("/wechat", xml, cfg["WECHAT_TOKEN"], cfg["WECHAT_AES_KEY"],
                           cfg["WECHAT_APP_ID"], timestamp=now, session=session)

    return send


def last_message() -> InboundMessage:
    return db.session.execute(select(InboundMessage).order_by(InboundMessage.id.desc())
                              .limit(1)).scalar_one()


def test_voice_is_read_as_its_recognition(chat):
    reply = chat("/语音 帮助")
    assert "发通知" in reply and reply == chat("帮助")  # the secretary's help, as for text
    voice = db.session.execute(select(InboundMessage).where(InboundMessage.msg_type == "voice")
                               ).scalar_one()
    assert voice.content == "帮助" and "<Format>amr</Format>" in voice.raw_xml
    assert "张建国" in chat("/voice 我的信息")


def test_voice_the_platform_did_not_recognise(chat):
    assert chat("/语音") == render("voice_unrecognised")
    assert last_message().msg_type == "voice"


def test_image_gets_the_polite_reply(chat):
    assert chat("/图片") == render("non_text", kind=load("replies")["kinds"]["image"])
    assert last_message().msg_type == "image"
    assert chat("/image") == render("non_text", kind=load("replies")["kinds"]["image"])


def test_empty_text_gets_the_help(chat):
    """An empty message is read as a member not knowing what to say: the help, not an error."""
    reply = chat("/空")
    message = last_message()
    assert message.msg_type == "text" and not message.content
    assert "发通知" in reply and reply == chat("帮助")


def test_location_and_tap_still_work(chat):
    assert chat("/位置 31.2304 121.4737 上海市黄浦区") == render("location_received",
                                                           label="上海市黄浦区")
    with pytest.raises(Usage):
        chat("/位置 31.2304")
    with pytest.raises(Usage):
        chat("/点 收到", taps={})


def test_the_xml_of_each_command():
    fields = {line: xmltodict.parse(line_xml(line, "o_x", 5, {"收到": "ack_1"}))["xml"]
              for line in ("/语音 参加", "/图片", "/空", "/点 收到", "/位置 1 2 某地", "你好")}
    voice = fields["/语音 参加"]
    assert (voice["MsgType"], voice["Recognition"], voice["Format"]) == ("voice", "参加", "amr")
    assert len(voice["MediaId"]) == 64 and voice["MsgId"] == "5"
    image = fields["/图片"]
    assert image["MsgType"] == "image" and image["PicUrl"].startswith("http")
    assert image["MediaId"] and image["MsgId"] == "5"
    assert fields["/空"]["MsgType"] == "text" and fields["/空"]["Content"] is None
    assert fields["/点 收到"]["bizmsgmenuid"] == "ack_1"
    assert fields["/位置 1 2 某地"]["Label"] == "某地"
    assert fields["你好"]["Content"] == "你好"


def test_every_command_is_in_the_simulators_help():
    assert all(command in render("chat.commands") for command in COMMANDS
               if not command.isascii())
