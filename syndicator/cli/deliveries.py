"""What an editor does to deliveries: ``hold``, ``release``, ``cancel``, ``settle``, ``retry``.

Ids are those of ``syndicator log`` (the ``id`` column, or ``delivery_id`` with ``--json``).
Each id is changed on its own: one that is unknown or in the wrong state is reported on a
line of its own and makes the command exit 1, without undoing the others' changes.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.markup import escape

from syndicator.cli.common import ConfigOption, app, err, open_store, out
from syndicator.config import parse_duration
from syndicator.store import Database
from syndicator.store.editing import (
    KEEP,
    Edited,
    EditError,
    cancel,
    editor_actor,
    hold,
    parse_post,
    release,
    retry,
    settle_failed,
    settle_not_posted,
    settle_posted,
)

Ids = Annotated[list[int], typer.Argument(help="Delivery ids, as `syndicator log` shows them.")]
EditorOption = Annotated[
    str | None,
    typer.Option("--as", help="The editor's name in the posting log (default: your user name)."),
]
ReasonOption = Annotated[str | None, typer.Option(help="Why, for the posting log.")]


def _actor(name: str | None) -> str:
    """The editor's name (checked: a bad one exits 2 like any usage error)."""
    name = name if name is not None else _user()
    try:
        editor_actor(name)
    except ValueError as exc:
        raise _usage(str(exc)) from None
    return name


def _error(text: str) -> None:
    err.print("[bold red]error:[/]", escape(text), highlight=False, soft_wrap=True)


def _usage(text: str) -> typer.Exit:
    """A usage error: one line, exit 2 (as ``common.fail``)."""
    _error(text)
    return typer.Exit(2)


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name (a container without a user entry)
        return "unknown"


def _run(
    config: ConfigOption, ids: list[int], action: Callable[[Database, int, datetime], Edited]
) -> None:
    """Apply ``action`` to each id in turn; report each; exit 1 if any was refused."""
    _, database = open_store(config)
    refused = 0
    try:
        for delivery_id in dict.fromkeys(ids):
            try:
                edited = action(database, delivery_id, datetime.now(UTC))
            except EditError as exc:
                _error(str(exc))
                refused += 1
                continue
            out.print(
                f"delivery {edited.delivery_id} ({edited.channel}): "
                f"{edited.before} -> {edited.after}: {edited.note}",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
    finally:
        database.dispose()
    if refused:
        raise typer.Exit(1)


@app.command("hold")
def hold_command(
    ids: Ids, config: ConfigOption = None, editor: EditorOption = None, reason: ReasonOption = None
) -> None:
    """Hold queued or waiting deliveries: no worker sends them until they are released."""
    actor = _actor(editor)
    _run(config, ids, lambda db, i, now: hold(db, i, now=now, editor=actor, reason=reason))


@app.command("release")
def release_command(
    ids: Ids,
    config: ConfigOption = None,
    editor: EditorOption = None,
    at: Annotated[
        str | None,
        typer.Option(help='Not before this time: ISO 8601 (UTC if no offset) or from now ("30m").'),
    ] = None,
    now: Annotated[
        bool, typer.Option("--now", help="Drop any scheduled time (a channel's delay).")
    ] = False,
) -> None:
    """Queue held deliveries again; they go out at the channel's pace (and scheduled time)."""
    actor = _actor(editor)
    if at is not None and now:
        raise _usage("give --at or --now, not both")
    when = _time(at) if at is not None else (None if now else KEEP)
    _run(config, ids, lambda db, i, t: release(db, i, now=t, editor=actor, not_before=when))


@app.command("cancel")
def cancel_command(
    ids: Ids, config: ConfigOption = None, editor: EditorOption = None, reason: ReasonOption = None
) -> None:
    """Cancel deliveries that are queued, waiting, held or uncertain: they are never sent."""
    actor = _actor(editor)
    _run(config, ids, lambda db, i, now: cancel(db, i, now=now, editor=actor, reason=reason))


@app.command("settle")
def settle_command(
    delivery_id: Annotated[int, typer.Argument(help="An uncertain delivery's id.")],
    config: ConfigOption = None,
    editor: EditorOption = None,
    posted: Annotated[
        str | None,
        typer.Option(
            "--posted", help="The network has it: the post's URL or id.", metavar="URL_OR_ID"
        ),
    ] = None,
    not_posted: Annotated[
        bool, typer.Option("--not-posted", help="The network does not have it: send it again.")
    ] = False,
    failed: Annotated[
        str | None,
        typer.Option(
            "--failed", help="Not on the network, and not to be sent: why.", metavar="REASON"
        ),
    ] = None,
) -> None:
    """Settle an uncertain delivery as you find it on the network: posted, not (resent), failed."""
    actor = _actor(editor)
    chosen = [posted is not None, not_posted, failed is not None]
    if sum(chosen) != 1:
        raise _usage("give exactly one of --posted URL_OR_ID, --not-posted, --failed REASON")
    try:
        if posted is not None:
            parse_post(posted)  # a malformed URL is a usage error, before the store is opened
        if failed is not None and not failed.strip():
            raise ValueError("--failed needs a reason")
    except ValueError as exc:
        raise _usage(str(exc)) from None

    def settle(db: Database, delivery_id: int, now: datetime) -> Edited:
        if posted is not None:
            return settle_posted(db, delivery_id, now=now, editor=actor, post=posted)
        if not_posted:
            return settle_not_posted(db, delivery_id, now=now, editor=actor)
        return settle_failed(db, delivery_id, now=now, editor=actor, reason=failed or "")

    _run(config, [delivery_id], settle)


@app.command("retry")
def retry_command(ids: Ids, config: ConfigOption = None, editor: EditorOption = None) -> None:
    """Queue failed deliveries again, with fresh attempts (the cause has been fixed)."""
    actor = _actor(editor)
    _run(config, ids, lambda db, i, now: retry(db, i, now=now, editor=actor))


def _time(text: str) -> datetime:
    """An ISO 8601 time (UTC unless it says otherwise), or a duration from now."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            return datetime.now(UTC) + parse_duration(text)
        except ValueError:
            raise _usage(
                f"--at {text!r}: give an ISO 8601 time (UTC unless it has an offset, "
                '"2026-11-29T08:00") or a duration from now ("30m")'
            ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
