"""``syndicator preview``: an editor sees each channel's post, and its length, before it goes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from syndicator.serving import ThreadedServer
from tests.support import NewsSite, Sandbox, sandbox_env, syndicator, write_config

ARTICLE_PAGE = """<!doctype html><html><head>
<title>Tram line to the airport approved | EurasiaNews</title>
<meta property="og:title" content="Tram line to the airport approved">
<meta property="og:description" content="The council voted 31 to 9 for the 14-kilometre line.">
<meta property="og:url" content="https://www.eurasia-news.com/news/tram-line">
<meta property="article:section" content="City">
</head><body>
<div class="top">Follow us · Report a mistake by marking it and pressing Ctrl+Enter</div>
<article><h1>Tram line to the airport approved</h1><p>The council voted.</p></article>
<footer>© 2026 EurasiaNews — must be hyperlinked when used</footer>
</body></html>"""


@pytest.fixture
def page_url() -> Iterator[str]:
    async def page(request: object) -> HTMLResponse:
        return HTMLResponse(ARTICLE_PAGE)

    with ThreadedServer(Starlette(routes=[Route("/news/tram-line", page)])) as server:
        yield f"{server.url}/news/tram-line"


def test_preview_of_a_url_shows_every_channels_post_within_its_limit(
    tmp_path: Path, site: NewsSite, sandbox: Sandbox, page_url: str
) -> None:
    config = write_config(tmp_path, feed=site.feed_url, sandbox=sandbox.url)
    result = syndicator("preview", page_url, "--json", "--config", str(config))
    assert result.returncode == 0, result.stderr
    shown = {row["channel"]: row for row in map(json.loads, result.stdout.splitlines())}
    assert set(shown) == {"telegram", "x", "facebook"}
    for row in shown.values():
        assert row["article_url"] == "https://www.eurasia-news.com/news/tram-line"
        assert 0 < row["length"] <= row["limit"]
        assert "Tram line to the airport approved" in row["text"]
        assert "EurasiaNews" in row["text"]
        assert "Report a mistake" not in row["text"] and "Follow us" not in row["text"]
    assert "https://www.eurasia-news.com/news/tram-line" in shown["x"]["text"]
    assert (shown["telegram"]["limit"], shown["x"]["limit"]) == (4096, 280)
    assert sandbox.posts("x") == []  # a preview posts nothing

    table = syndicator("preview", page_url, "--config", str(config))
    assert table.returncode == 0 and "/280" in table.stdout and "fits" in table.stdout


def test_preview_of_a_stored_article(tmp_path: Path, site: NewsSite, sandbox: Sandbox) -> None:
    site.add("Bridge reopens after repairs")
    config = write_config(tmp_path, feed=site.feed_url, sandbox=sandbox.url)
    assert syndicator("run", "--once", "--config", str(config), env=sandbox_env()).returncode == 0
    (row, *_) = map(
        json.loads, syndicator("log", "--json", "--config", str(config)).stdout.split("\n")[:1]
    )
    result = syndicator(
        "preview", "--article", str(row["article_id"]), "--json", "--config", str(config)
    )
    assert result.returncode == 0, result.stderr
    texts = [json.loads(line)["text"] for line in result.stdout.splitlines()]
    assert len(texts) == 3 and all("Bridge reopens after repairs" in t for t in texts)


def test_preview_says_clearly_what_is_wrong(
    tmp_path: Path, site: NewsSite, sandbox: Sandbox
) -> None:
    config = write_config(tmp_path, feed=site.feed_url, sandbox=sandbox.url)
    missing = syndicator("preview", "--article", "999", "--config", str(config))
    assert missing.returncode == 2 and "no article with id 999" in missing.stderr
    refused = syndicator("preview", "http://127.0.0.1:9/news/x", "--config", str(config))
    assert refused.returncode == 2 and "connection refused" in refused.stderr
