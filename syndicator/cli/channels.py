"""``syndicator channels``: each channel's pace, pauses and queue, as the workers share them.

What an operator checks when posts are late: is the channel paused (rate limit, refused
credentials), slowed down after 429s, at a cap, keeping posts held for an editor, or holding
deliveries nobody can settle?
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import typer
from rich.table import Table

from syndicator.cli.common import ConfigOption, JsonOption, app, open_store, out
from syndicator.config import ChannelConfig
from syndicator.store.channels import ChannelState, channel_states


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _as_json(config: ChannelConfig, state: ChannelState) -> dict[str, Any]:
    pace = config.pace()
    return {
        "name": state.name,
        "type": config.type.value,
        "paused_until": _when(state.paused_until),
        "pause_reason": state.pause_reason,
        "auth_failed_at": _when(state.auth_failed_at),
        "auth_error": state.auth_error,
        "slowdown": round(state.slowdown, 3),
        "min_spacing_s": pace.min_spacing.total_seconds(),
        "last_sent_at": _when(state.last_sent_at),
        "sent_last_hour": state.sent_last_hour,
        "max_per_hour": pace.max_per_hour,
        "sent_last_day": state.sent_last_day,
        "max_per_day": pace.max_per_day,
        "sent_this_month": state.sent_this_month,
        "max_per_month": pace.max_per_month,
        "queued": state.queued,
        "held": state.held,
        "waiting": state.waiting,
        "sending": state.sending,
        "uncertain": state.uncertain,
    }


def _of(count: int, cap: int | None) -> str:
    text = f"{count}/{cap}" if cap is not None else str(count)
    return f"[bold red]{text}[/]" if cap is not None and count >= cap else text


@app.command("channels")
def show_channels(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Each channel: paused until when and why, auth flag, slow-down, sends against the caps,
    and its deliveries queued, held for an editor, waiting and uncertain."""
    settings, database = open_store(config)
    now = datetime.now(UTC)
    with database.session() as session:
        states = channel_states(session, [c.name for c in settings.channels], now=now)
    configs = {c.name: c for c in settings.channels}
    if as_json:
        for state in states:
            typer.echo(json.dumps(_as_json(configs[state.name], state), ensure_ascii=False))
        return
    table = Table(title=f"Channels ({len(states)})", title_justify="left")
    columns = ("channel", "type", "state", "slow-down", "last sent (UTC)", "hour", "day",
               "month", "queued", "held", "waiting", "uncertain")  # fmt: skip
    for column in columns:
        table.add_column(column, overflow="fold")
    for state in states:
        channel = configs[state.name]
        pace = channel.pace()
        health = "ok"
        if state.auth_error is not None:
            health = f"[bold red]credentials refused[/]: {state.auth_error}"
        if state.paused_until is not None:
            health = f"[yellow]paused until {state.paused_until:%H:%M:%S}[/]: {state.pause_reason}"
            if state.auth_error is not None:
                health = f"[bold red]AUTH[/] {health}"
        table.add_row(
            state.name,
            channel.type.value,
            health,
            f"x{state.slowdown:.2f}" if state.slowdown > 1 else "-",
            f"{state.last_sent_at:%Y-%m-%d %H:%M:%S}" if state.last_sent_at else "never",
            _of(state.sent_last_hour, pace.max_per_hour),
            _of(state.sent_last_day, pace.max_per_day),
            _of(state.sent_this_month, pace.max_per_month),
            str(state.queued),
            str(state.held),
            str(state.waiting),
            f"[bold yellow]{state.uncertain}[/]" if state.uncertain else "0",
        )
    out.print(table)
