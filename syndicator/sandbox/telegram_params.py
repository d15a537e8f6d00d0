"""A Bot API call's parameters as Telegram reads them, and its refusals in Telegram's words.

Each reader takes what the client sent (a :class:`~syndicator.sandbox.forms.Form`) and either
gives back what the Bot API makes of it or raises the :class:`TelegramError` the Bot API
answers with; the emulator's methods call them in the order the Bot API checks
(platforms.md 1.4 and 5). A refusal carries the HTTP status equal to ``error_code``, never
``ok: false`` with 200, because python-telegram-bot reads the status first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import fields
from typing import Any

from starlette.responses import JSONResponse, Response

from syndicator.sandbox import telegram_text as tt
from syndicator.sandbox.forms import Form
from syndicator.sandbox.telegram_html import TelegramHtmlError, parse_html

_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,30}[A-Za-z0-9]")
_CHANNEL_IDS = 1_000_000_000_000  # channel and supergroup ids are -100xxxxxxxxxx
_FIRST_CHANNEL = 1_001_000_000_000
_ENTITY_FIELDS = frozenset(f.name for f in fields(tt.Entity))
_PREVIEW_FIELDS = (
    "is_disabled",
    "url",
    "prefer_small_media",
    "prefer_large_media",
    "show_above_text",
)


class TelegramError(Exception):
    """A refusal as the Bot API words it; the HTTP status is the error code."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def response(self) -> Response:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        headers = {}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
            headers["Retry-After"] = str(self.retry_after)
        return JSONResponse(body, status_code=self.code, headers=headers)


def bad_request(description: str) -> TelegramError:
    return TelegramError(400, "Bad Request: " + description)


class Chats:
    """The chats a ``chat_id`` names: any valid ``@username`` is a channel the bot may post to;
    numeric ids are channels, groups or users by their sign, as on Telegram."""

    def __init__(self, next_number: Callable[[], int]) -> None:
        self._next_number = next_number
        self._channels: dict[str, int] = {}  # lower-cased username -> chat id

    def find(self, chat_id: str | None) -> dict[str, Any]:
        """The Chat object for ``chat_id``; a new username becomes a channel with a new id."""
        if not chat_id:
            raise bad_request("chat_id is empty")
        if chat_id.startswith("@"):
            username = chat_id[1:]
            if not _USERNAME.fullmatch(username) or "__" in username:
                raise bad_request("chat not found")
            if username.lower() not in self._channels:
                self._channels[username.lower()] = -(_FIRST_CHANNEL + self._next_number())
            return _channel(self._channels[username.lower()], username)
        try:
            number = int(chat_id)
        except ValueError:
            raise bad_request("chat not found") from None
        if number == 0:
            raise bad_request("chat not found")
        if number < -_CHANNEL_IDS:
            names = [name for name, cid in self._channels.items() if cid == number]
            return _channel(number, names[0] if names else None)
        if number < 0:
            return {"id": number, "title": f"Group {-number}", "type": "group"}
        return {"id": number, "first_name": f"User {number}", "type": "private"}


def _channel(chat_id: int, username: str | None) -> dict[str, Any]:
    chat: dict[str, Any] = {"id": chat_id, "title": username or f"Channel {-chat_id}"}
    if username:
        chat["username"] = username
    chat["type"] = "channel"
    return chat


def link_preview_options(form: Form) -> dict[str, Any] | None:
    raw = form.fields.get("link_preview_options")
    if raw is None:
        legacy = form.fields.get("disable_web_page_preview", "").lower() == "true"
        return {"is_disabled": True} if legacy else None
    try:
        options = json.loads(raw)
    except ValueError:
        raise bad_request("can't parse link preview options JSON object") from None
    if not isinstance(options, dict):
        raise bad_request("object expected as link preview options")
    return {k: options[k] for k in _PREVIEW_FIELDS if k in options}


def formatted_text(
    form: Form, field: str, entities_field: str, *, caption: bool
) -> tt.FormattedText:
    """The text (or caption) and its entities, as its parse mode makes them."""
    raw = form.fields.get(field, "")
    if not raw and not caption:
        raise bad_request("message text is empty")
    if len(raw.encode("utf-8", "surrogatepass")) > tt.MAX_RAW_TEXT_BYTES:
        raise bad_request("text is too long")
    mode = form.fields.get("parse_mode", "").lower()
    if mode not in ("", "none", "html", "markdown", "markdownv2"):
        raise bad_request("unsupported parse_mode")
    if mode == "html":
        try:
            return parse_html(raw)
        except TelegramHtmlError as e:
            raise bad_request("can't parse entities: " + e.detail) from None
    # Markdown modes are not modelled: their text is taken as it is.
    return tt.FormattedText(raw, _entities(form.fields.get(entities_field)))


def fitted_text(ft: tt.FormattedText, *, caption: bool) -> tt.FormattedText:
    """The cleaned text, if it is not empty and within the message or caption limit."""
    fixed = tt.fix_formatted_text(ft)
    if not caption and tt.is_empty_text(fixed):
        raise bad_request("text must be non-empty")
    limit = tt.MAX_CAPTION_LENGTH if caption else tt.MAX_MESSAGE_LENGTH
    if tt.message_length(fixed) > limit:
        raise bad_request("message caption is too long" if caption else "message is too long")
    return fixed


def html_source(form: Form, field: str) -> str | None:
    """The HTML the text was sent as, if it was sent as HTML (the sandbox shows it)."""
    is_html = form.fields.get("parse_mode", "").lower() == "html"
    return form.fields.get(field) if is_html else None


def _entities(raw: str | None) -> tuple[tt.Entity, ...]:
    if not raw:
        return ()
    try:
        items = json.loads(raw)
        return tuple(
            tt.Entity(**{k: v for k, v in item.items() if k in _ENTITY_FIELDS}) for item in items
        )
    except (ValueError, TypeError, AttributeError):
        raise bad_request("can't parse entities JSON object") from None
