"""`clinqa ui`: serve the web UI (registered by clinqa/cli.py)."""
from __future__ import annotations

import os
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("ui")
    def ui_cmd(
        host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on (0.0.0.0: all; mind who can reach it)."),
        port: int = typer.Option(7860, "--port", help="TCP port."),
        backend: str = typer.Option(os.environ.get("CLINQA_LLM_BACKEND", "local"), "--backend",
                                    help="extractive | local | openai"),
        model: Optional[str] = typer.Option(None, "--model", help="Packaged model name or GGUF path (local backend)."),
        base_url: Optional[str] = typer.Option(None, "--base-url", help="OpenAI-compatible server URL (openai backend)."),
    ) -> None:
        """Open the web UI: upload notes, ask cited questions, browse the timeline and facts."""
        from clinqa.errors import InputError

        if backend not in ("extractive", "local", "openai"):
            raise InputError(f"unknown backend {backend!r}; choose one of extractive, local, openai")
        from clinqa.workspace import Workspace
        from ui.app import launch

        ws = Workspace()
        typer.echo(f"clinqa UI on http://{host}:{port} (workspace {ws.home}, backend {backend}); Ctrl+C stops it")
        launch(ws, host=host, port=port, backend=backend, model=model, base_url=base_url)
