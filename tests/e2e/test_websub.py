"""WebSub end to end: a hub pushes a new article and it is posted without waiting for a poll."""

from __future__ import annotations

import signal
from pathlib import Path

from syndicator.serving import bind
from tests.support import NETWORKS, NewsSite, Sandbox, daemon, sandbox_env, wait_for, write_config
from tests.support_hub import LocalHub


def free_port() -> int:
    sock = bind()
    port: int = sock.getsockname()[1]
    sock.close()
    return port


def test_a_pushed_article_is_posted_at_once(
    tmp_path: Path, site: NewsSite, sandbox: Sandbox
) -> None:
    port = free_port()
    with LocalHub() as hub:
        site.hub = hub.url
        site.add("Tram line approved")
        config = write_config(
            tmp_path,
            feed=site.feed_url,
            sandbox=sandbox.url,
            every="1h",  # no second poll during the test: only the push can bring news
            extra=f'[http]\nport = {port}\n[websub]\ncallback_base = "http://127.0.0.1:{port}"\n',
        )
        with daemon("run", "--config", str(config), env=sandbox_env(), cwd=tmp_path) as running:
            wait_for(
                lambda: len(hub.subscribed(site.feed_url)) == 1, what="the verified subscription"
            )
            wait_for(lambda: len(sandbox.posts("x")) == 1, what="the first article")
            requests_before = site.requests

            fresh = site.add("Bridge reopens after repairs")
            assert hub.publish(site.feed_url, site.rss().encode()) == [200]
            wait_for(
                lambda: all(len(sandbox.posts(n)) == 2 for n in NETWORKS),
                timeout=15,
                what="the pushed article on every network",
            )
            assert site.requests == requests_before  # it came by push, not by a poll
            assert any(site.url_of(fresh) in str(p["text"]) for p in sandbox.posts("x"))

            # A push with a forged signature is ignored.
            site.add("Forged story")
            assert hub.publish_forged(site.feed_url, site.rss().encode(), "sha1=00") == [200]
            running.process.send_signal(signal.SIGTERM)
            assert running.process.wait(timeout=30) == 0
    assert len(sandbox.posts("x")) == 2
    assert "signature" in running.output()
