"""The WSGI entry point: `gunicorn wsgi:app`, and `flask --app wsgi …` for the CLI."""
import sys
from pathlib import Path

from bot import create_app


def _command_line() -> bool:
    """Loaded by the `flask` command (or `python -m flask`), not by a web server?"""
    first = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path()
    return first.name == "flask" or first.parent.name == "flask"


# A web server loads jieba and the vocabulary before the first message; a CLI command (an
# export, an import) does not need them, and loads them on first use if it does.
app = create_app({"PRELOAD_INTENTS": False} if _command_line() else None)
