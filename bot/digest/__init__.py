"""The secretary's daily digest: the core (bot/digest/core.py) and each topic's lines.

A topic adds its lines by a module here whose functions are registered with
@contributes(order); importing it below is all it takes.
"""
from bot.digest import (compliance, dues, floating,  # noqa: F401  (register their lines)
                        meetings)
from bot.digest.core import Digest, Item, collect, compose, contributes, run, text_of

__all__ = ["Digest", "Item", "collect", "compose", "contributes", "run", "text_of"]
