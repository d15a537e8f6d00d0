"""The Graph API emulator, driven by facebook-sdk through the session our adapter uses."""

from __future__ import annotations

import json
from collections.abc import Callable

import facebook
import pytest
import requests

from syndicator.sandbox import DEMO_CREDENTIALS, SandboxControl
from syndicator.serving import ThreadedServer

C = DEMO_CREDENTIALS
PAGE = C.facebook_page_id
MakeGraph = Callable[..., facebook.GraphAPI]
ARTICLE = "https://www.example-news.com/2026/11/28/story"


def graph_error(action: Callable[[], object]) -> dict[str, object]:
    with pytest.raises(facebook.GraphAPIError) as caught:
        action()
    error = caught.value.result["error"]
    assert isinstance(error, dict) and error["fbtrace_id"]
    return error


def test_feed_post_is_stored_with_its_message_and_link(
    make_graph: MakeGraph, fb: SandboxControl
) -> None:
    answer = make_graph().put_object(PAGE, "feed", message="Storm hits the coast", link=ARTICLE)
    assert answer["id"].startswith(f"{PAGE}_")
    [post] = fb.posts()
    assert (post["id"], post["text"], post["link"]) == (
        answer["id"],
        "Storm hits the coast",
        ARTICLE,
    )
    assert (post["kind"], post["target"]) == ("feed", PAGE)
    assert post["params"] == {"message": "Storm hits the coast", "link": ARTICLE}


def test_photo_by_url_answers_photo_and_post_ids(make_graph: MakeGraph, fb: SandboxControl) -> None:
    image = "https://img.example-news.com/a.jpg"
    answer = make_graph().put_object(PAGE, "photos", url=image, caption="Pic")
    assert set(answer) == {"id", "post_id"} and answer["post_id"].startswith(f"{PAGE}_")
    [post] = fb.posts()
    assert (post["id"], post["kind"], post["image"], post["text"]) == (
        answer["post_id"],
        "photo",
        image,
        "Pic",
    )


def test_uploaded_photo_can_be_read_back(make_graph: MakeGraph, fb: SandboxControl) -> None:
    data = b"\xff\xd8\xff\xe0 jpeg bytes \r\n\x00"
    make_graph().put_photo(data, album_path=f"{PAGE}/photos", caption="upload")
    [post] = fb.posts()
    assert requests.get(post["image"], timeout=5).content == data


def test_page_and_its_feed_can_be_read(make_graph: MakeGraph) -> None:
    graph = make_graph()
    graph.put_object(PAGE, "feed", message="older")
    graph.put_object(PAGE, "feed", message="newer", link=ARTICLE)
    assert graph.get_object("me") == {"id": PAGE, "name": C.facebook_page_name}
    assert graph.get_object(PAGE, fields="name") == {"id": PAGE, "name": C.facebook_page_name}
    feed = graph.get_connections(PAGE, "feed")
    assert [item["message"] for item in feed["data"]] == ["newer", "older"]
    assert feed["data"][0]["link"] == ARTICLE


def test_deleted_post_is_gone(make_graph: MakeGraph, fb: SandboxControl) -> None:
    graph = make_graph()
    post_id = graph.put_object(PAGE, "feed", message="oops")["id"]
    assert graph.delete_object(post_id) == {"success": True}
    assert fb.posts() == []
    assert graph_error(lambda: graph.delete_object(post_id))["code"] == 100


def test_wrong_token_is_an_oauth_error_190(make_graph: MakeGraph, fb: SandboxControl) -> None:
    error = graph_error(lambda: make_graph(token="EAAwrong").put_object(PAGE, "feed", message="x"))
    assert (error["code"], error["type"]) == (190, "OAuthException")
    assert fb.posts() == []


def test_posting_to_another_page_is_refused(make_graph: MakeGraph) -> None:
    error = graph_error(lambda: make_graph().put_object("999999999", "feed", message="x"))
    assert error["code"] == 100 and error["type"] == "GraphMethodException"


def test_post_without_message_or_link_is_refused(make_graph: MakeGraph) -> None:
    error = graph_error(lambda: make_graph().put_object(PAGE, "feed", published="true"))
    assert error["message"] == "(#100) Missing message or attachment"


def test_same_message_twice_in_a_row_is_a_duplicate(make_graph: MakeGraph) -> None:
    graph = make_graph()
    graph.put_object(PAGE, "feed", message="Once")
    error = graph_error(lambda: graph.put_object(PAGE, "feed", message="Once"))
    assert (error["code"], error["message"]) == (506, "(#506) Duplicate status message")
    graph.put_object(PAGE, "feed", message="Something else")
    graph.put_object(PAGE, "feed", message="Once")


def test_every_answer_is_json_with_usage_headers(sandbox: ThreadedServer) -> None:
    url = f"{sandbox.url}/facebook/v26.0/{PAGE}/feed"
    ok = requests.post(url, data={"message": "m", "access_token": C.facebook_page_token}, timeout=5)
    refused = requests.post(url, data={"message": "m", "access_token": "bad"}, timeout=5)
    for response in (ok, refused):
        assert response.headers["content-type"] == "application/json; charset=UTF-8"
        usage = json.loads(response.headers["x-business-use-case-usage"])
        assert usage[PAGE][0]["type"] == "pages"
        assert set(json.loads(response.headers["x-app-usage"])) == {
            "call_count",
            "total_cputime",
            "total_time",
        }
    assert refused.status_code == 400 and refused.json()["error"]["code"] == 190


def test_expired_api_version_is_served_by_the_oldest_live_one(sandbox: ThreadedServer) -> None:
    response = requests.get(
        f"{sandbox.url}/facebook/v3.1/me", params={"access_token": C.facebook_page_token}, timeout=5
    )
    assert response.json() == {"id": PAGE, "name": C.facebook_page_name}
    assert response.headers["facebook-api-version"] == "v21.0"
