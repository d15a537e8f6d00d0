"""The configuration: one TOML file, validated once, then passed to whoever needs it.

Where it comes from: ``--config PATH``, else ``$SYNDICATOR_CONFIG``, else
``config/syndicator.toml``; with none of these, the embedded demo (see ``syndicator.demo``).
Secrets never sit in the file: a channel names the environment variables that hold them, and
:meth:`Settings.secrets` reads them when the daemon starts. Every error names the file, the key
path and the reason, e.g. ``config/syndicator.toml: channels[1].chat_id: field required``.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from datetime import time, timedelta
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from syndicator.delivery.pacing import Pace
from syndicator.errors import ConfigError
from syndicator.records import ChannelType

DEFAULT_CONFIG_PATH = Path("config/syndicator.toml")
CONFIG_ENV = "SYNDICATOR_CONFIG"
DEFAULT_FACEBOOK_API_VERSION = "v26.0"

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|d|h|m|s)")
_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def parse_duration(value: object) -> timedelta:
    """``"90s"``, ``"2m"``, ``"1h30m"``, ``"1d"`` or a number of seconds."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=float(value))
    if isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        parts = _DURATION.findall(text)
        if parts and "".join(n + u for n, u in parts) == text:
            return timedelta(seconds=sum(float(n) * _UNITS[u] for n, u in parts))
    raise ValueError(f'not a duration: {value!r} (use e.g. "30s", "2m", "1h30m")')


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]

_QUIET = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def parse_quiet_hours(value: str) -> tuple[time, time] | None:
    """``"23:00-07:00"`` as (start, end) local times, or None if it is not written so."""
    found = _QUIET.match(value)
    if found is None:
        return None
    h1, m1, h2, m2 = map(int, found.groups())
    if max(h1, h2) > 23 or max(m1, m2) > 59 or (h1, m1) == (h2, m2):
        return None
    return time(h1, m1), time(h2, m2)


Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=64)]
EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseConfig(_Section):
    url: str | None = None
    """SQLAlchemy URL; default: a SQLite file ``syndicator.db`` in the data directory."""


class DaemonConfig(_Section):
    dispatch_every: Duration = timedelta(seconds=5)
    """How often an idle channel looks for work another worker queued (a poll of this
    worker wakes it at once, and a channel with work sleeps only as long as its pace says)."""
    lease: Duration = timedelta(minutes=2)
    """How long a worker's claim on a delivery holds; a delivery still ``sending`` after it
    becomes ``uncertain``. Never shorter than three times the channel's ``timeout``."""
    sweep_every: Duration = timedelta(seconds=30)
    """How often expired leases are looked for and uncertain posts looked up on the network."""

    @field_validator("lease", "sweep_every", "dispatch_every")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be more than 0s")
        return value


class PollingConfig(_Section):
    """How feeds are fetched: politely, and without letting one feed hurt the others."""

    max_connections: int = Field(default=64, ge=1)
    max_per_host: int = Field(default=4, ge=1)
    connect_timeout: Duration = timedelta(seconds=10)
    read_timeout: Duration = timedelta(seconds=30)
    max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    jitter: Duration = timedelta(seconds=5)
    max_backoff: Duration = timedelta(hours=6)


class HttpConfig(_Section):
    """The daemon's HTTP listener (WebSub callbacks), started when something needs it."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)


class WebSubConfig(_Section):
    callback_base: str | None = None
    """Public URL at which hubs reach this daemon's listener; WebSub is off without it."""
    lease: Duration = timedelta(days=1)

    @field_validator("callback_base")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/") if value else value


class SourceConfig(_Section):
    name: Name
    feed: str
    every: Duration = timedelta(minutes=5)
    attribution: str = Field(min_length=1)
    channels: list[Name] = Field(min_length=1)
    backfill: int = Field(default=0, ge=0)
    include_categories: list[str] = Field(default_factory=list)
    exclude_categories: list[str] = Field(default_factory=list)
    include: list[str] = Field(default_factory=list)
    """Keywords, or ``/regular expressions/``, one of which the title or summary must hold."""
    exclude: list[str] = Field(default_factory=list)
    max_age: Duration | None = None

    @field_validator("include", "exclude")
    @classmethod
    def _patterns_compile(cls, values: list[str]) -> list[str]:
        for value in values:
            if len(value) > 2 and value.startswith("/") and value.endswith("/"):
                try:
                    re.compile(value[1:-1])
                except re.error as exc:
                    raise ValueError(f"{value}: not a regular expression: {exc}") from None
            elif not value.strip():
                raise ValueError("empty keyword")
        return values

    @field_validator("every")
    @classmethod
    def _not_too_often(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=1):
            raise ValueError("must be at least 1s")
        return value


class _ChannelBase(_Section):
    name: Name
    api_base_url: str | None = None
    """Where the adapter sends its API calls instead of the network's own host."""
    timeout: Duration = timedelta(seconds=30)
    """How long to wait for the network's answer to one call."""
    template: Path | None = None
    """This channel's own template, instead of ``<templates_dir>/<type>.*.j2``."""
    hashtags: bool = False
    """Add hashtags made from the article's categories, while they fit."""
    max_hashtags: int = Field(default=3, ge=0, le=10)
    utm: dict[str, str] = Field(default_factory=dict)
    """UTM parameters added to the article link, e.g. {source = "telegram", medium = "social"}."""
    images: bool = False
    """Post the article's image (Telegram photo with caption, Facebook photo post)."""
    # Pacing; None means the network's default (DEFAULT_SPACING).
    min_spacing: Duration | None = None
    max_per_hour: int | None = Field(default=None, ge=1)
    max_per_day: int | None = Field(default=None, ge=1)
    max_per_month: int | None = Field(default=None, ge=1)
    quiet_hours: str | None = None
    """Local times during which nothing is posted, e.g. "23:00-07:00" (may cross midnight)."""
    timezone: str = "UTC"
    delay: Duration = timedelta(0)
    """How long after an article's publication its post may go out."""
    hold: bool = False
    """Every new delivery on this channel waits (``held``) until an editor releases it."""

    DEFAULT_SPACING: ClassVar[timedelta] = timedelta(seconds=5)

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str | None) -> str | None:
        if value is not None and parse_quiet_hours(value) is None:
            raise ValueError('write it as "HH:MM-HH:MM", e.g. "23:00-07:00"')
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f'unknown time zone {value!r} (e.g. "Asia/Baku")') from None
        return value

    def pace(self) -> Pace:
        """The pacing rules, the network's defaults filled in."""
        spacing = self.min_spacing if self.min_spacing is not None else self.DEFAULT_SPACING
        return Pace(
            min_spacing=spacing,
            max_per_hour=self.max_per_hour,
            max_per_day=self.max_per_day,
            max_per_month=self.max_per_month,
            quiet_hours=parse_quiet_hours(self.quiet_hours) if self.quiet_hours else None,
            timezone=self.timezone,
            delay=self.delay,
        )

    @field_validator("utm")
    @classmethod
    def _utm_keys(cls, value: dict[str, str]) -> dict[str, str]:
        allowed = {"source", "medium", "campaign", "term", "content", "id"}
        for key in value:
            if key.removeprefix("utm_") not in allowed:
                raise ValueError(f"{key!r} is not a UTM parameter ({', '.join(sorted(allowed))})")
        return {f"utm_{k.removeprefix('utm_')}": v for k, v in value.items()}

    @field_validator("api_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/") if value else value

    def secret_envs(self) -> dict[str, str]:
        """Key name -> the environment variable that holds that secret."""
        return {
            key: value
            for key, value in self.model_dump().items()
            if key.endswith("_env") and isinstance(value, str)
        }


class TelegramChannelConfig(_ChannelBase):
    # Telegram: about 20 messages a minute to one group or channel (Bots FAQ).
    DEFAULT_SPACING: ClassVar[timedelta] = timedelta(seconds=3)
    type: Literal[ChannelType.TELEGRAM]
    chat_id: int | Annotated[str, Field(pattern=r"^(@[A-Za-z][A-Za-z0-9_]{3,31}|-?\d+)$")]
    token_env: EnvName = "TELEGRAM_BOT_TOKEN"


class TwitterChannelConfig(_ChannelBase):
    # X: 100 posts per 15 minutes per user (POST /2/tweets).
    DEFAULT_SPACING: ClassVar[timedelta] = timedelta(seconds=9)
    type: Literal[ChannelType.TWITTER]
    consumer_key_env: EnvName = "X_CONSUMER_KEY"
    consumer_secret_env: EnvName = "X_CONSUMER_SECRET"
    access_token_env: EnvName = "X_ACCESS_TOKEN"
    access_token_secret_env: EnvName = "X_ACCESS_TOKEN_SECRET"


class FacebookChannelConfig(_ChannelBase):
    # Facebook documents no per-Page posting rate; its call budget is shared (BUC): be gentle.
    DEFAULT_SPACING: ClassVar[timedelta] = timedelta(seconds=10)
    type: Literal[ChannelType.FACEBOOK]
    page_id: Annotated[str, Field(pattern=r"^\d+$")]
    page_token_env: EnvName = "FACEBOOK_PAGE_TOKEN"
    api_version: Annotated[str, Field(pattern=r"^v\d+\.\d+$")] = DEFAULT_FACEBOOK_API_VERSION

    @field_validator("page_id", mode="before")
    @classmethod
    def _digits(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value


ChannelConfig = Annotated[
    TelegramChannelConfig | TwitterChannelConfig | FacebookChannelConfig,
    Field(discriminator="type"),
]


class Settings(_Section):
    data_dir: Path = Path("data")
    templates_dir: Path | None = None
    database: DatabaseConfig = DatabaseConfig()
    daemon: DaemonConfig = DaemonConfig()
    polling: PollingConfig = PollingConfig()
    http: HttpConfig = HttpConfig()
    websub: WebSubConfig = WebSubConfig()
    sources: list[SourceConfig] = Field(default_factory=list)
    channels: list[ChannelConfig] = Field(default_factory=list)
    source_file: str = Field(default="<settings>", exclude=True)

    @model_validator(mode="after")
    def _names_resolve(self) -> Settings:
        _unique(self.sources, "sources")
        _unique(self.channels, "channels")
        known = {c.name for c in self.channels}
        for i, source in enumerate(self.sources):
            for j, name in enumerate(source.channels):
                if name not in known:
                    raise _KeyedError(
                        f"sources[{i}].channels[{j}]",
                        f"unknown channel {name!r} (defined: {', '.join(sorted(known)) or 'none'})",
                    )
        return self

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.data_dir / 'syndicator.db'}"

    def channel(self, name: str) -> ChannelConfig:
        for channel in self.channels:
            if channel.name == name:
                return channel
        raise KeyError(name)

    def secrets(self, environ: Mapping[str, str] | None = None) -> dict[str, dict[str, SecretStr]]:
        """Read every channel's secrets from the environment: channel -> key -> secret.

        Missing variables are reported all at once, each with its key path.
        """
        env = os.environ if environ is None else environ
        found: dict[str, dict[str, SecretStr]] = {}
        missing: list[str] = []
        for i, channel in enumerate(self.channels):
            values: dict[str, SecretStr] = {}
            for key, var in channel.secret_envs().items():
                value = env.get(var, "").strip()
                if value:
                    values[key.removesuffix("_env")] = SecretStr(value)
                else:
                    missing.append(f"channels[{i}].{key}: environment variable {var} is not set")
            found[channel.name] = values
        if missing:
            raise ConfigError(self.source_file, "", "; ".join(missing))
        return found


class _KeyedError(ValueError):
    """A cross-field error that knows its key path (pydantic's loc would be the model)."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(reason)
        self.key = key
        self.reason = reason


def _unique(items: list[SourceConfig] | list[ChannelConfig], section: str) -> None:
    seen: set[str] = set()
    for i, item in enumerate(items):
        if item.name in seen:
            raise _KeyedError(f"{section}[{i}].name", f"duplicate name {item.name!r}")
        seen.add(item.name)


_TAGS = {t.value for t in ChannelType}


def _key_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    previous: int | str | None = None
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif isinstance(previous, int) and part in _TAGS:
            pass  # pydantic inserts the union member's tag; the user never wrote it
        else:
            path += f".{part}" if path else part
        previous = part
    return path


def _reason(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    if kind == "missing":
        return "field required"
    if kind == "extra_forbidden":
        return "unknown key"
    if kind in {"union_tag_invalid", "union_tag_not_found"}:
        got = error.get("ctx", {}).get("tag")
        return f"must be one of {', '.join(sorted(_TAGS))}" + (f" (got {got!r})" if got else "")
    message = str(error["msg"])
    message = message.removeprefix("Value error, ")
    return message[:1].lower() + message[1:]


def settings_from_mapping(data: Mapping[str, Any], source_file: str) -> Settings:
    """Validate already-parsed TOML data; raise ConfigError with file, key path and reason."""
    try:
        return Settings.model_validate({**data, "source_file": source_file})
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        ctx_error = first.get("ctx", {}).get("error")
        if isinstance(ctx_error, _KeyedError):
            raise ConfigError(source_file, ctx_error.key, ctx_error.reason) from None
        key = _key_path(first["loc"])
        if first["type"] in {"union_tag_invalid", "union_tag_not_found"}:
            key += ".type"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ConfigError(source_file, key, _reason(first) + more) from None


def load_settings(path: Path) -> Settings:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot read: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), "", f"not valid TOML: {exc}") from None
    return settings_from_mapping(data, str(path))


def find_config(explicit: Path | None, environ: Mapping[str, str] | None = None) -> Path | None:
    """The config file to use, or None when there is none (the demo runs then)."""
    env = os.environ if environ is None else environ
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(str(explicit), "", "no such file (given with --config)")
        return explicit
    from_env = env.get(CONFIG_ENV)
    if from_env:
        path = Path(from_env)
        if not path.is_file():
            raise ConfigError(str(path), "", f"no such file (named by ${CONFIG_ENV})")
        return path
    return DEFAULT_CONFIG_PATH if DEFAULT_CONFIG_PATH.is_file() else None
