"""Configuration: a bad file is reported with its name, the key path and the reason."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import BaseModel

from syndicator.config import (
    DaemonConfig,
    DatabaseConfig,
    FacebookChannelConfig,
    Settings,
    SourceConfig,
    TelegramChannelConfig,
    TwitterChannelConfig,
    find_config,
    load_settings,
)
from syndicator.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config" / "syndicator.example.toml"

CHANNELS = """
[[channels]]
name = "telegram"
type = "telegram"
chat_id = "@newschan"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "syndicator.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_for(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    return str(caught.value).replace(str(path), "FILE")


def test_the_example_configuration_is_valid() -> None:
    settings = load_settings(EXAMPLE)
    assert [s.name for s in settings.sources] == ["eurasiadiary"]
    assert [c.type.value for c in settings.channels] == ["telegram", "twitter", "facebook"]
    assert settings.sources[0].every == timedelta(minutes=2)


def test_a_missing_key_names_the_file_and_the_key_path(tmp_path: Path) -> None:
    text = CHANNELS + '[[channels]]\nname = "fb"\ntype = "facebook"\n'
    assert error_for(tmp_path, text) == "FILE: channels[1].page_id: field required"


def test_an_unknown_key_is_refused(tmp_path: Path) -> None:
    text = CHANNELS + 'chat = "@typo"\n'
    assert error_for(tmp_path, text) == "FILE: channels[0].chat: unknown key"


def test_an_unknown_channel_type_lists_the_known_ones(tmp_path: Path) -> None:
    text = '[[channels]]\nname = "m"\ntype = "mastodon"\n'
    assert error_for(tmp_path, text) == (
        "FILE: channels[0].type: must be one of facebook, telegram, twitter (got 'mastodon')"
    )


def test_a_source_naming_an_unknown_channel_is_refused(tmp_path: Path) -> None:
    text = CHANNELS + (
        '[[sources]]\nname = "site"\nfeed = "https://x.example.com/rss"\n'
        'attribution = "Site"\nchannels = ["telegram", "tg"]\n'
    )
    assert error_for(tmp_path, text) == (
        "FILE: sources[0].channels[1]: unknown channel 'tg' (defined: telegram)"
    )


def test_a_bad_duration_says_how_to_write_one(tmp_path: Path) -> None:
    text = CHANNELS + (
        '[[sources]]\nname = "site"\nfeed = "f.xml"\nattribution = "Site"\n'
        'channels = ["telegram"]\nevery = "two minutes"\n'
    )
    assert "FILE: sources[0].every: not a duration: 'two minutes'" in error_for(tmp_path, text)


def test_invalid_toml_reports_the_line(tmp_path: Path) -> None:
    message = error_for(tmp_path, CHANNELS + "name = = 1\n")
    assert message.startswith("FILE: not valid TOML:") and "line 6" in message


def test_duplicate_names_are_refused(tmp_path: Path) -> None:
    assert error_for(tmp_path, CHANNELS + CHANNELS) == (
        "FILE: channels[1].name: duplicate name 'telegram'"
    )


def test_durations_accept_the_usual_forms(tmp_path: Path) -> None:
    for text, seconds in [("90s", 90), ("2m", 120), ("1h30m", 5400), ("1d", 86400), ("45", 45)]:
        value = f'"{text}"' if not text.isdigit() else text
        path = write(
            tmp_path,
            CHANNELS + f'[[sources]]\nname = "s"\nfeed = "f.xml"\nattribution = "S"\n'
            f'channels = ["telegram"]\nevery = {value}\n',
        )
        assert load_settings(path).sources[0].every == timedelta(seconds=seconds)


def test_missing_secrets_are_all_reported_with_their_keys_and_no_values(tmp_path: Path) -> None:
    settings = load_settings(EXAMPLE)
    environ = {"TELEGRAM_BOT_TOKEN": "123:telegram-secret", "X_CONSUMER_KEY": "ck-secret"}
    with pytest.raises(ConfigError) as caught:
        settings.secrets(environ)
    message = str(caught.value)
    assert "channels[1].consumer_secret_env: environment variable X_CONSUMER_SECRET" in message
    assert "channels[2].page_token_env: environment variable FACEBOOK_PAGE_TOKEN" in message
    assert "telegram-secret" not in message and "ck-secret" not in message


def test_secrets_are_masked_when_printed(tmp_path: Path) -> None:
    settings = load_settings(EXAMPLE)
    environ = {
        name: f"value-of-{name}"
        for name in (
            "TELEGRAM_BOT_TOKEN",
            "X_CONSUMER_KEY",
            "X_CONSUMER_SECRET",
            "X_ACCESS_TOKEN",
            "X_ACCESS_TOKEN_SECRET",
            "FACEBOOK_PAGE_TOKEN",
        )
    }
    secrets = settings.secrets(environ)
    assert secrets["telegram"]["token"].get_secret_value() == "value-of-TELEGRAM_BOT_TOKEN"
    assert "value-of" not in repr(secrets) and "value-of" not in str(secrets)


def test_the_config_file_is_found_in_the_documented_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    explicit, from_env = tmp_path / "a.toml", tmp_path / "b.toml"
    explicit.write_text(""), from_env.write_text("")
    assert find_config(None, {}) is None  # nothing anywhere: the demo
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "syndicator.toml").write_text("")
    assert find_config(None, {}) == Path("config/syndicator.toml")
    assert find_config(None, {"SYNDICATOR_CONFIG": str(from_env)}) == from_env
    assert find_config(explicit, {"SYNDICATOR_CONFIG": str(from_env)}) == explicit
    with pytest.raises(ConfigError, match="no such file"):
        find_config(tmp_path / "missing.toml", {})


def test_the_default_database_is_a_sqlite_file_in_the_data_directory() -> None:
    settings = Settings(data_dir=Path("/srv/syndicator"))
    assert settings.database_url == "sqlite:////srv/syndicator/syndicator.db"


def test_every_configuration_key_is_documented() -> None:
    documented = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    models: list[type[BaseModel]] = [
        Settings,
        DatabaseConfig,
        DaemonConfig,
        SourceConfig,
        TelegramChannelConfig,
        TwitterChannelConfig,
        FacebookChannelConfig,
    ]
    keys = {
        key for model in models for key, field in model.model_fields.items() if not field.exclude
    }
    # A key is documented in a table (`key`) or as a section heading ([key], [[key]]).
    missing = sorted(k for k in keys if not re.search(rf"`{k}`|`\[\[?{k}\]\]?`", documented))
    assert missing == []
