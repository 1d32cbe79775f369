"""`clinqa search` (and `clinqa reindex`): note evidence retrieval from the command line."""
from __future__ import annotations

import datetime as dt
import json
import textwrap
from typing import Optional

import typer

from clinqa.errors import InputError


def _date(value: Optional[str], flag: str) -> Optional[dt.date]:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{flag} must be a date like 2020-03-31, got {value!r}") from None


def register(app: typer.Typer) -> None:
    @app.command()
    def search(
        patient: str = typer.Argument(..., help="Patient id."),
        query: str = typer.Argument(..., help="Search terms or a question."),
        k: int = typer.Option(5, "--k", "-k", min=1, help="Number of passages."),
        mode: str = typer.Option("hybrid", "--mode", "-m", help="hybrid | dense | bm25"),
        section: Optional[list[str]] = typer.Option(None, "--section", "-s", help="Only these sections (repeatable)."),
        since: Optional[str] = typer.Option(None, "--from", help="Only notes dated on/after (YYYY-MM-DD)."),
        until: Optional[str] = typer.Option(None, "--to", help="Only notes dated on/before (YYYY-MM-DD)."),
        option: Optional[list[str]] = typer.Option(
            None, "--option", "-o", help="An answer option (repeatable): one sub-query per option, best score kept."),
        full: bool = typer.Option(False, "--full", help="Print whole passages instead of a trimmed preview."),
        as_json: bool = typer.Option(False, "--json", help="One JSON object per hit."),
    ) -> None:
        """Search one patient's notes; prints each passage with its note, date, section and offsets."""
        from clinqa.workspace import Workspace

        ws = Workspace(extract=False)
        date_range = None
        if since or until:
            date_range = (_date(since, "--from"), _date(until, "--to"))
        hits = ws.retriever.retrieve(patient, query, k=k, mode=mode, sections=section or None, date_range=date_range,
                                      options=option or None)
        if not hits:
            typer.echo(f"no passages found for {query!r} in {patient}'s notes")
            if not ws.store.chunks(patient) and ws.store.notes(patient):
                typer.echo("(this patient's notes have no passages: they were ingested with --no-extract; "
                           "run `clinqa reindex --rechunk`)")
            return
        for h in hits:
            c = h.chunk
            if as_json:
                typer.echo(json.dumps({
                    "rank": h.rank, "score": round(h.score, 6), "mode": h.mode, "patient_id": c.patient_id,
                    "note_id": c.note_id, "note_date": c.note_date.isoformat() if c.note_date else None,
                    "section": c.section, "start": c.start, "end": c.end, "text": c.text,
                }))
                continue
            date = c.note_date.isoformat() if c.note_date else "-"
            typer.echo(f"#{h.rank}  score {h.score:.4f}  {c.note_id}  {date}  [{c.section or '-'}]  chars {c.start}-{c.end}")
            body = " ".join(c.text.split())
            if not full:
                body = textwrap.shorten(body, width=300, placeholder=" ...")
            typer.echo(textwrap.indent(textwrap.fill(body, width=100), "    "))

    @app.command()
    def reindex(
        rechunk: bool = typer.Option(False, "--rechunk", help="Also chunk notes stored without chunks (--no-extract ingests)."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
    ) -> None:
        """Rebuild every search index (FAISS, BM25) from the patient store (repairs damaged or stale indexes)."""
        from clinqa.workspace import Workspace

        ws = Workspace(extract=False)
        if rechunk:
            with ws.lock.hold():
                typer.echo(f"chunked {ws.retriever.chunk_missing()} note(s) that had no chunks")
        stats = ws.retriever.rebuild(progress=not quiet)
        typer.echo(f"reindexed {stats['patients_updated']} patient(s), {stats['chunks_added']} chunk(s)")
