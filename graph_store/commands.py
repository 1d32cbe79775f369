"""CLI commands of the graph layer: ``clinqa graph`` and ``clinqa timeline`` (registered by clinqa/cli.py)."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from clinqa.errors import InputError


def register(app: typer.Typer) -> None:
    @app.command("graph")
    def graph_cmd(
        patient: str = typer.Argument(..., help="patient id"),
        format: str = typer.Option("node-link", "--format", "-f", help="node-link (JSON) or graphml"),  # noqa: A002
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="output file (default: stdout)"),
    ) -> None:
        """Export one patient's knowledge graph (concepts, mentions, events, relations, temporal order)."""
        from clinqa.workspace import Workspace
        from graph_store.export import FORMATS, graph_text, write_graph

        if format not in FORMATS:
            raise InputError(f"unknown --format {format!r}; use one of: {', '.join(FORMATS)}")
        ws = Workspace(extract=False, chunk=False)
        model = ws.graphs.model(patient)
        if out is None:
            sys.stdout.write(graph_text(model.graph, format) + "\n")
        else:
            write_graph(model.graph, out, format)
            s = model.stats
            typer.echo(
                f"wrote {out} ({format}): {s['nodes']} nodes, {s['edges']} edges; {s['concepts']} concepts, "
                f"{s['events']} events, {s['copy_forward']} copy-forward repeats, {s['conflicts']} conflicts",
                err=True,
            )

    @app.command("timeline")
    def timeline_cmd(
        patient: str = typer.Argument(..., help="patient id"),
        csv: bool = typer.Option(False, "--csv", help="write CSV instead of a readable list"),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="output file (default: stdout)"),
        types: Optional[str] = typer.Option(None, "--types", help="comma-separated event types or categories"),
        start: Optional[str] = typer.Option(None, "--start", help="YYYY-MM-DD"),
        end: Optional[str] = typer.Option(None, "--end", help="YYYY-MM-DD"),
    ) -> None:
        """One patient's events ordered by when they occurred, each with its note span."""
        from clinqa.workspace import Workspace
        from graph_store.export import timeline_csv, write_timeline_csv

        ws = Workspace(extract=False, chunk=False)
        tl = ws.graphs.timeline(patient, types=types.split(",") if types else None, start=start, end=end)
        if csv:
            if out is None:
                sys.stdout.write(timeline_csv(tl.items))
            else:
                write_timeline_csv(tl.items, out)
                typer.echo(f"wrote {out}: {len(tl)} event(s)", err=True)
            return
        lines = [tl.message]
        for e in tl:
            day = e.date.isoformat() if e.date else "undated   "
            mark = "" if e.date_kind == "occurred" else f" [{e.date_kind}]"
            lines.append(f"{day}{mark}  {e.event_type:<17} {e.name}{(' ' + e.detail) if e.detail else ''}"
                         f"  <- {e.evidence.note_id}:{e.evidence.start}-{e.evidence.end} \"{e.evidence.quote}\"")
        text = "\n".join(lines) + "\n"
        if out is None:
            sys.stdout.write(text)
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text, "utf-8")
