"""Images: posted as photos where the channel asks for them, and never at the cost of the post."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import NewsSite, Sandbox, png, sandbox_env, syndicator, write_config


def images_config(tmp_path: Path, site: NewsSite, sandbox: Sandbox) -> Path:
    config = write_config(tmp_path, feed=site.feed_url, sandbox=sandbox.url)
    text = config.read_text()
    for name in ("telegram", "x", "facebook"):  # images = true on every channel
        text = text.replace(f'name = "{name}"\n', f'name = "{name}"\nimages = true\n')
    config.write_text(text)
    return config


def test_the_article_image_is_posted_as_a_photo_on_telegram_and_facebook(
    tmp_path: Path, site: NewsSite, sandbox: Sandbox
) -> None:
    site.images["/images/tram.png"] = (png(), "image/png")
    story = site.add("Tram line approved", image="/images/tram.png")
    config = images_config(tmp_path, site, sandbox)
    result = syndicator("run", "--once", "--config", str(config), env=sandbox_env())
    assert result.returncode == 0, result.stderr

    for network in ("telegram", "facebook"):
        (post,) = sandbox.posts(network)
        assert post["kind"] == "photo" and post["image"]
        assert site.url_of(story) in str(post["text"]) + str(post.get("html") or "")
    (tweet,) = sandbox.posts("x")
    assert tweet["kind"] == "tweet" and site.url_of(story) in str(tweet["text"])


def test_an_image_that_cannot_be_fetched_leaves_a_text_post_and_a_note(
    tmp_path: Path, site: NewsSite, sandbox: Sandbox
) -> None:
    site.add("Bridge reopens", image="/images/missing.png")  # the site answers 404
    site.images["/images/page.png"] = (b"<html>not an image</html>", "image/png")
    site.add("Harvest beats forecasts", image="/images/page.png")
    config = images_config(tmp_path, site, sandbox)
    result = syndicator("run", "--once", "--config", str(config), env=sandbox_env())
    assert result.returncode == 0, result.stderr

    for network in ("telegram", "facebook"):
        kinds = {p["kind"] for p in sandbox.posts(network)}
        assert len(sandbox.posts(network)) == 2 and "photo" not in kinds
    assert "posted as text: image" in result.stderr and "HTTP 404" in result.stderr
    assert "not a JPEG, PNG, GIF or WebP image" in result.stderr
    rows = [
        json.loads(line)
        for line in syndicator("log", "--json", "--config", str(config)).stdout.splitlines()
    ]
    assert all(row["status"] == "sent" for row in rows)


def test_a_photo_the_network_refuses_goes_out_as_text(
    tmp_path: Path, site: NewsSite, sandbox: Sandbox
) -> None:
    site.images["/images/tram.png"] = (png(), "image/png")
    site.add("Tram line approved", image="/images/tram.png")
    config = images_config(tmp_path, site, sandbox)
    refusal = {"fault": "bad_request", "message": "IMAGE_PROCESS_FAILED", "path": "sendPhoto"}
    sandbox.inject("telegram", refusal)
    result = syndicator("run", "--once", "--config", str(config), env=sandbox_env())
    assert result.returncode == 0, result.stderr
    (post,) = sandbox.posts("telegram")
    assert post["kind"] == "message"
    assert "the photo was refused: Telegram: Image_process_failed" in result.stderr
