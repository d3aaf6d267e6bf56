"""Every sentence the bot sends comes from prompts/replies.toml through render()."""
from __future__ import annotations

import os
import threading
import tomllib
from pathlib import Path

from flask import current_app, has_app_context

from bot.config import Config

_lock = threading.Lock()
_cache: dict[str, tuple[float, dict]] = {}


def _prompts_dir() -> Path:
    if has_app_context():
        return Path(current_app.config["PROMPTS_DIR"])
    return Path(Config.PROMPTS_DIR)


def load(name: str) -> dict:
    """The parsed prompts/<name>.toml, re-read when the file changes on disk."""
    path = _prompts_dir() / f"{name}.toml"
    mtime = os.stat(path).st_mtime
    cached = _cache.get(str(path))
    if cached and cached[0] == mtime:
        return cached[1]
    with _lock:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
        _cache[str(path)] = (mtime, data)
    return data


def text(key: str) -> str:
    """The raw reply template for key ('section.key' reaches into a table)."""
    node = load("replies")
    for part in key.split("."):
        node = node[part]
    if not isinstance(node, str):
        raise KeyError(key)
    return node


def render(key: str, **values) -> str:
    """The reply for key with {placeholders} filled in."""
    return text(key).format(**values)


def template_for(key: str) -> dict:
    """The template-message settings for a reply key (its own section, else `default`)."""
    templates = load("templates")
    return templates.get(key) or templates["default"]
