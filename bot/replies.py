"""Every sentence the bot sends comes from prompts/replies.toml through render()."""
from __future__ import annotations

import os
from contextvars import ContextVar
from dataclasses import dataclass, field
import threading
import time
import tomllib
from pathlib import Path

from flask import current_app, has_app_context

from bot.config import Config

_lock = threading.Lock()
_cache: dict[str, tuple[float, float, dict]] = {}  # path -> (checked at, mtime, data)
CHECK_EVERY = 1.0  # seconds between looks at the file's modification time


def _dir() -> str:
    if has_app_context():
        return str(current_app.config["PROMPTS_DIR"])
    return str(Config.PROMPTS_DIR)


def _prompts_dir() -> Path:
    return Path(_dir())


def load(name: str) -> dict:
    """The parsed prompts/<name>.toml, re-read when the file changes on disk.

    The file's modification time is looked at no more than once a second, so rendering a reply
    costs no system call on the webhook's path.
    """
    path = os.path.join(_dir(), name + ".toml")  # (no Path: thousands per fan-out)
    now = time.monotonic()
    cached = _cache.get(path)
    if cached and now - cached[0] < CHECK_EVERY:
        return cached[2]
    mtime = os.stat(path).st_mtime
    if cached and cached[1] == mtime:
        _cache[path] = (now, mtime, cached[2])
        return cached[2]
    with _lock:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
        _cache[path] = (now, mtime, data)
    return data


def text(key: str) -> str:
    """The raw reply template for key ('section.key' reaches into a table)."""
    node = load("replies")
    for part in key.split("."):
        node = node[part]
    if not isinstance(node, str):
        raise KeyError(key)
    return node


# Who the person being answered should turn to ({contact} in a reply): set for each message by
# bot/chat/dispatch.py, so that nothing tells the 书记 to contact the 书记.
asking: ContextVar = ContextVar("asking", default=None)


def render(key: str, **values) -> str:
    """The reply for key with {placeholders} filled in ({contact}: whom the asker should
    contact, the 支部书记 unless the asker is the secretary)."""
    template = text(key)
    if "{contact}" in template and "contact" not in values:
        contact = asking.get()
        values["contact"] = contact() if callable(contact) else load("replies")["contact"][
            "secretary"]
    return template.format(**values)


@dataclass
class Outcome:
    """What a topic decided to say: a reply key from prompts/replies.toml and its values."""

    key: str
    values: dict = field(default_factory=dict)

    def render(self) -> str:
        return render(self.key, **self.values)


def when(moment) -> str:
    """A moment as members read it, in Beijing time: 12月5日（周六）14:30."""
    from bot.clock import to_beijing

    here = to_beijing(moment)
    weekdays = load("replies")["when"]["weekdays"]
    return render("when.format", month=here.month, day=here.day,
                  weekday=weekdays[here.weekday()], hour=here.hour, minute=here.minute)


def template_for(key: str) -> dict:
    """The template-message settings for a reply key (its own section, else `default`)."""
    templates = load("templates")
    return templates.get(key) or templates["default"]
