"""Injected faults and the enforced rate, as each client library experiences them."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import facebook
import pytest
import requests
import telegram
import tweepy
from starlette.applications import Starlette
from starlette.routing import Mount

from syndicator.channels.http import api_session
from syndicator.sandbox import DEMO_CREDENTIALS, SandboxControl, build_sandbox_app
from syndicator.serving import ThreadedServer

# PTB warns about its own RetryAfter.retry_after type change whenever it builds one.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

C = DEMO_CREDENTIALS
_texts = itertools.count()


@dataclass(frozen=True)
class Network:
    """One emulator, a real client posting to it, and what that client raises for each fault."""

    name: str
    control: SandboxControl
    post: Callable[[float], object]  # read timeout in seconds -> the library's answer
    rate_limited: type[Exception]
    server_error: type[Exception]
    unauthorized: type[Exception]
    timed_out: type[Exception]
    dropped: type[Exception]


POST_PATHS = {"telegram": "sendMessage", "x": "/2/tweets", "facebook": "/feed"}


@pytest.fixture(params=["telegram", "x", "facebook"])
def network(
    request: pytest.FixtureRequest,
    sandbox: ThreadedServer,
    make_bot: Callable[..., telegram.Bot],
    make_x_client: Callable[..., tweepy.Client],
    make_graph: Callable[..., facebook.GraphAPI],
) -> Network:
    name: str = request.param
    control = SandboxControl(sandbox.url, name)
    if name == "telegram":

        def send_message(read_timeout: float) -> object:
            async def send() -> object:
                bot = make_bot(read_timeout=read_timeout)
                try:  # not `async with`: its getMe would meet the fault first
                    return await bot.send_message("@newschan", f"post {next(_texts)}")
                finally:
                    await bot.shutdown()

            return asyncio.run(send())

        error = telegram.error
        return Network(
            name,
            control,
            send_message,
            error.RetryAfter,
            error.NetworkError,
            error.InvalidToken,
            error.TimedOut,
            error.NetworkError,
        )
    if name == "x":

        def create_tweet(read_timeout: float) -> object:
            client = make_x_client(read_timeout=read_timeout)
            return client.create_tweet(text=f"post {next(_texts)}")

        return Network(
            name,
            control,
            create_tweet,
            tweepy.errors.TooManyRequests,
            tweepy.errors.TwitterServerError,
            tweepy.errors.Unauthorized,
            requests.ReadTimeout,
            requests.ConnectionError,
        )

    def put_feed(read_timeout: float) -> object:
        graph = make_graph(timeout=read_timeout)
        return graph.put_object(C.facebook_page_id, "feed", message=f"post {next(_texts)}")

    return Network(
        name,
        control,
        put_feed,
        facebook.GraphAPIError,
        facebook.GraphAPIError,
        facebook.GraphAPIError,
        requests.ReadTimeout,
        requests.ConnectionError,
    )


def wait_for_posts(control: SandboxControl, count: int, within: float = 5.0) -> list[object]:
    deadline = time.monotonic() + within
    while len(posts := control.posts()) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return list(posts)


def test_rate_limit_fault_is_refused_with_the_networks_rate_limit(network: Network) -> None:
    network.control.fault("rate_limit", retry_after=7)
    with pytest.raises(network.rate_limited) as caught:
        network.post(5.0)
    if isinstance(caught.value, facebook.GraphAPIError):
        assert caught.value.code == 32
    assert network.control.posts() == []


def test_server_error_fault_is_the_librarys_server_error(network: Network) -> None:
    network.control.fault("server_error")
    with pytest.raises(network.server_error) as caught:
        network.post(5.0)
    assert caught.type is network.server_error  # a plain NetworkError, not BadRequest
    if isinstance(caught.value, facebook.GraphAPIError):
        assert caught.value.code == 2


def test_expired_token_fault_is_the_librarys_auth_error(network: Network) -> None:
    network.control.fault("expired_token")
    with pytest.raises(network.unauthorized) as caught:
        network.post(5.0)
    if isinstance(caught.value, facebook.GraphAPIError):
        assert caught.value.code == 190
        assert caught.value.result["error"]["error_subcode"] == 463
        assert str(caught.value).startswith("Error validating access token: Session has expired")


def test_timeout_fault_times_the_client_out_but_the_post_is_made(network: Network) -> None:
    network.control.fault("timeout", delay=3.0)
    started = time.monotonic()
    with pytest.raises(network.timed_out):
        network.post(0.3)
    assert time.monotonic() - started < 2.0
    assert len(wait_for_posts(network.control, 1)) == 1


def test_dropped_connection_is_a_connection_error_and_nothing_is_posted(network: Network) -> None:
    network.control.fault("drop")
    with pytest.raises(network.dropped) as caught:
        network.post(5.0)
    if network.name == "telegram":
        assert caught.type is telegram.error.NetworkError
    assert network.control.posts() == []
    [logged] = network.control.requests()
    assert (logged["status"], logged["fault"]) == (None, "drop")


def test_a_fault_applies_to_the_next_n_calls_only(network: Network) -> None:
    network.control.fault("server_error", count=2)
    for _ in range(2):
        with pytest.raises(network.server_error):
            network.post(5.0)
    network.post(5.0)
    assert len(network.control.posts()) == 1
    assert [r["fault"] for r in network.control.requests()] == ["server_error"] * 2 + [None]


def test_cleared_faults_no_longer_apply(network: Network) -> None:
    network.control.fault("server_error", count=5)
    network.control.clear_faults()
    network.post(5.0)
    assert len(network.control.posts()) == 1


def test_control_calls_are_never_faulted(network: Network) -> None:
    network.control.fault("drop", count=3)
    assert network.control.posts() == []
    assert network.control.requests() == []


def test_enforced_rate_answers_429_past_the_burst(network: Network) -> None:
    network.control.rate(per_second=0.5, burst=2)
    network.post(5.0)
    network.post(5.0)
    with pytest.raises(network.rate_limited):
        network.post(5.0)
    network.control.clear_rate()
    network.post(5.0)
    assert len(network.control.posts()) == 3


def test_a_rate_on_one_method_leaves_the_others_alone(network: Network) -> None:
    network.control.rate(per_second=0.5, burst=1, path="no-such-method")
    for _ in range(3):  # posts are not that method: never limited
        network.post(5.0)
    network.control.rate(per_second=0.5, burst=1, path=POST_PATHS[network.name])
    network.post(5.0)
    with pytest.raises(network.rate_limited):
        network.post(5.0)
    network.control.clear_rate()
    assert len(network.control.posts()) == 4


def test_telegram_rate_limit_carries_retry_after_in_body_and_header(
    sandbox: ThreadedServer, tg: SandboxControl
) -> None:
    tg.fault("rate_limit", retry_after=7)
    url = f"{sandbox.url}/telegram/bot{C.telegram_bot_token}/sendMessage"
    response = requests.post(url, data={"chat_id": "@newschan", "text": "x"}, timeout=5)
    assert response.status_code == 429 and response.headers["retry-after"] == "7"
    assert response.json() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 7",
        "parameters": {"retry_after": 7},
    }
    tg.fault("rate_limit", retry_after=7)
    with pytest.raises(telegram.error.RetryAfter, match="Retry in 7 seconds"):
        asyncio.run(
            telegram.Bot(C.telegram_bot_token, base_url=f"{sandbox.url}/telegram/bot").get_me()
        )


def test_x_rate_limit_says_when_the_limit_resets(
    x: SandboxControl, make_x_client: Callable[..., tweepy.Client]
) -> None:
    x.fault("rate_limit", retry_after=60)
    with pytest.raises(tweepy.errors.TooManyRequests) as caught:
        make_x_client().create_tweet(text="limited")
    assert caught.value.reset_time is not None
    assert 55 <= caught.value.reset_time - time.time() <= 62
    assert caught.value.response.headers["x-rate-limit-remaining"] == "0"


def test_facebook_rate_limit_reports_full_usage(
    fb: SandboxControl, sandbox: ThreadedServer
) -> None:
    fb.fault("rate_limit", retry_after=90)
    url = f"{sandbox.url}/facebook/v26.0/{C.facebook_page_id}/feed"
    response = requests.post(
        url, data={"message": "m", "access_token": C.facebook_page_token}, timeout=5
    )
    [usage] = json.loads(response.headers["x-business-use-case-usage"])[C.facebook_page_id]
    assert (usage["call_count"], usage["estimated_time_to_regain_access"]) == (100, 2)
    assert response.json()["error"]["message"] == "(#32) Page request limit reached"


def test_unknown_fault_kind_is_refused(sandbox: ThreadedServer) -> None:
    response = requests.post(
        f"{sandbox.url}/x/__sandbox/faults", json={"fault": "meteor"}, timeout=5
    )
    assert response.status_code == 400


def test_two_sandbox_apps_share_nothing() -> None:
    both = Starlette(routes=[Mount("/a", build_sandbox_app()), Mount("/b", build_sandbox_app())])
    with ThreadedServer(both) as server:
        a, b = (SandboxControl(f"{server.url}/{name}", "facebook") for name in "ab")
        b.fault("server_error")
        graph = facebook.GraphAPI(
            access_token=C.facebook_page_token,
            version="3.1",
            session=api_session("https://graph.facebook.com", f"{server.url}/a/facebook"),
        )
        graph.version = "v26.0"
        graph.put_object(C.facebook_page_id, "feed", message="only in a")
        assert [p["text"] for p in a.posts()] == ["only in a"]
        assert b.posts() == [] and b.requests() == []


def test_index_names_each_emulator_with_its_client_and_control_urls(
    sandbox: ThreadedServer,
) -> None:
    emulators = requests.get(f"{sandbox.url}/", timeout=5).json()["emulators"]
    assert set(emulators) == {"telegram", "x", "facebook"}
    assert emulators["telegram"]["base_url"] == f"{sandbox.url}/telegram/bot"
    assert emulators["x"]["stands_for"] == "https://api.twitter.com"
    assert emulators["facebook"]["faults"] == f"{sandbox.url}/facebook/__sandbox/faults"


def test_a_fault_can_be_aimed_at_one_method(sandbox: ThreadedServer) -> None:
    import httpx

    sandbox_url = sandbox.url
    control = f"{sandbox_url}/telegram/__sandbox/faults"
    httpx.post(control, json={"fault": "server_error", "path": "sendPhoto"}, timeout=5)
    token = DEMO_CREDENTIALS.telegram_bot_token
    me = httpx.post(f"{sandbox_url}/telegram/bot{token}/getMe", timeout=5)
    assert me.status_code == 200  # not the aimed-at method: the fault waits
    photo = httpx.post(
        f"{sandbox_url}/telegram/bot{token}/sendPhoto",
        data={"chat_id": "@eurasianews", "photo": "https://www.eurasia-news.com/a.png"},
        timeout=5,
    )
    assert photo.status_code == 500
    assert httpx.get(control, timeout=5).json() == {"faults": []}
