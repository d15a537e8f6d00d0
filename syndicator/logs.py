"""Process logging: one stderr handler, every line passed through the secrets redactor."""

from __future__ import annotations

import logging
import sys

from syndicator.secrets import REDACTOR, RedactingFilter

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
# Libraries that narrate every request or job at INFO; their warnings still show.
CHATTY = (
    "alembic",
    "apscheduler",
    "httpcore",
    "httpx",
    "telegram",
    "tweepy",
    "urllib3",
    "uvicorn",
)


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT, datefmt="%Y-%m-%d %H:%M:%S"))
    handler.addFilter(RedactingFilter(REDACTOR))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    numeric = logging.getLevelName(level.upper())
    root.setLevel(numeric if isinstance(numeric, int) else logging.INFO)
    if root.level > logging.DEBUG:
        for name in CHATTY:
            logging.getLogger(name).setLevel(logging.WARNING)
