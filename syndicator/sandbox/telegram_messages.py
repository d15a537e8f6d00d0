"""The Bot API objects the Telegram emulator answers with: the bot's User and Message objects.

Shaped as api.telegram.org shapes them (fields that do not apply are left out), since
python-telegram-bot builds its own objects from them. A channel
post names its ``sender_chat``, any other message the bot as ``from``; a photo message carries
a caption where a text message carries its text and link preview options.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Any

from syndicator.sandbox.credentials import SandboxCredentials
from syndicator.sandbox.telegram_text import Entity, FormattedText

_BARE_URL = re.compile(r"https?://[^\s<>\"']+")


def bot_user(credentials: SandboxCredentials) -> dict[str, Any]:
    username = credentials.telegram_bot_username
    return {
        "id": credentials.telegram_bot_id,
        "is_bot": True,
        "first_name": username.replace("_", " ").title(),
        "username": username,
    }


def message_json(
    chat: dict[str, Any],
    bot: dict[str, Any],
    *,
    message_id: int,
    date: int,
    text: FormattedText,
    preview: dict[str, Any] | None = None,
    photo: str | None = None,
    edit_date: int | None = None,
) -> dict[str, Any]:
    """A Message in ``chat``; ``photo`` is the file id of a photo message."""
    message: dict[str, Any] = {"message_id": message_id}
    if chat["type"] == "channel":
        message["sender_chat"] = chat
    else:
        message["from"] = bot
    message.update(chat=chat, date=date)
    if edit_date is not None:
        message["edit_date"] = edit_date
    entities = [_entity_json(e) for e in text.entities]
    if photo is not None:
        message["photo"] = _photo_sizes(photo)
        if text.text:
            message["caption"] = text.text
        if entities:
            message["caption_entities"] = entities
        return message
    message["text"] = text.text
    if entities:
        message["entities"] = entities
    if preview:
        message["link_preview_options"] = preview
    return message


def preview_url(options: dict[str, Any] | None, ft: FormattedText) -> str | None:
    """The URL Telegram would preview: the one asked for, else the first link in the text."""
    if options and options.get("is_disabled"):
        return None
    if options and isinstance(options.get("url"), str) and options["url"]:
        return str(options["url"])
    for entity in ft.entities:
        if entity.type == "text_link" and entity.url:
            return entity.url
    found = _BARE_URL.search(ft.text)
    return found.group(0) if found else None


def _entity_json(entity: Entity) -> dict[str, Any]:
    return {k: v for k, v in asdict(entity).items() if v is not None}


def _photo_sizes(file_id: str) -> list[dict[str, Any]]:
    sizes = ((90, 60), (320, 213), (800, 533))
    return [
        {
            "file_id": f"{file_id}{w}",
            "file_unique_id": f"AQAD{file_id[-16:]}{w}",
            "width": w,
            "height": h,
            "file_size": w * h // 8,
        }
        for w, h in sizes
    ]
