"""Polling speed, measured: one steady-state poll cycle against a naive feedparser baseline.

    python bench/poll.py --feeds 2000 --sources-in-store 20000
    python bench/poll.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

A feed server runs in a process of its own on 127.0.0.1. The store is filled (every source a
row; the polled ones polled once before, through the real code), then the feeds move on:
about 70% are unchanged and answer 304 to a conditional GET, 30% have a few new stories
(~100 KB, 50 items; a few of them malformed, for feedparser to recover). A fresh child
process runs one poll cycle over all of them through ``Poller.poll``; another runs the
baseline, ``feedparser.parse(url)`` of a sample of the same feeds in turn (full bodies, no
validators). Each child reports its own CPU, wall time and peak RSS. Prints the figures,
the ratios and PASS/FAIL against the targets; exits 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import multiprocessing
import platform
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from feedserver import Mix, serve
from measure import Run, naive_baseline, poll_cycle
from prepare import Store, check_local, fill_idle, postgres_schema, source_configs
from verdict import verdict

MAX_CPU_MS_PER_FEED = 7.5
MIN_CPU_RATIO = 15.0
MAX_PEAK_RSS_MIB = 300.0
_spawn = multiprocessing.get_context("spawn")  # children start fresh: their RSS is their own


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=2000, help="feeds polled (default 2000)")
    parser.add_argument("--sources-in-store", type=int, default=20_000, help="default 20000")
    parser.add_argument("--changed", type=float, default=0.30, help="share of feeds that changed")
    parser.add_argument("--malformed", type=float, default=0.03, help="share of changed ones")
    parser.add_argument("--articles-per-idle-source", type=int, default=50)
    parser.add_argument("--baseline-sample", type=int, default=300,
                        help="feeds the baseline reads (a sample of the polled ones)")  # fmt: skip
    parser.add_argument("--per-host", type=int, default=None,
                        help="fetches at once from the one host (default: daemon)")  # fmt: skip
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary directory")
    parser.add_argument("--cycles", type=int, default=3,
                        help="measured poll cycles; the median one is reported")  # fmt: skip
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", metavar="FILE", help="cProfile the measured cycles to FILE")
    parser.add_argument("--time-limit", type=float, default=900, help="seconds, for each step")
    args = parser.parse_args()
    if not 0 < args.feeds + 2 <= args.sources_in_store:
        parser.error("--feeds (plus 2 warm-up feeds) must fit in --sources-in-store")
    if args.database_url:
        check_local(args.database_url)
    return args


@contextmanager
def _feed_server(mix: Mix) -> Iterator[tuple[int, Any]]:
    """The server process, its port and its phase; terminated on the way out."""
    phase = _spawn.Value("i", 1)
    receive, send = _spawn.Pipe(duplex=False)
    process = _spawn.Process(target=serve, args=(mix, phase, send), daemon=True)
    process.start()
    try:
        if not receive.poll(600):
            raise SystemExit("the feed server did not start")
        yield receive.recv(), phase
    finally:
        process.terminate()
        process.join(10)


def _in_child(target: Callable[..., None], time_limit: float, *args: Any) -> Run:
    """Runs ``target(*args, pipe)`` in a fresh process and returns the ``Run`` it sends."""
    receive, send = _spawn.Pipe(duplex=False)
    process = _spawn.Process(target=target, args=(*args, send), daemon=True)
    process.start()
    try:
        if not receive.poll(time_limit + 60):
            raise SystemExit(f"{target.__name__} did not finish in time")
        run = receive.recv()
        assert isinstance(run, Run)
        return run
    finally:
        process.join(10)
        if process.is_alive():
            process.terminate()


def _step(text: str) -> Callable[[], None]:
    print(f"- {text} ...", end="", flush=True)
    started = time.perf_counter()
    return lambda: print(f" {time.perf_counter() - started:.1f} s", flush=True)


def main() -> int:
    args = _arguments()
    rng = random.Random(args.seed)
    polled = list(range(args.feeds))
    warm_up = [args.feeds, args.feeds + 1]  # one unchanged feed and one changed
    changed = set(rng.sample(polled, round(args.feeds * args.changed))) | {warm_up[1]}
    malformed = set(rng.sample(sorted(changed - {warm_up[1]}),
                               round(len(changed - {warm_up[1]}) * args.malformed)))  # fmt: skip
    mix = Mix(args.feeds + 2, args.cycles + 1, frozenset(changed), frozenset(malformed))
    machine = platform.processor() or platform.machine()
    print(f"{machine}, {multiprocessing.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"{platform.system()} {platform.release()}")  # fmt: skip
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="syndicator-")))
        done = _step(f"feed server: {len(polled + warm_up)} feeds, {len(changed)} of them in "
                     f"{args.cycles + 1} versions")  # fmt: skip
        port, phase = stack.enter_context(_feed_server(mix))
        done()
        if args.database_url:
            schema = None
            if not args.database_url.startswith("sqlite"):
                schema = stack.enter_context(postgres_schema(args.database_url))
            store = Store(args.database_url, schema)
        else:
            store = Store(f"sqlite:///{workdir / 'bench.db'}")
        print(f"store: {store.open().display_url}; feed server on 127.0.0.1:{port}")

        done = _step(f"store: {args.sources_in_store - len(polled + warm_up)} sources not polled")
        db = store.open()
        db.upgrade()
        sources = source_configs(args.sources_in_store, port)
        fill_idle(db, sources[args.feeds + 2 :], args.articles_per_idle_source)
        db.dispose()
        done()

        done = _step(f"first poll of {len(polled + warm_up)} feeds, then {args.cycles} cycles "
                     f"over {args.feeds} feeds")  # fmt: skip
        ours = _in_child(
            poll_cycle, args.time_limit, store, port, phase, args.sources_in_store, polled,
            warm_up, args.cycles, args.per_host, args.time_limit, str(workdir / "daemon.log"),
            args.profile and str(Path(args.profile).resolve()),
        )  # fmt: skip
        done()
        sample = polled[:: max(1, len(polled) // max(1, args.baseline_sample))]
        sample = sample[: args.baseline_sample]
        done = _step(f"baseline over {len(sample)} of them")
        urls = [f"http://127.0.0.1:{port}/feeds/{n}.xml" for n in sample]
        baseline = _in_child(naive_baseline, args.time_limit, urls, args.time_limit)
        done()
    return _report(args, ours, baseline, len(changed & set(sample)), len(malformed))


def _report(args: argparse.Namespace, ours: Run, base: Run, sample_changed: int,
            malformed: int) -> int:  # fmt: skip
    print(f"\npoll cycle (syndicator, {args.feeds} feeds, {args.sources_in_store} sources in "
          f"the store; the median of {len(ours.cpu_per_cycle)} cycles):")  # fmt: skip
    for name, count in ours.outcomes.items():
        print(f"  {name:<26} {count}")
    print(f"  (expected: {round(args.feeds * args.changed)} changed, {malformed} malformed)")
    rows = [
        ("CPU per feed polled", f"{ours.cpu_ms_per_feed:.2f} ms", f"{base.cpu_ms_per_feed:.2f} ms"),
        ("feeds per second (wall)", f"{ours.feeds_per_s:.0f}", f"{base.feeds_per_s:.1f}"),
        ("CPU total", f"{ours.cpu_s:.2f} s", f"{base.cpu_s:.2f} s"),
        ("wall total", f"{ours.wall_s:.2f} s", f"{base.wall_s:.2f} s"),
        ("peak RSS", f"{ours.peak_rss_mib:.0f} MiB", f"{base.peak_rss_mib:.0f} MiB"),
    ]
    print(f"\n  {'':<26} {'syndicator':>12} {'baseline':>12}")
    print(f"  {'feeds':<26} {ours.feeds:>12} {base.feeds:>12}  (baseline: a sample, "
          f"{sample_changed} of them changed; every one read in full)")  # fmt: skip
    for name, mine, theirs in rows:
        print(f"  {name:<26} {mine:>12} {theirs:>12}")
    each = ", ".join(f"{cpu * 1000 / ours.feeds:.2f}" for cpu in ours.cpu_per_cycle)
    print(f"\n  CPU per feed polled in each cycle: {each} ms")
    cpu_ratio = base.cpu_ms_per_feed / ours.cpu_ms_per_feed
    print(f"\n  baseline CPU per feed / syndicator CPU per feed = {cpu_ratio:.1f}x")
    print(f"  syndicator feeds/s / baseline feeds/s = {ours.feeds_per_s / base.feeds_per_s:.1f}x")
    checks = [
        (f"CPU per feed <= {MAX_CPU_MS_PER_FEED} ms", ours.cpu_ms_per_feed <= MAX_CPU_MS_PER_FEED),
        (f"CPU ratio >= {MIN_CPU_RATIO:.0f}x", cpu_ratio >= MIN_CPU_RATIO),
        (f"peak RSS < {MAX_PEAK_RSS_MIB:.0f} MiB", ours.peak_rss_mib < MAX_PEAK_RSS_MIB),
        ("no poll failed", ours.outcomes.get("errors", 0) == 0),
    ]
    return verdict(checks)


if __name__ == "__main__":
    sys.exit(main())
