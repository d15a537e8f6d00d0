"""``syndicator sandbox``: the network emulators, for trying a configuration safely."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from syndicator.cli.common import app, out
from syndicator.logs import setup_logging


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
