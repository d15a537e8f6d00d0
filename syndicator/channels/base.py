"""The one interface every channel adapter implements, and what the blocking ones share.

An adapter turns a :class:`~syndicator.records.Post` into a network call through the library
the newsroom chose, and the library's errors into the few kinds of
:class:`~syndicator.errors.PublishError` the delivery engine acts on. It never formats text
(that is the formatter's job) and never touches the store.
"""

from __future__ import annotations

import asyncio
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar, TypeVar

import requests

from syndicator.errors import PublishError, TransientError, UncertainError
from syndicator.records import ChannelType, Post, Receipt
from syndicator.secrets import redact
from syndicator.sources.urls import normalise_url

T = TypeVar("T")


class Channel(ABC):
    """A configured place to publish: one Telegram chat, one X account, one Facebook Page."""

    type: ClassVar[ChannelType]
    supports_photos: ClassVar[bool] = False
    """Whether ``publish`` posts ``Post.photo`` (else the post's link card shows the image)."""
    can_find: ClassVar[bool] = False
    """Whether :meth:`find` can look at the account's recent posts (Telegram's API cannot)."""

    def __init__(self, name: str) -> None:
        self.name = name

    @abstractmethod
    async def publish(self, post: Post) -> Receipt:
        """Publish the post; raise a PublishError subclass when the network refuses or fails."""

    @abstractmethod
    async def check(self) -> str:
        """Ask the network who we are (bot, account or page); raise PublishError if we can't."""

    async def find(self, link: str, since: datetime) -> Receipt | None:
        """Our post carrying ``link`` published since ``since``, if the network has one.

        Settles a post whose outcome is unknown (the process stopped while sending, or the
        answer was lost) without posting it twice.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot look up its posts")

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


def same_link(found: str, ours: str) -> bool:
    """Whether a link a network shows is the one we posted (it may tidy the URL)."""
    if not found:
        return False
    if found == ours:
        return True
    try:
        return normalise_url(found) == normalise_url(ours)
    except ValueError:
        return False


def requests_failure(exc: requests.RequestException, network: str) -> PublishError:
    """Map a requests transport error: nothing sent -> transient; answer lost -> uncertain."""
    if isinstance(exc, requests.ConnectTimeout):
        return TransientError(f"{network}: connection timed out")
    if isinstance(exc, requests.ReadTimeout):
        return UncertainError(f"{network}: no answer in time; the post may have been published")
    if isinstance(exc, requests.ConnectionError):
        text = str(exc)
        if "RemoteDisconnected" in text or "Connection aborted" in text:
            return UncertainError(
                f"{network}: connection dropped before the answer; the post may have been published"
            )
        return TransientError(f"{network}: cannot connect ({type(exc).__name__})")
    return TransientError(redact(f"{network}: {type(exc).__name__}: {exc}"))


class BlockingChannel(Channel):
    """Base for adapters over synchronous libraries (tweepy, facebook-sdk).

    Their calls run in a worker thread so the event loop keeps serving; transport errors from
    requests are translated here once, library errors by the subclass. A library's error may
    not keep the HTTP answer (facebook-sdk's does not): the session given to :meth:`watch`
    keeps the last one of the calling thread, and every translated error carries its status.
    """

    network: ClassVar[str]

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._answers = threading.local()  # each worker thread's last HTTP answer

    def watch(self, session: requests.Session) -> requests.Session:
        """Have ``session`` keep each call's HTTP answer for the error that may follow."""
        session.hooks["response"].append(self._remember)
        return session

    def _remember(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._answers.response = response

    def last_answer(self) -> requests.Response | None:
        """The HTTP answer to this thread's last call within :meth:`_call`, if one came."""
        response: requests.Response | None = getattr(self._answers, "response", None)
        return response

    def receipt(self, remote_id: str, remote_url: str) -> Receipt:
        """A receipt for what this thread's last call published, with its answer's status."""
        answer = self.last_answer()
        return Receipt(remote_id, remote_url, http_status=answer.status_code if answer else None)

    async def _call(self, function: Callable[[], T]) -> T:
        return await asyncio.to_thread(self._run, function)

    def _run(self, function: Callable[[], T]) -> T:
        """In the worker thread: the call, and its failure translated where the answer is."""
        self._answers.response = None
        try:
            return function()
        except PublishError:
            raise
        except requests.RequestException as exc:
            raise requests_failure(exc, self.network) from exc
        except Exception as exc:
            answer = self.last_answer()
            error = self.translate(exc)
            raise error.answered(answer.status_code if answer is not None else None) from exc

    @abstractmethod
    def translate(self, exc: Exception) -> PublishError:
        """Map the library's own exception to one of ours, with the network's own error code
        (raise ``exc`` again if unknown); the HTTP status is added by the caller."""
