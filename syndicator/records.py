"""Small immutable records passed between the pipeline's stages.

source --FeedEntry--> store --Article--> formatting --Post--> channel --Receipt--> log
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class ChannelType(enum.StrEnum):
    TELEGRAM = "telegram"
    TWITTER = "twitter"
    FACEBOOK = "facebook"


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One item as a source read it, before the store has seen it.

    Text fields are plain text (HTML already removed); ``url`` is absolute.
    """

    guid: str
    url: str
    title: str
    summary: str = ""
    published: datetime | None = None
    categories: tuple[str, ...] = ()
    image_url: str | None = None
    author: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Article(FeedEntry):
    """An entry the store has kept, as the formatter reads it: with its id and its source."""

    id: int
    source: str


@dataclass(frozen=True, slots=True)
class Photo:
    """An image fetched for a post, uploaded to the network with it."""

    data: bytes
    content_type: str
    source_url: str


@dataclass(frozen=True, slots=True)
class Post:
    """What one channel publishes for one article, already fitted to the network's limits.

    ``text`` is in the channel's own markup (Telegram: its HTML subset; X and Facebook: plain
    text). ``link`` is the article's URL as it must be linked (a link card on Facebook, the
    link preview on Telegram).
    """

    text: str
    link: str
    image_url: str | None = None
    length: int = 0
    limit: int = 0
    photo: Photo | None = None  # set: publish as a photo with ``text`` as its caption


@dataclass(frozen=True, slots=True)
class Receipt:
    """What the network answered for a published post."""

    remote_id: str
    remote_url: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    http_status: int | None = None  # of the answer that published it, for the posting log


class DeliveryStatus(enum.StrEnum):
    """Where one article stands on one channel. Every change is a row in the posting log."""

    QUEUED = "queued"  # due to be sent
    SENDING = "sending"  # committed before the network is called
    SENT = "sent"  # the network has it; remote id recorded
    WAITING = "waiting"  # will be tried again at a known time
    FAILED = "failed"  # will not be tried again; the reason is recorded
    UNCERTAIN = "uncertain"  # stopped while sending: the network may or may not have it
    HELD = "held"  # waits for an editor
    CANCELLED = "cancelled"  # an editor withdrew it
    SKIPPED = "skipped"  # never to be sent (e.g. already in the feed at first poll)

    @property
    def is_due_state(self) -> bool:
        return self in (DeliveryStatus.QUEUED, DeliveryStatus.WAITING)
