"""Telegram channels through python-telegram-bot: ``Bot.send_message`` in HTML parse mode."""

from __future__ import annotations

import json
import warnings
from contextvars import ContextVar
from typing import Any

import httpx
from pydantic import SecretStr
from telegram import Bot, LinkPreviewOptions, Message
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from syndicator.channels.base import Channel
from syndicator.config import TelegramChannelConfig
from syndicator.errors import (
    AuthError,
    PermanentError,
    PublishError,
    RateLimited,
    TransientError,
    UncertainError,
)
from syndicator.records import ChannelType, Post, Receipt

API_ROOT = "https://api.telegram.org"


def message_url(message: Message) -> str | None:
    """The public link to a channel post: t.me/<username>/<id>, or t.me/c/<id>/<id> if private."""
    if message.chat.username:
        return f"https://t.me/{message.chat.username}/{message.message_id}"
    chat_id = str(message.chat.id)
    if chat_id.startswith("-100"):
        return f"https://t.me/c/{chat_id[4:]}/{message.message_id}"
    return None


# This task's last answer from the Bot API: (HTTP status, its error_code if it refused).
_ANSWER: ContextVar[tuple[int, str | None] | None] = ContextVar("telegram_answer", default=None)


class AnswerKeepingRequest(HTTPXRequest):
    """PTB's HTTPX transport, keeping what PTB drops, for the posting log: the HTTP status of
    every answer, and the ``error_code`` of Telegram's JSON answer to a refusal."""

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        status, payload = await super().do_request(*args, **kwargs)
        _ANSWER.set((status, None if _accepted(status) else _error_code(payload)))
        return status, payload


def _accepted(status: int) -> bool:
    return 200 <= status <= 299


def _error_code(payload: bytes) -> str | None:
    try:
        answer = json.loads(payload)
    except ValueError:  # not the Bot API's JSON: a proxy's page
        return None
    code = answer.get("error_code") if isinstance(answer, dict) else None
    return str(code) if isinstance(code, int) and not isinstance(code, bool) else None


def refused(exc: TelegramError) -> PublishError:
    """``translate``, with the HTTP status and error code of the answer, if one came."""
    error = translate(exc)
    answer = _ANSWER.get()
    return error if answer is None or _accepted(answer[0]) else error.answered(*answer)


def translate(exc: TelegramError) -> PublishError:
    """python-telegram-bot's errors as ours. Messages come from the Bot API, never the URL."""
    message = f"Telegram: {exc.message}"
    if isinstance(exc, RetryAfter):
        with warnings.catch_warnings():  # int today, timedelta in PTB 23: both are handled
            warnings.simplefilter("ignore", PTBDeprecationWarning)
            seconds = exc.retry_after
        retry = seconds if isinstance(seconds, int | float) else seconds.total_seconds()
        return RateLimited(message, retry_after=float(retry), status=429)
    if isinstance(exc, InvalidToken):
        return AuthError("Telegram: the bot token was refused (Unauthorized)", status=401)
    if isinstance(exc, Forbidden):
        return AuthError(message, status=403)
    if isinstance(exc, ChatMigrated):
        return PermanentError(
            f"Telegram: the group became a supergroup; set chat_id = {exc.new_chat_id}", status=400
        )
    if isinstance(exc, BadRequest):
        return PermanentError(message, status=400)
    if isinstance(exc, TimedOut):
        cause = exc.__cause__
        if isinstance(cause, httpx.ConnectTimeout | httpx.PoolTimeout):
            return TransientError("Telegram: connection timed out")
        return UncertainError("Telegram: no answer in time; the post may have been published")
    if isinstance(exc, NetworkError):
        cause = exc.__cause__
        if isinstance(cause, httpx.RemoteProtocolError | httpx.ReadError):
            return UncertainError(
                "Telegram: connection dropped before the answer; the post may have been published"
            )
        return TransientError(message)
    return TransientError(message)


class TelegramChannel(Channel):
    type = ChannelType.TELEGRAM
    supports_photos = True

    def __init__(self, config: TelegramChannelConfig, secrets: dict[str, SecretStr]) -> None:
        super().__init__(config.name)
        self.chat_id = config.chat_id
        root = config.api_base_url or API_ROOT
        timeout = config.timeout.total_seconds()
        self._bot = Bot(
            secrets["token"].get_secret_value(),
            base_url=f"{root}/bot",
            base_file_url=f"{root}/file/bot",
            request=AnswerKeepingRequest(
                connect_timeout=min(5.0, timeout), read_timeout=timeout, write_timeout=timeout
            ),
        )
        self._initialized = False

    async def _ready(self) -> Bot:
        if not self._initialized:
            await self._bot.initialize()  # getMe: a wrong token fails here, clearly
            self._initialized = True
        return self._bot

    async def publish(self, post: Post) -> Receipt:
        _ANSWER.set(None)
        try:
            bot = await self._ready()
            if post.photo is not None:
                message = await bot.send_photo(
                    chat_id=self.chat_id,
                    photo=post.photo.data,
                    caption=post.text,
                    parse_mode=ParseMode.HTML,
                )
            else:
                message = await bot.send_message(
                    chat_id=self.chat_id,
                    text=post.text,
                    parse_mode=ParseMode.HTML,
                    link_preview_options=LinkPreviewOptions(url=post.link),
                )
        except TelegramError as exc:
            raise refused(exc) from exc
        answer = _ANSWER.get()
        status = answer[0] if answer is not None else None
        return Receipt(str(message.message_id), message_url(message), http_status=status)

    async def check(self) -> str:
        _ANSWER.set(None)
        try:
            bot = await self._ready()
        except TelegramError as exc:
            raise refused(exc) from exc
        return f"@{bot.username}"

    async def close(self) -> None:
        if self._initialized:
            await self._bot.shutdown()
            self._initialized = False
