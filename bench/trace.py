"""Which of the project's files a message runs through: a 请假 from a bound member, traced from
wsgi.py's app to its reply with sys.setprofile. Prints the files and their count; asserts
nothing (tests/test_layout.py holds the limit).

    .venv/bin/python bench/trace.py ["今天下午的主题党日请假，孩子生病"]
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def traced_files(app, send) -> list[str]:
    """The project's files whose functions run while send() runs (bot/ and wsgi.py); send's
    own result is what the caller keeps."""
    seen: set[str] = set()

    def profile(frame, event, arg):
        if event == "call":
            path = frame.f_code.co_filename
            if path.startswith(str(ROOT)) and "/.venv/" not in path and "/tests/" not in path \
                    and "/bench/" not in path:
                seen.add(str(Path(path).relative_to(ROOT)))

    sys.setprofile(profile)
    try:
        send()
    finally:
        sys.setprofile(None)
    return sorted(seen)


def main() -> None:
    text = sys.argv[1] if len(sys.argv) > 1 else "下次主题党日请假，孩子生病"
    tmp = Path(tempfile.mkdtemp(prefix="zhibu-trace-"))
    os.environ.update(ZHIBU_INSTANCE=str(tmp), SECRET_KEY="trace", WECHAT_TOKEN="trace",
                      WECHAT_APP_SECRET="trace")
    for key in ("DATABASE_URL", "REDIS_URL", "WECHAT_AES_KEY"):
        os.environ.pop(key, None)
    os.environ.setdefault("ZHIBU_MODELS", str(ROOT / "instance" / "models"))
    from bot.chat import training

    training.model_path()  # the model of this corpus (built once, shared by every instance)
    from tests.helpers import leave_trace

    files = leave_trace(text)
    print(f"{len(files)} files run for {text!r}:")
    for name in files:
        print("  " + name)


if __name__ == "__main__":
    main()
