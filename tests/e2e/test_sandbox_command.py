"""``syndicator sandbox``: the emulators as a command, for trying a configuration safely."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import httpx

from tests.support import daemon, wait_for


def test_the_sandbox_command_serves_the_three_emulators(tmp_path: Path) -> None:
    with daemon("sandbox", "--port", "0", cwd=tmp_path) as running:
        wait_for(lambda: "Emulators at" in running.output(), what="the sandbox banner")
        match = re.search(r"Emulators at (http://127\.0\.0\.1:\d+)", running.output())
        assert match is not None
        root = match.group(1)
        for network in ("telegram", "x", "facebook"):
            response = httpx.get(f"{root}/{network}/__sandbox/posts", timeout=5)
            assert response.status_code == 200 and response.json() == {"posts": []}
        # A real API path answers in the network's own error shape.
        refused = httpx.post(f"{root}/telegram/bot123:wrong/getMe", timeout=5)
        assert refused.json()["ok"] is False
        running.process.send_signal(signal.SIGINT)
        assert running.process.wait(timeout=30) == 0
