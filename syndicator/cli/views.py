"""What operators and editors read: the posting log and the health of the sources."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from syndicator.cli.common import ConfigOption, JsonOption, app, fail, open_store, out
from syndicator.errors import ConfigError
from syndicator.records import DeliveryStatus
from syndicator.store.deliveries import LogEntry, log_entries


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
            "actor": entry.actor,
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
    as_json: JsonOption = False,
) -> None:
    """The posting log, newest first: what went out where, and what each network answered."""
    settings, database = open_store(config)
    if channel is not None and channel not in {c.name for c in settings.channels}:
        known = ", ".join(c.name for c in settings.channels) or "none"
        unknown = ConfigError(settings.source_file, "", f"unknown channel {channel!r} ({known})")
        raise fail(unknown)
    with database.session() as session:
        entries = log_entries(
            session, channel=channel, status=status.value if status else None, limit=limit
        )
    if as_json:
        for entry in entries:
            typer.echo(_json_line(entry))
        return
    table = Table(title=f"Posting log ({len(entries)} newest)", title_justify="left")
    for column in ("id", "time (UTC)", "channel", "state", "try", "by", "article", "post / error"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        outcome = entry.remote_url or entry.remote_id or entry.error or ""
        if entry.status == "waiting" and entry.next_attempt_at:
            outcome = f"{outcome} (next try {entry.next_attempt_at:%H:%M:%S})".strip()
        style = STATUS_STYLE.get(entry.status, "")
        table.add_row(
            str(entry.delivery_id),
            f"{entry.updated_at:%Y-%m-%d %H:%M:%S}",
            entry.channel,
            f"[{style}]{entry.status}[/]" if style else entry.status,
            str(entry.attempts),
            entry.actor or "",
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
    as_json: JsonOption = False,
) -> None:
    """Each source's health: last success, last error, failures in a row, articles seen."""
    from syndicator.store.sources import SourceHealth, source_health

    settings, database = open_store(config)
    with database.session() as session:
        known = {h.name: h for h in source_health(session)}
    health = [
        known.get(s.name) or SourceHealth(s.name, s.feed, None, None, None, None, 0, None, 0, None)
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
