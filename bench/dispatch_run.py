"""What the dispatch benchmark sets up and reads: emulators, a feed, a daemon, its CPU, results.

The emulators run in a process of their own (their CPU is not the engine's); each network
has a local feed file the daemon reads once with ``backfill`` set to every item, so the
deliveries are queued by the first polls; the daemon is ``syndicator run``, as an operator
starts it, and its CPU is read from /proc while it works. Results come from the emulators
(what they received, when, and every 429 they answered) and from the posting log.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import sqlalchemy

from syndicator.sandbox import DEMO_CREDENTIALS, SandboxControl

NETWORKS = ("telegram", "x", "facebook")
POST_PATHS = {"telegram": "sendMessage", "x": "/2/tweets", "facebook": "/feed"}
_TYPES = {"telegram": "telegram", "x": "twitter", "facebook": "facebook"}
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_spawn = multiprocessing.get_context("spawn")


def _serve_emulators(ready: Connection, stop: Any) -> None:
    from syndicator.sandbox import build_sandbox_app
    from syndicator.serving import ThreadedServer

    with ThreadedServer(build_sandbox_app(DEMO_CREDENTIALS)) as server:
        ready.send(server.url)
        stop.wait()


class Emulators:
    """The three emulators in a child process, steered over their control routes."""

    def __init__(self) -> None:
        receive, send = _spawn.Pipe(duplex=False)
        self._stop = _spawn.Event()
        self._process = _spawn.Process(target=_serve_emulators, args=(send, self._stop))
        self._process.start()
        if not receive.poll(60):
            raise SystemExit("the emulators did not start")
        self.url: str = receive.recv()
        self.control = {n: SandboxControl(self.url, n, timeout=60) for n in NETWORKS}

    def reset(self, rate: float | None, burst: int) -> None:
        """Forget every post and request; enforce ``rate`` posts/s per network (None: none)."""
        for network, control in self.control.items():
            control.clear()
            control.clear_faults()
            if rate is None:
                control.clear_rate()
            else:  # on posts, as the networks limit them (a bot's getMe is not a message)
                control.rate(per_second=rate, burst=burst, path=POST_PATHS[network])

    def post_times(self, network: str) -> list[float]:
        """When each post arrived, in seconds since the epoch, in order."""
        times = [datetime.fromisoformat(p["created_at"]).timestamp()
                 for p in self.control[network].posts()]  # fmt: skip
        return sorted(times)

    def statuses(self, network: str) -> Counter[int | None]:
        """HTTP statuses the emulator answered (the last 10,000 calls it keeps)."""
        return Counter(r["status"] for r in self.control[network].requests())

    def posted(self) -> int:
        return sum(len(c.posts()) for c in self.control.values())

    def close(self) -> None:
        self._stop.set()
        self._process.join(10)
        if self._process.is_alive():
            self._process.terminate()


# X's emulator, like X, allows 100 posts per 15 minutes per user: its share stays below.
X_POSTS = 90


def plan(deliveries: int) -> dict[str, int]:
    """Articles (one delivery each) per network: X its window's worth, the rest shared out."""
    x = min(X_POSTS, deliveries // len(NETWORKS))
    rest = deliveries - x
    return {"telegram": math.ceil(rest / 2), "x": x, "facebook": rest // 2}


def write_feeds(directory: Path, articles: dict[str, int]) -> None:
    """One RSS file per network (``<network>.xml``): its articles, newest first."""
    newest = datetime.now(UTC).replace(microsecond=0)
    for network, count in articles.items():
        site = f"https://{network}.news.example.org"
        items = "".join(
            f"<item><title>Benchmark story {n}</title><link>{site}/story/{n}</link>"
            f"<guid>{site}/story/{n}</guid>"
            f"<description>What happened in story {n}, in one sentence.</description>"
            f"<pubDate>{format_datetime(newest - timedelta(minutes=n))}</pubDate></item>"
            for n in range(count)
        )
        (directory / f"{network}.xml").write_text(
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Benchmark News</title><link>{site}/</link>{items}</channel></rss>",
            encoding="utf-8",
        )


def write_config(
    directory: Path,
    *,
    feeds: Path,
    sandbox: str,
    articles: dict[str, int],
    spacing: float,
    database: str,
) -> Path:
    """A daemon posting each network's feed (all of it: backfill) to that network's emulator,
    each channel paced by ``spacing``."""
    sources = "".join(
        f'\n[[sources]]\nname = "bench-{name}"\nfeed = "{feeds / f"{name}.xml"}"\n'
        f'every = "1h"\nattribution = "Benchmark News"\nchannels = ["{name}"]\n'
        f"backfill = {count}\n"
        for name, count in articles.items()
    )
    channels = "".join(
        f'\n[[channels]]\nname = "{name}"\ntype = "{kind}"\napi_base_url = "{sandbox}/{name}"\n'
        f"min_spacing = {spacing:.6f}\n"
        + ('chat_id = "@benchnews"\n' if name == "telegram" else "")
        + (f'page_id = "{DEMO_CREDENTIALS.facebook_page_id}"\n' if name == "facebook" else "")
        for name, kind in _TYPES.items()
    )
    templates = Path(__file__).resolve().parent.parent / "templates"
    path = directory / "syndicator.toml"
    path.write_text(
        f'data_dir = "{directory / "data"}"\ntemplates_dir = "{templates}"\n'
        f'[database]\nurl = "{database}"\n[polling]\njitter = "0s"\n{sources}{channels}',
        encoding="utf-8",
    )
    return path


def sandbox_env() -> dict[str, str]:
    """The daemon's environment: the sandbox's (public, made-up) credentials."""
    c = DEMO_CREDENTIALS
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATOR_")}
    env.update(
        TELEGRAM_BOT_TOKEN=c.telegram_bot_token,
        X_CONSUMER_KEY=c.x_consumer_key,
        X_CONSUMER_SECRET=c.x_consumer_secret,
        X_ACCESS_TOKEN=c.x_access_token,
        X_ACCESS_TOKEN_SECRET=c.x_access_token_secret,
        FACEBOOK_PAGE_TOKEN=c.facebook_page_token,
        PYTHONUNBUFFERED="1",
    )
    return env


def cpu_seconds(pid: int) -> float:
    """A process's CPU time so far (user + system, all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


@dataclass(frozen=True, slots=True)
class DaemonRun:
    """One daemon's work through a queue: wall and CPU from all-queued to all-sent."""

    deliveries: int
    queued_at: float  # time.time() when the bench first saw every delivery queued
    done_at: float  # ... and every delivery settled
    cpu_s: float  # the daemon's CPU between the two
    statuses: dict[str, int]

    @property
    def wall_s(self) -> float:
        return self.done_at - self.queued_at


class Deliveries:
    """Counts of the deliveries by state, read from the daemon's database."""

    def __init__(self, url: str, schema: str | None) -> None:
        args = {"options": f"-csearch_path={schema}"} if schema else {}
        self.engine = sqlalchemy.create_engine(url, connect_args=args)

    def statuses(self) -> dict[str, int]:
        query = sqlalchemy.text("SELECT status, count(*) FROM deliveries GROUP BY status")
        try:
            with self.engine.connect() as connection:
                return {str(s): int(n) for s, n in connection.execute(query)}
        except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.ProgrammingError):
            return {}  # the daemon is still making the tables

    def waits(self, start: str, end: str) -> list[float]:
        """Seconds from each delivery's first ``start`` log row to its first ``end`` row."""
        query = sqlalchemy.text(
            "SELECT delivery_id, status, min(created_at) FROM delivery_events "
            "WHERE status IN (:a, :b) GROUP BY delivery_id, status"
        )
        first: dict[tuple[int, str], datetime] = {}
        with self.engine.connect() as connection:
            for delivery, status, at in connection.execute(query, {"a": start, "b": end}):
                moment = at if isinstance(at, datetime) else datetime.fromisoformat(str(at))
                first[int(delivery), str(status)] = moment
        return sorted(
            (first[d, end] - first[d, start]).total_seconds()
            for d, s in first
            if s == start and (d, end) in first
        )

    def dispose(self) -> None:
        self.engine.dispose()


def run_daemon(
    config: Path, workdir: Path, store: Deliveries, expected: int, time_limit: float
) -> DaemonRun:
    """``syndicator run`` until every delivery is settled; its CPU from queued to done."""
    log = (workdir / "daemon.log").open("w", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "syndicator", "run", "--config", str(config)],
        env=sandbox_env(),
        cwd=workdir,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + time_limit
    try:
        counts = _wait(process, store, lambda c: sum(c.values()) >= expected, deadline)
        queued_at, cpu_queued = time.time(), cpu_seconds(process.pid)
        counts = _wait(process, store, lambda c: _settled(c) >= expected, deadline, 0.01)
        done_at, cpu_done = time.time(), cpu_seconds(process.pid)
        return DaemonRun(expected, queued_at, done_at, cpu_done - cpu_queued, counts)
    except SystemExit:
        log.flush()
        print((workdir / "daemon.log").read_text(encoding="utf-8")[-3000:], file=sys.stderr)
        raise
    finally:
        process.terminate()
        process.wait(30)
        log.close()


def _settled(counts: dict[str, int]) -> int:
    return sum(n for s, n in counts.items() if s not in ("queued", "waiting", "sending"))


def _wait(
    process: subprocess.Popen[bytes],
    store: Deliveries,
    done: Any,
    deadline: float,
    pause: float = 0.002,
) -> dict[str, int]:
    while True:
        counts = store.statuses()
        if done(counts):
            return counts
        if process.poll() is not None:
            raise SystemExit(f"syndicator run exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out; deliveries by state: {counts}")
        time.sleep(pause)


def library_cpu_per_post(config: str, posts: int, out: Connection) -> None:
    """Child process: the channel adapters alone (client libraries, HTTP), no engine.

    Publishes ``posts`` ready-made posts per network in turn, as the engine's adapters do, and
    sends back this process's CPU seconds per post.
    """
    import asyncio

    from syndicator.channels import build_channel
    from syndicator.config import load_settings
    from syndicator.records import Post

    settings = load_settings(Path(config))
    secrets = settings.secrets(sandbox_env())

    async def publish_all() -> float:
        channels = [build_channel(c, dict(secrets[c.name])) for c in settings.channels]
        try:
            warm = "https://news.example.org/warm-up"
            for channel in channels:
                await channel.publish(Post(text=f"Warm-up {warm}", link=warm))
            started = time.process_time()
            for n in range(posts):
                link = f"https://news.example.org/lib/{n}"
                for channel in channels:
                    await channel.publish(Post(text=f"Story {n} {link}", link=link))
            return (time.process_time() - started) / (posts * len(channels))
        finally:
            for channel in channels:
                await channel.close()

    out.send(asyncio.run(publish_all()))


def measure_library(config: Path, posts: int, time_limit: float) -> float:
    """CPU seconds per post of the adapters alone, in a fresh child process."""
    receive, send = _spawn.Pipe(duplex=False)
    process = _spawn.Process(
        target=library_cpu_per_post, args=(str(config), posts, send), daemon=True
    )
    process.start()
    deadline = time.monotonic() + time_limit
    try:
        while not receive.poll(0.5):
            if not process.is_alive():
                raise SystemExit("the adapters-only run failed (see above)")
            if time.monotonic() > deadline:
                raise SystemExit("the adapters-only run did not finish in time")
        value = receive.recv()
        assert isinstance(value, float)
        return value
    finally:
        process.join(10)
