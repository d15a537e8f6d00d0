"""One contract, three adapters: each library against its emulator, over real HTTP.

Every adapter must publish and say where the post is, and turn each kind of failure the
networks produce into the same few kinds of error, with messages that hold no secret.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from syndicator.channels import Channel, build_channel
from syndicator.config import settings_from_mapping
from syndicator.errors import (
    AuthError,
    PermanentError,
    PublishError,
    RateLimited,
    TransientError,
    UncertainError,
)
from syndicator.records import Photo, Post, Receipt
from syndicator.sandbox import DEMO_CREDENTIALS
from syndicator.store import Database
from tests.delivery.conftest import Clock, Rig, make_settings
from tests.support import NETWORKS, Sandbox, png, wait_for

ARTICLE = "https://www.eurasia-news.com/news/0001-tram-line"
CREDS = DEMO_CREDENTIALS


@dataclass(frozen=True)
class Case:
    network: str  # the emulator's mount
    config: dict[str, Any]
    secrets: dict[str, str]
    wrong: dict[str, str]  # one secret replaced
    text: str

    def build(self, sandbox: Sandbox, *, wrong: bool = False, timeout: str = "5s") -> Channel:
        raw = {**self.config, "api_base_url": f"{sandbox.url}/{self.network}", "timeout": timeout}
        settings = settings_from_mapping({"channels": [raw]}, "test")
        values = {**self.secrets, **(self.wrong if wrong else {})}
        return build_channel(settings.channels[0], {k: SecretStr(v) for k, v in values.items()})


CASES = {
    "telegram": Case(
        "telegram",
        {"name": "tg", "type": "telegram", "chat_id": "@eurasianews"},
        {"token": CREDS.telegram_bot_token},
        {"token": "1000000001:WRONGtokenWRONGtokenWRONGtokenWRONGt"},
        f'<b>Tram line approved</b>\n\nSource: <a href="{ARTICLE}">EurasiaNews</a>',
    ),
    "x": Case(
        "x",
        {"name": "x", "type": "twitter"},
        {
            "consumer_key": CREDS.x_consumer_key,
            "consumer_secret": CREDS.x_consumer_secret,
            "access_token": CREDS.x_access_token,
            "access_token_secret": CREDS.x_access_token_secret,
        },
        {"access_token_secret": "not-the-right-secret"},
        f"Tram line approved\n\n{ARTICLE}\nSource: EurasiaNews",
    ),
    "facebook": Case(
        "facebook",
        {"name": "fb", "type": "facebook", "page_id": CREDS.facebook_page_id},
        {"page_token": CREDS.facebook_page_token},
        {"page_token": "EAAWRONGWRONGWRONG"},
        "Tram line approved\n\nSource: EurasiaNews",
    ),
}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as emulators:
        yield emulators


@pytest.fixture(params=sorted(CASES))
def case(request: pytest.FixtureRequest, sandbox: Sandbox) -> Iterator[Case]:
    chosen = CASES[request.param]
    sandbox.reset(chosen.network)
    yield chosen
    sandbox.reset(chosen.network)


def publish(channel: Channel, text: str) -> Receipt:
    async def go() -> Receipt:
        try:
            return await channel.publish(Post(text=text, link=ARTICLE))
        finally:
            await channel.close()

    return asyncio.run(go())


def failure(channel: Channel, text: str) -> PublishError:
    with pytest.raises(PublishError) as caught:
        publish(channel, text)
    return caught.value


def test_a_post_is_published_and_its_id_and_link_recorded(case: Case, sandbox: Sandbox) -> None:
    receipt = publish(case.build(sandbox), case.text)
    (stored,) = sandbox.posts(case.network)
    assert str(stored["id"]) == receipt.remote_id
    assert receipt.remote_url is not None and receipt.remote_url.startswith("https://")
    assert receipt.remote_id in receipt.remote_url
    assert "Tram line approved" in str(stored["text"])


def test_the_article_link_reaches_the_network(case: Case, sandbox: Sandbox) -> None:
    publish(case.build(sandbox), case.text)
    (stored,) = sandbox.posts(case.network)
    carried = " ".join(str(stored.get(k) or "") for k in ("text", "html", "link"))
    assert ARTICLE in carried


def test_the_channel_can_say_who_it_posts_as(case: Case, sandbox: Sandbox) -> None:
    async def go() -> str:
        channel = case.build(sandbox)
        try:
            return await channel.check()
        finally:
            await channel.close()

    assert asyncio.run(go())


def test_wrong_credentials_are_an_auth_error_without_the_secret(
    case: Case, sandbox: Sandbox
) -> None:
    error = failure(case.build(sandbox, wrong=True), case.text)
    assert isinstance(error, AuthError)
    for secret in case.wrong.values():
        assert secret not in str(error)
    assert sandbox.posts(case.network) == []


def test_an_expired_token_is_an_auth_error(case: Case, sandbox: Sandbox) -> None:
    sandbox.inject(case.network, {"fault": "expired_token"})
    assert isinstance(failure(case.build(sandbox), case.text), AuthError)


def test_a_rate_limit_says_when_to_try_again(case: Case, sandbox: Sandbox) -> None:
    sandbox.inject(case.network, {"fault": "rate_limit", "retry_after": 30})
    error = failure(case.build(sandbox), case.text)
    assert isinstance(error, RateLimited)
    assert 1 <= error.retry_after <= 30 * 60


def test_a_server_error_is_transient(case: Case, sandbox: Sandbox) -> None:
    sandbox.inject(case.network, {"fault": "server_error"})
    assert isinstance(failure(case.build(sandbox), case.text), TransientError)


def test_no_answer_in_time_is_uncertain_not_retried(case: Case, sandbox: Sandbox) -> None:
    sandbox.inject(case.network, {"fault": "timeout", "delay": 3})
    error = failure(case.build(sandbox, timeout="1s"), case.text)
    assert isinstance(error, UncertainError)
    assert "may have been published" in str(error)


def test_a_dropped_connection_is_uncertain(case: Case, sandbox: Sandbox) -> None:
    sandbox.inject(case.network, {"fault": "drop"})
    assert isinstance(failure(case.build(sandbox), case.text), UncertainError)


def test_nothing_listening_is_transient(case: Case) -> None:
    raw = {**case.config, "api_base_url": "http://127.0.0.1:9", "timeout": "2s"}
    settings = settings_from_mapping({"channels": [raw]}, "test")
    channel = build_channel(
        settings.channels[0], {k: SecretStr(v) for k, v in case.secrets.items()}
    )
    assert isinstance(failure(channel, case.text), TransientError)


def test_a_post_the_network_refuses_is_permanent(case: Case, sandbox: Sandbox) -> None:
    channel = case.build(sandbox)
    if case.network == "telegram":
        error = failure(channel, "<p>Paragraphs are not Telegram HTML</p>")
        assert "can't parse entities" in str(error).lower()
    else:  # X and Facebook refuse the same text twice in a row
        publish(channel, case.text)
        error = failure(case.build(sandbox), case.text)
        assert "duplicate" in str(error).lower()
    assert isinstance(error, PermanentError)


@pytest.mark.parametrize("network", ["telegram", "facebook"])
def test_a_photo_is_uploaded_with_the_post_as_its_caption(network: str, sandbox: Sandbox) -> None:
    case = CASES[network]
    sandbox.reset(case.network)
    image = png()
    photo = Photo(image, "image/png", "https://www.eurasia-news.com/images/tram.png")
    channel = case.build(sandbox)
    assert channel.supports_photos

    async def go() -> Receipt:
        try:
            return await channel.publish(Post(text=case.text, link=ARTICLE, photo=photo))
        finally:
            await channel.close()

    receipt = asyncio.run(go())
    (stored,) = sandbox.posts(case.network)
    assert str(stored["id"]) == receipt.remote_id or receipt.remote_id.endswith(str(stored["id"]))
    assert "Tram line approved" in str(stored["text"])
    uploaded = httpx.get(str(stored["image"]), timeout=5)
    assert uploaded.content == image


def test_x_posts_carry_the_image_through_the_link_card() -> None:
    assert not build_channel_for("x").supports_photos


def build_channel_for(network: str) -> Channel:
    case = CASES[network]
    settings = settings_from_mapping({"channels": [case.config]}, "test")
    return build_channel(settings.channels[0], {k: SecretStr(v) for k, v in case.secrets.items()})


def test_a_refusal_of_the_request_is_permanent(case: Case, sandbox: Sandbox) -> None:
    sandbox.inject(case.network, {"fault": "bad_request", "message": "refused for this test"})
    error = failure(case.build(sandbox), case.text)
    assert isinstance(error, PermanentError)
    assert sandbox.posts(case.network) == []


@pytest.mark.parametrize("network", ["x", "facebook"])
def test_a_post_whose_answer_was_lost_can_be_found_on_the_network(
    network: str, sandbox: Sandbox
) -> None:
    case = CASES[network]
    sandbox.reset(case.network)
    before = datetime.now(UTC) - timedelta(seconds=5)
    sandbox.inject(
        case.network,
        {"fault": "timeout", "delay": 3, "path": "feed" if network == "facebook" else "tweets"},
    )
    error = failure(case.build(sandbox, timeout="1s"), case.text)
    assert isinstance(error, UncertainError)
    wait_for(lambda: len(sandbox.posts(case.network)) == 1, what="the late post")

    async def look(link: str) -> Receipt | None:
        channel = case.build(sandbox)
        try:
            return await channel.find(link, before)
        finally:
            await channel.close()

    found = asyncio.run(look(ARTICLE))
    (stored,) = sandbox.posts(case.network)
    assert found is not None and found.remote_id == str(stored["id"])
    assert asyncio.run(look("https://www.eurasia-news.com/news/never-posted")) is None


def test_telegram_cannot_look_up_what_it_posted() -> None:
    channel = build_channel_for("telegram")
    assert not channel.can_find
    with pytest.raises(NotImplementedError):
        asyncio.run(channel.find(ARTICLE, datetime.now(UTC)))


# What each network answers to each fault, as the posting log keeps it: (HTTP status, the
# network's own error code). Telegram's code is the error_code of its JSON answer; X's is the
# problem's type, or its title when the type is "about:blank"; Facebook's the Graph API code.
ANSWERS: dict[str, dict[str, tuple[int, str]]] = {
    "telegram": {
        "rate_limit": (429, "429"),
        "expired_token": (401, "401"),
        "bad_request": (400, "400"),
        "server_error": (500, "500"),
    },
    "x": {
        "rate_limit": (429, "Too Many Requests"),
        "expired_token": (401, "Unauthorized"),
        "bad_request": (400, "invalid-request"),
        "server_error": (500, "Internal Server Error"),
    },
    "facebook": {
        "rate_limit": (400, "32"),
        "expired_token": (400, "190"),
        "bad_request": (400, "100"),
        "server_error": (500, "2"),
    },
}


@pytest.mark.parametrize("fault", ["rate_limit", "expired_token", "bad_request", "server_error"])
def test_each_refusal_carries_the_http_status_and_the_networks_code(
    case: Case, sandbox: Sandbox, fault: str
) -> None:
    sandbox.inject(case.network, {"fault": fault, "retry_after": 30, "message": "refused"})
    error = failure(case.build(sandbox), case.text)
    assert (error.status, error.code) == ANSWERS[case.network][fault], error


def test_refused_credentials_carry_the_status_and_code_too(case: Case, sandbox: Sandbox) -> None:
    error = failure(case.build(sandbox, wrong=True), case.text)
    # The wrong Telegram token is malformed, which the Bot API answers with 404 Not Found.
    expected = {"telegram": (404, "404"), "x": (401, "Unauthorized"), "facebook": (400, "190")}
    assert (error.status, error.code) == expected[case.network]


def test_without_an_answer_there_is_no_status_or_code(case: Case, sandbox: Sandbox) -> None:
    sandbox.inject(case.network, {"fault": "drop"})
    error = failure(case.build(sandbox), case.text)
    assert isinstance(error, UncertainError) and (error.status, error.code) == (None, None)


def test_a_lookup_refused_after_a_good_answer_carries_its_own_status(sandbox: Sandbox) -> None:
    """X's lookup makes two calls (who am I, then my posts): the second one's refusal is the
    one the error reports, not the first call's 200."""
    case = CASES["x"]
    sandbox.reset(case.network)
    sandbox.inject(case.network, {"fault": "server_error", "path": "/tweets"})

    async def look() -> Receipt | None:
        channel = case.build(sandbox)
        try:
            return await channel.find(ARTICLE, datetime.now(UTC) - timedelta(minutes=1))
        finally:
            await channel.close()

    with pytest.raises(TransientError) as caught:
        asyncio.run(look())
    assert (caught.value.status, caught.value.code) == (500, "Internal Server Error")


@pytest.mark.parametrize("fault", ["bad_request", "server_error"])
def test_the_posting_log_keeps_each_networks_answer(
    sqlite_database: Database, sandbox: Sandbox, fault: str
) -> None:
    """Through the delivery engine: the failure's row in the posting log has both."""
    for network in NETWORKS:
        sandbox.reset(network)
        sandbox.inject(network, {"fault": fault, "message": "refused"})
    rig = Rig(sqlite_database, sandbox, Clock(), make_settings(sandbox.url))
    ids = rig.queue(1)
    rig.run()
    for delivery_id, network in zip(ids, NETWORKS, strict=True):
        failed = rig.events(delivery_id)[-1]
        assert failed.status == ("failed" if fault == "bad_request" else "waiting")
        assert (failed.http_status, failed.error_code) == ANSWERS[network][fault], network


def test_the_posting_log_keeps_the_status_of_the_answer_that_published(
    sqlite_database: Database, sandbox: Sandbox
) -> None:
    """A sent row has the network's answer too: the post's id, its latency and its status."""
    for network in NETWORKS:
        sandbox.reset(network)
    rig = Rig(sqlite_database, sandbox, Clock(), make_settings(sandbox.url))
    ids = rig.queue(1)
    rig.run()
    for delivery_id, network in zip(ids, NETWORKS, strict=True):
        sent = rig.events(delivery_id)[-1]
        assert sent.status == "sent", network
        assert sent.remote_id and sent.latency_ms is not None, network
        assert sent.http_status == (201 if network == "x" else 200), network  # X: Created
