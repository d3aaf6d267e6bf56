"""Chat handlers, one module per topic (`bot/handlers/<topic>.py`), each with its HANDLERS.

Every handler declares its group; the app tries the groups in order — platform events and the
gate for followers not bound yet, then leaders' exact commands, then unfinished dialogues, then
what the intent says, then the fallback — and, within a group, the modules in TOPICS order.
The list is built once when the app starts.
"""
from __future__ import annotations

import importlib

from bot.chat.dispatch import GROUPS, Handler

# Within a group, modules are tried in this order (what the bot is not sure of, and a bare
# 签到 / 收到, are settled by `clarify` before any topic acts; a floating member's location is
# part of their report before it is any location).
TOPICS = ("events", "clarify", "members", "floating", "media", "help", "meetings", "notices",
          "dues", "exports", "study", "fallback")


def ordered() -> list[Handler]:
    """Every handler, in the order they are tried."""
    modules = [importlib.import_module(f"bot.handlers.{topic}") for topic in TOPICS]
    return [handler for group in GROUPS for module in modules for handler in module.HANDLERS
            if handler.group == group]
