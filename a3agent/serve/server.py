"""Run the app under uvicorn, and the rule for where it may listen (no heavy import until it runs).

Loopback by default; any other address exposes the model to the network, so it needs an API key.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from a3agent.errors import CommandLineError

if TYPE_CHECKING:
    from a3agent.model.loading import LoadedModel
    from a3agent.serve.options import ServeOptions

__all__ = ["check_bind", "is_loopback", "run_server"]


def is_loopback(host: str) -> bool:
    """`localhost`, 127.0.0.0/8 or ::1. Example: is_loopback("0.0.0.0") -> False"""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, api_key: str | None) -> None:
    """Refuse to listen beyond loopback without a key (`CommandLineError`)."""
    if not is_loopback(host) and not api_key:
        raise CommandLineError(f"--host {host} reaches beyond this machine: set --api-key (or A3AGENT_API_KEY) "
                               "so that only clients with the key can use the model, or bind 127.0.0.1")


def run_server(loaded: LoadedModel, options: ServeOptions, host: str, port: int) -> None:
    """Serve `loaded` on `host:port` until interrupted (Ctrl-C stops it cleanly)."""
    import uvicorn

    from a3agent.serve.app import create_app

    uvicorn.run(create_app(loaded, options), host=host, port=port, limit_concurrency=options.max_connections,
                log_level="info")
