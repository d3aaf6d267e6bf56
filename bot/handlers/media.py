"""Messages that are not text: images and video, voice without recognition, locations."""
from __future__ import annotations

from bot.chat.dispatch import Handler, Incoming
from bot.replies import load, render


class LocationHandler(Handler):
    """A location message: stored with its coordinates and label (the record keeps them)."""

    group = "events"

    def check(self, msg: Incoming):
        return msg.msg_type == "location" or None

    def handle(self, msg: Incoming, match) -> str:
        label = (msg.location or {}).get("label")
        return render("location_received", label=label) if label else render("location_unlabelled")


class UnrecognisedVoiceHandler(Handler):
    """Voice with no Recognition text: ask for it again."""

    group = "events"

    def check(self, msg: Incoming):
        return (msg.msg_type == "voice" and not (msg.text or "").strip()) or None

    def handle(self, msg: Incoming, match) -> str:
        return render("voice_unrecognised")


class NonTextHandler(Handler):
    """Images, video, links, files: a polite word that only text, voice and location are read."""

    group = "events"

    def check(self, msg: Incoming):
        return msg.msg_type not in ("text", "voice", "location", "event") or None

    def handle(self, msg: Incoming, match) -> str:
        kinds = load("replies")["kinds"]
        return render("non_text", kind=kinds.get(msg.msg_type, kinds["unknown"]))


class TooLongHandler(Handler):
    """Text far longer than any request: say so rather than guess at it."""

    group = "events"
    LIMIT = 1000

    def check(self, msg: Incoming):
        return (msg.text is not None and len(msg.text) > self.LIMIT and
                (msg.intent is None or msg.intent.name == "unknown")) or None

    def handle(self, msg: Incoming, match) -> str:
        return render("too_long")


HANDLERS = [LocationHandler(), UnrecognisedVoiceHandler(), NonTextHandler(), TooLongHandler()]
