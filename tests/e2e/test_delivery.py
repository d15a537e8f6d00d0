"""The delivery engine as an operator sees it: pacing from the config, `syndicator channels`."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.support import (
    NETWORKS,
    NewsSite,
    Sandbox,
    daemon,
    sandbox_env,
    syndicator,
    wait_for,
    write_config,
)


def channels(config: Path) -> dict[str, dict[str, Any]]:
    listed = syndicator("channels", "--json", "--config", str(config))
    assert listed.returncode == 0, listed.stderr
    return {row["name"]: row for row in map(json.loads, listed.stdout.splitlines())}


def test_an_expired_token_flags_the_channel_in_syndicator_channels(
    tmp_path: Path, site: NewsSite, sandbox: Sandbox
) -> None:
    site.add("Parliament passes the budget")
    site.add("Tram line approved")
    config = write_config(tmp_path, feed=site.feed_url, sandbox=sandbox.url)
    sandbox.inject("facebook", {"fault": "expired_token"})
    result = syndicator("run", "--once", "--config", str(config), env=sandbox_env())
    assert result.returncode == 1
    assert "paused" in result.stderr and "facebook" in result.stderr
    shown = channels(config)
    facebook = shown["facebook"]
    assert facebook["type"] == "facebook"
    assert facebook["auth_failed_at"] is not None and "190" in facebook["auth_error"]
    assert (
        facebook["paused_until"] is not None and "credentials refused" in facebook["pause_reason"]
    )
    assert (facebook["waiting"], facebook["queued"]) == (1, 1)  # none failed, none lost
    assert shown["x"]["auth_error"] is None and shown["x"]["sent_last_hour"] == 2
    table = syndicator("channels", "--config", str(config))
    assert table.returncode == 0, table.stderr
    assert "AUTH" in table.stdout and "credentials refused" in table.stdout

    log = syndicator("log", "--json", "--config", str(config))
    rows = [json.loads(line) for line in log.stdout.splitlines()]
    assert all(":" in row["actor"] for row in rows)  # host:pid of the worker


def test_run_once_waits_out_the_spacing_but_leaves_capped_posts_waiting(
    tmp_path: Path, site: NewsSite, sandbox: Sandbox
) -> None:
    for n in range(3):
        site.add(f"Story {n}: markets open higher")
    config = write_config(
        tmp_path,
        feed=site.feed_url,
        sandbox=sandbox.url,
        channel_options={"x": 'min_spacing = "1s"', "telegram": "max_per_hour = 1"},
    )
    started = time.monotonic()
    result = syndicator("run", "--once", "--config", str(config), env=sandbox_env())
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr  # capped posts wait; nothing went wrong
    assert elapsed >= 2.0  # two gaps of 1 s on X
    assert len(sandbox.posts("x")) == 3 and len(sandbox.posts("facebook")) == 3
    assert len(sandbox.posts("telegram")) == 1
    assert "channel telegram: left waiting until" in result.stderr and "(cap)" in result.stderr
    shown = channels(config)
    assert all(datetime.fromisoformat(row["last_sent_at"]).tzinfo for row in shown.values())
    telegram = shown["telegram"]
    assert (telegram["sent_last_hour"], telegram["max_per_hour"], telegram["queued"]) == (1, 1, 2)
    table = syndicator("channels", "--config", str(config))
    assert "1/1" in table.stdout


def test_a_delay_after_publication_holds_the_channels_posts(
    tmp_path: Path, site: NewsSite, sandbox: Sandbox
) -> None:
    site.add("Harbour strike ends", published=datetime.now(UTC))
    config = write_config(
        tmp_path, feed=site.feed_url, sandbox=sandbox.url, channel_options={"x": 'delay = "1h"'}
    )
    result = syndicator("run", "--once", "--config", str(config), env=sandbox_env())
    assert result.returncode == 0, result.stderr
    assert sandbox.posts("x") == []
    assert len(sandbox.posts("telegram")) == 1 and len(sandbox.posts("facebook")) == 1
    assert channels(config)["x"]["queued"] == 1


def test_syndicator_channels_counts_the_posts_held_for_an_editor(
    tmp_path: Path, site: NewsSite, sandbox: Sandbox
) -> None:
    site.add("Ferry timetable changes")
    site.add("Library opens on Sundays")
    config = write_config(
        tmp_path, feed=site.feed_url, sandbox=sandbox.url, channel_options={"x": "hold = true"}
    )
    result = syndicator("run", "--once", "--config", str(config), env=sandbox_env())
    assert result.returncode == 0, result.stderr
    shown = channels(config)
    assert (shown["x"]["held"], shown["x"]["queued"]) == (2, 0)
    assert (shown["telegram"]["held"], shown["facebook"]["held"]) == (0, 0)
    table = syndicator("channels", "--config", str(config), env={"COLUMNS": "200"})
    assert table.returncode == 0, table.stderr
    header, *rows = (
        [cell.strip() for cell in line.strip("┃│").split(line[0])]
        for line in table.stdout.splitlines()
        if line[:1] in ("┃", "│")
    )
    x_row = dict(zip(header, next(row for row in rows if row[0] == "x"), strict=True))
    assert (x_row["queued"], x_row["held"]) == ("0", "2")


def test_the_daemon_pauses_only_the_rate_limited_channel_and_resumes_it_by_itself(
    tmp_path: Path, site: NewsSite, sandbox: Sandbox
) -> None:
    site.add("Solar park starts feeding the grid")
    site.add("Museum returns manuscripts")
    sandbox.inject("telegram", {"fault": "rate_limit", "retry_after": 3})
    config = write_config(tmp_path, feed=site.feed_url, sandbox=sandbox.url)
    with daemon("run", "--config", str(config), env=sandbox_env(), cwd=tmp_path) as running:
        wait_for(
            lambda: len(sandbox.posts("x")) == 2 and len(sandbox.posts("facebook")) == 2,
            what="X and Facebook posting while Telegram waits",
        )
        paused_at = time.monotonic()
        wait_for(lambda: len(sandbox.posts("telegram")) == 2, what="Telegram after its pause")
        assert time.monotonic() - paused_at > 1.0
        assert running.alive()
    assert [len(sandbox.posts(n)) for n in NETWORKS] == [2, 2, 2]
