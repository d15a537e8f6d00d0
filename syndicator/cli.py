"""The ``syndicator`` command: the daemon, the posting log, the database and the sandbox."""

from __future__ import annotations

import asyncio
import json
import logging
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from pydantic import SecretStr
from rich.console import Console
from rich.table import Table

from syndicator import __version__
from syndicator.config import Settings, find_config, load_settings
from syndicator.errors import ConfigError, SyndicatorError
from syndicator.logs import setup_logging
from syndicator.records import DeliveryStatus
from syndicator.store import Database
from syndicator.store.deliveries import LogEntry, log_entries

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


def _settings(config: Path | None) -> Settings | None:
    """The configured settings, or None for the demo."""
    path = find_config(config)
    return load_settings(path) if path is not None else None


def _fail(exc: Exception) -> typer.Exit:
    err.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
    return typer.Exit(2)


@app.command()
def run(
    config: ConfigOption = None,
    once: Annotated[
        bool, typer.Option("--once", help="Poll every source once, send what is due, exit.")
    ] = False,
    log_level: LogLevel = "INFO",
) -> None:
    """Run the daemon (with no configuration: the embedded demo)."""
    setup_logging(log_level)
    try:
        settings = _settings(config)
        if settings is None:
            if once:
                raise ConfigError("config/syndicator.toml", "", "--once needs a configuration")
            asyncio.run(_run_demo())
            return
        secrets = settings.secrets()
        code = asyncio.run(_run(settings, secrets, once))
    except SyndicatorError as exc:
        raise _fail(exc) from None
    raise typer.Exit(code)


async def _run_demo() -> None:
    from syndicator.daemon import install_stop_signals
    from syndicator.demo import run_demo

    stop = asyncio.Event()
    install_stop_signals(stop)
    await run_demo(stop)


async def _run(settings: Settings, secrets: dict[str, dict[str, SecretStr]], once: bool) -> int:
    from syndicator.daemon import install_stop_signals, open_daemon

    async with AsyncExitStack() as stack:
        daemon = await open_daemon(stack, settings, secrets)
        if once:
            report = await daemon.run_once()
            log.info(
                "done: %d sent, %d not sent (%s)",
                report.count(DeliveryStatus.SENT),
                report.problems,
                ", ".join(f"{k}: {v}" for k, v in sorted(report.outcomes.items())) or "nothing due",
            )
            return 1 if report.problems else 0
        stop = asyncio.Event()
        install_stop_signals(stop)
        await daemon.run(stop)
        return 0


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None) -> None:
    """Apply the database migrations that are not applied yet."""
    try:
        settings = _settings(config) or _demo_settings()
    except SyndicatorError as exc:
        raise _fail(exc) from None
    database = Database(settings.database_url)
    database.upgrade()
    out.print(f"database {database.display_url} is up to date")


def _demo_settings() -> Settings:
    from syndicator.demo import demo_settings

    return demo_settings()


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _json_line(entry: LogEntry) -> str:
    return json.dumps(
        {
            "delivery_id": entry.delivery_id,
            "article_id": entry.article_id,
            "article_url": entry.article_url,
            "article_title": entry.article_title,
            "source": entry.source,
            "channel": entry.channel,
            "status": entry.status,
            "attempts": entry.attempts,
            "remote_id": entry.remote_id,
            "remote_url": entry.remote_url,
            "error": entry.error,
            "error_kind": entry.error_kind,
            "next_attempt_at": _when(entry.next_attempt_at),
            "created_at": _when(entry.created_at),
            "updated_at": _when(entry.updated_at),
        },
        ensure_ascii=False,
    )


STATUS_STYLE = {
    "sent": "green",
    "failed": "bold red",
    "uncertain": "bold yellow",
    "waiting": "yellow",
    "skipped": "dim",
}


@app.command("log")
def show_log(
    config: ConfigOption = None,
    channel: Annotated[str | None, typer.Option(help="Only this channel.")] = None,
    status: Annotated[
        DeliveryStatus | None, typer.Option(help="Only deliveries in this state.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many rows.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """The posting log, newest first: what went out where, and what each network answered."""
    try:
        settings = _settings(config) or _demo_settings()
        if channel is not None and channel not in {c.name for c in settings.channels}:
            known = ", ".join(c.name for c in settings.channels) or "none"
            raise ConfigError(settings.source_file, "", f"unknown channel {channel!r} ({known})")
    except SyndicatorError as exc:
        raise _fail(exc) from None
    database = Database(settings.database_url)
    database.upgrade()
    with database.session() as session:
        entries = log_entries(
            session, channel=channel, status=status.value if status else None, limit=limit
        )
    if as_json:
        for entry in entries:
            typer.echo(_json_line(entry))
        return
    table = Table(title=f"Posting log ({len(entries)} newest)", title_justify="left")
    for column in ("time (UTC)", "channel", "state", "article", "post / error"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        outcome = entry.remote_url or entry.remote_id or entry.error or ""
        if entry.status == "waiting" and entry.next_attempt_at:
            outcome = f"{outcome} (next try {entry.next_attempt_at:%H:%M:%S})".strip()
        style = STATUS_STYLE.get(entry.status, "")
        table.add_row(
            f"{entry.updated_at:%Y-%m-%d %H:%M:%S}",
            entry.channel,
            f"[{style}]{entry.status}[/]" if style else entry.status,
            entry.article_title,
            outcome,
        )
    out.print(table)


def _ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    seconds = (now - moment).total_seconds()
    if seconds < 0:
        return f"in {_span(-seconds)}"
    return f"{_span(seconds)} ago"


def _span(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 5400:
        return f"{seconds / 60:.0f}m"
    if seconds < 172800:
        return f"{seconds / 3600:.0f}h"
    return f"{seconds / 86400:.0f}d"


@app.command("sources")
def show_sources(
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Each source's health: last success, last error, failures in a row, articles seen."""
    from syndicator.store.sources import SourceHealth, source_health

    try:
        settings = _settings(config) or _demo_settings()
    except SyndicatorError as exc:
        raise _fail(exc) from None
    database = Database(settings.database_url)
    database.upgrade()
    with database.session() as session:
        known = {h.name: h for h in source_health(session)}
    health = [
        known.get(s.name)
        or SourceHealth(s.name, s.feed, None, None, None, None, 0, None, 0, None)
        for s in settings.sources
    ]
    if as_json:
        for item in health:
            typer.echo(json.dumps(item.as_json(), ensure_ascii=False))
        return
    now = datetime.now(UTC)
    table = Table(title=f"Sources ({len(health)})", title_justify="left")
    for column in ("source", "last success", "failures", "HTTP", "seen", "next poll", "last error"):
        table.add_column(column, overflow="fold")
    for item in health:
        failing = item.consecutive_failures > 0
        table.add_row(
            item.name,
            _ago(item.last_success_at, now),
            f"[bold red]{item.consecutive_failures}[/]" if failing else "0",
            str(item.last_status or ""),
            str(item.articles_seen),
            _ago(item.next_poll_at, now) if item.next_poll_at else "on schedule",
            item.last_error or "",
        )
    out.print(table)


@app.command()
def sandbox(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0: any free port).")] = 8765,
) -> None:
    """Serve the emulators of the Telegram, X and Facebook APIs, for trying things safely."""
    from syndicator.daemon import install_stop_signals
    from syndicator.sandbox import DEMO_CREDENTIALS, build_sandbox_app
    from syndicator.serving import bind, serve_until

    setup_logging("INFO")
    sock = bind(host, port)
    url = "http://{}:{}".format(*sock.getsockname()[:2])
    creds = DEMO_CREDENTIALS
    out.print(
        f"Emulators at {url} (Ctrl+C stops them). Point a channel's api_base_url at:\n"
        f"  Telegram  {url}/telegram\n  X         {url}/x\n  Facebook  {url}/facebook\n"
        f"What each received: {url}/<telegram|x|facebook>/__sandbox/posts\n"
        "The sandbox accepts only its own (public, made-up) credentials:\n"
        f"  export TELEGRAM_BOT_TOKEN='{creds.telegram_bot_token}'\n"
        f"  export X_CONSUMER_KEY='{creds.x_consumer_key}' "
        f"X_CONSUMER_SECRET='{creds.x_consumer_secret}'\n"
        f"  export X_ACCESS_TOKEN='{creds.x_access_token}' "
        f"X_ACCESS_TOKEN_SECRET='{creds.x_access_token_secret}'\n"
        f"  export FACEBOOK_PAGE_TOKEN='{creds.facebook_page_token}'   "
        f'# page_id = "{creds.facebook_page_id}"',
        highlight=False,
        soft_wrap=True,
    )

    async def serve() -> None:
        stop = asyncio.Event()
        install_stop_signals(stop)
        await serve_until(build_sandbox_app(creds), sock, stop)

    asyncio.run(serve())


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


def main() -> None:
    app()
