"""Intent classification of members' free Chinese text, with jieba and prompts/intents.toml.

`classify(text, today)` returns an Intent: one of INTENTS and its slots. The vocabulary lives in
prompts/ so it can be tuned without touching code; this module only knows how to use it.
"""
from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field
from datetime import date

import jieba

jieba.setLogLevel(logging.WARNING)

from bot.chat import slots as S
from bot.replies import _prompts_dir, load

log = logging.getLogger(__name__)

INTENTS = ("bind", "help", "study_checkin", "meeting_checkin", "rsvp_yes", "leave_request",
           "dues_query", "schedule_query", "floating_report", "outgoing_report", "return_report",
           "notice_ack", "broadcast", "stats", "my_info", "unknown")


@dataclass
class Intent:
    """What a message asks for, and the details found in it."""

    name: str
    slots: dict = field(default_factory=dict)
    score: float = 0.0

    def as_dict(self, text: str) -> dict:
        return {"text": text, "intent": self.name, "slots": self.slots}


class Vocabulary:
    """prompts/intents.toml compiled: per-intent words and patterns, typos, slot words."""

    def __init__(self, data: dict):
        self.threshold = data.get("threshold", 3)
        self.pattern_weight = data.get("pattern_weight", 10)
        self.max_chars = data.get("max_chars", 300)
        self.typos = data.get("typos", {})
        self.meetings = data.get("meetings", {})
        self.stats_topics = data.get("stats_topics", {})
        self.commands = {name: re.compile(pattern, re.S)
                         for name, pattern in data.get("commands", {}).items()}
        self.intents = []
        for name, spec in data["intents"].items():
            if name not in INTENTS:
                raise ValueError(f"prompts/intents.toml names an unknown intent: {name}")
            patterns = [re.compile(p, re.IGNORECASE) for p in spec.get("patterns", [])]
            words = {w.lower(): float(v) for w, v in spec.get("words", {}).items()}
            self.intents.append((name, patterns, words))

    def all_words(self) -> set[str]:
        words = set(self.meetings) | set(self.stats_topics)
        for _, _, spec_words in self.intents:
            words |= set(spec_words)
        return {w for w in words if len(w) >= 2}


class Classifier:
    """A jieba tokenizer with the branch dictionary, and the vocabulary it scores against."""

    def __init__(self, prompts_dir):
        self.vocabulary = Vocabulary(load("intents"))
        from bot.config import INSTANCE

        self.tokenizer = jieba.Tokenizer()
        INSTANCE.mkdir(parents=True, exist_ok=True)
        self.tokenizer.tmp_dir = str(INSTANCE)  # its prefix-dict cache lives with the app
        self.tokenizer.initialize()
        self.tokenizer.load_userdict(str(prompts_dir / "userdict.txt"))
        for word in self.vocabulary.all_words():
            self.tokenizer.add_word(word, freq=2000)

    def normalise(self, text: str) -> str:
        """Full-width digits and letters to half-width, lower case, typos fixed, spaces folded.

        Chinese punctuation (，：？) is kept: slots such as a reason or a notice keep it.
        """
        text = (text or "").translate(_HALF_WIDTH).strip().lower()
        for wrong, right in self.vocabulary.typos.items():
            text = text.replace(wrong, right)
        return re.sub(r"\s+", " ", text)

    def tokens(self, text: str) -> list[str]:
        return [t for t in self.tokenizer.lcut(text, HMM=False) if t.strip()]

    def score(self, text: str) -> list[tuple[float, int, str]]:
        """(score, order, intent) for every intent with a positive score, best first."""
        tokens = set(self.tokens(text))
        results = []
        for order, (name, patterns, words) in enumerate(self.vocabulary.intents):
            total = 0.0
            for word, weight in words.items():
                if word in tokens:
                    total += weight
                elif word in text:
                    total += weight / 2
            if any(p.search(text) for p in patterns):
                total += self.vocabulary.pattern_weight
            if total > 0:
                results.append((total, -order, name))
        results.sort(reverse=True)
        return results

    def classify(self, raw: str, today: date) -> Intent:
        """The intent of raw text and its slots; `today` is the Beijing date the text was sent."""
        text = self.normalise(raw)[: self.vocabulary.max_chars]
        if not text:
            return Intent("help", {})
        ranked = self.score(text)
        if not ranked or ranked[0][0] < self.vocabulary.threshold:
            return Intent("unknown", {})
        best, _, name = ranked[0]
        return Intent(name, self.extract(name, text, today), best)

    def extract(self, name: str, text: str, today: date) -> dict:
        """The slots that intent `name` can use, found in text."""
        v = self.vocabulary
        found: dict = {}
        if name == "bind":
            found["code"] = S.extract_code(text, min_len=4, max_len=12)
        elif name == "meeting_checkin":
            found["code"] = S.extract_code(text, min_len=3, max_len=6)
            found["meeting"] = S.longest_match(text, v.meetings)
            found["remote"] = True if re.search(r"远程|线上|视频", text) else None
        elif name in ("rsvp_yes", "leave_request", "schedule_query"):
            found["meeting"] = S.longest_match(text, v.meetings)
            found["date"] = S.extract_date(text, today)
            if name == "leave_request":
                found["reason"] = S.extract_reason(text, v.meetings)
                found["duration"] = S.extract_duration(text)
        elif name == "study_checkin":
            found["date"] = S.extract_date(text, today)
            found["duration"] = S.extract_duration(text)
            found["reflection"] = S.extract_after(text, r"心得(体会)?\s*[:：]")
            found["ranking"] = True if re.search(r"排名|排行|名次", text) else None
            found["query"] = True if re.search(r"记录|几次|多少次|情况|多久|多长时间|统计", text) \
                else None
            reflection_only = re.match(r"^\s*(学习)?心得", text)
            found["material"] = None if found["query"] or found["ranking"] or reflection_only \
                else S.extract_material(text.split("心得")[0])
        elif name == "outgoing_report":
            found["destination"] = S.extract_destination(text)
            found["duration"] = S.extract_duration(text)
            found["date"] = S.extract_date(text, today)
            reason = re.search(r"打工|务工|工作|经商|做生意|上学|求学|读书|进修|探亲|就医|出差", text)
            found["reason"] = reason.group(0) if reason else None
        elif name == "floating_report":
            found["destination"] = S.extract_destination(text)
            found["content"] = S.extract_after(text, r"汇报\s*[:：]") or text
        elif name == "return_report":
            found["date"] = S.extract_date(text, today)
        elif name == "dues_query":
            found["date"] = S.extract_date(text, today)
            month = re.search(r"(\d{1,2}|[一二三四五六七八九十]+)\s*月(?!\s*\d)", text)
            found["month"] = int(S.to_number(month.group(1))) if month else None
        elif name == "broadcast":
            found["content"] = S.extract_after(
                text, r"^(通知|公告|发通知|群发|发布通知|转发通知|发送通知|通知大家)\s*[:：]?\s*")
        elif name == "stats":
            found["topic"] = S.longest_match(text, v.stats_topics)
        return {k: v for k, v in found.items() if v is not None}


_HALF_WIDTH = {c: c - 0xFEE0 for c in range(0xFF10, 0xFF1A)}
_HALF_WIDTH.update({c: c - 0xFEE0 for c in range(0xFF21, 0xFF3B)})
_HALF_WIDTH.update({c: c - 0xFEE0 for c in range(0xFF41, 0xFF5B)})
_HALF_WIDTH[0x3000] = 0x20

_classifier: Classifier | None = None
_lock = threading.Lock()


def get_classifier() -> Classifier:
    """The process-wide classifier, built once (loading jieba's dictionary takes about a second)."""
    global _classifier
    if _classifier is None:
        with _lock:
            if _classifier is None:
                _classifier = Classifier(_prompts_dir())
    return _classifier


def command(name: str, text: str | None) -> re.Match | None:
    """The exact command `name` of prompts/intents.toml [commands] in text, or None."""
    if not text:
        return None
    return get_classifier().vocabulary.commands[name].match(text.strip())


def classify(text: str, today: date) -> Intent:
    """Classify text as sent on `today` (Beijing date)."""
    return get_classifier().classify(text, today)


def init_app(app) -> None:
    """Build the classifier at start-up so no member waits for jieba on their first message."""
    if app.config.get("PRELOAD_INTENTS", True):
        with app.app_context():
            get_classifier()
