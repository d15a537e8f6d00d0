"""What every ``syndicator`` command shares: the app, the consoles, the --config option."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from syndicator import __version__
from syndicator.config import Settings, find_config, load_settings
from syndicator.errors import SyndicatorError
from syndicator.store import Database

app = typer.Typer(
    help="Announce a news site's new articles on Telegram, X and Facebook, exactly once each.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
app.add_typer(db_app, name="db")

log = logging.getLogger("syndicator")
out = Console()
if not out.is_terminal:  # piped or captured: do not fold rows at 80 columns
    out = Console(width=200)
err = Console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="TOML file (default: $SYNDICATOR_CONFIG, else config/syndicator.toml, "
        "else the embedded demo).",
        dir_okay=False,
    ),
]
LogLevel = Annotated[str, typer.Option("--log-level", help="DEBUG, INFO, WARNING or ERROR.")]
JsonOption = Annotated[bool, typer.Option("--json", help="One JSON object per line.")]


def configured(config: Path | None) -> Settings | None:
    """The configured settings, or None for the demo."""
    path = find_config(config)
    return load_settings(path) if path is not None else None


def settings_or_demo(config: Path | None) -> Settings:
    """The configured settings, else the demo's (whose database the demo writes)."""
    settings = configured(config)
    if settings is None:
        from syndicator.demo import demo_settings

        return demo_settings()
    return settings


def open_store(config: Path | None) -> tuple[Settings, Database]:
    """The settings (or the demo's) and their database, migrated; a user error exits 2."""
    try:
        settings = settings_or_demo(config)
    except SyndicatorError as exc:
        raise fail(exc) from None
    database = Database(settings.database_url)
    database.upgrade()
    return settings, database


def fail(exc: SyndicatorError) -> typer.Exit:
    """Print a user error (no traceback) and exit 2."""
    err.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
    return typer.Exit(2)


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"syndicator {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=version_callback, is_eager=True, help="Show version."),
    ] = None,
) -> None:
    """syndicator: feeds in, posts out, exactly once, always with the link and attribution."""
