"""The X emulator, driven by tweepy through the host-rewriting session our adapter uses."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import requests
import tweepy
from oauthlib.oauth1 import Client as OAuthClient

from syndicator.sandbox import DEMO_CREDENTIALS, SandboxControl
from syndicator.serving import ThreadedServer

C = DEMO_CREDENTIALS
MakeClient = Callable[..., tweepy.Client]
ARTICLE = "https://www.example-news.com/2026/11/28/a-rather-long-article-slug-about-the-storm"


def signed_headers(url: str, method: str = "GET", **oauth: str) -> dict[str, str]:
    """OAuth 1.0a headers for ``url`` signed with the sandbox secrets, as tweepy signs."""
    client = OAuthClient(
        C.x_consumer_key,
        client_secret=C.x_consumer_secret,
        resource_owner_key=C.x_access_token,
        resource_owner_secret=C.x_access_token_secret,
        **oauth,
    )
    _, headers, _ = client.sign(url, http_method=method)
    return dict(headers)


def test_created_post_is_stored_and_answered_with_tco_links(
    make_x_client: MakeClient, x: SandboxControl
) -> None:
    text = f"Storm hits the coast {ARTICLE} via @example_news"
    response = make_x_client().create_tweet(text=text)
    data = response.data
    assert data["text"].startswith("Storm hits the coast https://t.co/")
    assert len(data["text"].split()[4]) == len("https://t.co/") + 10
    assert data["edit_history_tweet_ids"] == [data["id"]]
    [post] = x.posts()
    assert (post["id"], post["text"], post["kind"]) == (data["id"], text, "tweet")
    assert post["target"] == C.x_user_id
    assert post["link"] is None
    assert post["params"] == {"text": text}


def test_the_account_and_its_recent_posts_can_be_read(make_x_client: MakeClient) -> None:
    client = make_x_client()
    first = client.create_tweet(text="first").data["id"]
    second = client.create_tweet(text="second").data["id"]
    me = client.get_me(user_auth=True).data
    assert (me.id, me.username) == (int(C.x_user_id), C.x_username)
    timeline = client.get_users_tweets(C.x_user_id, user_auth=True)
    assert [t.id for t in timeline.data] == [int(second), int(first)]
    assert timeline.meta["result_count"] == 2


def test_deleted_post_is_gone(make_x_client: MakeClient, x: SandboxControl) -> None:
    client = make_x_client()
    tweet_id = client.create_tweet(text="oops").data["id"]
    assert client.delete_tweet(tweet_id, user_auth=True).data == {"deleted": True}
    assert x.posts() == []


def test_wrong_consumer_secret_is_unauthorized(
    make_x_client: MakeClient, x: SandboxControl
) -> None:
    with pytest.raises(tweepy.errors.Unauthorized) as caught:
        make_x_client(consumer_secret="not-the-secret").create_tweet(text="hello")
    assert caught.value.response.json() == {
        "title": "Unauthorized",
        "type": "about:blank",
        "status": 401,
        "detail": "Unauthorized",
    }
    assert x.posts() == []


def test_tampered_signature_is_refused(sandbox: ThreadedServer) -> None:
    headers = signed_headers("https://api.twitter.com/2/users/me")
    assert requests.get(f"{sandbox.url}/x/2/users/me", headers=headers, timeout=5).ok
    signature = headers["Authorization"].split('oauth_signature="')[1].split('"')[0]
    forged = signature.replace(signature[0], "A" if signature[0] != "A" else "B", 1)
    headers["Authorization"] = headers["Authorization"].replace(signature, forged)
    response = requests.get(f"{sandbox.url}/x/2/users/me", headers=headers, timeout=5)
    assert response.status_code == 401


def test_signature_does_not_cover_a_changed_query(sandbox: ThreadedServer) -> None:
    path = f"/2/users/{C.x_user_id}/tweets"
    headers = signed_headers(f"https://api.twitter.com{path}?max_results=5")
    ok = requests.get(f"{sandbox.url}/x{path}?max_results=5", headers=headers, timeout=5)
    changed = requests.get(f"{sandbox.url}/x{path}?max_results=50", headers=headers, timeout=5)
    assert (ok.status_code, changed.status_code) == (200, 401)


def test_signature_over_the_emulators_own_url_is_accepted(sandbox: ThreadedServer) -> None:
    url = f"{sandbox.url}/x/2/users/me"
    response = requests.get(url, headers=signed_headers(url), timeout=5)
    assert response.json()["data"]["username"] == C.x_username


def test_stale_timestamp_is_refused(sandbox: ThreadedServer) -> None:
    url = "https://api.twitter.com/2/users/me"
    stale = signed_headers(url, timestamp=str(int(time.time()) - 301))
    response = requests.get(f"{sandbox.url}/x/2/users/me", headers=stale, timeout=5)
    assert response.status_code == 401


def test_text_over_280_weighted_characters_is_refused(make_x_client: MakeClient) -> None:
    client = make_x_client()
    client.create_tweet(text="a" * 256 + " " + ARTICLE)  # a URL weighs 23: 280 in all
    with pytest.raises(tweepy.errors.BadRequest) as caught:
        client.create_tweet(text="日本語" * 47)  # CJK weighs 2: 282
    assert caught.value.api_messages[0].startswith("Your Tweet text is too long.")


def test_same_text_again_is_forbidden_as_duplicate(make_x_client: MakeClient) -> None:
    client = make_x_client()
    client.create_tweet(text="Once only")
    with pytest.raises(tweepy.errors.Forbidden) as caught:
        client.create_tweet(text="Once only")
    assert caught.value.api_messages == [
        "You are not allowed to create a Tweet with duplicate content."
    ]


def test_every_answer_carries_rate_limit_headers(make_x_client: MakeClient) -> None:
    before = time.time()
    response = make_x_client(return_type=requests.Response).create_tweet(text="counted")
    assert response.status_code == 201
    headers = response.headers
    assert (headers["x-rate-limit-limit"], headers["x-rate-limit-remaining"]) == ("100", "99")
    assert before < int(headers["x-rate-limit-reset"]) <= before + 15 * 60 + 1
    assert headers["x-app-limit-24hour-remaining"] == "9999"
    with pytest.raises(tweepy.errors.Unauthorized) as caught:
        make_x_client(access_token_secret="wrong").create_tweet(text="refused")
    assert "x-rate-limit-reset" in caught.value.response.headers


def test_posting_past_the_15_minute_limit_is_too_many_requests(make_x_client: MakeClient) -> None:
    client = make_x_client()
    for n in range(100):
        client.create_tweet(text=f"post {n}")
    with pytest.raises(tweepy.errors.TooManyRequests) as caught:
        client.create_tweet(text="one too many")
    assert caught.value.reset_time is not None and caught.value.reset_time > time.time()
