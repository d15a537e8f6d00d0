"""The ``syndicator`` command: one module per group of commands, all on one Typer app."""

from syndicator.cli import (  # noqa: F401 - they register commands
    channels,
    daemon,
    deliveries,
    preview,
    sandbox,
    views,
)
from syndicator.cli.common import app


def main() -> None:
    app()


__all__ = ["app", "main"]
