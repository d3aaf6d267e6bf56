"""Messages that are not text: images and video, voice without recognition, locations."""
from __future__ import annotations

from bot.chat.dispatch import Handler, Incoming
from bot.replies import load, render


class LocationHandler(Handler):
    """A location message: stored with its coordinates and label (the record keeps them)."""

    group, msg_types = "events", ("location",)

    def handle(self, msg: Incoming, match) -> str:
        label = (msg.location or {}).get("label")
        return render("location_received", label=label) if label else render("location_unlabelled")


class UnrecognisedVoiceHandler(Handler):
    """Voice with no Recognition text: ask for it again."""

    group, msg_types = "events", ("voice",)

    def accept(self, msg: Incoming, match):
        return match if not (msg.text or "").strip() else None

    def handle(self, msg: Incoming, match) -> str:
        return render("voice_unrecognised")


class NonTextHandler(Handler):
    """Images, video, links, files: a polite word that only text, voice and location are read."""

    group, msg_types = "events", ("image", "video", "shortvideo", "link", "file",
                                  "miniprogrampage", "music", "news")

    def handle(self, msg: Incoming, match) -> str:
        kinds = load("replies")["kinds"]
        return render("non_text", kind=kinds.get(msg.msg_type, kinds["unknown"]))


class TooLongHandler(Handler):
    """Text far longer than any request, not understood: say so rather than guess at it."""

    group, intents = "fallback", ("unknown",)
    LIMIT = 1000

    def accept(self, msg: Incoming, match):
        return match if len(msg.text or "") > self.LIMIT else None

    def handle(self, msg: Incoming, match) -> str:
        return render("too_long")


HANDLERS = [LocationHandler(), UnrecognisedVoiceHandler(), NonTextHandler(), TooLongHandler()]
