"""Logging that keeps secrets and personal data out: access tokens, invite codes, phone
numbers and bearer links (console sign-in, export downloads, notice pages) are masked in every log line of
every process (web, worker, scheduler, CLI), and the web server's access log never writes the
query string of /wechat.

Secrets are also kept out at their source (bot/wechat/client.py strips the token from errors); this is
the net under it.
"""
from __future__ import annotations

import logging
import re

# (pattern, replacement): what never reaches a log.
_MASKS = [
    (re.compile(r"(access_token=)[^&\s'\"]+", re.IGNORECASE), r"\1***"),
    (re.compile(r"(/console/login/|/exports/|/notice/)[A-Za-z0-9_.\-]+"), r"\1***"),
    (re.compile(r"((?:signature|msg_signature|nonce|echostr)=)[^&\s'\"]+"), r"\1***"),
    (re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)"), "1**********"),
    (re.compile(r"((?:绑定|bind|邀请码)\D{0,4})\d{4,12}", re.IGNORECASE), r"\1********"),
]


def redact(text: str) -> str:
    """text with tokens, bearer links, signatures, phone numbers and invite codes masked."""
    for pattern, replacement in _MASKS:
        text = pattern.sub(replacement, text)
    return text


FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
_base_factory = logging.getLogRecordFactory()


def _masked_record(*args, **kwargs) -> logging.LogRecord:
    """Every log record of the process, masked as it is made: its message with the arguments
    filled in, and its traceback (whatever handler or formatter writes it later)."""
    record = _base_factory(*args, **kwargs)
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a bad format string is logging's own business
        return record
    record.msg, record.args = redact(message), None
    if record.exc_info and not record.exc_text:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    return record


def install(level: int = logging.INFO) -> None:
    """Mask every log record of this process (idempotent); a root handler if there is none."""
    if logging.getLogRecordFactory() is not _masked_record:
        logging.setLogRecordFactory(_masked_record)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=level, format=FORMAT)


def init_app(app) -> None:
    """Mask what the app's processes log."""
    install()


try:  # the web server's access log (Procfile: --logger-class bot.logs.AccessLog)
    from gunicorn.glogging import Logger as _GunicornLogger
except ImportError:  # pragma: no cover - gunicorn is only needed to serve
    _GunicornLogger = object


class AccessLog(_GunicornLogger):
    """gunicorn's logger, writing paths without query strings and with bearer parts masked."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        path = redact(environ.get("PATH_INFO", ""))
        atoms["r"] = f"{environ.get('REQUEST_METHOD', '')} {path} " \
                     f"{environ.get('SERVER_PROTOCOL', '')}"
        atoms["U"], atoms["q"] = path, ""
        atoms["{query_string}e"], atoms["{raw_uri}e"] = "", path
        return {key: redact(value) if isinstance(value, str) else value
                for key, value in atoms.items()}
