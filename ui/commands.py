"""`clinqa ui`: serve the web UI (registered by clinqa/cli.py)."""
from __future__ import annotations

import ipaddress
import os
from typing import Optional

import typer

AUTH_ENV = "CLINQA_UI_AUTH"


def parse_auth(value: str | None) -> list[tuple[str, str]] | None:
    """``user:pass`` (several separated by commas) -> Gradio's auth pairs; None when no login is wanted."""
    from clinqa.errors import InputError

    if value is None or not value.strip():
        return None
    pairs = []
    for part in value.split(","):
        user, sep, password = part.partition(":")
        if not sep or not user.strip() or not password:
            raise InputError(f"--auth / {AUTH_ENV} must be user:password (several separated by commas); "
                             "got an entry without a user or a password")
        pairs.append((user.strip(), password))
    return pairs


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind_warning(host: str, auth: list[tuple[str, str]] | None) -> str | None:
    """A warning when the UI is reachable from other machines without a login (patient records!)."""
    if auth or is_loopback(host):
        return None
    return (f"warning: the UI listens on {host} without a login: anyone who can reach this port can read patient "
            f"records; set a login with --auth user:password or {AUTH_ENV}")


def register(app: typer.Typer) -> None:
    @app.command("ui")
    def ui_cmd(
        host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on (0.0.0.0: all; mind who can reach it)."),
        port: int = typer.Option(7860, "--port", help="TCP port."),
        backend: str = typer.Option(os.environ.get("CLINQA_LLM_BACKEND", "local"), "--backend",
                                    help="extractive | local | openai"),
        model: Optional[str] = typer.Option(None, "--model", help="Packaged model name or GGUF path (local backend)."),
        base_url: Optional[str] = typer.Option(None, "--base-url", help="OpenAI-compatible server URL (openai backend)."),
        auth: Optional[str] = typer.Option(
            None, "--auth", envvar=AUTH_ENV, show_envvar=True,
            help="Require a login: user:password (several separated by commas). Prefer the environment variable: "
                 "a command line is visible to other users of the machine."),
    ) -> None:
        """Open the web UI: upload notes, ask cited questions, browse the timeline and facts."""
        from clinqa.errors import InputError

        if backend not in ("extractive", "local", "openai"):
            raise InputError(f"unknown backend {backend!r}; choose one of extractive, local, openai")
        pairs = parse_auth(auth)
        from clinqa.workspace import Workspace
        from ui.app import launch

        ws = Workspace()
        warning = bind_warning(host, pairs)
        if warning:
            typer.echo(warning, err=True)
        login = f", login required ({len(pairs)} user(s))" if pairs else ""
        typer.echo(f"clinqa UI on http://{host}:{port} (workspace {ws.home}, backend {backend}{login}); Ctrl+C stops it")
        launch(ws, host=host, port=port, backend=backend, model=model, base_url=base_url, auth=pairs)
