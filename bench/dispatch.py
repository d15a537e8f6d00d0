"""Dispatch speed, measured: the pace against an enforced rate, and the engine's own cost.

    python bench/dispatch.py --deliveries 1000 --rate 5
    python bench/dispatch.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

The three emulators run in a process of their own on 127.0.0.1; ``syndicator run`` posts
``--deliveries`` articles at once (backfill of one local feed per network) to one channel per
network: X 90 of them (X, and its emulator, allow 100 posts per 15 minutes), Telegram and
Facebook half of the rest each. Two runs, each on a fresh database:

1. paced: each emulator enforces ``--rate`` posts/s (a token bucket of ``--burst``) and
   answers 429 past it; each channel's ``min_spacing`` is 1/rate. Achieved posts/s from the
   emulators' receive times, against the allowed rate; the 429s they answered.
2. unpaced: no enforced rate, ``min_spacing = 0``. Time from ``queued`` to ``sent`` (and from
   ``sending`` to ``sent``: the network call) from the posting log; the daemon's own CPU (all
   its threads, from /proc) from the moment every delivery is queued until every one is sent,
   per delivery. A fresh child then publishes through the channel adapters alone (client
   libraries and HTTP, no engine), and its CPU per post is taken off: the rest is the engine.

Prints the figures, the ratios and PASS/FAIL against the targets; exits 1 if one is missed.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import platform
import statistics
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from dispatch_run import (
    NETWORKS,
    X_POSTS,
    DaemonRun,
    Deliveries,
    Emulators,
    measure_library,
    plan,
    run_daemon,
    write_config,
    write_feeds,
)
from prepare import check_local, postgres_schema
from sqlalchemy.engine import make_url
from verdict import verdict

MIN_RATE_SHARE = 0.95
MAX_ENGINE_MS = 5.0


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=1000,
                        help="deliveries in each run, over 3 channels (default 1000)")  # fmt: skip
    parser.add_argument("--rate", type=float, default=5.0,
                        help="posts/s each emulator allows when paced (default 5)")  # fmt: skip
    parser.add_argument("--burst", type=int, default=2,
                        help="the emulators' token bucket size (default 2)")  # fmt: skip
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary directory")
    parser.add_argument("--library-posts", type=int, default=80,
                        help="posts per network, adapters alone (default 80)")  # fmt: skip
    parser.add_argument("--skip-paced", action="store_true", help="only the unpaced run")
    parser.add_argument("--time-limit", type=float, default=900, help="seconds, for each run")
    args = parser.parse_args()
    if args.deliveries < 2 * len(NETWORKS) or args.rate <= 0:
        parser.error("--deliveries must be at least 6 and --rate more than 0")
    if not 0 < args.library_posts < X_POSTS:
        parser.error(f"--library-posts must be 1 to {X_POSTS - 1} (X's window allows 100)")
    if args.database_url:
        check_local(args.database_url)
    return args


@dataclass(frozen=True, slots=True)
class Paced:
    run: DaemonRun
    per_channel: dict[str, float]  # achieved posts/s
    overall: float  # posts/s over all channels, first post to last
    overall_share: float  # posts made / posts allowed while each channel was busy
    refused: int  # 429s the emulators answered


def _database(
    stack: ExitStack, args: argparse.Namespace, directory: Path
) -> tuple[str, str | None]:
    """(URL a daemon is given, PostgreSQL schema or None) of a fresh database for one run."""
    if not args.database_url:
        return f"sqlite:///{directory / 'data' / 'syndicator.db'}", None
    if args.database_url.startswith("sqlite"):
        raise SystemExit("--database-url: give a PostgreSQL URL (SQLite is the default)")
    schema = stack.enter_context(postgres_schema(args.database_url))
    url = make_url(args.database_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False), schema


def _one_run(
    stack: ExitStack,
    args: argparse.Namespace,
    root: Path,
    name: str,
    emulators: Emulators,
    articles: dict[str, int],
    spacing: float,
) -> tuple[DaemonRun, Deliveries, Path]:
    directory = root / name
    directory.mkdir()
    url, schema = _database(stack, args, directory)
    config = write_config(directory, feeds=root, sandbox=emulators.url,
                          articles=articles, spacing=spacing, database=url)  # fmt: skip
    store = Deliveries(args.database_url or url, schema)
    stack.callback(store.dispose)
    run = run_daemon(config, directory, store, sum(articles.values()), args.time_limit)
    return run, store, config


def _paced(stack: ExitStack, args: argparse.Namespace, root: Path, emulators: Emulators,
           articles: dict[str, int]) -> Paced:  # fmt: skip
    emulators.reset(args.rate, args.burst)
    run, _, _ = _one_run(stack, args, root, "paced", emulators, articles, 1 / args.rate)
    times = {n: emulators.post_times(n) for n in NETWORKS}
    per_channel = {n: (len(t) - 1) / (t[-1] - t[0]) for n, t in times.items()}
    span = max(t[-1] for t in times.values()) - min(t[0] for t in times.values())
    made = sum(len(t) - 1 for t in times.values())
    allowed = sum(args.rate * (t[-1] - t[0]) for t in times.values())
    refused = sum(emulators.statuses(n)[429] for n in NETWORKS)
    return Paced(run, per_channel, made / span, made / allowed, refused)


def _percentile(values: list[float], share: float) -> float:
    if len(values) < 2:
        return values[0] if values else math.nan
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]


def _step(text: str) -> None:
    print(f"- {text}", flush=True)


def main() -> int:
    args = _arguments()
    articles = plan(args.deliveries)
    total = sum(articles.values())
    machine = platform.processor() or platform.machine()
    print(f"{machine}, {multiprocessing.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"{platform.system()} {platform.release()}")  # fmt: skip
    with ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="syndicator-")))
        write_feeds(root, articles)
        emulators = Emulators()
        stack.callback(emulators.close)
        shares = ", ".join(f"{n} {c}" for n, c in articles.items())
        print(f"emulators at {emulators.url}; {total} deliveries per run ({shares}); "
              f"database: {'PostgreSQL' if args.database_url else 'SQLite'}")  # fmt: skip
        paced = None
        if not args.skip_paced:
            _step(f"paced run: emulators allow {args.rate:g} posts/s each (burst {args.burst}), "
                  f"channels paced at min_spacing {1000 / args.rate:.0f} ms")  # fmt: skip
            paced = _paced(stack, args, root, emulators, articles)
        _step("unpaced run: no enforced rate, min_spacing 0")
        emulators.reset(None, 1)
        unpaced, store, config = _one_run(stack, args, root, "unpaced", emulators, articles, 0.0)
        queued_to_sent = store.waits("queued", "sent")
        call = store.waits("sending", "sent")
        _step(f"adapters alone: {args.library_posts} posts per network, no engine")
        emulators.reset(None, 1)
        library_s = measure_library(config, args.library_posts, args.time_limit)
    return _report(args, total, paced, unpaced, queued_to_sent, call, library_s)


def _report(args: argparse.Namespace, total: int, paced: Paced | None, unpaced: DaemonRun,
            queued_to_sent: list[float], call: list[float], library_s: float) -> int:  # fmt: skip
    checks: list[tuple[str, bool]] = []
    if paced is not None:
        print(f"\npaced ({total} deliveries, {paced.run.wall_s:.1f} s from all queued to all "
              f"sent; states {paced.run.statuses}):")  # fmt: skip
        print(f"  {'channel':<10} {'posts/s':>8} {'allowed':>8} {'share':>7}")
        for network, rate in paced.per_channel.items():
            print(f"  {network:<10} {rate:>8.2f} {args.rate:>8.2f} {rate / args.rate:>7.1%}")
        print(f"  {'overall':<10} {paced.overall:>8.2f} {'':>8} {paced.overall_share:>7.1%}"
              "  (share: of the posts each channel was allowed while it had work)")  # fmt: skip
        print(f"  429s answered by the emulators: {paced.refused}")
        worst = min(paced.per_channel.values()) / args.rate
        checks += [
            (f"every channel >= {MIN_RATE_SHARE:.0%} of the allowed rate (worst {worst:.1%})",
             worst >= MIN_RATE_SHARE),
            (f"zero 429s (got {paced.refused})", paced.refused == 0),
        ]  # fmt: skip
    per_delivery_ms = unpaced.cpu_s * 1000 / total
    library_ms = library_s * 1000
    engine_ms = per_delivery_ms - library_ms
    print(f"\nunpaced ({total} deliveries, {unpaced.wall_s:.1f} s from all queued to all sent, "
          f"{total / unpaced.wall_s:.0f} deliveries/s; states {unpaced.statuses}):")  # fmt: skip
    print(f"  queued -> sent    p50 {_percentile(queued_to_sent, 0.5) * 1000:8.0f} ms   "
          f"p95 {_percentile(queued_to_sent, 0.95) * 1000:8.0f} ms   (all queued at once: "
          "mostly the wait for the deliveries ahead)")  # fmt: skip
    print(f"  sending -> sent   p50 {_percentile(call, 0.5) * 1000:8.1f} ms   "
          f"p95 {_percentile(call, 0.95) * 1000:8.1f} ms   (the network call)")  # fmt: skip
    print(f"  daemon CPU per delivery            {per_delivery_ms:6.2f} ms")
    print(f"  adapters alone, CPU per post       {library_ms:6.2f} ms  (client libraries, HTTP)")
    print(f"  engine CPU per delivery            {engine_ms:6.2f} ms  (the difference)")
    checks.append((f"engine overhead < {MAX_ENGINE_MS:g} ms per delivery (got {engine_ms:.2f})",
                   engine_ms < MAX_ENGINE_MS))  # fmt: skip
    checks.append(("every delivery sent", unpaced.statuses.get("sent", 0) == total
                   and (paced is None or paced.run.statuses.get("sent", 0) == total)))  # fmt: skip
    return verdict(checks)


if __name__ == "__main__":
    sys.exit(main())
