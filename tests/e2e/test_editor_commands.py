"""An editor at the command line: held posts wait for them, and what they decide is done.

A channel with ``hold = true`` keeps every new post ``held``; ``syndicator run --once`` sends
the other channels' posts and not those; the editor releases one and cancels another, settles
a Telegram post whose answer was lost, and retries a refused one. Each change is a row of the
posting log with the editor as actor, and ``syndicator log`` shows who made it.
"""

from __future__ import annotations

import getpass
import json
import sqlite3
from pathlib import Path
from typing import Any

from tests.support import NewsSite, Sandbox, sandbox_env, syndicator, wait_for, write_config


def log_rows(config: Path, *args: str) -> list[dict[str, Any]]:
    listed = syndicator("log", "--json", "--config", str(config), *args)
    assert listed.returncode == 0, listed.stderr
    return [json.loads(line) for line in listed.stdout.splitlines()]


def events(directory: Path, delivery_id: int) -> list[tuple[Any, ...]]:
    """(status, actor, attempt, detail, remote_id, http_status, error_code) of a delivery."""
    with sqlite3.connect(directory / "data" / "syndicator.db") as connection:
        return connection.execute(
            "SELECT status, actor, attempt, detail, remote_id, http_status, error_code"
            " FROM delivery_events WHERE delivery_id = ? ORDER BY id",
            (delivery_id,),
        ).fetchall()


def run_once(config: Path) -> int:
    return syndicator("run", "--once", "--config", str(config), env=sandbox_env()).returncode


def carrying(sandbox: Sandbox, network: str, url: str) -> int:
    return sum(url in " ".join(str(v) for v in post.values()) for post in sandbox.posts(network))


def test_held_posts_wait_for_an_editor_who_releases_or_cancels_them(
    tmp_path: Path, site: NewsSite, sandbox: Sandbox
) -> None:
    first, second, third = (site.add(f"Story number {n}: the council meets") for n in (1, 2, 3))
    config = write_config(
        tmp_path,
        feed=site.feed_url,
        sandbox=sandbox.url,
        channel_options={"telegram": "hold = true"},
    )
    assert run_once(config) == 0
    assert len(sandbox.posts("x")) == 3 and len(sandbox.posts("facebook")) == 3
    assert sandbox.posts("telegram") == []  # held: the dispatcher leaves them alone
    held = {row["article_url"]: row for row in log_rows(config, "--status", "held")}
    assert {row["channel"] for row in held.values()} == {"telegram"}
    ids = [held[site.url_of(story)]["delivery_id"] for story in (first, second, third)]

    released = syndicator("release", str(ids[0]), "--as", "ana", "--config", str(config))
    assert released.returncode == 0, released.stderr
    assert released.stdout.strip() == (
        f"delivery {ids[0]} (telegram): held -> queued: queued; it goes out at the pace"
    )
    cancelled = syndicator(
        "cancel", str(ids[1]), "--reason", "wrong photo", "--as", "ana", "--config", str(config)
    )
    assert cancelled.returncode == 0, cancelled.stderr
    assert f"delivery {ids[1]} (telegram): held -> cancelled" in cancelled.stdout

    # One id refused (unknown), one not allowed, one changed: the last is kept all the same.
    mixed = syndicator("release", "999999", str(ids[1]), str(ids[2]), "--config", str(config))
    assert mixed.returncode == 1
    assert mixed.stderr.splitlines() == [
        "error: delivery 999999: no such delivery",
        f"error: delivery {ids[1]}: is cancelled; only held deliveries can be released",
    ]
    assert mixed.stdout.strip() == (
        f"delivery {ids[2]} (telegram): held -> queued: queued; it goes out at the pace"
    )

    assert run_once(config) == 0
    assert carrying(sandbox, "telegram", site.url_of(first)) == 1
    assert carrying(sandbox, "telegram", site.url_of(second)) == 0
    assert carrying(sandbox, "telegram", site.url_of(third)) == 1

    cancelled_row = events(tmp_path, ids[1])
    assert [(e[0], e[1]) for e in cancelled_row][-1] == ("cancelled", "editor:ana")
    assert cancelled_row[-1][3] == "cancelled by an editor: wrong photo"
    released_rows = events(tmp_path, ids[0])
    assert [e[0] for e in released_rows] == ["held", "queued", "sending", "sent"]
    assert released_rows[1][1] == "editor:ana"
    assert released_rows[2][1] == released_rows[3][1] != "editor:ana"  # the worker sent it
    third_rows = events(tmp_path, ids[2])
    assert third_rows[1][:2] == ("queued", f"editor:{getpass.getuser()}")  # no --as: the user

    shown = {row["delivery_id"]: row for row in log_rows(config, "--channel", "telegram")}
    assert (shown[ids[1]]["status"], shown[ids[1]]["actor"]) == ("cancelled", "editor:ana")
    table = syndicator("log", "--channel", "telegram", "--config", str(config))
    assert "editor:ana" in table.stdout and str(ids[1]) in table.stdout


def test_an_editor_settles_a_lost_telegram_answer_and_retries_a_refused_post(
    tmp_path: Path, site: NewsSite, sandbox: Sandbox
) -> None:
    story = site.add("Story number 1: the bridge reopens")
    config = write_config(
        tmp_path,
        feed=site.feed_url,
        sandbox=sandbox.url,
        channel_options={"telegram": 'timeout = "1s"'},
    )
    # Telegram carries the post out but answers too late; X refuses it.
    sandbox.inject("telegram", {"fault": "timeout", "delay": 3, "path": "sendMessage"})
    sandbox.inject("x", {"fault": "bad_request", "message": "refused for this test"})
    assert run_once(config) == 1
    rows = {row["channel"]: row for row in log_rows(config)}
    assert (rows["telegram"]["status"], rows["x"]["status"]) == ("uncertain", "failed")
    uncertain, failed = rows["telegram"]["delivery_id"], rows["x"]["delivery_id"]

    unsettled = syndicator("settle", str(uncertain), "--config", str(config))
    assert unsettled.returncode == 2 and "exactly one of" in unsettled.stderr
    wait_for(lambda: len(sandbox.posts("telegram")) == 1, what="the late Telegram post")
    (post,) = sandbox.posts("telegram")  # it did go out: the editor sees it in the channel
    link = f"https://t.me/eurasianews/{post['id']}"
    settled = syndicator(
        "settle", str(uncertain), "--posted", link, "--as", "bo", "--config", str(config)
    )
    assert settled.returncode == 0, settled.stderr
    assert settled.stdout.strip() == (
        f"delivery {uncertain} (telegram): uncertain -> sent: sent, as {link}"
    )
    again = syndicator("settle", str(uncertain), "--not-posted", "--config", str(config))
    assert again.returncode == 1
    assert again.stderr.strip() == (  # one line, however long
        f"error: delivery {uncertain}: is sent (it is on the network already); "
        "only uncertain deliveries can be settled"
    )

    retried = syndicator("retry", str(failed), "--as", "bo", "--config", str(config))
    assert retried.returncode == 0, retried.stderr
    assert run_once(config) == 0
    assert carrying(sandbox, "x", site.url_of(story)) == 1
    assert len(sandbox.posts("telegram")) == 1  # settled as sent: never posted twice

    telegram = events(tmp_path, uncertain)
    assert [e[0] for e in telegram] == ["queued", "sending", "uncertain", "sent"]
    found = f"an editor found it on the network as {post['id']}"
    assert telegram[-1][1:5] == ("editor:bo", 1, found, str(post["id"]))
    x = events(tmp_path, failed)
    assert [e[0] for e in x] == ["queued", "sending", "failed", "queued", "sending", "sent"]
    assert x[3][1:4] == ("editor:bo", 0, "retried by an editor after 1 attempt")
    assert x[4][1] == x[5][1] != "editor:bo"
    shown = {row["channel"]: row for row in log_rows(config)}
    assert (shown["telegram"]["status"], shown["telegram"]["actor"]) == ("sent", "editor:bo")
    assert shown["telegram"]["remote_url"] == link
