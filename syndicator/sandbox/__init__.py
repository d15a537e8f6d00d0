"""Local emulators of the Telegram Bot API, X API v2 and the Facebook Graph API.

They back the demo (no credentials needed) and the tests of our channel adapters: the real
client libraries talk to them over HTTP and cannot tell them from the real networks for the
calls syndicator makes. See :func:`build_sandbox_app`.
"""

from syndicator.sandbox.app import SandboxControl, build_sandbox_app
from syndicator.sandbox.credentials import DEMO_CREDENTIALS, SandboxCredentials

__all__ = ["DEMO_CREDENTIALS", "SandboxControl", "SandboxCredentials", "build_sandbox_app"]
