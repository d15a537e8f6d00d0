"""Errors syndicator raises, as one tree.

    SyndicatorError
    ├── ConfigError (ValueError)        a configuration file is wrong: file, key path, reason
    ├── FeedError                       a feed could not be fetched or parsed: carries the feed
    ├── PageError                       an article page could not be read: carries the URL
    ├── TemplateError (ValueError)      a template does not compile or render: file and line
    ├── FormattingError (ValueError)    an article cannot be made into a post that fits
    └── PublishError                    a network refused or failed a post; ``kind`` says what to do
        ├── RateLimited                 try again at ``retry_after`` seconds from now
        ├── TransientError              try again later, with backoff
        ├── PermanentError              do not try again: the network will refuse it again
        ├── AuthError                   the credentials are wrong or expired: an operator must act
        └── UncertainError              the request left but no answer came: the post may exist

Foreign exceptions are translated at the boundary (``raise ... from e``); messages never hold
a secret (see ``syndicator.secrets``).
"""

from __future__ import annotations

import enum
from typing import Self


class SyndicatorError(Exception):
    """Root of every error syndicator raises on purpose."""


class ConfigError(SyndicatorError, ValueError):
    """A configuration file is invalid. ``str()`` reads ``file: key.path: reason``."""

    def __init__(self, file: str, key: str, reason: str) -> None:
        self.file = file
        self.key = key
        self.reason = reason
        where = f"{file}: {key}" if key else file
        super().__init__(f"{where}: {reason}")


class FeedError(SyndicatorError):
    """A feed could not be fetched or read at all."""

    def __init__(
        self,
        feed: str,
        reason: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.feed = feed
        self.reason = reason
        self.status = status
        self.retry_after = retry_after  # seconds the server asked us to wait (429/503)
        super().__init__(f"{feed}: {reason}")


class PageError(SyndicatorError):
    """An article's web page could not be fetched or read as an article."""

    def __init__(self, url: str, reason: str, *, status: int | None = None) -> None:
        self.url = url
        self.reason = reason
        self.status = status
        super().__init__(f"{url}: {reason}")


class TemplateError(SyndicatorError, ValueError):
    """A template is broken; says which file and line."""

    def __init__(self, template: str, line: int | None, reason: str) -> None:
        self.template = template
        self.line = line
        self.reason = reason
        where = f"{template}:{line}" if line else template
        super().__init__(f"{where}: {reason}")


class FormattingError(SyndicatorError, ValueError):
    """No post that keeps the link and the attribution fits the network's limit."""


class ErrorKind(enum.StrEnum):
    """What the delivery engine should do about a failed publish; stored in the posting log."""

    RATE_LIMITED = "rate_limited"
    TRANSIENT = "transient"
    PERMANENT = "permanent"
    AUTH = "auth"
    UNCERTAIN = "uncertain"


class PublishError(SyndicatorError):
    """A channel could not publish a post. Subclasses say which kind of failure it was.

    ``status`` is the HTTP status of the network's answer and ``code`` the network's own
    error code (Telegram's ``error_code``, X's problem type or v1.1 code, the Graph API's
    ``error.code``), both None where no answer came or it gave none; the posting log keeps them.
    """

    kind: ErrorKind = ErrorKind.TRANSIENT
    CODE_MAX = 64  # delivery_events.error_code is VARCHAR(64)

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        self.message = message
        self.status = status
        self.code = code[: self.CODE_MAX] if code else None
        super().__init__(message)

    def answered(self, status: int | None = None, code: object = None) -> Self:
        """The error, with what the network's answer said as it came over the wire (what was
        seen replaces what the translation assumed; None leaves the error's own value)."""
        if status is not None:
            self.status = status
        if code is not None and str(code):
            self.code = str(code)[: self.CODE_MAX]
        return self


class RateLimited(PublishError):
    kind = ErrorKind.RATE_LIMITED

    def __init__(
        self,
        message: str,
        *,
        retry_after: float,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message, status=status, code=code)
        self.retry_after = max(0.0, retry_after)


class TransientError(PublishError):
    kind = ErrorKind.TRANSIENT


class PermanentError(PublishError):
    kind = ErrorKind.PERMANENT


class AuthError(PublishError):
    kind = ErrorKind.AUTH


class UncertainError(PublishError):
    """The request was sent and the answer lost (read timeout, connection dropped).

    Sending again could post twice, so the delivery is not retried blindly.
    """

    kind = ErrorKind.UNCERTAIN
