"""Building, measuring and improving the model the bot reads messages with (never imported by
the webhook: scikit-learn is needed here only).

* The corpus: prompts/corpus/*.tsv ships with the project; a deployment's own additions are in
  instance/corpus.tsv, which upgrades keep; both are merged at build. Each line is
  `intent<TAB>text` (`a|b` where either reading is right; the first is trained).
* `build()`: a logistic regression over the features of bot/chat/intents.py, saved as plain
  arrays in instance/models/intents-<hash of the corpus>.npz; nothing is rebuilt while the
  corpus is unchanged.
* `evaluate()`: accuracy, the confusion table, and the dangerous confusions (a record-changing
  reading the speaker did not mean that the bot would act on) of a labelled file.
* `review()`: what the bot asked back about, what was undone and what it did not understand,
  kept for a while (text only), for an operator to confirm into instance/corpus.tsv.
"""
from __future__ import annotations

import logging
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import SimpleNamespace

from bot.chat import intents as reading
from bot.config import INSTANCE
from bot.replies import _prompts_dir

log = logging.getLogger(__name__)
LOCAL_CORPUS = INSTANCE / "corpus.tsv"
C = 20.0  # inverse regularisation, chosen on the held-out sets (bench/intents.py)


def read_tsv(path: Path) -> list[tuple[list[str], str]]:
    """(intents, text) of each line of a corpus or test file."""
    rows = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        label, sep, text = line.partition("\t")
        names = [n.strip() for n in label.split("|")]
        if not sep or not text.strip() or any(n not in reading.INTENTS for n in names):
            raise ValueError(f"{path}:{number}: not `intent<TAB>text` with a known intent")
        rows.append((names, text))
    return rows


corpus_files, corpus_hash, models_dir = (reading.corpus_files, reading.corpus_hash,
                                          reading.models_dir)


def model_path() -> Path:
    """The model of the current corpus, built now if there is none."""
    try:
        return reading.model_path()
    except FileNotFoundError:
        log.warning("no model for this corpus yet: building it now")
        return build_model().path


def _pinyin_table(texts: list[str]) -> dict[str, str]:
    """Each Chinese character of the corpus and the vocabulary: its pinyin, without tones."""
    from pypinyin import lazy_pinyin

    chars = {ch for text in texts for ch in text if "\u4e00" <= ch <= "\u9fff"}
    return {ch: lazy_pinyin(ch)[0] for ch in sorted(chars)}


@dataclass
class Built:
    path: Path
    examples: int
    features: int
    seconds: float


def build_model(force: bool = False) -> Built:
    """Train on the corpus and save the model (kept if the corpus has not changed)."""
    import numpy as np
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression

    started = time.monotonic()
    files = corpus_files()
    models = models_dir()
    path = models / f"intents-{corpus_hash(files)}.npz"
    rows = [row for f in files for row in read_tsv(f)]
    if path.exists() and not force:
        return Built(path, len(rows), 0, 0.0)
    vocabulary = reading.Vocabulary(load_vocabulary())
    pinyin = _pinyin_table([t for _, t in rows] + list(vocabulary.pinyin_words))
    no_model = SimpleNamespace(pinyin=pinyin)
    prompts = _prompts_dir()
    # jieba's whole dictionary cuts the corpus once; the words it finds make the model's own
    # small dictionary, which training and serving then both use
    whole = reading.Understanding(vocabulary, no_model,
                                  reading.make_tokenizer(None, prompts, vocabulary))
    texts = [whole.clean(text)[:vocabulary.max_chars].lower() for _, text in rows]
    words = {w for text in texts for w in whole.tokenizer.lcut(text, HMM=False) if w.strip()}
    models.mkdir(parents=True, exist_ok=True)
    dictionary = reading.dictionary_of(path)
    dictionary.write_text("".join(f"{w} {whole.tokenizer.FREQ.get(w) or 1}\n"
                                  for w in sorted(words) if " " not in w), encoding="utf-8")
    reader = reading.Understanding(vocabulary, no_model,
                                   reading.make_tokenizer(dictionary, prompts, vocabulary))
    groups = [reader.groups(reader.clean(text)[:vocabulary.max_chars]) for _, text in rows]
    labels = [names[0] for names, _ in rows]
    # the vocabulary of each group, and its idf (smoothed, as scikit-learn computes it)
    index: dict[str, int] = {}
    char_features = 0
    frequency: Counter = Counter()
    for g in (0, 1):
        for found in groups:
            frequency.update(f"{g}\t{f}" for f in found[g])
        for key in sorted(k for k in frequency if k.startswith(f"{g}\t")):
            index.setdefault(key.split("\t", 1)[1], len(index))
        if g == 0:
            char_features = len(index)
    n = len(groups)
    idf = np.zeros(len(index), dtype=np.float32)
    for key, df in frequency.items():
        idf[index[key.split("\t", 1)[1]]] = math.log((1 + n) / (1 + df)) + 1
    data, cols, ptr = [], [], [0]
    for found in groups:
        for counts in found:
            weighted = [(index[f], (1 + math.log(c)) * idf[index[f]]) for f, c in counts.items()]
            norm = math.sqrt(sum(v * v for _, v in weighted)) or 1.0
            cols.extend(i for i, _ in weighted)
            data.extend(v / norm for _, v in weighted)
        ptr.append(len(cols))
    matrix = csr_matrix((data, cols, ptr), shape=(n, len(index)), dtype=np.float64)
    model = LogisticRegression(C=C, max_iter=5000)
    model.fit(matrix, labels)
    vocab = sorted(index, key=index.get)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(
        tmp, classes=np.array(model.classes_), vocabulary=np.array(vocab),
        char_features=np.array(char_features), idf=idf,
        weights=model.coef_.T.astype(np.float32), bias=model.intercept_.astype(np.float32),
        pinyin_chars=np.array(list(pinyin)), pinyin=np.array(list(pinyin.values())),
        corpus_hash=np.array(path.stem.split("-", 1)[1]))
    tmp.replace(path)
    for old in models.glob("intents-*"):
        if old not in (path, dictionary):
            old.unlink(missing_ok=True)
    return Built(path, n, len(index), time.monotonic() - started)


def load_vocabulary() -> dict:
    from bot.replies import load

    return load("intents")


@dataclass
class Evaluation:
    """How a labelled file was read."""

    total: int = 0
    right: int = 0
    asked: int = 0
    # asked because the reading was not clear (unsure, a negation, a question about others …),
    # as against asked for a detail the text lacks (the sign-in code, the amount) or shown an
    # exact command's form: the first is the model's doubt, the second the text's gap
    asked_unsure: int = 0
    confusion: Counter = field(default_factory=Counter)  # (meant, read) -> count, wrong only
    dangerous: list = field(default_factory=list)  # (meant, read, confidence, text)
    wrong: list = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.right / self.total if self.total else 0.0


def right(meant: list[str], read: str) -> bool:
    """A reading is right if it is one of the meant intents, or a refinement of one."""
    return any(read == m or read.startswith(m + ".") for m in meant)


def evaluate(path: Path, today: date | None = None) -> Evaluation:
    """Read every line of a labelled file as a member with a meeting and a notice open."""
    understanding = reading.get_understanding()
    today = today or date.today()
    result = Evaluation()
    for meant, text in read_tsv(path):
        intent = understanding.read(text, today)
        result.total += 1
        if not intent.act:
            result.asked += 1
            result.asked_unsure += intent.why not in reading.ASKED_FOR_DETAIL
        if right(meant, intent.name):
            result.right += 1
            continue
        result.confusion[(meant[0], intent.name)] += 1
        result.wrong.append((meant, intent.name, intent.confidence, text))
        if intent.act and intent.name in reading.RECORD_CHANGING:
            result.dangerous.append((meant, intent.name, intent.confidence, text))
    return result


@dataclass
class SlotEvaluation:
    total: int = 0
    right: int = 0
    wrong: list = field(default_factory=list)  # (text, sent_at, expected, found)

    @property
    def accuracy(self) -> float:
        return self.right / self.total if self.total else 0.0


def when_fields(text: str, today) -> dict:
    """The date, time and duration of a text as the bot reads them (after its normalisation):
    {"date": "YYYY-MM-DD", "time": "HH:MM", "days" or "minutes": n}, those it finds."""
    from bot.chat import slots

    clean = reading.get_understanding().clean(text)
    found = {}
    if day := slots.extract_date(clean, today):
        found["date"] = day
    if clock_time := slots.extract_time(clean):
        found["time"] = f"{clock_time[0]:02d}:{clock_time[1]:02d}"
    found.update(slots.extract_duration(clean) or {})
    return found


def evaluate_slots(path: Path) -> SlotEvaluation:
    """Dates, times and durations of a file of `intent<TAB>sent at<TAB>text<TAB>expected
    JSON` lines, read as the bot reads them (after the same normalisation)."""
    import json
    from datetime import datetime

    result = SlotEvaluation()
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        _, sent_at, text, expected = line.split("\t")
        found = when_fields(text, datetime.fromisoformat(sent_at).date())
        result.total += 1
        if found == json.loads(expected):
            result.right += 1
        else:
            result.wrong.append((text, sent_at, json.loads(expected), found))
    return result


def review_items(limit: int = 200) -> list:
    """What the bot was unsure of, newest first (kept within the retention period)."""
    from sqlalchemy import select

    from bot.storage.engine import db
    from bot.storage.models import ReviewItem

    return list(db.session.execute(select(ReviewItem).where(ReviewItem.reviewed_at.is_(None))
                                   .order_by(ReviewItem.id.desc()).limit(limit)).scalars())


def confirm(item, intent: str, now) -> None:
    """An operator says what an item meant: it joins instance/corpus.tsv (the next build
    learns it)."""
    if intent not in reading.INTENTS:
        raise ValueError(intent)
    LOCAL_CORPUS.parent.mkdir(parents=True, exist_ok=True)
    with LOCAL_CORPUS.open("a", encoding="utf-8") as fh:
        fh.write(f"{intent}\t{' '.join(item.text.split())}\n")
    item.reviewed_at, item.confirmed = now, intent

