"""Understanding a member's words: normalise them, classify them with the model learned from
the phrasings in prompts/corpus/, decide whether the reading is sure enough to act on, and find
the details (slots) the intent needs.

* Normalisation: traditional characters to simplified (OpenCC), full-width to half-width,
  known typos, pinyin typed without the IME (qingjia → 请假), fillers of voice transcripts.
* The model: character 1–3-grams, jieba words and a few signals (a negation, a question
  about others, a person's name, runs of digits) into a linear model trained by `flask --app wsgi intents build` (bot/chat/training.py) and saved as
  plain arrays under instance/models/, named by the corpus's hash. Serving it needs numpy, not
  scikit-learn.
* Never act on a guess: an intent that changes a record acts only when the reading is clear
  (the top probability above `floor` and `margin` clear of the second), its exact command
  matches where it has one, no negation contradicts it (a text saying the member will not come
  is never 参加) and it is not a question about others; otherwise `act` is False and the bot
  asks one short question.

Exact commands (批准 12, 改期 12 …, 记党费 …) are patterns in prompts/intents.toml [commands].
"""
from __future__ import annotations

import logging
import math
import re
import threading
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import jieba

from bot.chat import slots as S
from bot.replies import _prompts_dir, load

jieba.setLogLevel(logging.WARNING)
log = logging.getLogger(__name__)

# Every reading the bot knows. A finer reading refines its parent: stats.leave is a stats.
INTENTS = (
    "bind", "help", "greeting", "my_info", "undo", "unknown",
    "study_checkin", "study_checkin.query", "meeting_checkin", "rsvp_yes", "leave_request",
    "attendance_query", "schedule_query", "dues_query", "dues_query.member",
    "floating_report", "outgoing_report", "return_report", "notice_ack",
    "broadcast", "broadcast.remind", "leave_decision", "dues_record", "meeting_change",
    "floating_contact", "mute", "console",
    "stats", "stats.pending_leave", "stats.leave", "stats.attendance", "stats.export",
    "stats.unbound", "stats.members", "stats.dues", "stats.notices", "stats.floating",
    "stats.study",
)
# Readings that change a record: acted on only when sure.
RECORD_CHANGING = frozenset({
    "bind", "undo", "study_checkin", "meeting_checkin", "rsvp_yes", "leave_request",
    "floating_report", "outgoing_report", "return_report", "notice_ack", "broadcast",
    "broadcast.remind", "leave_decision", "dues_record", "meeting_change", "floating_contact",
    "mute"})
# A member's own actions: never read from a question about other people (谁请假了).
OWN_ACTIONS = frozenset({"rsvp_yes", "leave_request", "meeting_checkin", "study_checkin",
                         "floating_report", "outgoing_report", "return_report", "notice_ack"})
# Why `act` is False when the reading is clear but the text lacks a detail the action needs
# (签到 without its code, a payment without the amount) or a leader's exact command was said in
# free words: the bot asks for the detail or shows the form, it is not in doubt of the meaning.
ASKED_FOR_DETAIL = frozenset({"incomplete", "command"})
# Exact commands (prompts/intents.toml [commands]) and the readings they are.
COMMANDS = {"leave_decision": ("leave_decision",), "meeting_change": ("meeting_change",),
            "dues_record": ("dues_record",), "floating_contact": ("floating_contact",),
            "mute": ("mute", "unmute"), "console": ("console",),
            "broadcast": ("notice", "notice_start"), "stats.notices": ("notice_status",),
            "broadcast.remind": ("notice_remind",), "notice_ack": ("notice_ack",)}
# Readings acted on only through their exact command: read from free text (周五的会改到下午,
# 李四交了11月党费45) the bot shows how to say it, and changes nothing.
BY_COMMAND_ONLY = frozenset({"meeting_change"})


@dataclass
class Intent:
    """What a message asks for, the details found in it, and whether the bot may act on it."""

    name: str
    slots: dict = field(default_factory=dict)
    confidence: float = 1.0
    act: bool = True
    second: str | None = None  # the runner-up reading (what to offer when asking back)
    why: str | None = None  # why the bot would ask instead of acting

    @property
    def parent(self) -> str:
        return self.name.split(".")[0]

    def is_a(self, name: str) -> bool:
        """This reading, or a refinement of it."""
        return self.name == name or self.name.startswith(name + ".")

    def as_dict(self, text: str) -> dict:
        return {"text": text, "intent": self.name, "slots": self.slots,
                "confidence": round(self.confidence, 3), "act": self.act}


class Vocabulary:
    """prompts/intents.toml compiled: typos, signals, thresholds, slot words, commands."""

    def __init__(self, data: dict):
        self.max_chars = data.get("max_chars", 300)
        self.typos = data.get("typos", {})
        self.meetings = data.get("meetings", {})
        self.fillers = re.compile(data["normalise"]["fillers"])
        self.pinyin_words = data["normalise"]["pinyin_words"]
        self.surnames = data["normalise"]["surnames"]
        decide = data["decide"]
        self.floor, self.margin = decide["floor"], decide["margin"]
        self.unknown_below = decide["unknown_below"]
        self.signals = {name: re.compile(pattern) for name, pattern in data["signals"].items()}
        self.commands = {name: re.compile(pattern, re.S)
                         for name, pattern in data.get("commands", {}).items()}

    def words(self) -> set[str]:
        """Words jieba should keep whole."""
        return {w for w in [*self.meetings, *self.pinyin_words] if len(w) >= 2}


def features(text: str, words: list[str],
             signals: dict[str, re.Pattern]) -> tuple[dict[str, int], dict[str, int]]:
    """The two feature groups of a normalised, lower-cased text: character 1–3-grams; and
    jieba words, signals and runs of digits. Training and serving both use this. (Word pairs
    and pinyin syllables were measured too and read the held-out sets slightly worse.)"""
    chars: dict[str, int] = {}
    for n in (1, 2, 3):
        for i in range(len(text) - n + 1):
            gram = text[i:i + n]
            if not gram.isspace():
                chars[gram] = chars.get(gram, 0) + 1
    other: dict[str, int] = {}
    for word in words:
        other["w:" + word] = other.get("w:" + word, 0) + 1
    for name, pattern in signals.items():
        if pattern.search(text):
            other["s:" + name] = 1
    for run in re.findall(r"\d+", text):
        other[f"d:{min(len(run), 9)}"] = 1
    if len(text) > 60:
        other["s:long"] = 1
    return chars, other


class Model:
    """The learned weights, served with numpy: a sparse tf-idf vector of each feature group
    (sublinear tf, l2-normalised per group) dotted with the weights, then softmax."""

    def __init__(self, path: Path):
        import numpy as np

        self.np = np
        data = np.load(path, allow_pickle=False)
        self.classes = [str(c) for c in data["classes"]]
        self.index = {str(f): i for i, f in enumerate(data["vocabulary"])}
        self.groups = int(data["char_features"])  # features [0, groups) are character grams
        self.idf = data["idf"]
        self.weights = data["weights"]  # features x classes
        self.bias = data["bias"]
        self.pinyin = dict(zip((str(c) for c in data["pinyin_chars"]),
                               (str(p) for p in data["pinyin"])))
        self.hash = str(data["corpus_hash"])

    def vector(self, groups: tuple[dict[str, int], dict[str, int]]) -> tuple[list, list]:
        """(feature indices, values) of a text's features."""
        indices, values = [], []
        for counts in groups:
            found = [(self.index[f], 1.0 + math.log(c)) for f, c in counts.items()
                     if f in self.index]
            weighted = [(i, v * float(self.idf[i])) for i, v in found]
            norm = math.sqrt(sum(v * v for _, v in weighted)) or 1.0
            indices.extend(i for i, _ in weighted)
            values.extend(v / norm for _, v in weighted)
        return indices, values

    def probabilities(self, groups) -> list[tuple[float, str]]:
        """(probability, intent) for every intent, most likely first."""
        np = self.np
        indices, values = self.vector(groups)
        scores = self.bias.copy()
        if indices:
            scores += np.asarray(values, dtype=np.float32) @ self.weights[indices]
        scores = np.exp(scores - scores.max())
        scores /= scores.sum()
        order = np.argsort(-scores)
        return [(float(scores[i]), self.classes[i]) for i in order]


_FULL_WIDTH = re.compile("[\uff01-\uff5e\u3000]")


def make_tokenizer(dictionary: Path | None, prompts_dir: Path,
                   vocabulary: Vocabulary) -> jieba.Tokenizer:
    """jieba with `dictionary` (the model's own small one, words of the corpus; jieba's whole
    dictionary if None), the branch's userdict and the vocabulary's words."""
    from bot.config import INSTANCE

    tokenizer = jieba.Tokenizer(str(dictionary)) if dictionary else jieba.Tokenizer()
    INSTANCE.mkdir(parents=True, exist_ok=True)
    tokenizer.tmp_dir = str(INSTANCE)  # its prefix-dict cache lives with the app
    tokenizer.initialize()
    tokenizer.load_userdict(str(prompts_dir / "userdict.txt"))
    for word in vocabulary.words():
        tokenizer.add_word(word, freq=2000)
    return tokenizer


def dictionary_of(model_path: Path) -> Path:
    """The small jieba dictionary built with a model (the words its corpus has): loading it
    takes milliseconds, jieba's whole dictionary most of a second."""
    return model_path.with_name(model_path.stem + ".dict.txt")


class Understanding:
    """Normaliser, jieba tokenizer and model: `read(text, today)` gives the Intent."""

    def __init__(self, vocabulary: Vocabulary, model, tokenizer: jieba.Tokenizer):
        import opencc

        self.vocabulary, self.model, self.tokenizer = vocabulary, model, tokenizer
        self.t2s = opencc.OpenCC("t2s")
        self.pinyin_typed = {}  # "qingjia" -> 请假, for words typed without the IME
        for word in self.vocabulary.pinyin_words:
            spelled = "".join(self.model.pinyin.get(ch, "?") for ch in word)
            if "?" not in spelled:
                self.pinyin_typed[spelled] = word

    @classmethod
    def load(cls, prompts_dir: Path, model_path: Path) -> Understanding:
        """The understanding of a built model."""
        vocabulary = Vocabulary(load("intents"))
        return cls(vocabulary, Model(model_path),
                   make_tokenizer(dictionary_of(model_path), prompts_dir, vocabulary))

    def clean(self, raw: str) -> str:
        """The member's words as the bot reads them: simplified characters, half-width digits
        and letters, typos fixed, pinyin words in characters, fillers out, spaces folded.
        Case and punctuation are kept (a reason or a notice keeps them)."""
        text = _FULL_WIDTH.sub(lambda m: unicodedata.normalize("NFKC", m.group()), raw or "")
        text = self.t2s.convert(text)
        for wrong, right in self.vocabulary.typos.items():
            text = text.replace(wrong, right)
        if self.pinyin_typed and re.search(r"[a-zA-Z]", text):
            text = re.sub(r"[a-zA-Z]+(?:\s+[a-zA-Z]+)*", self._from_pinyin, text)
        text = self.vocabulary.fillers.sub("", text)
        return re.sub(r"\s+", " ", text).strip()

    def _from_pinyin(self, match: re.Match) -> str:
        run = match.group()
        joined = re.sub(r"\s+", "", run).lower()
        if joined in self.pinyin_typed:
            return self.pinyin_typed[joined]
        return " ".join(self.pinyin_typed.get(w.lower(), w) for w in run.split())

    def groups(self, text: str):
        """The feature groups of a cleaned text."""
        lower = text.lower()
        words = [w for w in self.tokenizer.lcut(lower, HMM=False) if w.strip()]
        return features(lower, words, self.vocabulary.signals)

    def read(self, raw: str, today: date) -> Intent:
        """The intent of raw text, its slots, and whether to act; `today` is the Beijing date
        the text was sent."""
        if "\ufffd" in (raw or ""):  # bytes that were not text: nothing to read, nothing to do
            return Intent("unknown", {}, 0.0)
        text = self.clean(raw)[: self.vocabulary.max_chars]
        if not text:
            return Intent("help", {})
        command = self.command_of(text)
        if command:
            return Intent(command, self.extract(command, text, today))
        ranked = self.model.probabilities(self.groups(text))
        (best, name), (runner_up, second) = ranked[0], ranked[1]
        if best < self.vocabulary.unknown_below:
            return Intent("unknown", {}, best, second=name)
        if name == "dues_query.member" and self.vocabulary.signals["own_dues"].match(text):
            name = "dues_query"  # nobody else named: one's own dues (这个月交了吗)
        intent = Intent(name, self.extract(name, text, today), best, second=second)
        self.decide(intent, text, best - runner_up)
        return intent

    def command_of(self, text: str) -> str | None:
        """The intent of an exact command in text, if it is one."""
        for intent, names in COMMANDS.items():
            if any(self.vocabulary.commands[n].match(text) for n in names):
                return intent
        return None

    def decide(self, intent: Intent, text: str, margin: float) -> None:
        """Never act on a guess: set intent.act (and intent.why) for a reading from free text."""
        signals = self.vocabulary.signals
        if intent.name in BY_COMMAND_ONLY:
            intent.act, intent.why = False, "command"  # said in free words: show how to say it
        elif intent.name == "rsvp_yes" and signals["negation"].search(text) and \
                not signals["affirmation"].search(text):
            intent.name, intent.act, intent.why = "leave_request", False, "negation"
            intent.slots = {k: v for k, v in intent.slots.items() if k in ("meeting", "date")}
        elif intent.name == "leave_request" and signals["affirmation"].search(text):
            intent.act, intent.why = False, "unsure"  # 这回我不缺席: coming after all?
        elif intent.name in OWN_ACTIONS and signals["about_others"].search(text):
            intent.act, intent.why = False, "about_others"
        elif intent.name == "leave_request" and signals["deciding"].search(text) and \
                not signals["requesting"].search(text):
            intent.act, intent.why = False, "deciding"  # a leader deciding others' leave?
        elif intent.name in RECORD_CHANGING and (intent.confidence < self.vocabulary.floor
                                                  or margin < self.vocabulary.margin):
            intent.act, intent.why = False, "unsure"
        elif intent.name in ("floating_contact", "dues_record") and "name" not in intent.slots:
            intent.act, intent.why = False, "incomplete"
        elif intent.name == "dues_record" and not {"months", "amount"} <= set(intent.slots):
            intent.act, intent.why = False, "incomplete"  # who, which months, how much
        elif intent.name == "meeting_checkin" and "code" not in intent.slots:
            intent.act, intent.why = False, "incomplete"  # no code: asked for it, or resolved
            # by the open meeting (bot/handlers/clarify.py)
        elif intent.name == "mute" and not (signals["mute"].search(text) or
                                            signals["unmute"].search(text)):
            intent.act, intent.why = False, "unsure"  # 提醒 without 关 or 开: which is it?
        elif intent.name == "notice_ack" and re.fullmatch(r"\d{2,}", text):
            intent.act, intent.why = False, "unsure"  # 111: a receipt, or a slip of the thumb?

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
        elif name in ("rsvp_yes", "leave_request", "schedule_query", "stats.leave",
                      "stats.attendance"):
            found["meeting"] = S.longest_match(text, v.meetings)
            found["date"] = S.extract_date(text, today)
            if name == "schedule_query":
                found["span"] = S.extract_span(text, today)
            if name == "leave_request":
                found["reason"] = S.extract_reason(text, v.meetings)
                found["duration"] = S.extract_duration(text)
        elif name == "study_checkin":
            found["date"] = S.extract_date(text, today)
            found["duration"] = S.extract_duration(text)
            found["reflection"] = S.extract_after(text, r"心得(体会)?\s*[:：]")
            if not re.match(r"^\s*(学习)?心得", text):
                found["material"] = S.extract_material(re.split(r"心得", text)[0])
        elif name == "study_checkin.query":
            found["ranking"] = True if re.search(r"排名|排行|名次", text) else None
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
        elif name in ("dues_query", "dues_query.member"):
            found["date"] = S.extract_date(text, today)
            month = re.search(rf"({S.NUMBER})\s*月(?!\s*\d)", text)
            found["month"] = int(S.to_number(month.group(1))) if month and \
                S.to_number(month.group(1)) else None
        elif name in ("broadcast", "broadcast.remind"):
            found["content"] = S.extract_after(
                text, r"^(紧急通知|通知|公告|发通知|群发|发布通知|转发通知|发送通知|通知大家)\s*[:：]?\s*")
        elif name == "leave_decision":
            found["numbers"] = [int(n) for n in re.findall(r"\d+", text)] or None
            found["approve"] = not re.search(r"不批|不同意|驳回|不准|拒绝", text)
        elif name == "attendance_query":
            found["date"] = S.extract_date(text, today)
        elif name == "floating_contact":
            found["name"] = S.extract_person(text, v.surnames)
        elif name == "dues_record":
            from bot.dues.payments import parse_amount_in, parse_months_in

            found["name"] = S.extract_person(text, v.surnames)
            found["months"] = parse_months_in(text, today)
            found["amount"] = parse_amount_in(text)
        elif name == "mute":
            found["on"] = True if self.vocabulary.signals["unmute"].search(text) else None
        return {k: v for k, v in found.items() if v is not None}


def note(kind: str, text: str, read: str, confidence: float | None, now) -> None:
    """Keep a text the bot asked back about (asked), that was undone (undone) or that it did
    not understand (unknown) for review — the words only, phone numbers and codes masked, no
    sender (flask --app wsgi intents review)."""
    from bot.logs import redact
    from bot.storage.engine import db
    from bot.storage.models import ReviewItem

    db.session.add(ReviewItem(kind=kind, text=redact(text)[:1000], read=read,
                              confidence=round(confidence, 4) if confidence is not None
                              else None, created_at=now))


def note_choice(text: str, chosen: str, now) -> None:
    """What the person chose after being asked: kept with the question's item."""
    from sqlalchemy import select

    from bot.logs import redact
    from bot.storage.engine import db
    from bot.storage.models import ReviewItem

    item = db.session.execute(select(ReviewItem).where(
        ReviewItem.kind == "asked", ReviewItem.text == redact(text)[:1000],
        ReviewItem.chosen.is_(None)).order_by(ReviewItem.id.desc()).limit(1)
    ).scalar_one_or_none()
    if item is not None:
        item.chosen = chosen


_understanding: Understanding | None = None
_lock = threading.Lock()


# The parts of prompts/intents.toml the features depend on (a change means a new model); the
# rest (thresholds, commands, meeting words) is read afresh without rebuilding.
FEATURE_SETTINGS = ("max_chars", "typos", "normalise", "signals")


def corpus_files() -> list[Path]:
    """prompts/corpus/*.tsv, and a deployment's own instance/corpus.tsv if it has one."""
    from bot.config import INSTANCE

    local = INSTANCE / "corpus.tsv"
    return sorted((_prompts_dir() / "corpus").glob("*.tsv")) + ([local] if local.exists() else [])


def corpus_hash(files: list[Path] | None = None) -> str:
    """A digest of the corpus and of what the features depend on (the vocabulary's feature
    settings, jieba's dictionary, this code)."""
    import hashlib
    import json

    digest = hashlib.sha256()
    for path in [*(files or corpus_files()), _prompts_dir() / "userdict.txt", Path(__file__)]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    settings = load("intents")
    digest.update(json.dumps({k: settings.get(k) for k in FEATURE_SETTINGS}, sort_keys=True,
                             ensure_ascii=False).encode())
    return digest.hexdigest()[:16]


def models_dir() -> Path:
    """Where built models are kept: ZHIBU_MODELS, else instance/models."""
    import os

    from bot.config import INSTANCE

    return Path(os.environ.get("ZHIBU_MODELS") or INSTANCE / "models")


def model_path() -> Path:
    """The model of the current corpus; FileNotFoundError (saying how to build it) if none."""
    path = models_dir() / f"intents-{corpus_hash()}.npz"
    if not path.exists():
        from bot.replies import render

        raise FileNotFoundError(render("cli.intents_missing", path=path))
    return path


def get_understanding() -> Understanding:
    """The process-wide understanding, built once (jieba's dictionary and the model)."""
    global _understanding
    if _understanding is None:
        with _lock:
            if _understanding is None:
                _understanding = Understanding.load(_prompts_dir(), model_path())
    return _understanding


def command(name: str, text: str | None) -> re.Match | None:
    """The exact command `name` of prompts/intents.toml [commands] in text, or None."""
    if not text:
        return None
    return get_understanding().vocabulary.commands[name].match(text.strip())


def classify(text: str, today: date) -> Intent:
    """Read text as sent on `today` (Beijing date)."""
    return get_understanding().read(text, today)


def init_app(app) -> None:
    """Load jieba and the model at start-up so no member waits on their first message."""
    if app.config.get("PRELOAD_INTENTS", True):
        with app.app_context():
            try:
                get_understanding()
            except FileNotFoundError as exc:  # the model was never built: say how, and stop
                raise SystemExit(str(exc)) from None
