"""The Telegram emulator, driven by python-telegram-bot as our adapter drives it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
import requests
import telegram
from telegram import LinkPreviewOptions
from telegram.constants import ChatType, MessageEntityType

from syndicator.sandbox import DEMO_CREDENTIALS, SandboxControl
from syndicator.serving import ThreadedServer

T = TypeVar("T")
MakeBot = Callable[..., telegram.Bot]
TOKEN = DEMO_CREDENTIALS.telegram_bot_token
ARTICLE = "https://www.example-news.com/2026/11/28/story"


def call(make_bot: MakeBot, action: Callable[[telegram.Bot], Awaitable[T]], **bot: Any) -> T:
    async def run() -> T:
        async with make_bot(**bot) as b:
            return await action(b)

    return asyncio.run(run())


def refusal(make_bot: MakeBot, action: Callable[[telegram.Bot], Awaitable[Any]]) -> str:
    with pytest.raises(telegram.error.BadRequest) as caught:
        call(make_bot, action)
    return caught.value.message


def test_sent_message_is_stored_with_its_text_html_and_link(
    make_bot: MakeBot, tg: SandboxControl
) -> None:
    html = f'<b>Storm</b> hits the coast &amp; more. <a href="{ARTICLE}">Read</a>'
    call(
        make_bot,
        lambda b: b.send_message(
            "@newschan",
            html,
            parse_mode="HTML",
            link_preview_options=LinkPreviewOptions(url=ARTICLE),
        ),
    )
    [post] = tg.posts()
    assert post["text"] == "Storm hits the coast & more. Read"
    assert post["html"] == html
    assert post["link"] == ARTICLE
    assert post["kind"] == "message"
    assert post["target"] == "@newschan"
    assert post["params"]["parse_mode"] == "HTML"


def test_sent_message_comes_back_as_a_channel_post_with_utf16_entities(make_bot: MakeBot) -> None:
    message = call(
        make_bot, lambda b: b.send_message("@newschan", "😷 <b>Flu</b> season", parse_mode="HTML")
    )
    assert isinstance(message, telegram.Message)
    assert message.chat.type == ChatType.CHANNEL
    assert message.chat.username == "newschan"
    assert message.sender_chat is not None and message.sender_chat.id == message.chat.id
    assert message.text == "😷 Flu season"
    [bold] = message.entities
    assert (bold.type, bold.offset, bold.length) == (MessageEntityType.BOLD, 3, 3)


def test_a_username_always_names_the_same_channel(make_bot: MakeBot) -> None:
    async def send_twice(b: telegram.Bot) -> tuple[telegram.Message, telegram.Message]:
        return await b.send_message("@NewsChan", "one"), await b.send_message("@newschan", "two")

    first, second = call(make_bot, send_twice)
    assert first.chat.id == second.chat.id < -1_000_000_000_000
    assert second.message_id > first.message_id


def test_well_formed_but_unknown_token_is_refused_as_invalid(make_bot: MakeBot) -> None:
    other = "1000000009:" + "A" * 35
    with pytest.raises(telegram.error.InvalidToken):
        call(make_bot, lambda b: b.get_me(), token=other)


def test_malformed_token_is_not_found(sandbox: ThreadedServer, make_bot: MakeBot) -> None:
    response = requests.post(f"{sandbox.url}/telegram/botnot-a-token/getMe", timeout=5)
    assert response.status_code == 404
    assert response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    with pytest.raises(telegram.error.InvalidToken):
        call(make_bot, lambda b: b.get_me(), token="123:abc")


def test_malformed_html_is_refused_with_the_parsers_detail(make_bot: MakeBot) -> None:
    message = refusal(
        make_bot, lambda b: b.send_message("@newschan", "<p>x</p>", parse_mode="HTML")
    )
    assert message == 'Can\'t parse entities: unsupported start tag "p" at byte offset 0'


def test_html_is_checked_before_the_chat(make_bot: MakeBot) -> None:
    message = refusal(make_bot, lambda b: b.send_message("@x", "a < b", parse_mode="HTML"))
    assert message.startswith("Can't parse entities")


def test_invalid_username_is_chat_not_found(make_bot: MakeBot) -> None:
    assert refusal(make_bot, lambda b: b.send_message("@x", "hello")) == "Chat not found"


def test_text_over_4096_characters_after_parsing_is_refused(
    make_bot: MakeBot, tg: SandboxControl
) -> None:
    fits = "<b>" + "a" * 4096 + "</b>"
    call(make_bot, lambda b: b.send_message("@newschan", fits, parse_mode="HTML"))
    too_long = "a" * 4097
    assert (
        refusal(make_bot, lambda b: b.send_message("@newschan", too_long)) == "Message is too long"
    )
    assert len(tg.posts()) == 1


def test_raw_text_over_32768_bytes_is_refused_before_parsing(make_bot: MakeBot) -> None:
    huge = "<b></b>" * 5000
    message = refusal(make_bot, lambda b: b.send_message("@newschan", huge, parse_mode="HTML"))
    assert message == "Text is too long"


def test_text_of_only_tags_and_spaces_is_refused_as_empty(make_bot: MakeBot) -> None:
    message = refusal(
        make_bot, lambda b: b.send_message("@newschan", "<b> </b>", parse_mode="HTML")
    )
    assert message == "Text must be non-empty"


def test_caption_over_1024_characters_is_refused(make_bot: MakeBot) -> None:
    caption = "c" * 1025
    message = refusal(
        make_bot, lambda b: b.send_photo("@newschan", "https://img.example-news.com/a.jpg", caption)
    )
    assert message == "Message caption is too long"


def test_photo_by_url_is_stored_with_its_image_and_caption(
    make_bot: MakeBot, tg: SandboxControl
) -> None:
    image = "https://img.example-news.com/a.jpg"
    message = call(
        make_bot,
        lambda b: b.send_photo("@newschan", image, caption="<i>Pic</i>", parse_mode="HTML"),
    )
    assert message.caption == "Pic" and message.photo
    [post] = tg.posts()
    assert (post["kind"], post["image"], post["text"]) == ("photo", image, "Pic")


def test_uploaded_photo_can_be_read_back(make_bot: MakeBot, tg: SandboxControl) -> None:
    data = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    call(make_bot, lambda b: b.send_photo("@newschan", data, caption="upload"))
    [post] = tg.posts()
    assert requests.get(post["image"], timeout=5).content == data


def test_disabled_link_preview_leaves_the_post_without_a_link(
    make_bot: MakeBot, tg: SandboxControl
) -> None:
    no_preview = LinkPreviewOptions(is_disabled=True)
    message = call(
        make_bot,
        lambda b: b.send_message("@newschan", f"Read {ARTICLE}", link_preview_options=no_preview),
    )
    assert message.link_preview_options == no_preview
    assert tg.posts()[0]["link"] is None


def test_edited_message_replaces_the_stored_text(make_bot: MakeBot, tg: SandboxControl) -> None:
    async def send_then_edit(b: telegram.Bot) -> telegram.Message:
        sent = await b.send_message("@newschan", "first")
        edited = await b.edit_message_text(
            "second", chat_id="@newschan", message_id=sent.message_id
        )
        assert isinstance(edited, telegram.Message)
        return edited

    edited = call(make_bot, send_then_edit)
    assert edited.text == "second" and edited.edit_date is not None
    assert [p["text"] for p in tg.posts()] == ["second"]


def test_editing_to_the_same_text_is_not_modified(make_bot: MakeBot) -> None:
    async def edit_same(b: telegram.Bot) -> object:
        sent = await b.send_message("@newschan", "same")
        return await b.edit_message_text("same", chat_id="@newschan", message_id=sent.message_id)

    assert refusal(make_bot, edit_same).startswith("Message is not modified")


def test_deleted_message_is_gone_and_cannot_be_deleted_again(
    make_bot: MakeBot, tg: SandboxControl
) -> None:
    async def delete_twice(b: telegram.Bot) -> object:
        sent = await b.send_message("@newschan", "bye")
        assert await b.delete_message("@newschan", sent.message_id) is True
        assert tg.posts() == []
        return await b.delete_message("@newschan", sent.message_id)

    assert refusal(make_bot, delete_twice) == "Message to delete not found"


def test_get_chat_answers_what_the_library_needs(make_bot: MakeBot) -> None:
    chat = call(make_bot, lambda b: b.get_chat("@newschan"))
    assert chat.type == ChatType.CHANNEL and chat.username == "newschan"


def test_method_names_are_case_insensitive_and_json_bodies_are_read(
    sandbox: ThreadedServer, tg: SandboxControl
) -> None:
    response = requests.post(
        f"{sandbox.url}/telegram/bot{TOKEN}/SENDMESSAGE",
        json={
            "chat_id": -1001234567890,
            "text": "json",
            "link_preview_options": {"is_disabled": True},
        },
        timeout=5,
    )
    assert response.status_code == 200
    result = response.json()["result"]
    assert result["chat"] == {
        "id": -1001234567890,
        "title": "Channel 1001234567890",
        "type": "channel",
    }
    assert result["link_preview_options"] == {"is_disabled": True}
    assert tg.posts()[0]["text"] == "json"


def test_unknown_method_is_not_found(sandbox: ThreadedServer) -> None:
    response = requests.get(f"{sandbox.url}/telegram/bot{TOKEN}/sendSticker", timeout=5)
    assert response.status_code == 404
    assert response.json()["description"] == "Not Found: method not found"


def test_request_log_never_shows_the_token(make_bot: MakeBot, tg: SandboxControl) -> None:
    call(make_bot, lambda b: b.send_message("@newschan", "hi"))
    log = tg.requests()
    assert [r["path"].rsplit("/", 1)[-1] for r in log] == ["getMe", "sendMessage"]
    assert all(r["status"] == 200 for r in log)
    assert TOKEN not in repr(log) and TOKEN.split(":")[1] not in repr(log)
