"""Which template a post is rendered with: the channel's own, the source's, or the default.

    channel.template                          a channel's own file (any path)
    <templates_dir>/<source>/<type file>      an override for one source's articles
    <templates_dir>/<type file>               the default for the channel type

The first that exists wins. Every template is compiled and handed to a check when it is
loaded; the catalog loads everything it can know of at construction (the defaults, the
overrides of the sources it is told about, the channels' files), so that a broken one stops
the start. An override for a source it was not told about is looked up, loaded and
checked the first time an article from that source is rendered.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path

from syndicator.config import ChannelConfig
from syndicator.formatting.templates import TEMPLATE_NAMES, Template, TemplateLoader
from syndicator.records import ChannelType

# Source names as the configuration allows them: never a path of their own.
_SOURCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

Check = Callable[[Template], None]


class TemplateCatalog:
    """The templates of one directory and of the given channels, loaded and checked."""

    def __init__(
        self,
        templates_dir: Path,
        *,
        check: Check,
        sources: Iterable[str] = (),
        channels: Iterable[ChannelConfig] = (),
    ) -> None:
        self.directory = templates_dir
        self._loader = TemplateLoader(templates_dir)
        self._check = check
        self._defaults = {kind: self._load(name, kind) for kind, name in TEMPLATE_NAMES.items()}
        self._by_source: dict[tuple[str, ChannelType], Template | None] = {}
        self._by_file: dict[tuple[str, ChannelType], Template] = {}
        for source in sources:
            for kind in TEMPLATE_NAMES:
                self.for_source(source, kind)
        for channel in channels:
            self.for_channel(channel)

    def _load(self, name_or_path: str | Path, kind: ChannelType) -> Template:
        template = self._loader.load(name_or_path, kind)
        self._check(template)
        return template

    def default(self, kind: ChannelType) -> Template:
        """The channel type's template in the directory."""
        return self._defaults[kind]

    def for_source(self, source: str, kind: ChannelType) -> Template | None:
        """``<templates_dir>/<source>/<type file>`` if it exists, loaded and checked."""
        key = (source, kind)
        if key not in self._by_source:
            name = f"{source}/{TEMPLATE_NAMES[kind]}"
            exists = bool(_SOURCE_NAME.match(source)) and self._loader.path(name).is_file()
            self._by_source[key] = self._load(name, kind) if exists else None
        return self._by_source[key]

    def for_channel(self, channel: ChannelConfig) -> Template | None:
        """The channel's own ``template`` file, if it names one (relative to the CWD)."""
        if channel.template is None:
            return None
        key = (os.path.abspath(channel.template), channel.type)
        if key not in self._by_file:
            self._by_file[key] = self._load(channel.template, channel.type)
        return self._by_file[key]

    def choose(self, channel: ChannelConfig, source: str) -> Template:
        """The template for ``source``'s articles on ``channel``: the most specific one."""
        return (
            self.for_channel(channel)
            or self.for_source(source, channel.type)
            or self.default(channel.type)
        )
