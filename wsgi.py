"""The WSGI entry point: `gunicorn wsgi:app`, and `flask --app wsgi …` for the CLI."""
import os
import sys
from pathlib import Path

# The demo's own commands mark themselves: only they may use the demo's generated secrets.
DEMO_COMMANDS = {"demo", "chat"}


def _command_line() -> str | None:
    """The `flask` subcommand when loaded by the flask CLI, None when loaded by a web server."""
    first = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path()
    if not (first.name == "flask" or first.parent.name == "flask"):
        return None
    words = [a for a in sys.argv[1:] if not a.startswith("-") and a != "wsgi"]
    return words[0] if words else ""


command = _command_line()
if command in DEMO_COMMANDS:
    os.environ.setdefault("ZHIBU_DEMO", "1")

from bot import create_app  # noqa: E402  (after the demo marker is set)

# A web server loads jieba and the vocabulary before the first message, and refuses to start
# without its secrets; a CLI command (an export, an import) needs neither at start.
app = create_app({"PRELOAD_INTENTS": False} if command is not None else None,
                 serving=command is None)
