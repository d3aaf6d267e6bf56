"""Chat handlers, one module per topic (`bot/handlers/<topic>.py`), each with its HANDLERS.

Every handler declares its group; the app tries the groups in order — platform events and the
gate for followers not bound yet, then leaders' exact commands, then unfinished dialogues, then
what the intent says, then the fallback — and, within a group, the modules in TOPICS order.
The list is built once when the app starts.
"""
from __future__ import annotations

import importlib

from bot.chat.dispatch import GROUPS, Handler

# Within a group, modules are tried in this order (a bare 签到 / 收到 is resolved by `clarify`
# before the meetings topic sees it; a floating member's location before any location).
TOPICS = ("events", "members", "floating", "media", "clarify", "help", "meetings", "dues",
          "exports", "study", "fallback")


def ordered() -> list[Handler]:
    """Every handler, in the order they are tried."""
    modules = [importlib.import_module(f"bot.handlers.{topic}") for topic in TOPICS]
    return [handler for group in GROUPS for module in modules for handler in module.HANDLERS
            if handler.group == group]
