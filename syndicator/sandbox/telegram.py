"""An emulator of the Telegram Bot API (``/bot<token>/<method>``) for the methods we call.

It answers what api.telegram.org answers, in its order of checks (platforms.md 1.4 and 5):
link preview options, empty text, raw size, parse mode, HTML, chat, cleaned text, length.
Reading the parameters and refusing them is in :mod:`~syndicator.sandbox.telegram_params`,
the shapes of the answers in :mod:`~syndicator.sandbox.telegram_messages`; this module holds
the methods themselves and what they keep: posts, photos and the chats they went to.
"""

from __future__ import annotations

import hmac
import re
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from syndicator.sandbox.base import Emulator
from syndicator.sandbox.credentials import TELEGRAM_TOKEN, SandboxCredentials
from syndicator.sandbox.faults import Fault, FaultKind
from syndicator.sandbox.forms import Form, parse_form
from syndicator.sandbox.state import StoredPost
from syndicator.sandbox.telegram_messages import bot_user, message_json, preview_url
from syndicator.sandbox.telegram_params import (
    Chats,
    TelegramError,
    bad_request,
    fitted_text,
    formatted_text,
    html_source,
    link_preview_options,
)
from syndicator.sandbox.telegram_text import FormattedText
from syndicator.secrets import MASK

_TOKEN_IN_PATH = re.compile(r"/bot[^/]*/")
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup"
    " are exactly the same as a current content and reply markup of the message"
)
_DELETE_WINDOW = 48 * 3600.0


class TelegramEmulator(Emulator):
    def __init__(self, credentials: SandboxCredentials, clock: Callable[[], float] = time.time):
        self.credentials = credentials
        self._photos: dict[str, str | None] = {}  # file_id -> image URL
        self._methods: dict[str, Callable[[Request, Form], Any]] = {
            "getme": self._get_me,
            "getchat": self._get_chat,
            "sendmessage": self._send_message,
            "sendphoto": self._send_photo,
            "editmessagetext": self._edit_message_text,
            "deletemessage": self._delete_message,
        }
        super().__init__(clock)
        self.chats = Chats(partial(self.state.next_id, "chat"))

    def api_routes(self) -> list[BaseRoute]:
        return [Route("/bot{token}/{method}", self._dispatch, methods=["GET", "POST"])]

    def not_found_response(self) -> Response:
        return TelegramError(404, "Not Found").response()

    def fault_response(self, fault: Fault) -> Response:
        if fault.kind is FaultKind.RATE_LIMIT:
            seconds = max(1, fault.retry_after_seconds)  # PTB ignores a retry_after of 0
            error = TelegramError(429, f"Too Many Requests: retry after {seconds}", seconds)
        elif fault.kind is FaultKind.EXPIRED_TOKEN:
            error = TelegramError(401, "Unauthorized")
        elif fault.kind is FaultKind.BAD_REQUEST:
            reason = fault.message or "wrong file identifier/HTTP URL specified"
            error = TelegramError(400, f"Bad Request: {reason}")
        else:
            error = TelegramError(500, "Internal Server Error")
        return error.response()

    def mask_path(self, path: str) -> str:
        return _TOKEN_IN_PATH.sub(f"/bot{MASK}/", path, count=1)

    async def _dispatch(self, request: Request) -> Response:
        token = request.path_params["token"]
        if not TELEGRAM_TOKEN.fullmatch(token):
            return TelegramError(404, "Not Found").response()
        if not hmac.compare_digest(token.encode(), self.credentials.telegram_bot_token.encode()):
            return TelegramError(401, "Unauthorized").response()
        handler = self._methods.get(request.path_params["method"].lower())
        if handler is None:
            return TelegramError(404, "Not Found: method not found").response()
        body = await request.body()
        form = parse_form(request.headers.get("content-type", ""), body, request.url.query)
        try:
            return JSONResponse({"ok": True, "result": handler(request, form)})
        except TelegramError as e:
            return e.response()

    # --- methods ----------------------------------------------------------------------------

    def _get_me(self, request: Request, form: Form) -> dict[str, Any]:
        return {
            **bot_user(self.credentials),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _get_chat(self, request: Request, form: Form) -> dict[str, Any]:
        chat = self.chats.find(form.fields.get("chat_id"))
        gifts = (
            "unlimited_gifts",
            "limited_gifts",
            "unique_gifts",
            "premium_subscription",
            "gifts_from_channels",
        )
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": dict.fromkeys(gifts, False),
        }

    def _send_message(self, request: Request, form: Form) -> dict[str, Any]:
        preview = link_preview_options(form)
        ft = formatted_text(form, "text", "entities", caption=False)
        chat = self.chats.find(form.fields.get("chat_id"))
        ft = fitted_text(ft, caption=False)
        message = self._message(chat, text=ft, preview=preview)
        self._store(form, message, ft, kind="message", link=preview_url(preview, ft))
        return message

    def _send_photo(self, request: Request, form: Form) -> dict[str, Any]:
        file_id, image = self._photo(request, form)
        ft = formatted_text(form, "caption", "caption_entities", caption=True)
        chat = self.chats.find(form.fields.get("chat_id"))
        ft = fitted_text(ft, caption=True)
        message = self._message(chat, text=ft, photo=file_id)
        self._store(form, message, ft, kind="photo", image=image)
        return message

    def _edit_message_text(self, request: Request, form: Form) -> dict[str, Any]:
        preview = link_preview_options(form)
        ft = formatted_text(form, "text", "entities", caption=False)
        post = self._find(form, "message to edit not found")
        ft = fitted_text(ft, caption=False)
        old = post.private["message"]
        if "text" not in old:
            raise bad_request("there is no text in the message to edit")
        message = self._message(old["chat"], text=ft, preview=preview, old=old)
        if {**message, "edit_date": None} == {**old, "edit_date": None}:
            raise bad_request(_NOT_MODIFIED)
        self.state.replace_post(
            replace(
                post,
                text=ft.text,
                html=html_source(form, "text"),
                link=preview_url(preview, ft),
                private={"message": message},
            )
        )
        return message

    def _delete_message(self, request: Request, form: Form) -> bool:
        if not form.fields.get("chat_id"):
            raise bad_request("chat identifier is not specified")
        post = self._find(form, "message to delete not found")
        if self.clock() - post.created_at > _DELETE_WINDOW:
            raise bad_request("message can't be deleted")
        self.state.remove_post(post.id)
        return True

    # --- what the methods keep and look up --------------------------------------------------

    def _photo(self, request: Request, form: Form) -> tuple[str, str | None]:
        upload = form.files.get("photo")
        if upload is not None:
            file_id = self._new_file_id()
            self._photos[file_id] = self.file_url(request, upload)
            return file_id, self._photos[file_id]
        photo = form.fields.get("photo", "")
        if not photo:
            raise bad_request("there is no photo in the request")
        if photo in self._photos:
            return photo, self._photos[photo]
        if not re.match(r"https?://[^/\s]+\.[^/\s]+", photo):
            raise bad_request("wrong file identifier/HTTP URL specified")
        file_id = self._new_file_id()
        self._photos[file_id] = photo
        return file_id, photo

    def _find(self, form: Form, not_found: str) -> StoredPost:
        chat = self.chats.find(form.fields.get("chat_id"))
        message_id = form.fields.get("message_id", "")
        if not message_id.lstrip("-").isdigit():
            raise bad_request("message identifier is not specified")
        post = self.state.get_post(str(int(message_id)))
        if post is None or post.private["message"]["chat"]["id"] != chat["id"]:
            raise bad_request(not_found)
        return post

    def _message(
        self,
        chat: dict[str, Any],
        *,
        text: FormattedText,
        preview: dict[str, Any] | None = None,
        photo: str | None = None,
        old: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A new message with the next id, or ``old`` as edited now."""
        now = int(self.clock())
        return message_json(
            chat,
            bot_user(self.credentials),
            message_id=self.state.next_id("message") if old is None else old["message_id"],
            date=now if old is None else old["date"],
            edit_date=None if old is None else now,
            text=text,
            preview=preview,
            photo=photo,
        )

    def _store(
        self,
        form: Form,
        message: dict[str, Any],
        ft: FormattedText,
        *,
        kind: str,
        link: str | None = None,
        image: str | None = None,
    ) -> None:
        field = "caption" if kind == "photo" else "text"
        self.state.add_post(
            StoredPost(
                id=str(message["message_id"]),
                target=form.fields.get("chat_id", ""),
                text=ft.text,
                html=html_source(form, field),
                kind=kind,
                link=link,
                image=image,
                created_at=self.clock(),
                params=self.public_params(form),
                private={"message": message},
            )
        )

    def _new_file_id(self) -> str:
        return f"AgACAgQAAxkBAAI{self.state.next_id('photo'):08d}SandboxPhoto"
