"""`flowlake serve`: the dashboard and its JSON API over a lake."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import click

from flowlake.cli import UsageProblem, cli, lake_option, open_lake


@cli.command("serve")
@lake_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; any but loopback needs --token.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option("--token", envvar="FLOWLAKE_TOKEN", metavar="TOKEN",
              help="Every page and API call must present it (env FLOWLAKE_TOKEN).")
def serve_command(lake: Path, host: str, port: int, token: str | None) -> None:
    """Serve the dashboard on http://HOST:PORT (API description at /docs)."""
    serve(open_lake(lake).root, host, port, token)


def serve(lake: Path, host: str, port: int, token: str | None) -> None:
    """Run the server until interrupted; refuses a non-loopback address without a token."""
    import uvicorn  # the web stack loads only for this command

    from flowlake.lake.store import Lake
    from flowlake.web.app import create_app

    if not _loopback(host) and not token:
        raise UsageProblem(f"--host {host} lets other machines in: give --token (or FLOWLAKE_TOKEN) too")
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    click.echo(f"flowlake dashboard on http://{shown}:{port}/{'?token=…' if token else ''}  (Ctrl+C stops)", err=True)
    uvicorn.run(create_app(Lake(lake), token), host=host, port=port, log_level="warning")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
