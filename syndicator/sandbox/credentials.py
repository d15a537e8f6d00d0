"""The identities the emulators answer to: one bot, one X account, one Facebook Page.

The defaults are fixed and obviously fake, so the demo can print them and point the real
client libraries at the emulators without anyone holding a real credential. They are shaped
like the real thing (a Telegram token is ``<bot id>:<35 characters>``, an X access token
starts with the account's numeric id) because the clients and the emulators check shapes.
"""

# The defaults below are published demo values, not secrets.
# ruff: noqa: S105

from __future__ import annotations

import re
from dataclasses import dataclass

TELEGRAM_TOKEN = re.compile(r"[0-9]{1,20}:[A-Za-z0-9_-]{35}")
_X_ACCESS_TOKEN = re.compile(r"([0-9]+)-[A-Za-z0-9]+")


@dataclass(frozen=True)
class SandboxCredentials:
    """What the emulators accept; anything else is refused as the real network would."""

    telegram_bot_token: str = "1000000001:SANDBOX_demo-token_not-a-secret_001"
    telegram_bot_username: str = "syndicator_demo_bot"
    x_consumer_key: str = "sandboxDemoConsumerKey0001"
    x_consumer_secret: str = "sandboxDemoConsumerSecretNotASecret0000000000001"
    x_access_token: str = "2000000002-sandboxDemoAccessTokenNotASecret0001"
    x_access_token_secret: str = "sandboxDemoAccessTokenSecretNotASecret000001"
    x_username: str = "syndicator_demo"
    facebook_page_id: str = "3000000000000003"
    facebook_page_name: str = "Syndicator Demo Page"
    facebook_page_token: str = "EAASandboxDemoPageTokenNotASecret0000000000000001"

    def __post_init__(self) -> None:
        # A malformed sandbox token would make the emulator refuse its own demo.
        if not TELEGRAM_TOKEN.fullmatch(self.telegram_bot_token):
            raise ValueError("telegram_bot_token must look like '<bot id>:<35 characters>'")
        if not _X_ACCESS_TOKEN.fullmatch(self.x_access_token):
            raise ValueError("x_access_token must look like '<numeric user id>-<characters>'")
        if not self.facebook_page_id.isdigit():
            raise ValueError("facebook_page_id must be numeric")

    @property
    def telegram_bot_id(self) -> int:
        return int(self.telegram_bot_token.split(":", 1)[0])

    @property
    def x_user_id(self) -> str:
        return self.x_access_token.split("-", 1)[0]


DEMO_CREDENTIALS = SandboxCredentials()
