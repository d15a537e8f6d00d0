"""Builders for the formatting tests: channels as the configuration makes them, articles."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from syndicator.config import (
    ChannelConfig,
    FacebookChannelConfig,
    TelegramChannelConfig,
    TwitterChannelConfig,
)
from syndicator.records import Article, ChannelType

DEFAULT_TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
URL = "https://www.examplenews.com/world/2024/05/01/floods-hit-riverside-town"
ATTRIBUTION = "Example News"


def channel(kind: ChannelType | str, name: str = "", **settings: Any) -> ChannelConfig:
    """A channel of ``kind`` as the configuration would load it (UTM keys validated too)."""
    kind = ChannelType(kind)
    fields: dict[str, Any] = {"type": kind, "name": name or f"{kind}-main", **settings}
    if kind is ChannelType.TELEGRAM:
        return TelegramChannelConfig(**{"chat_id": "@newschan", **fields})
    if kind is ChannelType.TWITTER:
        return TwitterChannelConfig(**fields)
    return FacebookChannelConfig(**{"page_id": "1234567890", **fields})


def article(title: str = "Floods hit riverside town", summary: str = "", **kw: Any) -> Article:
    fields: dict[str, Any] = {
        "id": 1,
        "source": "world",
        "guid": "g-1",
        "url": URL,
        "title": title,
        "summary": summary,
        "published": datetime(2024, 5, 1, 8, 0, tzinfo=UTC),
        "image_url": "https://www.examplenews.com/img/floods.jpg",
    }
    fields.update(kw)
    return Article(**fields)


def copy_templates(tmp_path: Path) -> Path:
    """A writable copy of the default templates."""
    return Path(shutil.copytree(DEFAULT_TEMPLATES, tmp_path / "templates"))


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
