"""Channel adapters: one module per network, all behind :class:`Channel`.

A network is added by writing its module and registering it in ``ADAPTERS``; nothing else
in the pipeline names a network's library.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import SecretStr

from syndicator.channels.base import Channel
from syndicator.channels.facebook import FacebookChannel
from syndicator.channels.telegram import TelegramChannel
from syndicator.channels.twitter import TwitterChannel
from syndicator.config import ChannelConfig
from syndicator.records import ChannelType

ADAPTERS: dict[ChannelType, type[Channel]] = {
    ChannelType.TELEGRAM: TelegramChannel,
    ChannelType.TWITTER: TwitterChannel,
    ChannelType.FACEBOOK: FacebookChannel,
}


def build_channel(config: ChannelConfig, secrets: dict[str, SecretStr]) -> Channel:
    """The adapter for one configured channel, holding its secrets."""
    adapter: Callable[[Any, dict[str, SecretStr]], Channel] = ADAPTERS[config.type]
    return adapter(config, secrets)


__all__ = ["ADAPTERS", "Channel", "build_channel"]
