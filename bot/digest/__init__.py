"""The secretary's daily digest: the core (bot/digest/core.py) and each topic's lines.

Each topic adds its lines by a module here (bot/digest/<topic>.py): to the secretary's digest
with @contributes(order), to a member's reminder digest with @adds_to_member_digest(order).
Importing the module below is all it takes.
"""
from bot.digest import (compliance, dues, floating,  # noqa: F401  (register their lines)
                        meetings, notices, study)
from bot.digest.core import (Digest, Item, collect, compose, contributes, lines_of_members,
                             member_lines, run, text_of)

__all__ = ["Digest", "Item", "collect", "compose", "contributes", "lines_of_members",
           "member_lines", "run", "text_of"]
