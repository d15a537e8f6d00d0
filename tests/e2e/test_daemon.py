"""The daemon as an operator runs it: it keeps going through errors and stops cleanly."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import httpx

from syndicator.sandbox import DEMO_CREDENTIALS
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


def test_the_daemon_keeps_posting_through_an_auth_error_and_stops_on_sigterm(
    tmp_path: Path, site: NewsSite, sandbox: Sandbox
) -> None:
    site.add("Solar park starts feeding the grid")
    config = write_config(tmp_path, feed=site.feed_url, sandbox=sandbox.url)
    env = sandbox_env(X_ACCESS_TOKEN_SECRET="revoked-secret")
    with daemon("run", "--config", str(config), env=env, cwd=tmp_path) as running:
        wait_for(
            lambda: len(sandbox.posts("telegram")) == 1 and len(sandbox.posts("facebook")) == 1,
            what="the first article on Telegram and Facebook",
        )
        wait_for(lambda: "credentials were refused" in running.output(), what="the auth error")
        assert running.alive()

        # A new article on the site is picked up by the next poll while the daemon runs.
        site.add("Museum returns manuscripts to public view")
        wait_for(lambda: len(sandbox.posts("telegram")) == 2, what="the second article")
        assert running.alive()
        assert sandbox.posts("x") == []

        running.process.send_signal(signal.SIGTERM)
        assert running.process.wait(timeout=30) == 0
    output = running.output()
    assert "stopped" in output
    assert "revoked-secret" not in output
    assert DEMO_CREDENTIALS.telegram_bot_token not in output


def test_sigint_stops_the_daemon_cleanly(tmp_path: Path, site: NewsSite, sandbox: Sandbox) -> None:
    config = write_config(tmp_path, feed=site.feed_url, sandbox=sandbox.url)
    with daemon("run", "--config", str(config), env=sandbox_env(), cwd=tmp_path) as running:
        wait_for(lambda: site.requests >= 1, what="the first poll")
        running.process.send_signal(signal.SIGINT)
        assert running.process.wait(timeout=30) == 0
    assert "Traceback" not in running.output()


def test_the_demo_runs_with_no_configuration_and_posts_everywhere(tmp_path: Path) -> None:
    with daemon("run", cwd=tmp_path) as running:
        wait_for(lambda: "/telegram/__sandbox/posts" in running.output(), what="the banner")
        match = re.search(r"(http://127\.0\.0\.1:\d+)/telegram/__sandbox/posts", running.output())
        assert match is not None
        root = match.group(1)

        def posted(network: str) -> int:
            response = httpx.get(f"{root}/{network}/__sandbox/posts", timeout=5)
            return len(response.json()["posts"])

        wait_for(
            lambda: all(posted(n) >= 3 for n in NETWORKS),
            timeout=60,
            what="the demo's first three articles on every network",
        )
        running.process.send_signal(signal.SIGINT)
        assert running.process.wait(timeout=30) == 0
    assert (tmp_path / "data" / "demo.db").is_file()
    listed = syndicator("log", "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.count('"status": "sent"') >= 9
    assert DEMO_CREDENTIALS.telegram_bot_token not in running.output()
