"""An emulator of the Telegram Bot API (``/bot<token>/<method>``) for the methods we call.

It answers what api.telegram.org answers, in its order of checks (platforms.md 1.4 and 5):
link preview options, empty text, raw size, parse mode, HTML, chat, cleaned text, length.
Errors carry the HTTP status equal to ``error_code``, never ``ok: false`` with 200, because
python-telegram-bot reads the status first. Any valid ``@username`` is a channel the bot
may post to; numeric chat ids are channels, groups or users by their sign, as on Telegram.
"""

from __future__ import annotations

import hmac
import json
import re
import time
from collections.abc import Callable
from dataclasses import asdict, fields, replace
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from syndicator.sandbox import telegram_html as th
from syndicator.sandbox.base import Emulator, Fault, FaultKind, Form, StoredPost, parse_form
from syndicator.sandbox.credentials import TELEGRAM_TOKEN, SandboxCredentials
from syndicator.secrets import MASK

_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,30}[A-Za-z0-9]")
_CHANNEL_IDS = 1_000_000_000_000  # channel and supergroup ids are -100xxxxxxxxxx
_FIRST_CHANNEL = 1_001_000_000_000
_TOKEN_IN_PATH = re.compile(r"/bot[^/]*/")
_BARE_URL = re.compile(r"https?://[^\s<>\"']+")
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup"
    " are exactly the same as a current content and reply markup of the message"
)
_DELETE_WINDOW = 48 * 3600.0
_ENTITY_FIELDS = frozenset(f.name for f in fields(th.Entity))
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


def _bad_request(description: str) -> TelegramError:
    return TelegramError(400, "Bad Request: " + description)


class TelegramEmulator(Emulator):
    def __init__(self, credentials: SandboxCredentials, clock: Callable[[], float] = time.time):
        self.credentials = credentials
        self._channels: dict[str, int] = {}  # lower-cased username -> chat id
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
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _bot_user(self) -> dict[str, Any]:
        username = self.credentials.telegram_bot_username
        return {
            "id": self.credentials.telegram_bot_id,
            "is_bot": True,
            "first_name": username.replace("_", " ").title(),
            "username": username,
        }

    def _get_chat(self, request: Request, form: Form) -> dict[str, Any]:
        chat = self._chat(form.fields.get("chat_id"))
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
        preview = self._link_preview_options(form)
        ft = self._text(form, "text", "entities", caption=False)
        chat = self._chat(form.fields.get("chat_id"))
        ft = self._fit(ft, caption=False)
        message = self._message(chat, text=ft, preview=preview)
        self._store(form, message, ft, kind="message", link=_preview_url(preview, ft))
        return message

    def _send_photo(self, request: Request, form: Form) -> dict[str, Any]:
        file_id, image = self._photo(request, form)
        ft = self._text(form, "caption", "caption_entities", caption=True)
        chat = self._chat(form.fields.get("chat_id"))
        ft = self._fit(ft, caption=True)
        message = self._message(chat, text=ft, photo=file_id)
        self._store(form, message, ft, kind="photo", image=image)
        return message

    def _edit_message_text(self, request: Request, form: Form) -> dict[str, Any]:
        preview = self._link_preview_options(form)
        ft = self._text(form, "text", "entities", caption=False)
        post = self._find(form, "message to edit not found")
        ft = self._fit(ft, caption=False)
        old = post.private["message"]
        if "text" not in old:
            raise _bad_request("there is no text in the message to edit")
        message = self._message(old["chat"], text=ft, preview=preview, old=old)
        if {**message, "edit_date": None} == {**old, "edit_date": None}:
            raise _bad_request(_NOT_MODIFIED)
        self.state.replace_post(
            replace(
                post,
                text=ft.text,
                html=self._html(form, "text"),
                link=_preview_url(preview, ft),
                private={"message": message},
            )
        )
        return message

    def _delete_message(self, request: Request, form: Form) -> bool:
        if not form.fields.get("chat_id"):
            raise _bad_request("chat identifier is not specified")
        post = self._find(form, "message to delete not found")
        if self.clock() - post.created_at > _DELETE_WINDOW:
            raise _bad_request("message can't be deleted")
        self.state.remove_post(post.id)
        return True

    # --- parameters -------------------------------------------------------------------------

    def _chat(self, chat_id: str | None) -> dict[str, Any]:
        if not chat_id:
            raise _bad_request("chat_id is empty")
        if chat_id.startswith("@"):
            username = chat_id[1:]
            if not _USERNAME.fullmatch(username) or "__" in username:
                raise _bad_request("chat not found")
            if username.lower() not in self._channels:
                self._channels[username.lower()] = -(_FIRST_CHANNEL + self.state.next_id("chat"))
            return _channel(self._channels[username.lower()], username)
        try:
            number = int(chat_id)
        except ValueError:
            raise _bad_request("chat not found") from None
        if number == 0:
            raise _bad_request("chat not found")
        if number < -_CHANNEL_IDS:
            names = [name for name, cid in self._channels.items() if cid == number]
            return _channel(number, names[0] if names else None)
        if number < 0:
            return {"id": number, "title": f"Group {-number}", "type": "group"}
        return {"id": number, "first_name": f"User {number}", "type": "private"}

    def _link_preview_options(self, form: Form) -> dict[str, Any] | None:
        raw = form.fields.get("link_preview_options")
        if raw is None:
            legacy = form.fields.get("disable_web_page_preview", "").lower() == "true"
            return {"is_disabled": True} if legacy else None
        try:
            options = json.loads(raw)
        except ValueError:
            raise _bad_request("can't parse link preview options JSON object") from None
        if not isinstance(options, dict):
            raise _bad_request("object expected as link preview options")
        return {k: options[k] for k in _PREVIEW_FIELDS if k in options}

    def _text(
        self, form: Form, field: str, entities_field: str, *, caption: bool
    ) -> th.FormattedText:
        raw = form.fields.get(field, "")
        if not raw and not caption:
            raise _bad_request("message text is empty")
        if len(raw.encode("utf-8", "surrogatepass")) > th.MAX_RAW_TEXT_BYTES:
            raise _bad_request("text is too long")
        mode = form.fields.get("parse_mode", "").lower()
        if mode not in ("", "none", "html", "markdown", "markdownv2"):
            raise _bad_request("unsupported parse_mode")
        if mode == "html":
            try:
                return th.parse_html(raw)
            except th.TelegramHtmlError as e:
                raise _bad_request("can't parse entities: " + e.detail) from None
        # Markdown modes are not modelled: their text is taken as it is.
        return th.FormattedText(raw, _entities(form.fields.get(entities_field)))

    def _fit(self, ft: th.FormattedText, *, caption: bool) -> th.FormattedText:
        fixed = th.fix_formatted_text(ft)
        if not caption and th.is_empty_text(fixed):
            raise _bad_request("text must be non-empty")
        limit = th.MAX_CAPTION_LENGTH if caption else th.MAX_MESSAGE_LENGTH
        if th.message_length(fixed) > limit:
            raise _bad_request("message caption is too long" if caption else "message is too long")
        return fixed

    def _photo(self, request: Request, form: Form) -> tuple[str, str | None]:
        upload = form.files.get("photo")
        if upload is not None:
            file_id = self._new_file_id()
            self._photos[file_id] = self.file_url(request, upload)
            return file_id, self._photos[file_id]
        photo = form.fields.get("photo", "")
        if not photo:
            raise _bad_request("there is no photo in the request")
        if photo in self._photos:
            return photo, self._photos[photo]
        if not re.match(r"https?://[^/\s]+\.[^/\s]+", photo):
            raise _bad_request("wrong file identifier/HTTP URL specified")
        file_id = self._new_file_id()
        self._photos[file_id] = photo
        return file_id, photo

    def _find(self, form: Form, not_found: str) -> StoredPost:
        chat = self._chat(form.fields.get("chat_id"))
        message_id = form.fields.get("message_id", "")
        if not message_id.lstrip("-").isdigit():
            raise _bad_request("message identifier is not specified")
        post = self.state.get_post(str(int(message_id)))
        if post is None or post.private["message"]["chat"]["id"] != chat["id"]:
            raise _bad_request(not_found)
        return post

    # --- results ----------------------------------------------------------------------------

    def _message(
        self,
        chat: dict[str, Any],
        *,
        text: th.FormattedText,
        preview: dict[str, Any] | None = None,
        photo: str | None = None,
        old: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        now = int(self.clock())
        if old is None:
            message: dict[str, Any] = {"message_id": self.state.next_id("message")}
        else:
            message = {"message_id": old["message_id"]}
        if chat["type"] == "channel":
            message["sender_chat"] = chat
        else:
            message["from"] = self._bot_user()
        message.update(chat=chat, date=old["date"] if old else now)
        if old is not None:
            message["edit_date"] = now
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

    def _store(
        self,
        form: Form,
        message: dict[str, Any],
        ft: th.FormattedText,
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
                html=self._html(form, field),
                kind=kind,
                link=link,
                image=image,
                created_at=self.clock(),
                params=self.public_params(form),
                private={"message": message},
            )
        )

    @staticmethod
    def _html(form: Form, field: str) -> str | None:
        is_html = form.fields.get("parse_mode", "").lower() == "html"
        return form.fields.get(field) if is_html else None

    def _new_file_id(self) -> str:
        return f"AgACAgQAAxkBAAI{self.state.next_id('photo'):08d}SandboxPhoto"


def _channel(chat_id: int, username: str | None) -> dict[str, Any]:
    chat: dict[str, Any] = {"id": chat_id, "title": username or f"Channel {-chat_id}"}
    if username:
        chat["username"] = username
    chat["type"] = "channel"
    return chat


def _entities(raw: str | None) -> tuple[th.Entity, ...]:
    if not raw:
        return ()
    try:
        items = json.loads(raw)
        return tuple(
            th.Entity(**{k: v for k, v in item.items() if k in _ENTITY_FIELDS}) for item in items
        )
    except (ValueError, TypeError, AttributeError):
        raise _bad_request("can't parse entities JSON object") from None


def _entity_json(entity: th.Entity) -> dict[str, Any]:
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


def _preview_url(options: dict[str, Any] | None, ft: th.FormattedText) -> str | None:
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
