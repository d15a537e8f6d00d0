"""Keeping credentials out of logs, error messages, the database and the dashboard.

Secrets travel as :class:`pydantic.SecretStr` (masked in ``repr``). That is not enough on its
own: HTTP libraries log request URLs, and the Telegram Bot API puts the bot token in the URL.
So every secret the process loads is registered with a :class:`Redactor`, whose
:class:`RedactingFilter` sits on the log handlers and whose :meth:`Redactor.redact` cleans any
text (an error message, a network's answer) before it is stored or shown.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

MASK = "[REDACTED]"
# Shorter strings are too likely to occur in ordinary text to be replaced blindly.
_MIN_SECRET_LENGTH = 6


class Redactor:
    """Replaces every registered secret value, wherever it appears, with a mask."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(*secrets)

    def add(self, *secrets: str) -> None:
        with self._lock:
            for secret in secrets:
                if secret and len(secret) >= _MIN_SECRET_LENGTH:
                    self._secrets.add(secret)
                    # A token may also appear URL-encoded (":" in a Telegram token is "%3A").
                    self._secrets.add(secret.replace(":", "%3A"))
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def redact(self, text: str) -> str:
        pattern = self._pattern
        return pattern.sub(MASK, text) if pattern is not None else text


class RedactingFilter(logging.Filter):
    """A handler filter that rewrites each record's final message without its secrets."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self.redactor.redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor.redact(record.exc_text)
        if cleaned != message or record.args:
            record.msg = cleaned
            record.args = None
        return True


# The process-wide redactor: logging handlers are process-wide too, so this is the one place
# every component registers the secrets it loads.
REDACTOR = Redactor()


def redact(text: str) -> str:
    return REDACTOR.redact(text)
