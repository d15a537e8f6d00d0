"""End to end: a news feed over HTTP becomes posts on all three emulated networks, once."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from syndicator.sandbox import DEMO_CREDENTIALS
from tests.support import NETWORKS, NewsSite, Sandbox, sandbox_env, syndicator, write_config


def post_body(network: str, post: dict[str, object]) -> str:
    """Everything a reader of the post sees or clicks: text, the link card, the HTML's links."""
    return " ".join(str(post.get(key) or "") for key in ("text", "html", "link"))


def test_each_article_is_posted_once_on_every_channel(
    tmp_path: Path, site: NewsSite, sandbox: Sandbox
) -> None:
    stories = [site.add(f"Story number {n}: parliament votes") for n in (1, 2, 3)]
    config = write_config(tmp_path, feed=site.feed_url, sandbox=sandbox.url)

    first = syndicator("run", "--once", "--config", str(config), env=sandbox_env())
    assert first.returncode == 0, first.stderr

    for network in NETWORKS:
        posts = sandbox.posts(network)
        assert len(posts) == 3, (network, posts)
        for story in stories:
            carrying = [p for p in posts if site.url_of(story) in post_body(network, p)]
            assert len(carrying) == 1, (network, story.title)
            assert "EurasiaNews" in str(carrying[0]["text"])

    again = syndicator("run", "--once", "--config", str(config), env=sandbox_env())
    assert again.returncode == 0, again.stderr
    assert [len(sandbox.posts(n)) for n in NETWORKS] == [3, 3, 3]

    fourth = site.add("Story number 4: a new bridge opens")
    later = syndicator("run", "--once", "--config", str(config), env=sandbox_env())
    assert later.returncode == 0, later.stderr
    for network in NETWORKS:
        posts = sandbox.posts(network)
        assert len(posts) == 4
        assert sum(site.url_of(fourth) in post_body(network, p) for p in posts) == 1


def test_the_posting_log_shows_what_each_network_answered(
    tmp_path: Path, site: NewsSite, sandbox: Sandbox
) -> None:
    site.add("Central bank holds rates")
    config = write_config(tmp_path, feed=site.feed_url, sandbox=sandbox.url)
    assert syndicator("run", "--once", "--config", str(config), env=sandbox_env()).returncode == 0

    listed = syndicator("log", "--json", "--config", str(config))
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert {r["channel"] for r in rows} == {"telegram", "x", "facebook"}
    for row in rows:
        assert row["status"] == "sent"
        assert row["article_title"] == "Central bank holds rates"
        assert row["article_url"] == f"{site.host}/news/0001-story"
        remote_ids = {str(p["id"]) for p in sandbox.posts(row["channel"])}
        assert row["remote_id"] in remote_ids
        assert row["remote_url"].startswith("https://")
        assert row["error"] is None
        assert row["created_at"] <= row["updated_at"]

    table = syndicator("log", "--config", str(config))
    assert "Central bank holds rates" in table.stdout and "sent" in table.stdout

    only_x = syndicator("log", "--json", "--channel", "x", "--config", str(config))
    assert [json.loads(line)["channel"] for line in only_x.stdout.splitlines()] == ["x"]
    failed = syndicator("log", "--json", "--status", "failed", "--config", str(config))
    assert failed.stdout.strip() == ""
    unknown = syndicator("log", "--channel", "myspace", "--config", str(config))
    assert unknown.returncode == 2 and "unknown channel 'myspace'" in unknown.stderr


def test_existing_items_are_recorded_as_seen_without_backfill(
    tmp_path: Path, site: NewsSite, sandbox: Sandbox
) -> None:
    for n in range(5):
        site.add(f"Archive story {n}")
    config = write_config(tmp_path, feed=site.feed_url, sandbox=sandbox.url, backfill=2)
    assert syndicator("run", "--once", "--config", str(config), env=sandbox_env()).returncode == 0

    titles = sorted(str(p["text"]).split("\n")[0] for p in sandbox.posts("x"))
    assert titles == ["Archive story 3", "Archive story 4"]  # the two newest
    skipped = syndicator("log", "--json", "--status", "skipped", "--config", str(config))
    assert len(skipped.stdout.splitlines()) == 3 * 3


def test_a_wrong_token_is_a_clear_auth_error_and_the_other_channels_still_post(
    tmp_path: Path, site: NewsSite, sandbox: Sandbox
) -> None:
    site.add("Tram line approved")
    config = write_config(tmp_path, feed=site.feed_url, sandbox=sandbox.url)
    wrong = "1000000001:WRONGtokenWRONGtokenWRONGtokenWRONGt"
    result = syndicator(
        "run",
        "--once",
        "--config",
        str(config),
        "--log-level",
        "DEBUG",
        env=sandbox_env(TELEGRAM_BOT_TOKEN=wrong),
    )
    assert result.returncode == 1  # a delivery did not go out
    assert len(sandbox.posts("x")) == 1 and len(sandbox.posts("facebook")) == 1
    assert sandbox.posts("telegram") == []
    assert "bot token was refused" in result.stderr

    rows = [
        json.loads(line)
        for line in syndicator("log", "--json", "--config", str(config)).stdout.splitlines()
    ]
    (telegram,) = [r for r in rows if r["channel"] == "telegram"]
    assert telegram["status"] == "waiting"  # it will be tried again, not lost
    assert "bot token was refused" in telegram["error"]

    # The token appears nowhere: not in the log output (even at DEBUG), not in the database.
    database = (tmp_path / "data" / "syndicator.db").read_bytes()
    for secret in (wrong, DEMO_CREDENTIALS.x_consumer_secret, DEMO_CREDENTIALS.facebook_page_token):
        assert secret not in result.stderr and secret not in result.stdout
        assert secret.encode() not in database


@pytest.mark.parametrize(
    ("network", "variable", "message"),
    [
        ("x", "X_ACCESS_TOKEN_SECRET", "X: the credentials were refused"),
        ("facebook", "FACEBOOK_PAGE_TOKEN", "Facebook: (#190"),
    ],
)
def test_wrong_credentials_on_x_and_facebook_are_auth_errors(
    tmp_path: Path, site: NewsSite, sandbox: Sandbox, network: str, variable: str, message: str
) -> None:
    site.add("Harvest beats forecasts")
    config = write_config(tmp_path, feed=site.feed_url, sandbox=sandbox.url)
    result = syndicator(
        "run", "--once", "--config", str(config), env=sandbox_env(**{variable: "not-the-secret"})
    )
    assert result.returncode == 1
    assert sandbox.posts(network) == []
    others = [n for n in NETWORKS if n != network]
    assert [len(sandbox.posts(n)) for n in others] == [1, 1]
    rows = [
        json.loads(line)
        for line in syndicator("log", "--json", "--config", str(config)).stdout.splitlines()
    ]
    (failed,) = [r for r in rows if r["channel"] == network]
    assert failed["status"] == "waiting" and message in failed["error"]
    connection = sqlite3.connect(tmp_path / "data" / "syndicator.db")
    kinds = connection.execute(
        "SELECT e.error_kind FROM delivery_events e JOIN deliveries d ON d.id = e.delivery_id "
        "WHERE d.channel = ? AND e.error_kind IS NOT NULL",
        (network,),
    ).fetchall()
    assert kinds == [("auth",)]


def test_a_server_error_is_retried_later_and_a_rate_limit_waits(
    tmp_path: Path, site: NewsSite, sandbox: Sandbox
) -> None:
    site.add("Border crossing opens")
    config = write_config(tmp_path, feed=site.feed_url, sandbox=sandbox.url)
    sandbox.inject("telegram", {"fault": "rate_limit", "retry_after": 42})
    sandbox.inject("facebook", {"fault": "server_error"})
    result = syndicator("run", "--once", "--config", str(config), env=sandbox_env())
    assert result.returncode == 1
    rows = {
        json.loads(line)["channel"]: json.loads(line)
        for line in syndicator("log", "--json", "--config", str(config)).stdout.splitlines()
    }
    assert rows["x"]["status"] == "sent"
    assert (
        rows["telegram"]["status"] == "waiting" and rows["telegram"]["error_kind"] == "rate_limited"
    )
    assert rows["facebook"]["status"] == "waiting" and rows["facebook"]["error_kind"] == "transient"
    assert rows["telegram"]["next_attempt_at"] > rows["telegram"]["updated_at"]


def test_a_feed_that_cannot_be_read_is_logged_and_nothing_breaks(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    config = write_config(tmp_path, feed="http://127.0.0.1:9/feed.xml", sandbox=sandbox.url)
    result = syndicator("run", "--once", "--config", str(config), env=sandbox_env())
    assert result.returncode == 0  # nothing was due, nothing failed to send
    assert "source eurasia-news:" in result.stderr and "127.0.0.1:9" in result.stderr


def test_a_missing_secret_stops_the_start_with_the_variable_named(
    tmp_path: Path, site: NewsSite, sandbox: Sandbox
) -> None:
    config = write_config(tmp_path, feed=site.feed_url, sandbox=sandbox.url)
    env = sandbox_env()
    del env["X_CONSUMER_SECRET"]
    result = syndicator("run", "--once", "--config", str(config), env=env)
    assert result.returncode == 2
    assert "channels[1].consumer_secret_env: environment variable X_CONSUMER_SECRET is not set" in (
        result.stderr.replace("\n", "")
    )


def test_a_bad_config_line_names_the_file_and_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[[channels]]\nname = "tg"\ntype = "telegram"\n')
    result = syndicator("run", "--once", "--config", str(config))
    assert result.returncode == 2
    assert f"{config}: channels[0].chat_id: field required" in result.stderr.replace("\n", "")


def test_no_secret_appears_even_in_debug_logs(
    tmp_path: Path, site: NewsSite, sandbox: Sandbox
) -> None:
    site.add("Airline adds direct flights")
    config = write_config(tmp_path, feed=site.feed_url, sandbox=sandbox.url)
    env = sandbox_env()
    result = syndicator("run", "--once", "--config", str(config), "--log-level", "DEBUG", env=env)
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert "/sendMessage" in output  # the libraries did log their request URLs...
    assert "[REDACTED]" in output  # ...with the token masked
    database = (tmp_path / "data" / "syndicator.db").read_bytes()
    for secret in env.values():
        assert secret not in output
        assert secret.encode() not in database


def test_db_upgrade_creates_the_schema_and_can_run_again(tmp_path: Path, sandbox: Sandbox) -> None:
    config = write_config(tmp_path, feed="feed.xml", sandbox=sandbox.url)
    for _ in range(2):
        result = syndicator("db", "upgrade", "--config", str(config))
        assert result.returncode == 0, result.stderr
        assert "is up to date" in result.stdout
    tables = sqlite3.connect(tmp_path / "data" / "syndicator.db").execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
    )
    assert {"sources", "articles", "deliveries", "delivery_events"} <= {t for (t,) in tables}


def test_sources_shows_each_feeds_health(tmp_path: Path, site: NewsSite, sandbox: Sandbox) -> None:
    site.add("Tram line approved")
    broken = "http://127.0.0.1:9/feed.xml"
    config = write_config(
        tmp_path,
        feed=site.feed_url,
        sandbox=sandbox.url,
        more_sources=f"""
[[sources]]
name = "broken"
feed = "{broken}"
attribution = "Broken"
channels = ["x"]
""",
    )
    syndicator("run", "--once", "--config", str(config), env=sandbox_env())
    listed = syndicator("sources", "--json", "--config", str(config))
    assert listed.returncode == 0, listed.stderr
    health = {row["name"]: row for row in map(json.loads, listed.stdout.splitlines())}
    assert health["eurasia-news"]["last_status"] == 200
    assert health["eurasia-news"]["articles_seen"] == 1
    assert health["eurasia-news"]["consecutive_failures"] == 0
    assert health["broken"]["consecutive_failures"] == 1
    assert "connection refused" in health["broken"]["last_error"]
    assert health["broken"]["next_poll_at"] is not None
    table = syndicator("sources", "--config", str(config))
    assert "broken" in table.stdout and "connection refused" in table.stdout


def test_skipped_entries_show_their_reason_in_the_log(
    tmp_path: Path, site: NewsSite, sandbox: Sandbox
) -> None:
    site.add("Derby ends in a draw", categories=("Sport",))
    site.add("Budget passes")
    config = write_config(
        tmp_path,
        feed=site.feed_url,
        sandbox=sandbox.url,
        source_options='exclude_categories = ["Sport"]',
    )
    assert syndicator("run", "--once", "--config", str(config), env=sandbox_env()).returncode == 0
    skipped = [
        json.loads(line)
        for line in syndicator(
            "log", "--json", "--status", "skipped", "--config", str(config)
        ).stdout.splitlines()
    ]
    assert {(r["article_title"], r["error"]) for r in skipped} == {
        ("Derby ends in a draw", "filtered: category 'sport' is excluded")
    }
    assert len(skipped) == 3  # one per channel
    assert [len(sandbox.posts(n)) for n in NETWORKS] == [1, 1, 1]
