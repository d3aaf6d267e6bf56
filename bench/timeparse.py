"""Dates, times and durations: the bot's own parser (bot/chat/slots.py) against jionlp's time
parsing, on the slot test sets (tests/data/slots*.tsv). Prints figures, asserts nothing.

jionlp is not a dependency of the project (it is large, and measured worse here); to run the
comparison, install it in any environment and name its interpreter:

    python3 -m venv /tmp/jvenv && /tmp/jvenv/bin/pip install jionlp
    .venv/bin/python bench/timeparse.py --jionlp-python /tmp/jvenv/bin/python

Each expected field (date, time, days, minutes) is scored on its own, for both parsers alike;
a field a parser finds that the line does not expect is not counted against it. The text is
given to jionlp as written, to ours after the bot's normalisation (as the bot reads it).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT / "tests" / "data"

# Run by the jionlp interpreter: one JSON line in ({"text", "sent_at"}), one out (the fields).
JIONLP = r'''
import json, sys, warnings
warnings.filterwarnings("ignore")
import jionlp as jio

def fields(text, sent_at):
    base = {"year": int(sent_at[:4]), "month": int(sent_at[5:7]), "day": int(sent_at[8:10]),
            "hour": int(sent_at[11:13]), "minute": int(sent_at[14:16])}
    found = {}
    try:
        entities = jio.ner.extract_time(text, time_base=base, with_parsing=True)
    except Exception:
        entities = []
    for entity in entities:
        detail = entity.get("detail") or {}
        kind, value = detail.get("type"), detail.get("time")
        if kind in ("time_point", "time_span") and isinstance(value, list) and value:
            start = value[0]
            found.setdefault("date", start[:10])
            if start[11:16] != "00:00" or value[1][11:16] != "23:59":
                found.setdefault("time", start[11:16])
        elif kind == "time_delta" and isinstance(value, dict):
            days = value.get("year", 0) * 365 + value.get("month", 0) * 30 + value.get("day", 0)
            minutes = value.get("hour", 0) * 60 + value.get("minute", 0)
            if days:
                found.setdefault("days", int(days))
            if minutes:
                found.setdefault("minutes", int(minutes))
    return found

for line in sys.stdin:
    item = json.loads(line)
    print(json.dumps(fields(item["text"], item["sent_at"]), ensure_ascii=False), flush=True)
'''


def cases() -> list[tuple[str, str, dict]]:
    out = []
    for path in sorted(DATA.glob("slots*.tsv")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                _, sent_at, text, expected = line.split("\t")
                out.append((sent_at, text, json.loads(expected)))
    return out


def ours(items) -> tuple[list[dict], float]:
    os.environ.setdefault("SECRET_KEY", "bench")
    os.environ.setdefault("WECHAT_TOKEN", "bench")
    os.environ.setdefault("WECHAT_APP_SECRET", "bench")
    os.environ.setdefault("ZHIBU_MODELS", str(ROOT / "instance" / "models"))
    from bot import create_app

    app = create_app({"PRELOAD_INTENTS": False})
    with app.app_context():
        from bot.chat import intents
        from bot.chat.training import when_fields

        intents.get_understanding()  # loaded before the clock starts
        started = time.perf_counter()
        found = [when_fields(text, datetime.fromisoformat(sent_at).date())
                 for sent_at, text, _ in items]
        return found, time.perf_counter() - started


def _answer(proc) -> dict:
    """The next JSON line (jionlp prints banners of its own on stdout when it loads)."""
    while True:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("the jionlp process ended")
        if line.startswith("{"):
            return json.loads(line)


def theirs(python: str, items) -> tuple[list[dict], float]:
    proc = subprocess.Popen([python, "-c", JIONLP], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    proc.stdin.write(json.dumps({"text": "预热", "sent_at": "2026-11-30T09:00"}) + "\n")
    proc.stdin.flush()
    _answer(proc)  # loaded
    started, found = time.perf_counter(), []
    for sent_at, text, _ in items:
        proc.stdin.write(json.dumps({"text": text, "sent_at": sent_at}, ensure_ascii=False) + "\n")
        proc.stdin.flush()
        found.append(_answer(proc))
    elapsed = time.perf_counter() - started
    proc.stdin.close()
    proc.wait(30)
    return found, elapsed


def score(items, found) -> tuple[Counter, Counter, int]:
    right, total, whole = Counter(), Counter(), 0
    for (_, _, expected), got in zip(items, found):
        for key, value in expected.items():
            total[key] += 1
            right[key] += str(got.get(key)) == str(value)
        whole += all(str(got.get(k)) == str(v) for k, v in expected.items())
    return right, total, whole


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jionlp-python", default=None,
                        help="an interpreter with jionlp installed (default: skip jionlp)")
    args = parser.parse_args()
    items = cases()
    runs = [("zhibu (bot/chat/slots.py)", *ours(items))]
    if args.jionlp_python:
        runs.append(("jionlp", *theirs(args.jionlp_python, items)))
    print(f"{len(items)} texts from tests/data/slots*.tsv")
    for name, found, elapsed in runs:
        right, total, whole = score(items, found)
        per = ", ".join(f"{k} {right[k]}/{total[k]} ({right[k] / total[k]:.3f})"
                        for k in ("date", "time", "days", "minutes"))
        print(f"{name}: every expected field right {whole}/{len(items)} "
              f"({whole / len(items):.3f}); {per}; {elapsed / len(items) * 1000:.2f} ms a text")


if __name__ == "__main__":
    main()
