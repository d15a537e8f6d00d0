"""Running syndicator: the daemon (or the demo), one pass, and the database schema."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import Annotated

import typer
from pydantic import SecretStr

from syndicator.cli.common import (
    ConfigOption,
    LogLevel,
    app,
    configured,
    db_app,
    fail,
    log,
    open_store,
    out,
)
from syndicator.config import Settings
from syndicator.errors import ConfigError, SyndicatorError
from syndicator.logs import setup_logging
from syndicator.records import DeliveryStatus


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
        settings = configured(config)
        if settings is None:
            if once:
                raise ConfigError("config/syndicator.toml", "", "--once needs a configuration")
            asyncio.run(_run_demo())
            return
        secrets = settings.secrets()
        code = asyncio.run(_run(settings, secrets, once))
    except SyndicatorError as exc:
        raise fail(exc) from None
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
            for name, held in sorted(report.held.items()):
                log.info(
                    "channel %s: left waiting until %s UTC (%s%s)",
                    name,
                    f"{held.until:%Y-%m-%d %H:%M:%S}",
                    held.why,
                    f": {held.detail}" if held.detail else "",
                )
            return 1 if report.problems else 0
        stop = asyncio.Event()
        install_stop_signals(stop)
        await daemon.run(stop)
        return 0


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None) -> None:
    """Apply the database migrations that are not applied yet."""
    _, database = open_store(config)
    out.print(f"database {database.display_url} is up to date")
